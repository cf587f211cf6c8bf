"""What the sweep reads beyond sizes and rungs: ``work-keys`` and variant sizes,
``sweep-rungs`` with their own ``sizes``, and ``extra`` hooks; and this project's dask
row (ladder_hooks/dask_glue.py) against the oracle."""

import sys
import textwrap

import numpy as np
import pytest

import poly_match
from conftest import ROOT, as_pairs, assert_matches_oracle
from ladder_bench import config, harness, scaling, scaling_report

PLAIN = {"n": 10, "m": 10}
VARIANT = {"n": 10, "m": 10, "flag": 1}
BIG = {"n": 100, "m": 1000}
SIZES = [PLAIN, VARIANT, {"n": 100, "m": 10}, {"n": 100, "m": 10, "flag": 1}, BIG]
WORKLOAD = """
    def make(n, m, flag=0):
        return (n * m + flag,)

    def call(x):
        return [x]

    def extra(x):
        return {"seen": x, "share": 0.5}
"""
PYPROJECT = """
    [tool.ladder-bench]
    work-keys = ["n", "m"]
    rungs = [
        { name = "steady", call = "work.py:call", workload = "work.py:make" },
        { name = "slowed", call = "work.py:call", workload = "work.py:make" },
    ]

    [[tool.ladder-bench.sweep-rungs]]
    name = "big only"
    call = "work.py:call"
    workload = "work.py:make"
    extra = "work.py:extra"
    sizes = [{ n = 100, m = 1000 }]
"""


@pytest.fixture
def ladder(tmp_path):
    (tmp_path / "work.py").write_text(textwrap.dedent(WORKLOAD))
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    return config.load(tmp_path / "pyproject.toml")


def test_work_counts_the_work_keys_and_the_other_keys_make_a_variant():
    assert scaling.work(VARIANT, ["n", "m"]) == 100
    assert scaling.work(VARIANT) == 100  # every key, as before work-keys
    assert scaling.variant(VARIANT, ["n", "m"]) == (("flag", 1),)
    assert scaling.variant(PLAIN, ["n", "m"]) == ()
    assert (
        scaling_report.label({"n": 30_000, "m": 5, "flag": 1}, ["n", "m"]) == "30,000 x 5, flag=1"
    )
    assert scaling_report.label({"n": 30_000, "m": 5}) == "30,000 x 5"


def test_sweep_rungs_are_read_and_only_the_sweep_may_name_them(ladder):
    (big,) = ladder.sweep_rungs
    assert (big.kind, big.sizes, big.extra) == ("sweep-rung", [BIG], "work.py:extra")
    assert [r.name for r in ladder.select(None, peers=True)] == ["steady", "slowed", "big only"]
    assert [r.name for r in ladder.select(None)] == ["steady", "slowed"]
    with pytest.raises(config.ConfigError, match="only measured by the scaling sweep"):
        ladder.select("big only")


def test_projection_follows_each_variant_and_sizes_limit_an_approach(ladder, monkeypatch):
    # "slowed" takes 1 s on a variant and 1 ms on a plain size, both growing with the work.
    def fake_measure(ladder, name, size, min_time, scratch):
        seconds = scaling.work(size, ["n", "m"]) * 1e-5 * (1000 if "flag" in size else 1)
        if name == "steady":
            seconds = 1e-3
        return {"median_s": seconds, "peak_extra_mib": 0.0, "runs": 3}, np.zeros(1)

    monkeypatch.setattr(scaling, "measure", fake_measure)
    settings = scaling.Settings(SIZES, budget=5.0, min_time=0.0)
    rows = scaling.sweep(ladder, ["steady", "slowed", "big only"], settings, log=lambda _: None)
    status = {
        (r["approach"], scaling_report.label(r["size"], ["n", "m"])): r["status"] for r in rows
    }
    assert status == {
        ("steady", "10 x 10"): "measured",
        ("steady", "10 x 10, flag=1"): "measured",
        ("steady", "100 x 10"): "measured",
        ("steady", "100 x 10, flag=1"): "measured",
        ("steady", "100 x 1,000"): "measured",
        ("slowed", "10 x 10"): "measured",
        ("slowed", "10 x 10, flag=1"): "measured",  # projected from the plain 10 x 10: 1 ms
        ("slowed", "100 x 10"): "measured",  # from the plain size, not the 1 s variant
        ("slowed", "100 x 10, flag=1"): "skipped",  # 10 s, projected from its own variant
        ("slowed", "100 x 1,000"): "measured",  # a skipped variant skips no plain size
        ("big only", "100 x 1,000"): "measured",  # its one size
    }
    assert all(r["work"] == scaling.work(r["size"], ["n", "m"]) for r in rows)


def test_the_harness_reports_an_extra_hooks_numbers(ladder):
    request = {
        "config": str(ladder.path),
        "rungs": ["big only", "steady"],
        "calls": 2,
        "size": {"n": 2, "m": 3},
    }
    reply = harness.run_child(sys.executable, request)
    assert reply["big only"]["extra"] == {"seen": 6, "share": 0.5}
    assert "extra" not in reply["steady"]


def row(approach, size, median_s, **more):
    return {
        "approach": approach,
        "kind": "rung",
        "size": size,
        "work": 100,
        "status": "measured",
        "median_s": median_s,
        "iqr_s": 0.0,
        "min_s": median_s,
        "runs": 3,
        "peak_extra_mib": 1.0,
        "peak_rss_mib": 2.0,
        **more,
    }


def test_the_report_sets_each_variant_against_its_plain_size_and_lists_extras():
    result = {
        "environment": {"git_commit": "abc", "date": "today"},
        "baseline": "a",
        "settings": {"budget_s": 10.0, "min_time_s": 1.0},
        "work_keys": ["n", "m"],
        "sizes": [PLAIN, VARIANT],
        "rows": [
            row("a", PLAIN, 0.002),
            row("a", VARIANT, 0.010),
            row("b", VARIANT, 0.5, kind="peer", extra={"worker 0 peak MiB": 12.25, "workers": 2}),
        ],
    }
    markdown = scaling_report.to_markdown(result)
    assert "| approach | 10 x 10 | 10 x 10, flag=1 |" in markdown
    assert "| a | 10 x 10, flag=1 | 5.00x | 10.0 ms | 2.00 ms |" in markdown
    assert "| b | 10 x 10, flag=1 |" not in markdown  # never measured on the plain size
    assert "- b at 10 x 10, flag=1: worker 0 peak MiB 12.2, workers 2" in markdown
    assert "fastest rung" not in markdown  # a rung and a peer met on a variant only


def test_the_projects_sweep_declares_its_variants_and_its_dask_row():
    ladder = config.load(ROOT / "pyproject.toml")
    assert ladder.work_keys == ["n_polygons", "n_points"]
    plain = [s for s in ladder.scaling_sizes if set(s) == {"n_polygons", "n_points"}]
    for size in ladder.scaling_sizes:
        if "far_outliers" in size:
            assert {k: v for k, v in size.items() if k != "far_outliers"} in plain
    (dask_row,) = ladder.sweep_rungs
    assert dask_row.sizes == [{"n_polygons": 100_000, "n_points": 10_000_000}]
    assert dask_row.sizes[0] in ladder.scaling_sizes


def test_the_dask_row_matches_the_oracle_and_reports_each_workers_peak():
    pytest.importorskip("distributed", reason="the dask row needs the dask dependency group")
    ladder = config.load(ROOT / "pyproject.toml")
    (dask_row,) = ladder.sweep_rungs
    (job,) = dask_row.resolve_workload()(n_polygons=300, n_points=500)
    try:
        indices = dask_row.resolve_call()(job)
        numbers = dask_row.resolve_extra()(job)
    finally:
        job.client.close()
        job.client.cluster.close()
    polygons, points = poly_match.VERSIONS["v1"].generate_example(300, 500)
    assert_matches_oracle(as_pairs(indices, polygons, points), polygons, points, 10.0)
    assert sorted(numbers) == [
        "worker 0 peak MiB",
        "worker 0 peak above inputs MiB",
        "worker 1 peak MiB",
        "worker 1 peak above inputs MiB",
    ]
    assert numbers["worker 0 peak MiB"] > numbers["worker 0 peak above inputs MiB"] >= 0
