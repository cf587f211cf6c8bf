"""The criterion summary reads criterion's files, because criterion's exit status says nothing."""

import json

from ladder_bench import criterion


def write_benchmark(root, group, function, value, median_ns, change=None):
    folder = root / group / function / value
    (folder / "new").mkdir(parents=True)
    identity = {"group_id": group, "function_id": function, "value_str": value}
    (folder / "new" / "benchmark.json").write_text(json.dumps(identity))

    def estimate(point, low, high):
        interval = {"confidence_level": 0.95, "lower_bound": low, "upper_bound": high}
        return {"point_estimate": point, "confidence_interval": interval, "standard_error": 1.0}

    estimates = {
        "mean": estimate(median_ns * 1.01, median_ns, median_ns * 1.02),
        "median": estimate(median_ns, median_ns * 0.99, median_ns * 1.01),
    }
    (folder / "new" / "estimates.json").write_text(json.dumps(estimates))
    if change is not None:
        point, low, high = change
        (folder / "change").mkdir()
        changes = {"mean": estimate(point, low, high), "median": estimate(point, low, high)}
        (folder / "change" / "estimates.json").write_text(json.dumps(changes))


def test_collect_and_summarise(tmp_path):
    write_benchmark(tmp_path, "distance_test", "1000 polygons", "sqrt", 357_000.0)
    write_benchmark(
        tmp_path, "distance_test", "1000 polygons", "squared", 138_000.0, (0.02, -0.01, 0.05)
    )
    write_benchmark(tmp_path, "polygon", "10 vertices", "area", 12.5, (0.5, 0.4, 0.6))

    results = criterion.collect(tmp_path)
    assert [(r["group"], r["id"]) for r in results] == [
        ("distance_test", "1000 polygons/sqrt"),
        ("distance_test", "1000 polygons/squared"),
        ("polygon", "10 vertices/area"),
    ]
    assert results[0]["median_ns"] == 357_000.0
    assert results[0]["change"] is None
    assert results[1]["change"]["median_percent"] == 2.0

    header, _, *rows = criterion.to_markdown(results).splitlines()
    assert header.endswith("| change vs previous run |")
    assert rows[0] == "| distance_test | 1000 polygons/sqrt | 357 µs | 353 µs - 361 µs | new |"
    assert "+2.0% [-1.0%, +5.0%]" in rows[1]
    assert "REGRESSION" not in rows[1]
    assert "12.5 ns" in rows[2]
    assert rows[2].endswith("+50.0% [+40.0%, +60.0%] REGRESSION |")


def test_a_first_run_has_no_change_column(tmp_path):
    """criterion compares with nothing on its first run: no column of "first run"s."""
    write_benchmark(tmp_path, "polygon", "10 vertices", "area", 12.5)
    write_benchmark(tmp_path, "polygon", "10 vertices", "center", 20.0)
    lines = criterion.to_markdown(criterion.collect(tmp_path)).splitlines()
    assert lines == [
        "| group | benchmark | median | 95% CI |",
        "|---|---|---:|---:|",
        "| polygon | 10 vertices/area | 12.5 ns | 12.4 ns - 12.6 ns |",
        "| polygon | 10 vertices/center | 20.0 ns | 19.8 ns - 20.2 ns |",
    ]


def test_cli_fails_without_results(tmp_path):
    assert criterion.main(["--criterion-dir", str(tmp_path)]) == 1
