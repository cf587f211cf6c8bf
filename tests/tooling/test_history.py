"""The asv benchmarks of every declared rung, and the offline asv site (tox -e history).
The site in a browser is test_history_browser.py's; the ladder's history, tox -e history's."""

import re
from pathlib import Path

import pytest

from ladder_bench import asv_suite, history

SECOND = Path(__file__).with_name("second_ladder")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def suite(tmp_path):
    """The second ladder's benchmarks, its "vectorized" rung pointing at nothing (as an old
    commit's library lacks a newer rung)."""
    (tmp_path / "pyproject.toml").write_text(
        (SECOND / "pyproject.toml").read_text().replace("path_length.py:vectorized",
                                                        "path_length.py:no_such_function")
        .replace("path_length.py", str(SECOND / "path_length.py"))
    )  # fmt: skip
    return asv_suite.benchmarks(tmp_path / "pyproject.toml")


def test_one_class_per_rung_named_after_it_with_three_benchmarks(suite):
    assert list(suite) == ["loop", "vectorized"]
    loop = suite["loop"]
    assert loop.__name__ == "loop"
    assert loop.track_instructions.unit == "instructions"
    assert loop.track_peak_memory.unit == "MiB"
    assert loop.setup_cache.timeout >= 1200


def test_a_rung_measures_and_reports_the_cached_instruction_count(suite):
    loop = suite["loop"]()
    counts = {"loop": 1234.5}
    loop.setup(counts)
    loop.time_call(counts)
    assert loop.track_peak_memory(counts) >= 0
    assert loop.track_instructions(counts) == 1234.5


def test_a_rung_the_library_lacks_is_skipped(suite):
    with pytest.raises(NotImplementedError, match="vectorized: not in this commit"):
        suite["vectorized"]().setup({})


CDN_PAGE = """<html><head>
<script src="https://code.jquery.com/jquery-3.3.1.min.js" integrity="sha256-x" crossorigin="anonymous" onerror="js_load_failure()"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js" onerror="js_load_failure()"></script>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css" crossorigin="anonymous">
<script src="asv.js"></script>
</head><body><a href="https://github.com/airspeed-velocity/asv/">asv</a></body></html>
"""  # noqa: E501


def published(site: Path, page: str) -> Path:
    """A site as asv publishes it, as far as ``offline`` reads it."""
    (site / "index.html").write_text(page)
    (site / "graphdisplay.js").write_text(f"function f() {{\n{history.Y_AXIS_FROM_DATA}}}\n")
    return site


def test_the_site_loads_its_scripts_and_style_sheet_from_vendored_copies(tmp_path):
    history.offline(published(tmp_path, CDN_PAGE))
    page = (tmp_path / "index.html").read_text()
    assert '<script src="vendor/jquery-3.3.1.min.js" onerror="js_load_failure()">' in page
    assert '<script src="vendor/jquery.flot-0.8.3.min.js"' in page
    assert '<link rel="stylesheet" href="vendor/bootstrap-3.1.0.min.css">' in page
    assert '<script src="asv.js">' in page
    assert '<a href="https://github.com/airspeed-velocity/asv/">' in page  # a link, not a load
    for name in history.VENDORED.values():
        assert (tmp_path / "vendor" / name).is_file()


def test_every_chart_starts_at_zero(tmp_path):
    history.offline(published(tmp_path, CDN_PAGE))
    script = (tmp_path / "graphdisplay.js").read_text()
    assert history.Y_AXIS_FROM_ZERO in script
    assert history.Y_AXIS_FROM_DATA not in script


def test_a_cdn_script_with_no_vendored_copy_is_an_error(tmp_path):
    published(tmp_path, '<script src="https://cdn.example/new-lib.js"></script>')
    with pytest.raises(
        RuntimeError, match=re.escape("no vendored copy of https://cdn.example/new-lib.js")
    ):
        history.offline(tmp_path)


def test_a_rung_whose_name_is_not_a_python_name_gets_a_class_asv_can_address():
    # asv splits benchmark names on dots: "Index.match" would name a class "Index".
    suite = asv_suite.benchmarks(ROOT / "pyproject.toml")
    assert "Index_match" in suite
    assert suite["Index_match"].rung.name == "Index.match"
    assert all(name.isidentifier() for name in suite)
