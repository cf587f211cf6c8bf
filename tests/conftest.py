import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import oracle
import poly_match
from poly_match import _rs

# The rungs that call the native module (v2 on); of those, the ones whose per-point
# search, ``find_close_polygons``, is Rust's (v2 to v4).
NATIVE_RUNGS = tuple(
    name for name, rung in poly_match.VERSIONS.items() if vars(rung).get("_rs") is _rs
)
NATIVE_SEARCHES = tuple(
    name for name in NATIVE_RUNGS if hasattr(poly_match.VERSIONS[name], "find_close_polygons")
)


def _polygon_types() -> dict[str, type]:
    """Every distinct ``Polygon`` class of the ladder, named by the first rung that has it
    and the rungs that share it."""
    rungs_of: dict[type, list[str]] = {}
    for name, rung in poly_match.VERSIONS.items():
        rungs_of.setdefault(rung.Polygon, []).append(name)
    return {
        names[0] + (f" (also {', '.join(names[1:])})" if len(names) > 1 else ""): polygon_type
        for polygon_type, names in rungs_of.items()
    }


POLYGON_TYPES = _polygon_types()
# Runs a test once with each of the ladder's polygon classes, as ``polygon_type``.
each_polygon_type = pytest.mark.parametrize(
    "polygon_type", POLYGON_TYPES.values(), ids=POLYGON_TYPES.keys()
)


@pytest.fixture(params=poly_match.RUNG_NAMES)
def rung(request):
    """Each rung of the ladder in turn."""
    return poly_match.VERSIONS[request.param]


def assert_matches_oracle(result, polygons, points, max_dist):
    """``result`` (a rung's ``main`` output) is the oracle's answer.

    Same matched points in the same order, each point equal to its input row, each
    polygon the very object passed in, closer than ``max_dist``, and of minimal area
    (up to oracle.AREA_RTOL; exactly the oracle's where the areas are clearly different).
    """
    expected = oracle.matches(polygons, points, max_dist)
    assert len(result) == len(expected), "a different set of points was matched"
    position = {id(polygon): k for k, polygon in enumerate(polygons)}
    for (point, polygon), match in zip(result, expected, strict=True):
        np.testing.assert_array_equal(point, np.asarray(points[match.point_index]))
        assert id(polygon) in position, "the polygon returned is not one that was passed in"
        chosen = position[id(polygon)]
        assert chosen in match.close, f"polygon {chosen} is not within {max_dist} of the point"
        assert chosen in oracle.smallest(polygons, match.close), (
            f"polygon {chosen} is not the smallest one near point {match.point_index}"
        )


def as_arrays(polygons):
    """Centers and areas from the oracle: array-in approaches get independent inputs."""
    centers = np.array([oracle.center(p) for p in polygons]).reshape(-1, 2)
    areas = np.array([oracle.area(p) for p in polygons])
    return centers, areas


def as_pairs(indices, polygons, points):
    """An array-in approach's answer (best index per point) in main's form."""
    return [(points[i], polygons[k]) for i, k in enumerate(indices) if k >= 0]


ROOT = Path(__file__).resolve().parent.parent
SMOKE_RUNGS = ("v1_6_vectorized", "v3_riir_polygon")


@pytest.fixture(scope="session")
def smoke_profiles(tmp_path_factory):
    """The pipeline in its smallest mode, on two rungs, once per test session."""
    if sys.platform == "darwin" and os.geteuid() != 0:
        pytest.skip("py-spy can only sample other processes as root on macOS")
    out = tmp_path_factory.mktemp("profiles")
    command = [sys.executable, "-m", "ladder_bench.pipeline", "--quick", "--no-criterion"]
    command += ["--rungs", ",".join(SMOKE_RUNGS), "--out", str(out), "--workspace", str(ROOT)]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium (or the Google Chrome that GitHub's Ubuntu runners ship) driven by
    selenium, headless, logging the console and every request a page makes. Skipped where
    either is missing, unless POLY_MATCH_REQUIRE_BROWSER=1 (as in .ci/run): then it fails."""
    webdriver = pytest.importorskip("selenium.webdriver")
    names = ("chromium", "chromium-browser", "google-chrome")
    chromium = next(filter(None, map(shutil.which, names)), None)
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        missing = (
            "chromium and chromedriver are required (apt-get install chromium chromium-driver)"
        )
        if os.environ.get("POLY_MATCH_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    arguments = (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--allow-file-access-from-files",
    )
    for argument in arguments:
        options.add_argument(argument)
    # The console's messages, and every request (Network.requestWillBeSent).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=chromedriver)
    )
    yield driver
    driver.quit()


def console_errors(driver) -> list[str]:
    """The console's errors since it was last read."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """The URL of every request since the performance log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@contextlib.contextmanager
def serve(folder: Path):
    """``folder`` over HTTP on 127.0.0.1, as GitHub Pages serves it; its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        finally:
            httpd.shutdown()
