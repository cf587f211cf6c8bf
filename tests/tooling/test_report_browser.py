"""The index page in a real headless browser: Debian's chromium driven by selenium.

Skipped where chromium or chromedriver is missing, unless POLY_MATCH_REQUIRE_BROWSER=1
(as in .ci/run), which turns the skip into a failure.
"""

import os
import re
import shutil

import pytest

from conftest import SMOKE_RUNGS

webdriver = pytest.importorskip("selenium.webdriver")

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


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--allow-file-access-from-files"):  # fmt: skip
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture
def index(browser, smoke_profiles):
    browser.get((smoke_profiles / "index.html").as_uri())
    return browser


def test_table_rows(index):
    rows = index.execute_script(
        "return [...document.querySelectorAll('table')[0].querySelectorAll('tbody tr')]"
        ".map(row => [...row.cells].map(cell => cell.textContent))"
    )
    assert [row[0] for row in rows] == list(SMOKE_RUNGS)
    assert all(re.fullmatch(r"[\d.,]+ (s|ms|µs)", row[2]) for row in rows), rows


def test_flamegraph_scripts_ran(index):
    # py-spy's SVG runs its script when embedded with <object>: its init() reads the
    # total sample count and draws the search control; both are visible from outside.
    index.set_script_timeout(20)
    state = index.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const objects = [...document.querySelectorAll('object.flamegraph')];
        const ready = () => objects.every(o => o.contentDocument && o.contentWindow.total_samples);
        const poll = () => ready()
            ? done(objects.map(o => ({
                samples: o.contentWindow.total_samples,
                search: !!o.contentDocument.getElementById('search'),
              })))
            : setTimeout(poll, 100);
        poll();
        """
    )
    assert len(state) == len(SMOKE_RUNGS)
    assert all(graph["samples"] >= 200 and graph["search"] for graph in state)


def test_speedscope_link_opens_a_profile(index):
    link = index.find_element("css selector", "a.speedscope")
    link.click()
    assert index.current_url.endswith(".speedscope.json")
    body = index.find_element("tag name", "body").text
    assert "https://www.speedscope.app/file-format-schema.json" in body
