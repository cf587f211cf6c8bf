"""The index page in a real headless browser (the ``browser`` fixture: Debian's chromium
driven by selenium): it loads offline with no console error, its table, and its
flamegraphs' search and zoom."""

import re

import pytest

from conftest import SMOKE_RUNGS, console_errors, requested_urls, serve

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


def test_speedscope_link_opens_a_profile(index):
    link = index.find_element("css selector", "a.speedscope")
    link.click()
    assert index.current_url.endswith(".speedscope.json")
    body = index.find_element("tag name", "body").text
    assert "https://www.speedscope.app/file-format-schema.json" in body
