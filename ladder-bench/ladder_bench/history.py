"""The history of every rung over a range of commits, with asv: ``tox -e history -- RANGE``.

    ladder-history RANGE [--machine NAME] [--out profiles] [ASV_RUN_OPTIONS ...]

``asv run RANGE`` (options it does not know are passed on, e.g. ``--skip-existing-commits``)
builds every commit of RANGE (git's ``A..B``; ``HEAD^!`` is HEAD alone) into asv's
virtualenv beside this checkout's tooling and runs the benchmarks of
``ladder_bench.asv_suite``, as the workspace's ``asv.conf.json`` says; the results
accumulate in its ``results_dir``. Then ``asv publish`` writes the site into
OUT/history, made to work with no network (asv's page loads jQuery, flot and bootstrap
from CDNs; this package ships copies, ``asv_vendor/``) and to chart every benchmark from
zero, and OUT/index.html gets a "History" section linking it.
"""

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import cli, report
from .units import progress

VENDOR = Path(__file__).with_name("asv_vendor")
# asv run's own names for sets of commits, which git does not know.
ASV_RANGE_WORDS = ("ALL", "NEW", "EXISTING")
# The last path segment of each script or style sheet asv 0.6's index.html loads from a
# CDN, and the copy in VENDOR that replaces it (asv_vendor/README.md says where from).
VENDORED = {
    "jquery-3.3.1.min.js": "jquery-3.3.1.min.js",
    "jquery.flot.min.js": "jquery.flot-0.8.3.min.js",
    "jquery.flot.time.min.js": "jquery.flot-0.8.3.time.min.js",
    "jquery.flot.selection.min.js": "jquery.flot-0.8.3.selection.min.js",
    "jquery.flot.categories.min.js": "jquery.flot-0.8.3.categories.min.js",
    "jquery.flot.orderBars.js": "jquery.flot.orderBars.js",
    "stupidtable.min.js": "stupidtable.js",
    "md5.min.js": "md5.js",
    "bootstrap.min.js": "bootstrap-3.1.0.min.js",
    "bootstrap.min.css": "bootstrap-3.1.0.min.css",
}
REMOTE_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>')
# asv's chart starts its y axis at zero for times and bytes only; for a track_ benchmark
# it fits the axis to the data, so an instruction count that wobbles by 0.003% fills the
# chart as if it jumped. This makes every chart start at zero ("zoom y axis" still fits).
Y_AXIS_FROM_DATA = """\
            if (unit_list !== null) {
                if (!zoom_y_axis) {
                    options.yaxis.min = 0.0;
                    options.yaxis.max = max * 1.3;
                }
"""
Y_AXIS_FROM_ZERO = """\
            if (!zoom_y_axis) {
                options.yaxis.min = 0.0;
                options.yaxis.max = max * 1.3;
            }
            if (unit_list !== null) {
"""


def asv(workspace: Path, *args: str, quiet: bool = False) -> int:
    """Run an asv command in the workspace (where asv.conf.json is); its exit status.
    ``quiet``: its output only if it fails."""
    progress(f"$ asv {' '.join(args)}")
    command = [sys.executable, "-m", "asv", *args]
    completed = subprocess.run(command, cwd=workspace, capture_output=quiet, text=True)
    if quiet and completed.returncode != 0:
        print(completed.stdout + completed.stderr, file=sys.stderr)
    return completed.returncode


def offline(site: Path) -> None:
    """Point ``site/index.html``'s CDN scripts and style sheet at copies in ``site/vendor``,
    and start every chart's y axis at zero.

    A CDN address this table does not know (a newer asv) is an error: the page would
    load it from the network."""
    page = site / "index.html"

    def local(tag: re.Match) -> str:
        kind, url = tag.group(1), tag.group(2)
        vendored = VENDORED.get(url.rsplit("/", 1)[-1])
        if vendored is None:
            raise RuntimeError(f"{page}: no vendored copy of {url}; add one to {VENDOR}")
        if kind == "link":
            return f'<link rel="stylesheet" href="vendor/{vendored}">'
        return f'<script src="vendor/{vendored}" onerror="js_load_failure()"></script>'

    html = REMOTE_TAG.sub(local, page.read_text())
    shutil.copytree(VENDOR, site / "vendor", dirs_exist_ok=True)
    page.write_text(html)
    chart = site / "graphdisplay.js"
    script = chart.read_text()
    if Y_AXIS_FROM_DATA not in script:
        raise RuntimeError(f"{chart}: not asv 0.6.6's y axis code; look at Y_AXIS_FROM_ZERO again")
    chart.write_text(script.replace(Y_AXIS_FROM_DATA, Y_AXIS_FROM_ZERO))


def section(out: Path, revisions: str, machine: str | None) -> dict:
    """The index page's link to the site."""
    (out / "history.md").write_text(
        f"[The asv site](history/index.html): every rung's time per call, peak memory and "
        f"instructions per call (callgrind) over the commits measured so far on "
        f"{f'machine `{machine}`' if machine else 'this machine'} (the last run: "
        f"`{revisions}`). Instruction counts are deterministic: a step in their chart is "
        "a change in the code; see docs/history.md.\n\n"
        "asv's page reads its data with XMLHttpRequest, which browsers refuse from "
        "`file://`: from disk, serve the folder (`python -m http.server -d profiles`) and "
        "open http://127.0.0.1:8000/history/.\n"
    )
    return {
        "id": "history", "title": "History", "order": 70,
        "intro": "From `tox -e history -- RANGE` (asv), or the CI job that publishes to "
        "GitHub Pages.",
        "blocks": [{"markdown": "history.md"}],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench history", description=__doc__)
    parser.add_argument("range", help="the commits to measure, e.g. 3c34493^..5767a97 or HEAD^!")
    parser.add_argument(
        "--machine", help="the name results are filed under (default: asv's, the host name)"
    )
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    parser.add_argument(
        "--workspace", type=Path, default=Path(), help="the repository (where asv.conf.json is)"
    )
    args, asv_run_options = parser.parse_known_args(argv)
    workspace, out = args.workspace.resolve(), args.out.resolve()
    if args.range not in ASV_RANGE_WORDS:  # checked before asv starts anything
        try:
            cli.commit_range(workspace, args.range)
        except argparse.ArgumentTypeError as error:
            parser.error(str(error))
    site = out / "history"
    machine = ["--machine", args.machine] if args.machine else []
    started = time.perf_counter()
    # With --yes it still prints every question it did not ask.
    if asv(workspace, "machine", "--yes", *machine, quiet=True) != 0:
        return 1
    run_status = asv(workspace, "run", *machine, *asv_run_options, args.range)
    # Published even when a benchmark failed: the others' results are worth seeing.
    if asv(workspace, "publish", "--html-dir", str(site)) != 0:
        return 1
    offline(site)
    report.publish(out, section(out, args.range, args.machine))
    progress(f"Wrote the asv site into {site} in {time.perf_counter() - started:.0f}s.")
    return run_status


if __name__ == "__main__":
    sys.exit(main())
