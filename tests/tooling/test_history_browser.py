"""The asv site ``ladder-history`` publishes, in a real headless browser (Debian's
chromium driven by selenium): it loads, draws its charts, logs no console error and
requests nothing from anywhere but the server it came from.

The site is published from a tiny project measured with asv in this interpreter (asv's
"existing" environment: nothing to build), so this takes seconds; asv's pages and the
offline copies of their scripts are the same whatever the results. The ladder's own
history is ``tox -e history``'s.

Skipped where chromium or chromedriver is missing, unless POLY_MATCH_REQUIRE_BROWSER=1
(as in .ci/run), which turns the skip into a failure.
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

pytest.importorskip("asv")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from ladder_bench import history  # noqa: E402

# Debian's chromium, or the Google Chrome that GitHub's Ubuntu runners ship.
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("POLY_MATCH_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "chromium and chromedriver are required (apt-get install chromium chromium-driver)"
        )
    pytest.skip("chromium or chromedriver is not installed", allow_module_level=True)

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
    """asv's site for two commits of a tiny project, made offline as ladder-history does."""
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
        run(*asv, "run", "--environment", f"existing:{sys.executable}",
            "--set-commit-hash", commit)  # fmt: skip
    site = project / "site"
    run(*asv, "publish", "--html-dir", str(site))
    history.offline(site)
    return site


@pytest.fixture(scope="module")
def server(site):
    """The site over HTTP on 127.0.0.1, as GitHub Pages serves it (asv reads its JSON with
    XMLHttpRequest, which file:// does not allow); its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    # The console's messages, and every request the page makes (Network.requestWillBeSent).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def requested_urls(driver) -> list[str]:
    """The URL of every request since the performance log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_no_script_or_style_sheet_from_a_cdn(site):
    page = (site / "index.html").read_text()
    assert "https://" not in page.replace("https://github.com/airspeed-velocity/asv/", "")
    assert (site / "vendor" / "jquery-3.3.1.min.js").is_file()
    assert history.Y_AXIS_FROM_ZERO in (site / "graphdisplay.js").read_text()


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
    for log in ("browser", "performance"):  # reading a log empties it: an earlier page's
        browser.get_log(log)
    browser.get(server + "index.html" + fragment)
    WebDriverWait(browser, 20).until(lambda driver: driver.execute_script(drawn))
    assert "error.html" not in browser.current_url  # asv's page when a script failed
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    urls = requested_urls(browser)
    assert urls, "the performance log recorded no request"
    elsewhere = [url for url in urls if not url.startswith((server, "data:", "blob:"))]
    assert not elsewhere, elsewhere
