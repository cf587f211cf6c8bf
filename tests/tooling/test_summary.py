"""``ladder-bench summary`` (summary.md, the pull request's comment) on output folders made
by hand: each folder's verdict is known from how it was made (a rung timed 30% slower in
every round, a count grown past its threshold), and the summary must say it."""

import json
import subprocess
import sys

import pytest

from ladder_bench import summary
from ladder_bench import timings as timings_module

MARKER = "<!-- ladder-bench-summary -->"
NOISE_REASON = "v1's IQR is 41% of its median (limit 10%)"
# A ladder whose gate allows 1% by default and 5% for "wide".
LADDER = """\
[tool.ladder-bench]
baseline = "base"
rungs = [
    { name = "base", call = "m.py:f", workload = "m.py:w" },
    { name = "fast", call = "m.py:f", workload = "m.py:w" },
    { name = "wide", call = "m.py:f", workload = "m.py:w" },
]
[tool.ladder-bench.instruction-gate]
threshold-percent = 1
rungs = { wide = 5 }
"""


def row(rung, median_ms, speedup, **extra):
    return {"rung": rung, "median_ms": median_ms, "speedup": speedup, **extra}


def timings(noise=None):
    data = {
        "baseline": "base",
        "size": {"n": 1000},
        "settings": {"size_key": "quick-size"},
        "rungs": [
            row("base", 80.0, 1.0, speedup_low=1.0, speedup_high=1.0),
            row("fast", 0.004, 20_000.0, speedup_low=19_000.0, speedup_high=21_000.0),
        ],
    }
    if noise is not None:
        data["noise"] = noise
    return data


def rounds(seconds, spread=0.01):
    """Seven rounds around ``seconds``, each within ``spread`` of it."""
    return [seconds * (1 + spread * k / 3) for k in (-3, -2, -1, 0, 1, 2, 3)]


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "profiles"
    out.mkdir()
    (tmp_path / "pyproject.toml").write_text(LADDER)
    return out


def write(out, name, data):
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(json.dumps(data))


def summary_process(out, workspace, *extra, env=None) -> subprocess.CompletedProcess:
    """``ladder-bench summary`` on ``out``, as CI runs it."""
    command = [sys.executable, "-m", "ladder_bench", "summary", "--out", str(out)]
    command += ["--workspace", str(workspace), *extra]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def run_summary(out, *extra, env=None):
    """The command as CI runs it; summary.md's text."""
    completed = summary_process(out, out.parent, *extra, env=env)
    assert completed.returncode == 0, completed.stderr
    text = (out / "summary.md").read_text()
    assert completed.stdout == text
    return text


def compared(out, counts_head, samples_head, wide_count=1000):
    """compare.json: "fast" and "wide" counted and timed on both sides."""
    write(
        out,
        "compare.json",
        {
            "base": "a" * 40,
            "head": "working tree",
            "instructions": {
                "base": {"fast": 1000, "wide": 1000},
                "head": {"fast": counts_head, "wide": wide_count},
            },
            "instruction_size": {"n": 100},
            "samples": {
                "base": {"fast": rounds(1e-3), "wide": rounds(2e-3)},
                "head": {"fast": samples_head, "wide": rounds(2e-3)},
            },
        },
    )


def test_the_headline_names_the_workload_the_fastest_rung_and_its_speedup(folder):
    write(folder, "timings.json", timings())
    text = run_summary(folder)
    assert text.startswith(MARKER + "\n")
    assert "**n=1000** (quick-size)" in text
    assert "**fast** is **20,000x** faster than base (19,000x\N{EN DASH}21,000x)" in text
    assert "4.00 µs against 80.0 ms" in text


def test_a_noisy_verdict_is_shown_with_its_reason_and_advice(folder):
    noise = {
        "trustworthy": False,
        "verdict": "noisy",
        "reasons": [NOISE_REASON],
        "advice": "Rerun on a quiet machine.",
    }
    write(folder, "timings.json", timings(noise))
    text = run_summary(folder)
    (line,) = [line for line in text.splitlines() if line.startswith("Noise:")]
    assert "**noisy**" in line
    assert "not reliable" in line
    assert NOISE_REASON in line
    assert "Rerun on a quiet machine." in line


def test_a_quiet_verdict_says_the_times_can_be_trusted(folder):
    write(folder, "timings.json", timings({"trustworthy": True, "verdict": "quiet"}))
    assert "Noise: **quiet**: the wall-clock times can be trusted." in run_summary(folder)


def test_timings_without_a_noise_verdict_say_it_was_not_assessed(folder):
    write(folder, "timings.json", timings())
    assert "Noise: not assessed" in run_summary(folder)


def test_a_rung_slower_beyond_noise_and_grown_past_its_gate_is_listed(folder):
    write(folder, "timings.json", timings())
    # "fast": every head round 30% slower than every base round, 3% more instructions
    # (its gate allows 1%); "wide": unchanged rounds, 3% more (its gate allows 5%).
    compared(folder, counts_head=1030, samples_head=rounds(1.3e-3), wide_count=1030)
    text = run_summary(folder)
    (fast,) = [line for line in text.splitlines() if line.startswith("| fast |")]
    assert "**+30.0%**" in fast
    assert "**+3.00%**" in fast
    assert "1.00 ms → 1.30 ms" in fast
    assert not [line for line in text.splitlines() if line.startswith("| wide |")]
    assert "Instruction gate: **failed**: fast +3.00% (threshold 1%)." in text
    assert "No rung changed" not in text


def test_rounds_that_overlap_are_no_change(folder):
    write(folder, "timings.json", timings())
    # Head's rounds 0.5% slower on the median, inside the rounds' own ±1% spread.
    compared(folder, counts_head=1000, samples_head=rounds(1.005e-3))
    text = run_summary(folder)
    assert "No rung changed beyond noise" in text
    assert "Instruction gate: **passed** (2 rungs within their thresholds)." in text


def test_fewer_instructions_beyond_the_threshold_are_a_change_not_a_failure(folder):
    write(folder, "timings.json", timings())
    compared(folder, counts_head=900, samples_head=rounds(1e-3))
    text = run_summary(folder)
    (fast,) = [line for line in text.splitlines() if line.startswith("| fast |")]
    assert "**-10.00%**" in fast
    assert "within noise" in fast
    assert "Instruction gate: **passed**" in text


def test_no_comparison_says_so(folder):
    write(folder, "timings.json", timings())
    text = run_summary(folder)
    assert "**Base vs head**: no comparison in this run" in text
    assert "Instruction gate" not in text


def test_missing_timings_are_one_clear_line(folder):
    text = run_summary(folder)
    (line,) = [line for line in text.splitlines() if "timings.json" in line]
    assert line.startswith("**No timings**: profiles/timings.json is missing or unreadable")


def test_unreadable_timings_are_the_same_line(folder):
    (folder / "timings.json").write_text("{ not json")
    assert "**No timings**" in run_summary(folder)


def test_a_comparison_without_a_ladder_is_one_line(tmp_path):
    out = tmp_path / "profiles"
    write(out, "compare.json", {"base": "a" * 40, "head": "working tree"})
    completed = summary_process(out, tmp_path)
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert "pyproject.toml" in line
    assert "cannot be read" in line


def test_links_go_to_the_runs_artifacts_and_name_the_differential_flamegraphs(folder):
    write(folder, "timings.json", timings())
    (folder / "diff").mkdir()
    (folder / "diff/fast.svg").write_text("<svg/>")
    write(folder, "diff/fast.json", {"significant": [{"function": "a"}, {"function": "b"}]})
    (folder / "diff/wide.svg").write_text("<svg/>")
    env = {
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "owner/repo",
        "GITHUB_RUN_ID": "42",
        "PATH": "/usr/bin:/bin",
    }
    text = run_summary(folder, env=env)
    url = "https://github.example/owner/repo/actions/runs/42"
    assert f"[the run's artifacts]({url}#artifacts)" in text
    assert "`diff/fast.svg` (2 changed), `diff/wide.svg`." in text


def test_off_github_the_links_name_the_folder(folder):
    write(folder, "timings.json", timings())
    env = {"PATH": "/usr/bin:/bin"}
    assert f"Files: `{folder}`" in run_summary(folder, env=env)


def test_the_summary_stays_short(folder):
    noise = {"trustworthy": False, "verdict": "noisy", "reasons": [NOISE_REASON] * 5}
    write(folder, "timings.json", timings(noise))
    compared(folder, counts_head=1500, samples_head=rounds(2e-3), wide_count=1500)
    assert len(run_summary(folder).splitlines()) <= 25


@pytest.mark.parametrize(
    ("value", "text"),
    [(21_232.35, "21,200x"), (426.77, "427x"), (48.48, "48.5x"), (8.45, "8.45x"), (1.0, "1.0x")],
)
def test_speedups_print_with_three_significant_figures(value, text):
    # The summary prints speedups as the timing table does.
    assert summary.speedup_text is timings_module.speedup_text
    assert summary.speedup_text(value) == text


def test_the_headline_from_the_timings_section_is_used_as_written(folder):
    write(folder, "timings.json", timings())
    headline = {
        "workload": "n=7",
        "size_name": "default-size",
        "baseline": {"rung": "base", "median": "83.5 ms", "spread": "1.7%"},
        "fastest": {
            "rung": "fast",
            "median": "3.93 µs",
            "speedup": "21,200x",
            "speedup_range": "20,900x\N{EN DASH}21,600x",
        },
    }
    write(folder, "sections/timings.json", {"id": "timings", "headline": headline})
    text = run_summary(folder)
    assert "**n=7** (default-size): **fast** is **21,200x** faster than base" in text
    assert "(20,900x\N{EN DASH}21,600x), 3.93 µs against 83.5 ms per call" in text


def test_a_headline_without_a_baseline_falls_back_to_the_timings(folder):
    write(folder, "timings.json", timings())
    headline = {"workload": "n=7", "size_name": None, "baseline": None, "fastest": None}
    write(folder, "sections/timings.json", {"id": "timings", "headline": headline})
    text = run_summary(folder)
    assert "**n=1000** (quick-size): **fast** is **20,000x** faster than base" in text


def test_timings_without_a_baseline_say_there_are_no_speedups(folder):
    data = timings()
    data["baseline"] = "gone"
    del data["settings"]
    write(folder, "timings.json", data)
    assert "**n=1000**: no speedups (timings.json names no baseline)." in run_summary(folder)
