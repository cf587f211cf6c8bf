"""Differential flamegraphs (ladder_bench.flamediff) on recordings drawn at random from a
known call tree: the test of significance against the truth it was drawn from, and the
recoloured SVG against the tree."""

import random
import re

import pytest

from conftest import ROOT
from ladder_bench import flamediff, tools

MEASURED = "run_calls"
CALL = [f"{MEASURED} (harness.py)", "main (rung.py)"]
# Leaf stacks (below the measured call) and their seconds per call.
TREE = {
    ("find_close (geometry.rs)", "distance (geometry.rs)"): 40e-6,
    ("find_close (geometry.rs)",): 10e-6,
    ("select_best (rung.py)",): 30e-6,
    ("build_grid (matching.rs)",): 20e-6,
}


def recordings(tree: dict, rng: random.Random, count=flamediff.RECORDINGS, samples=300):
    """``count`` folded recordings of ``samples`` samples each, spread over the leaves in
    proportion to their time, as a sampling profiler would."""
    leaves, weights = list(tree), list(tree.values())
    folded = []
    for _ in range(count):
        drawn = rng.choices(range(len(leaves)), weights, k=samples)
        folded.append(
            "".join(
                f"{';'.join([*CALL, *leaves[k]])} {drawn.count(k)}\n"
                for k in range(len(leaves))
                if drawn.count(k)
            )
        )
    return folded


def rounds(tree: dict, rng: random.Random, count=7, noise=0.02):
    """The interleaved rounds' seconds per call, a few percent apart."""
    total = sum(tree.values())
    return [total * rng.gauss(1, noise) for _ in range(count)]


def compared(base_tree, head_tree, seed):
    rng = random.Random(seed)
    base = flamediff.Sampled.of(recordings(base_tree, rng), MEASURED)
    head = flamediff.Sampled.of(recordings(head_tree, rng), MEASURED)
    changes, _, _ = flamediff.compare(base, head, rounds(base_tree, rng), rounds(head_tree, rng))
    return {c.function.partition(" (")[0]: c for c in changes}


def test_unchanged_code_colours_nothing_in_nearly_every_comparison():
    """The false-alarm rate per rung is FALSE_ALARM_RATE (0.1%): 300 null comparisons
    should all come out clean, where colouring every difference would colour them all."""
    alarms = sum(
        any(c.significant for c in compared(TREE, TREE, seed).values()) for seed in range(300)
    )
    assert alarms <= 2


def test_a_slower_function_is_coloured_with_its_callers_and_nothing_else():
    slower = {**TREE, ("find_close (geometry.rs)", "distance (geometry.rs)"): 80e-6}
    for seed in range(20):
        changes = compared(TREE, slower, seed)
        grew = {function for function, c in changes.items() if c.significant}
        # Its callers grew by as much; the functions beside it did not change at all,
        # though their share of the samples fell from 30% to 20%.
        assert grew == {"distance", "find_close", "main", MEASURED}, grew
        assert all(changes[f].change_seconds > 0 for f in grew)
        distance = changes["distance"]
        assert abs(distance.change_seconds - 40e-6) < distance.half_width_seconds


def test_a_function_reached_another_way_is_the_same_function():
    """Two builds can reach a function through different frames (inlining, an unnamed
    frame in between): its time is compared, not its place, and unnamed frames are not
    tested."""
    moved = {
        ("find_close (geometry.rs)", "[unknown]", "distance (geometry.rs)"): 40e-6,
        **{leaf: t for leaf, t in TREE.items() if "distance (geometry.rs)" not in leaf},
    }
    for seed in range(20):
        changes = compared(TREE, moved, seed)
        assert not any(c.significant for c in changes.values()), seed
        assert not changes["[unknown]"].tested


def test_overdispersion_is_estimated_from_the_recordings():
    """Recordings that vary more than binomial sampling would (here: each one from a
    different mix) widen the test instead of raising false alarms."""
    rng = random.Random(7)
    mixes = [{leaf: t * rng.uniform(0.6, 1.4) for leaf, t in TREE.items()} for _ in range(4)]
    base = flamediff.Sampled.of([recordings(m, rng, count=1)[0] for m in mixes[:2]], MEASURED)
    head = flamediff.Sampled.of([recordings(m, rng, count=1)[0] for m in mixes[2:]], MEASURED)
    functions = set().union(*base.counts, *head.counts)
    assert flamediff.overdispersion([base, head], functions) > 2
    same = flamediff.Sampled.of(recordings(TREE, rng), MEASURED)
    assert flamediff.overdispersion([same], set().union(*same.counts)) < 3


@pytest.fixture(scope="module")
def flamegraph():
    return tools.inferno(ROOT)[1]


def test_only_the_significant_frames_are_coloured_and_every_box_tells_its_change(
    tmp_path, flamegraph
):
    slower = {**TREE, ("find_close (geometry.rs)", "distance (geometry.rs)"): 80e-6}
    rng = random.Random(1)
    base, head = recordings(TREE, rng), recordings(slower, rng)
    svg = tmp_path / "rung.svg"
    summary = flamediff.diff_flamegraph(
        flamegraph,
        base,
        head,
        {"base": rounds(TREE, rng), "head": rounds(slower, rng)},
        MEASURED,
        svg,
        "rung: head vs base",
    )
    drawn = svg.read_text()
    box = re.compile(r'<g><title>(?P<title>[^<]*)</title><rect [^>]*fill="(?P<fill>[^"]*)"')
    boxes = {
        m["title"].split(": ", 1)[0].split(" (")[0]: (m["fill"], m["title"])
        for m in box.finditer(drawn)
    }
    red = re.compile(r"rgb\(255,\d+,\d+\)")
    for name in ("distance", "find_close", "main", MEASURED):
        assert red.fullmatch(boxes[name][0]), (name, boxes[name])
        assert "significant" in boxes[name][1]
    # inferno's script labels a box with its hover text less the last parenthesis: the
    # change must be inside it, or every label would carry it.
    label = re.sub(r"\([^(]*\)$", "", boxes["distance"][1]).strip()
    assert label == "distance (geometry.rs)"
    for name in ("select_best", "build_grid"):
        assert boxes[name][0] == flamediff.NEUTRAL, (name, boxes[name])
        assert "within sampling noise" in boxes[name][1]
        assert "±" in boxes[name][1]
    assert svg.with_suffix(".json").is_file()
    changed = {c["function"] for c in summary["significant"]}
    assert changed == {"distance (geometry.rs)", "find_close (geometry.rs)", *CALL}
    assert all(c["change_seconds"] > 0 for c in summary["significant"])
    assert summary["functions_tested"] == 6
