"""The asv site ``ladder-bench history`` publishes, in a real headless browser (the ``browser``
fixture: Debian's chromium driven by selenium): it loads, draws its charts, logs no
console error and requests nothing from anywhere but the server it came from.

The site is published from a tiny project measured with asv in this interpreter (asv's
"existing" environment: nothing to build), so this takes seconds; asv's pages and the
offline copies of their scripts are the same whatever the results. The ladder's own
history is ``tox -e history``'s.
"""

import os
import subprocess
import sys

import pytest

from conftest import console_errors, requested_urls, serve
from ladder_bench import history

pytest.importorskip("asv")
pytest.importorskip("selenium")
from selenium.webdriver.support.wait import WebDriverWait

ASV_CONF = """{
    "version": 1, "project": "tiny", "repo": ".", "branches": ["HEAD"],
    "environment_type": "existing", "benchmark_dir": "suite",
    "env_dir": ".asv/env", "results_dir": ".asv/results", "html_dir": ".asv/html"
}"""
SUITE = """
def time_sum():
    sum(range(1000))


def track_items():
    return 1000


track_items.unit = "items"
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """asv's site for two commits of a tiny project, made offline as ladder-bench history does."""
    project = tmp_path_factory.mktemp("tiny")
    # asv files its machine description under ~: a home of the test's own.
    env = {**os.environ, "HOME": str(tmp_path_factory.mktemp("home"))}

    def run(*command: str) -> str:
        completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return completed.stdout

    (project / "asv.conf.json").write_text(ASV_CONF)
    (project / "suite").mkdir()
    (project / "suite" / "__init__.py").write_text("")
    (project / "suite" / "benchmarks.py").write_text(SUITE)
    git = ("git", "-c", "user.name=test", "-c", "user.email=test@example.invalid")
    run(*git, "init", "--quiet")
    run(*git, "add", "--all")
    run(*git, "commit", "--quiet", "--message", "one")
    run(*git, "commit", "--quiet", "--allow-empty", "--message", "two")
    asv = (sys.executable, "-m", "asv")
    run(*asv, "machine", "--yes")
    for commit in run("git", "rev-list", "HEAD").split():
        run(*asv, "run", "--environment", f"existing:{sys.executable}", "--set-commit-hash", commit)
    site = project / "site"
    run(*asv, "publish", "--html-dir", str(site))
    history.offline(site)
    return site


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP (asv reads its JSON with XMLHttpRequest, which file:// does not
    allow); its base URL."""
    with serve(site) as url:
        yield url


def test_no_script_or_style_sheet_from_a_cdn(site):
    page = (site / "index.html").read_text()
    assert "https://" not in page.replace("https://github.com/airspeed-velocity/asv/", "")
    assert (site / "vendor" / "jquery-3.3.1.min.js").is_file()
    assert (site / history.Y_AXIS_FROM_ZERO.name).is_file()


@pytest.mark.parametrize(
    ("fragment", "drawn"),
    [
        ("", "return document.querySelectorAll('.benchmark-container').length"),
        ("#benchmarks.track_items", "return document.querySelectorAll('canvas.flot-base').length"),
        ("#benchmarks.time_sum", "return document.querySelectorAll('canvas.flot-base').length"),
    ],
    ids=["summary", "track chart", "time chart"],
)
def test_page_loads_offline_with_no_console_error(browser, server, fragment, drawn):
    console_errors(browser), requested_urls(browser)  # what earlier pages left
    browser.get(server + "index.html" + fragment)
    WebDriverWait(browser, 20).until(lambda driver: driver.execute_script(drawn))
    assert "error.html" not in browser.current_url  # asv's page when a script failed
    assert console_errors(browser) == []
    urls = requested_urls(browser)
    assert urls, "the performance log recorded no request"
    elsewhere = [url for url in urls if not url.startswith((server, "data:", "blob:"))]
    assert not elsewhere, elsewhere


# The main chart's y axis as flot laid it out: [min, max], once it is drawn.
Y_AXIS = (
    "var plot = $('#main-graph').data('plot');"
    "return plot && [plot.getAxes().yaxis.min, plot.getAxes().yaxis.max]"
)


@pytest.mark.parametrize(
    ("fragment", "zoomed"),
    [
        ("#benchmarks.track_items", False),  # asv alone fits a track_ chart to its data
        ("#benchmarks.time_sum", False),
        ("#benchmarks.track_items?y-axis-scale=zoom", True),
    ],
    ids=["track chart", "time chart", "track chart zoomed"],
)
def test_every_chart_starts_at_zero_unless_zoomed(browser, server, fragment, zoomed):
    browser.get(server + "index.html" + fragment)
    low, high = WebDriverWait(browser, 20).until(lambda driver: driver.execute_script(Y_AXIS))
    if zoomed:  # the data's range: every commit tracked 1000 items (SUITE)
        assert 0 < low <= 1000 <= high
    else:
        assert low == 0 < high
