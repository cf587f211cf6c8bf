"""The history of every rung over a range of commits, measured by asv.

    ladder-bench history RANGE [--machine NAME] [--out profiles] [--install REQ ...]
        [ASV_RUN_OPTIONS ...]

Needs no asv file in the project: the asv configuration and benchmarks are written into
``.ladder-bench/history/`` from ``[tool.ladder-bench]`` (``ladder_bench.asv_project``).
``asv run RANGE`` (options this command does not know go to it, e.g.
``--skip-existing-commits``) builds every commit of RANGE (git's ``A..B``; ``HEAD^!`` is
HEAD alone) with ``pip wheel``, installs it with its dependencies into a virtualenv of
this interpreter's Python beside a copy of this ladder-bench, and runs the benchmarks of
``ladder_bench.asv_suite`` on the checkout's rungs; the results accumulate in
``.ladder-bench/history/results``. Then ``asv publish`` writes the site into
OUT/history, made to work with no network (asv's page loads jQuery, flot and bootstrap
from CDNs; this package ships copies, ``asv_vendor/``) and to chart every benchmark from
zero (``y-axis-from-zero.js``, a flot plugin of this package's), and OUT/index.html gets
a "History" section linking it.
"""

import argparse
import collections
import contextlib
import importlib.util
import io
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import asv_project, cli, config, report
from .display import progress

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
REMOTE_TAG = re.compile(
    r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:</script>)?'
)
# A flot plugin (flot's own extension point, of the flot VENDOR holds) that starts every
# chart's y axis at zero, as asv does for times and sizes only; loaded right after flot.
Y_AXIS_FROM_ZERO = Path(__file__).with_name("y-axis-from-zero.js")
FLOT = "jquery.flot-0.8.3.min.js"


def asv(conf: Path, workspace: Path, command: str, *args: str, quiet: bool = False) -> int:
    """``asv COMMAND`` on the generated configuration; its exit status. Its output is shown
    as it comes (``quiet``: only if it fails), tracebacks trimmed by ``AsvOutput``; when
    it fails, one line says what failed and what to do."""
    progress(f"$ asv {command} {' '.join(args)}")
    process = subprocess.Popen(
        [sys.executable, "-m", "asv", command, "--config", str(conf), *args],
        cwd=workspace,
        env=asv_project.path_with_interpreter(conf.parent),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output = AsvOutput()
    assert process.stdout is not None  # stdout=PIPE
    with process:
        for line in process.stdout:
            shown = output.read(line.rstrip("\n"))
            if shown is not None and not quiet:
                print(shown, flush=True)
    if process.returncode != 0:
        if quiet:
            print("\n".join(output.tail), file=sys.stderr)
        print(f"ladder-bench history: asv {command}: {output.summary(conf)}", file=sys.stderr)
    return process.returncode


class AsvOutput:
    """asv's output as shown: a traceback keeps its exception's line and the frames of the
    project's own code (a failing rung's), not those of asv, asv_runner or this tool, and
    asv's own traceback (not under a benchmark) only its last line."""

    TAIL_LINES = 20
    FAILED = re.compile(r"·+ (\S+)\s+failed$")

    def __init__(self):
        self.tail: collections.deque[str] = collections.deque(maxlen=self.TAIL_LINES)
        self.failed: list[str] = []
        self.traceback_indent: int | None = None
        self.hiding_frame = False

    def read(self, line: str) -> str | None:
        """The line as shown, or None if it is hidden."""
        text = line.lstrip()
        indent = len(line) - len(text)
        start = line.find("Traceback (most recent call last):")
        if start >= 0:
            # Under a benchmark's line (after asv's "[ 50.00%] ···· "), or asv's own.
            self.traceback_indent = start
            return line if start > 0 else None
        if self.traceback_indent is not None:
            if indent > self.traceback_indent:  # a frame, its source line or markers
                if text.startswith('File "'):
                    self.hiding_frame = self.internal(text)
                return None if self.hiding_frame else line
            self.traceback_indent, self.hiding_frame = None, False  # the exception's line
        found = self.FAILED.search(line)
        if found:
            self.failed.append(found.group(1))
        if text:
            self.tail.append(line)
        return line

    @staticmethod
    def internal(frame: str) -> bool:
        path = frame.split('"')[1]
        return path.startswith("<") or bool(
            {"asv", "asv_runner", "ladder_bench", "concurrent"} & set(Path(path).parts)
        )

    def summary(self, conf: Path) -> str:
        """What failed, and what to do, in one line."""
        if self.failed:
            return (
                f"{len(self.failed)} benchmark{'s' if len(self.failed) > 1 else ''} failed "
                f"({', '.join(self.failed)}); their errors are above, under each"
            )
        last = self.tail[-1].strip(" ·") if self.tail else "no output"
        if any("Failed to build the project" in line for line in self.tail):
            return (
                f"{last} The commit's build failed (its output is above): fix it, or "
                "measure a range without that commit."
            )
        return f"{last} (asv's files are in {conf.parent}; -v shows the commands asv runs)"


def offline(site: Path) -> None:
    """Point ``site/index.html``'s CDN scripts and style sheet at copies in ``site/vendor``,
    and load the plugin that starts every chart's y axis at zero after flot.

    A CDN address this table does not know (a newer asv) is an error: the page would
    load it from the network."""
    page = site / "index.html"

    def local(tag: re.Match[str]) -> str:
        kind, url = tag.group(1), tag.group(2)
        vendored = VENDORED.get(url.rsplit("/", 1)[-1])
        if vendored is None:
            raise RuntimeError(f"{page}: no vendored copy of {url}; add one to {VENDOR}")
        if kind == "link":
            return f'<link rel="stylesheet" href="vendor/{vendored}">'
        script = f'<script src="vendor/{vendored}" onerror="js_load_failure()"></script>'
        if vendored == FLOT:
            script += f'\n    <script src="{Y_AXIS_FROM_ZERO.name}"></script>'
        return script

    html = REMOTE_TAG.sub(local, page.read_text())
    if f'src="{Y_AXIS_FROM_ZERO.name}"' not in html:
        raise RuntimeError(
            f"{page}: loads no flot from a CDN, so nothing loads {Y_AXIS_FROM_ZERO.name} "
            "after it; a newer asv? see how history.offline reads asv's page"
        )
    shutil.copytree(VENDOR, site / "vendor", dirs_exist_ok=True)
    shutil.copy(Y_AXIS_FROM_ZERO, site / Y_AXIS_FROM_ZERO.name)
    page.write_text(html)


def section(out: Path, revisions: str, machine: str | None) -> dict:
    """The index page's link to the site."""
    (out / "history.md").write_text(
        f"[The asv site](history/index.html): every rung's time per call, peak memory and "
        f"instructions per call (callgrind) over the commits measured so far on "
        f"{f'machine `{machine}`' if machine else 'this machine'} (the last run: "
        f"`{revisions}`). Instruction counts repeat run to run: a step in their chart is "
        "a change in the code.\n\n"
        "asv's page reads its data with XMLHttpRequest, which browsers refuse from "
        f"`file://`: from disk, serve the folder (`python -m http.server -d {out}`) and "
        "open http://127.0.0.1:8000/history/.\n"
    )
    return {
        "id": "history",
        "title": "History",
        "order": 70,
        "intro": "From `ladder-bench history RANGE` (asv).",
        "blocks": [{"markdown": "history.md"}],
    }


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench history", description=__doc__)
    parser.add_argument("range", help="the commits to measure, e.g. v1.0..HEAD or HEAD^!")
    parser.add_argument(
        "--machine", help="the name results are filed under (default: asv's, the host name)"
    )
    parser.add_argument("--out", type=Path, default=Path("profiles"), help="output folder")
    parser.add_argument(
        "--install",
        action="append",
        default=[],
        metavar="REQUIREMENT",
        help="also pip-install this beside each commit (what the rungs' workloads or hooks "
        "import that the project does not depend on); repeatable",
    )
    config.add_options(parser)
    args, asv_run_options = parser.parse_known_args(argv)
    # Everything that can be checked is, before asv builds anything.
    workspace = args.workspace.resolve()
    repo = asv_project.git_top_level(workspace) if workspace.is_dir() else None
    if repo is None:
        parser.error(
            f"{workspace} is not in a git repository: history measures commits "
            "(--workspace names the checkout)"
        )
    if args.range not in ASV_RANGE_WORDS:
        try:
            cli.commit_range(workspace, args.range)
        except argparse.ArgumentTypeError as error:
            parser.error(str(error))
        commits = commit_count(workspace, args.range)
        if commits == 0:
            parser.error(
                f"{args.range!r} names no commits (A..B is the commits after A up to B; "
                "HEAD^! is HEAD alone)"
            )
    ladder, _ = config.from_options(parser, args, None)
    for module, package in (("asv", "asv"), ("virtualenv", "virtualenv")):
        if importlib.util.find_spec(module) is None:
            parser.error(f"{package} is not installed: pip install 'ladder-bench[history]'")
    asv_run_options = [*asv_run_options, *valgrind_options(asv_run_options)]
    if not {"-e", "--show-stderr"} & set(asv_run_options):
        # A failing rung's error under its benchmark's line, not only "failed".
        asv_run_options.append("--show-stderr")
    refused = asv_refuses(asv_run_options)
    if refused:
        parser.error(refused)

    out = args.out.resolve()
    project = asv_project.Project(
        repo=repo,
        subdir="" if workspace == repo else str(workspace.relative_to(repo)),
        name=asv_project.project_name(ladder, workspace),
    )
    conf = asv_project.write(workspace, ladder, project, args.install)
    if args.range not in ASV_RANGE_WORDS:
        progress(
            f"{commits} commit{'s' if commits != 1 else ''} of {args.range}, each built "
            f"and measured on Python {asv_project.python_version()} ({sys.executable})"
        )
    site = out / "history"
    machine = ["--machine", args.machine] if args.machine else []
    started = time.perf_counter()
    # With --yes it still prints every question it did not ask.
    if asv(conf, workspace, "machine", "--yes", *machine, quiet=True) != 0:
        return 1
    run_status = asv(conf, workspace, "run", *machine, *asv_run_options, args.range)
    if not (conf.parent / "results" / "benchmarks.json").is_file():
        return run_status  # nothing was measured, ever: no site to publish
    # Published even when a benchmark failed: the others' results are worth seeing.
    if asv(conf, workspace, "publish", "--html-dir", str(site)) != 0:
        return 1
    offline(site)
    report.begin_run(workspace)
    report.publish(out, section(out, args.range, args.machine))
    progress(f"Wrote the asv site into {site} in {time.perf_counter() - started:.0f}s.")
    return run_status


def commit_count(workspace: Path, revisions: str) -> int:
    """How many commits asv's ``run REVISIONS`` measures (first parents, as asv lists them)."""
    command = ["git", "rev-list", "--first-parent", "--count", "--end-of-options", revisions]
    completed = subprocess.run(
        [*command, "--"], cwd=workspace, capture_output=True, text=True, check=True
    )
    return int(completed.stdout)


def valgrind_options(asv_run_options: list[str]) -> list[str]:
    """``--bench`` leaving the instruction counts out when valgrind is missing (and the
    benchmarks were not chosen already), with a line saying so."""
    if shutil.which("valgrind") is not None:
        return []
    progress(
        "valgrind is not installed: no instructions per call, only times and peak memory "
        "(apt-get install valgrind, or your system's package, to count them)"
    )
    chosen = any(
        option in ("-b", "--bench") or option.startswith("--bench=") for option in asv_run_options
    )
    return [] if chosen else ["--bench", "time_call|track_peak_memory"]


def asv_refuses(asv_run_options: list[str]) -> str | None:
    """What is wrong with the options meant for ``asv run``, in asv's words, or None: a
    typo is found now, not after the virtualenv was made."""
    from asv.commands import make_argparser

    asv_parser, _ = make_argparser()
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            parsed, unknown = asv_parser.parse_known_args(["run", *asv_run_options])
    except SystemExit:
        return complaint.getvalue().strip().splitlines()[-1].partition("error: ")[2]
    if unknown:
        return f"unknown option {' '.join(unknown)} (neither this command's nor asv run's)"
    if parsed.range is not None:
        return f"a second commit range {parsed.range!r}"
    return None


if __name__ == "__main__":
    sys.exit(main())
