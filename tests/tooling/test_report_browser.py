"""The index page in a real headless browser (the ``browser`` fixture: Debian's chromium
driven by selenium): it loads offline with no console error, its table, and its
flamegraphs' search and zoom; its headline and noise banner; on a phone, in dark mode."""

import base64
import contextlib
import json
import re
import shutil
import time

import pytest

from conftest import SMOKE_RUNGS, console_errors, requested_urls, serve
from ladder_bench import report

pytest.importorskip("selenium")
from selenium.webdriver.support.wait import WebDriverWait

RUST_RUNG = "v3_riir_polygon"  # of SMOKE_RUNGS, one whose flamegraph has Rust frames


@pytest.fixture
def index(browser, smoke_profiles):
    """The page, once every embedded flamegraph has run its script."""
    browser.get((smoke_profiles / "index.html").as_uri())
    WebDriverWait(browser, 20).until(
        lambda driver: driver.execute_script(
            "return [...document.querySelectorAll('object.flamegraph')].every("
            "o => o.contentDocument && o.contentWindow.total_samples)"
        )
    )
    return browser


def test_the_page_and_a_flamegraph_load_offline_without_errors(browser, smoke_profiles):
    """From disk (file://), and served as GitHub Pages serves them (http://)."""
    with serve(smoke_profiles) as server:
        for base in (smoke_profiles.as_uri() + "/", server):
            for page in ("index.html", f"flamegraphs/{RUST_RUNG}.svg"):
                console_errors(browser), requested_urls(browser)  # what earlier pages left
                browser.get(base + page)
                WebDriverWait(browser, 20).until(
                    lambda driver: driver.execute_script("return document.readyState") == "complete"
                )
                errors = console_errors(browser)
                if page.endswith(".svg"):  # the browser's own favicon request: an SVG can't
                    errors = [e for e in errors if "/favicon.ico - " not in e]  # name one
                assert errors == [], base + page
                requested = requested_urls(browser)
                assert base + page in requested
                assert [url for url in requested if not url.startswith(base)] == [], base + page


def test_table_rows(index):
    rows = index.execute_script(
        "return [...document.querySelectorAll('table')[0].querySelectorAll('tbody tr')]"
        ".map(row => [...row.cells].map(cell => cell.textContent))"
    )
    assert [row[0] for row in rows] == list(SMOKE_RUNGS)
    assert all(re.fullmatch(r"[\d.,]+ (s|ms|µs)", row[2]) for row in rows), rows


def test_flamegraph_scripts_ran(index):
    # inferno's SVG runs its script when embedded with <object>: its init() reads the
    # total sample count and draws the search control; both are visible from outside.
    state = index.execute_script(
        """
        return [...document.querySelectorAll('object.flamegraph')].map(o => ({
            samples: o.contentWindow.total_samples,
            search: !!o.contentDocument.getElementById('search'),
        }));
        """
    )
    assert len(state) == len(SMOKE_RUNGS)
    assert all(graph["samples"] >= 200 and graph["search"] for graph in state)


def test_flamegraph_search_highlights_a_rust_function_by_its_demangled_name(index):
    name = "poly_match_rs::python::v3_riir_polygon::find_close_polygons"
    state = index.execute_script(
        """
        const graph = document.querySelector(`object.flamegraph[data$="${arguments[1]}.svg"]`);
        const [win, doc] = [graph.contentWindow, graph.contentDocument];
        win.search(arguments[0]);
        return {
            highlighted: [...doc.querySelectorAll('#frames > g')]
                .filter(g => g.querySelector('rect').getAttribute('fill') === win.searchcolor)
                .map(g => g.querySelector('title').textContent),
            matched: doc.getElementById('matched').textContent,
        };
        """,
        name,
        RUST_RUNG,
    )
    assert state["highlighted"], "search highlighted nothing"
    assert all(title.startswith(name) for title in state["highlighted"]), state["highlighted"]
    assert re.fullmatch(r"Matched: [\d.]+%", state["matched"]), state["matched"]


def test_a_click_on_a_flamegraph_frame_zooms_into_it(index):
    graph = index.find_element("css selector", f'object.flamegraph[data$="{RUST_RUNG}.svg"]')
    index.switch_to.frame(graph)
    try:
        # A frame between a tenth and a half of the samples wide: zooming must widen it.
        frame = index.execute_script(
            """
            const total = window.total_samples;
            return [...document.querySelectorAll('#frames > g')].find(g => {
                const width = parseInt(g.querySelector('rect').getAttribute('fg:w'));
                return width > total / 10 && width < total / 2;
            });
            """
        )
        width = "return arguments[0].querySelector('rect').getBoundingClientRect().width"
        before = index.execute_script(width, frame)
        frame.click()
        assert index.execute_script(width, frame) > 1.5 * before
        unzoom = index.find_element("id", "unzoom")
        assert "hide" not in unzoom.get_attribute("class")
    finally:
        index.switch_to.default_content()


def test_speedscope_link_downloads_a_profile(index):
    """A speedscope file is for speedscope.app: the link saves it rather than opening it."""
    link = index.find_element("css selector", "a.speedscope")
    assert link.get_attribute("download") is not None
    profile = index.execute_async_script(
        "fetch(arguments[0]).then(r => r.json()).then(arguments[1])", link.get_attribute("href")
    )
    assert profile["$schema"] == "https://www.speedscope.app/file-format-schema.json"


NOISY = {
    "trustworthy": False,
    "verdict": "noisy",
    "reasons": ["v1's IQR is 41% of its median (limit 10%)", "load average 3.2 on 2 cores"],
    "advice": "Rerun on a quiet machine.",
}
SPEEDUP_RANGE = "1.9x\N{EN DASH}2.1x"
QUIET = {"trustworthy": True, "verdict": "quiet", "reasons": [], "advice": ""}


def with_headline(out, noise: dict) -> str:
    """The page of ``out`` (a copy of the smoke run) with a headline in its timings
    section, as the contract between timings and the report shapes it; its URL."""
    path = out / "sections" / "timings.json"
    section = json.loads(path.read_text())
    section["headline"] = {
        "workload": "n_polygons=40, n_points=7",
        "size_name": "quick-size",
        "machine": "Some CPU (2 cores)",
        "build": "poly-match 0.1.0, wheel built by maturin (release)",
        "commit": "0123456789ab",
        "baseline": {"rung": SMOKE_RUNGS[0], "median": "3.43 ms", "spread": "4.0%"},
        "fastest": {
            "rung": SMOKE_RUNGS[1],
            "median": "1.72 ms",
            "speedup": "2.0x",
            "speedup_range": SPEEDUP_RANGE,
        },
        "noise": noise,
    }
    path.write_text(json.dumps(section))
    return report.render(out).as_uri()


@pytest.fixture
def pages(tmp_path, smoke_profiles):
    """A copy of the smoke run's output: its real flamegraphs, table and chart."""
    out = tmp_path / "profiles"
    shutil.copytree(smoke_profiles, out)
    return out


@contextlib.contextmanager
def emulated(browser, width=None, height=None, dark=False):
    """The browser as a phone of ``width`` x ``height``, and/or in dark mode, meanwhile."""
    if width:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )
    if dark:
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def load(browser, url):
    browser.get(url)
    WebDriverWait(browser, 20).until(
        lambda driver: driver.execute_script(
            "return document.readyState === 'complete' && [...document.querySelectorAll("
            "'object.flamegraph')].every(o => o.contentWindow && o.contentWindow.total_samples)"
        )
    )


def test_the_headline_names_the_workload_the_baseline_and_the_fastest_rung(browser, pages):
    load(browser, with_headline(pages, QUIET))
    headline = browser.find_element("css selector", "header.headline").text
    for text in (
        "n_polygons=40, n_points=7",
        "Some CPU (2 cores)",
        "0123456789ab",
        f"Baseline: {SMOKE_RUNGS[0]}",
        "3.43 ms",
        f"Fastest: {SMOKE_RUNGS[1]}",
        "1.72 ms",
        "2.0x",
        SPEEDUP_RANGE,
    ):
        assert text in headline, text
    linked = browser.execute_script(
        "return [...document.querySelectorAll('#contents a')].map(a => a.hash)"
    )
    assert {"#timings", "#flamegraphs"} <= set(linked)
    # Above the fold on a laptop: the figures and the contents, not the sections.
    top = browser.execute_script(
        "return document.querySelector('#contents').getBoundingClientRect().bottom"
    )
    assert top < browser.execute_script("return innerHeight")


@pytest.mark.parametrize(("noise", "shown"), [(NOISY, True), (QUIET, False)])
def test_the_noise_banner_shows_for_a_noisy_run_only(browser, pages, noise, shown):
    load(browser, with_headline(pages, noise))
    banners = browser.find_elements("css selector", ".noise-banner")
    assert bool(banners) == shown
    if shown:
        assert banners[0].is_displayed()
        for text in (*NOISY["reasons"], NOISY["advice"]):
            assert text in banners[0].text


def test_on_a_phone_only_a_table_box_scrolls_sideways(browser, pages):
    with emulated(browser, 390, 844):
        load(browser, with_headline(pages, NOISY))
        widths = browser.execute_script(
            "return [document.documentElement.scrollWidth, innerWidth,"
            " [...document.querySelectorAll('table')].map(t => t.parentElement.className)]"
        )
    page_width, window_width, table_boxes = widths
    assert window_width == 390  # the viewport meta: the page is drawn at the phone's width
    assert page_width <= window_width
    assert table_boxes
    assert set(table_boxes) == {"table-box"}


def test_flamegraphs_make_no_console_error_while_the_page_is_resized(browser, pages):
    """inferno's script redraws a graph on every resize of its frame; a full-page
    screenshot resizes the page through a zero width, where a graph whose frame has
    no minimum width sets a negative width and logs an error."""
    console_errors(browser)  # what earlier pages left
    load(browser, pages.joinpath("index.html").as_uri())
    time.sleep(0.5)  # painted
    for _ in range(2):
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True})
        assert base64.b64decode(shot["data"]).startswith(b"\x89PNG")
    with emulated(browser, 390, 844):
        time.sleep(0.5)  # the graphs' resize handlers run
    time.sleep(0.5)
    assert console_errors(browser) == []


def test_dark_mode_darkens_the_page(browser, pages):
    url = with_headline(pages, NOISY)
    background = "return getComputedStyle(document.documentElement).backgroundColor"
    load(browser, url)
    light = browser.execute_script(background)
    with emulated(browser, dark=True):
        load(browser, url)
        dark = browser.execute_script(background)

    def brightness(color):
        return sum(int(channel) for channel in re.findall(r"\d+", color)[:3])

    assert brightness(light) > 700, light
    assert brightness(dark) < 150, dark
