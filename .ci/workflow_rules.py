#!/usr/bin/env python3
"""The GitHub workflow checked against this repository, before GitHub runs it.

    python .ci/workflow_rules.py [--workflow FILE] [--today YYYY-MM-DD]

Reads .github/workflows/ci.yml and checks it structurally against the scripts of .ci/,
tox.ini, docs/ci.md, the tests and .ci/runner-labels.toml: what only a run on GitHub
would otherwise show, or a run that went green while testing less than it should. The
other workflows of .github/workflows/ get the rules that hold for any workflow (pins,
timeouts, runner labels, run: steps, artifacts, no pull request code checked out where
the token can write), their problems prefixed with the file's name. Each problem is one
line naming the job (and step) and what to change; any problem exits 1.
Warnings (a runner label that retires on a later day, a label list not checked for
months) print but do not fail. The local GitHub-like runner runs this before any job,
and tests/ci breaks a copy of the workflow in each way below and expects its problem.

Nothing here lists job or script names: it reads what the scripts declare in their
header comment (a Python script's docstring counts too), one line each:

    .ci/<script> USAGE        its usage: UPPER a positional, --flag a literal, [...]
                              optional, [ARGS...] or [pytest args] any words
    # ci-needs: full-history  its job must check out with fetch-depth: 0 (a comment in
                              parentheses may follow a marker's values)
    # ci-tox: py{python}      the tox envs it runs when its code names them with a shell
                              variable; {python} is the step's Python (setup-python)
                              without its dot: py{python} is py313 on 3.13

stdlib and PyYAML only.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import datetime
import fnmatch
import importlib.util
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the label list cannot be read
    tomllib = None

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = Path(".github/workflows/ci.yml")
WORKFLOWS = Path(".github/workflows")
LABELS = Path(".ci/runner-labels.toml")
DOCS = Path("docs/ci.md")
# The label list is re-checked against GitHub's changelog at least this often.
LABELS_MAX_AGE = datetime.timedelta(days=120)
NEEDS = {"full-history"}
OS_NAME = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
# pytest's options that take a value (the word after them is not a test path).
SHORT_VALUED = {"-m", "-k", "-p", "-c", "-o", "-W", "-n", "--ignore", "--deselect"}
PYTEST_VALUED = SHORT_VALUED | {"--confcutdir", "--rootdir", "--basetemp", "--junitxml", "--tb"}
RUNNER_ARCH = {"x86_64": "X64", "arm64": "ARM64"}
# maturin-action's targets (or a target triple's first part) as an architecture.
TARGET_ARCH = {
    "x86_64": "x86_64",
    "x64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
}
PUBLISHING = ("contents", "pages", "id-token")
FORK_GUARDS = ("github.event.repository.fork == false", "!github.event.repository.fork")
# Triggers whose runs hold the base repository's token (and secrets) whatever the pull
# request changed; and the expressions that name the pull request's own code.
PRIVILEGED_TRIGGERS = ("workflow_run", "pull_request_target")
PULL_REQUEST_CODE = re.compile(
    r"github\.event\.(?:workflow_run\.(?:head_\w+|pull_requests)|pull_request\.head)"
    r"|github\.head_ref"
)
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)


# ---------------------------------------------------------------------------------------
# The scripts of .ci/ and what their headers declare


@dataclass
class Script:
    name: str  # ".ci/<script>"
    path: Path
    text: str
    header: list[str]
    usages: list[list[list[tuple]]] = field(default_factory=list)
    usage_lines: list[str] = field(default_factory=list)
    needs: set[str] = field(default_factory=set)
    tox_declared: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    tox_envs: list[str] = field(default_factory=list)  # as the code writes them
    exports: set[str] = field(default_factory=set)
    bad_header: list[str] = field(default_factory=list)


_SCRIPT_REF = r'"?(?:\$\{?\w+\}?/|\$\(dirname "\$0"\)/)?(\.ci/[\w.-]+)"?'
SOURCE_LINE = re.compile(rf"^\s*(?:\.|source)\s+{_SCRIPT_REF}\s*(?:#.*)?$")
_PREFIX = r"(?:(?:if|then|else|do|!|&&|\|\|)\s+|\w+=[^\s\"'$]*\s+)*"
CALL_LINE = re.compile(rf"^\s*{_PREFIX}{_SCRIPT_REF}(?=\s|;|$)")
TOX_LINE = re.compile(rf"^\s*{_PREFIX}tox(?:\s+(.*))?$")
EXPORT = re.compile(r"^\s*export\s+([A-Z_][A-Z0-9_]*)=(.*)$", re.MULTILINE)
MARKER = re.compile(r"^\s*ci-(needs|tox):\s*(.*?)\s*$")


def header_of(text: str) -> list[str]:
    """The leading comment block (after the shebang), and a Python script's docstring."""
    lines = text.splitlines()
    header = []
    for line in lines[1:] if lines and lines[0].startswith("#!") else lines:
        if not line.startswith("#"):
            break
        header.append(line[1:])
    if lines and "python" in lines[0]:
        try:
            docstring = ast.get_docstring(ast.parse(text))
        except SyntaxError:
            docstring = None
        header += (docstring or "").splitlines()
    return header


def code_lines(text: str) -> list[str]:
    """The script's lines without comments and with continuations joined (shell only)."""
    joined = text.replace("\\\n", " ")
    return [
        line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def tox_env_arguments(args: str) -> list[str]:
    """The envs of one tox command line's -e (none: its env_list), as the code writes them."""
    args = re.split(r"\s(?:--|\|\||&&|\||;)(?:\s|$)", f" {args} ")[0]
    words = args.split()
    if words and words[0] in {"run", "r", "run-parallel", "p"}:
        words = words[1:]
    for index, word in enumerate(words):
        if word in {"-e", "--env"} and index + 1 < len(words):
            value = words[index + 1]
        elif word.startswith(("-e=", "--env=")):
            value = word.split("=", 1)[1]
        else:
            continue
        return [env.strip("\"'") for env in value.split(",")]
    return [""]  # "" stands for env_list


def read_script(repo: Path, path: Path) -> Script:
    text = path.read_text(errors="replace")
    name = f".ci/{path.name}"
    script = Script(name, path, text, header_of(text))
    for line in script.header:
        stripped = line.strip()
        if stripped == name or stripped.startswith(name + " "):
            script.usage_lines.append(stripped)
            try:
                script.usages.append(parse_usage(stripped[len(name) :]))
            except ValueError as error:
                script.bad_header.append(f"usage line `{stripped}`: {error}")
        marker = MARKER.match(line)
        if marker:
            values = [v for v in re.split(r"[,\s]+", marker.group(2).split("(")[0]) if v]
            if marker.group(1) == "needs":
                script.needs.update(values)
                for value in set(values) - NEEDS:
                    script.bad_header.append(
                        f"ci-needs: {value} is not a need these rules know ({', '.join(NEEDS)})"
                    )
            else:
                script.tox_declared += values
    if "python" not in text.partition("\n")[0]:
        for line in code_lines(text):
            if m := SOURCE_LINE.match(line):
                script.sources.append(m.group(1))
            elif (m := CALL_LINE.match(line)) and m.group(1) != name:
                script.calls.append(m.group(1))
            elif m := TOX_LINE.match(line):
                script.tox_envs += tox_env_arguments(m.group(1) or "")
        # A variable set for what comes after, not one extended (PATH="...:$PATH").
        script.exports = {
            variable
            for variable, value in EXPORT.findall(text)
            if not re.search(rf"\$\{{?{variable}\b", value)
        }
    return script


def parse_usage(text: str) -> list[list[tuple]]:
    """A usage's alternatives, each a sequence of ("lit", word), ("pos", NAME),
    ("var", least) and ("opt", alternatives) nodes."""
    tokens = re.findall(r"\[|\]|\||[^\s\[\]|]+", text)
    alternatives, end = _parse_usage(tokens, 0, 0)
    if end != len(tokens):
        raise ValueError("a ] without its [")
    return alternatives


def _parse_usage(tokens: list[str], index: int, depth: int) -> tuple[list[list[tuple]], int]:
    alternatives: list[list[tuple]] = [[]]
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "[":
            inner, index = _parse_usage(tokens, index, depth + 1)
            alternatives[-1].append(("opt", inner))
        elif token == "]":
            if depth == 0:
                return alternatives, index - 1
            return alternatives, index
        elif token == "|":
            alternatives.append([])
        elif token.endswith("..."):
            alternatives[-1].append(("var", 1))
        elif token.startswith("-"):
            alternatives[-1].append(("lit", token))
        elif re.fullmatch(r"[A-Z][A-Z0-9_]*", token):
            alternatives[-1].append(("pos", token))
        elif depth > 0:  # free words in brackets, as in [pytest args]: any words
            alternatives[-1].append(("var", 0))
        else:
            alternatives[-1].append(("lit", token))
    if depth > 0:
        raise ValueError("a [ without its ]")
    return alternatives, index


def _match(sequence: list[tuple], args: list[str], index: int):
    if not sequence:
        yield index
        return
    (kind, value), rest = sequence[0], sequence[1:]
    if kind == "lit":
        if index < len(args) and args[index] == value:
            yield from _match(rest, args, index + 1)
    elif kind == "pos":
        if index < len(args) and not args[index].startswith("-"):
            yield from _match(rest, args, index + 1)
    elif kind == "var":
        for end in range(len(args), index + value - 1, -1):
            yield from _match(rest, args, end)
    else:
        for alternative in value:
            for end in _match(alternative, args, index):
                yield from _match(rest, args, end)
        yield from _match(rest, args, index)


def usage_matches(alternatives: list[list[tuple]], args: list[str]) -> bool:
    return any(end == len(args) for seq in alternatives for end in _match(seq, args, 0))


def run_call(text: str) -> list[str] | None:
    """The words of a run: step that is exactly one call of a .ci/ script, else None."""
    lines = code_lines(text)
    if len(lines) != 1:
        return None
    lexer = shlex.shlex(lines[0], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return None
    if any(word and set(word) <= set("();<>|&") for word in words):
        return None
    while words and re.fullmatch(r"\w+=.*", words[0]):
        words.pop(0)  # VAR=value before the command
    if not words or not re.fullmatch(r"\.ci/[\w.-]+", words[0]):
        return None
    return words


# ---------------------------------------------------------------------------------------
# tox.ini


def split_top_level(text: str) -> list[str]:
    """tox's list: items split on commas and line ends outside braces."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if depth == 0 and char in ",\n":
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return [item for item in items if item and not item.startswith("#")]


def expand_braces(text: str) -> list[str]:
    """tox's generative names: py3{10,11}-{a,b}, and {10-13} as a range."""
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    options = []
    for option in match.group(1).split(","):
        option = option.strip()
        if m := re.fullmatch(r"(\d+)-(\d+)", option):
            options += [str(n) for n in range(int(m.group(1)), int(m.group(2)) + 1)]
        else:
            options.append(option)
    head, tail = text[: match.start()], text[match.end() :]
    return [name for option in options for name in expand_braces(head + option + tail)]


class Tox:
    def __init__(self, path: Path):
        self.config = configparser.ConfigParser(interpolation=None)
        self.config.read(path)
        core = self.config["tox"] if self.config.has_section("tox") else {}
        listed = core.get("env_list", core.get("envlist", ""))
        self.env_list = [n for item in split_top_level(listed) for n in expand_braces(item)]
        self.sections = {
            name
            for section in self.config.sections()
            if section.startswith("testenv:")
            for name in expand_braces(section.removeprefix("testenv:"))
            if not name.startswith(".pkg")
        }

    def defined(self, env: str) -> bool:
        return env in self.env_list or env in self.sections

    def get(self, env: str, key: str) -> str:
        for section in (f"testenv:{env}", "testenv"):
            if self.config.has_option(section, key):
                return self.config.get(section, key)
        return ""

    def pytest_runs(self, env: str) -> list[tuple[list[str], str, str]]:
        """Each pytest command of the env: its paths, its -m expression, its confcutdir."""
        runs = []
        for line in self.get(env, "commands").splitlines():
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            if words[:1] == ["pytest"]:
                args = words[1:]
            elif words[1:3] == ["-m", "pytest"]:
                args = words[3:]
            else:
                continue
            paths, markers, confcutdir = [], "", ""
            valued = PYTEST_VALUED
            skip = False
            for index, word in enumerate(args):
                if skip:
                    skip = False
                    continue
                option, _, inline = word.partition("=")
                if option in valued:
                    value = inline or (args[index + 1] if index + 1 < len(args) else "")
                    skip = not inline
                    if option == "-m":
                        markers = value
                    elif option == "--confcutdir":
                        confcutdir = value
                elif not word.startswith(("-", "{")):
                    paths.append(word.split("::")[0])
            runs.append((paths or ["."], markers, confcutdir))
        return runs


# ---------------------------------------------------------------------------------------
# Which tests read a variable, and which of them an env's pytest selects


def _marks(decorators: list[ast.expr]) -> set[str]:
    names = set()
    for node in decorators:
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Attribute)
                and sub.value.attr == "mark"
            ):
                names.add(sub.attr)
    return names


def _usefixtures(decorators: list[ast.expr]) -> set[str]:
    return {
        arg.value
        for node in decorators
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "usefixtures"
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    }


@dataclass
class Function:
    file: Path
    name: str
    params: set[str]
    calls: set[str]
    marks: set[str]
    is_fixture: bool
    reads: set[str]


def functions_of(path: Path) -> tuple[list[Function], set[str]]:
    """The functions of a test file (methods too), and the strings read at module level."""
    try:
        tree = ast.parse(path.read_text())
    except (SyntaxError, UnicodeDecodeError):
        return [], set()
    module_marks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "pytestmark" for t in node.targets
        ):
            module_marks |= _marks([node.value])
    found = []

    def visit(body, inherited_marks):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, inherited_marks | _marks(node.decorator_list))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                params = {a.arg for a in node.args.args + node.args.kwonlyargs}
                params |= _usefixtures(node.decorator_list)
                inner = list(ast.walk(node))
                calls = {
                    c.func.id
                    for c in inner
                    if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                }
                strings = {
                    c.value
                    for c in inner
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
                fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                marks = inherited_marks | _marks(node.decorator_list)
                found.append(Function(path, node.name, params, calls, marks, fixture, strings))

    visit(tree.body, module_marks)
    in_functions = {s for f in found for s in f.reads}
    module_strings = {
        c.value for c in ast.walk(tree) if isinstance(c, ast.Constant) and isinstance(c.value, str)
    }
    return found, module_strings - in_functions


def marker_selects(expression: str, marks: set[str]) -> bool:
    """pytest -m: and, or, not, parentheses and mark names."""
    if not expression.strip():
        return True
    tokens = re.findall(r"\(|\)|\w+", expression)
    python = " ".join(t if t in {"and", "or", "not", "(", ")"} else str(t in marks) for t in tokens)
    try:
        return bool(eval(python, {"__builtins__": {}}, {}))  # only True/False/and/or/not
    except SyntaxError:
        return True


def test_files(repo: Path, paths: list[str], confcutdir: str) -> list[Path]:
    """The files pytest reads for these paths: theirs and the conftest.py files above."""
    files: set[Path] = set()
    stop = (repo / confcutdir).resolve() if confcutdir else repo.resolve()
    for name in paths:
        path = (repo / name).resolve()
        if path.is_dir():
            files |= {p for p in path.rglob("*.py") if "__pycache__" not in p.parts}
        elif path.is_file():
            files.add(path)
        folder = path if path.is_dir() else path.parent
        while folder.is_relative_to(stop) and folder.is_relative_to(repo.resolve()):
            if (folder / "conftest.py").is_file():
                files.add(folder / "conftest.py")
            if folder == stop:
                break
            folder = folder.parent
    return sorted(files)


def tests_reading(files: list[Path], variable: str, markers: str) -> list[str]:
    """The selected tests that read the variable, through the fixtures and helpers they use."""
    functions: list[Function] = []
    needing: set[str] = set()
    whole_files: list[Path] = []
    for path in files:
        found, module_strings = functions_of(path)
        functions += found
        if variable in module_strings:
            whole_files.append(path)
        needing |= {f.name for f in found if variable in f.reads}
    changed = True
    while changed:
        changed = False
        for function in functions:
            uses = function.params | function.calls  # fixtures it takes, helpers it calls
            if function.name not in needing and uses & needing:
                needing.add(function.name)
                changed = True
    selected = []
    for function in functions:
        if not function.name.startswith("test") or function.is_fixture:
            continue
        if not function.file.name.startswith("test_"):
            continue
        reads = function.name in needing or any(
            function.file == path
            or (path.name == "conftest.py" and function.file.is_relative_to(path.parent))
            for path in whole_files
        )
        if reads and marker_selects(markers, function.marks):
            selected.append(f"{function.file.name}::{function.name}")
    return sorted(set(selected))


# ---------------------------------------------------------------------------------------
# The workflow: matrix legs, expressions, steps


def as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _load_runner():
    """.ci/runner.py, whose reading of the workflow (its matrices) the rules share."""
    spec = importlib.util.spec_from_file_location(
        "ci_runner", Path(__file__).with_name("runner.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


RUNNER = _load_runner()


def legs_of(job: dict) -> list[dict]:
    """The matrix's combinations as GitHub expands them (one empty leg without a matrix)."""
    return RUNNER.expand_matrix(job.get("strategy"))


def leg_name(job_id: str, leg: dict) -> str:
    if not leg:
        return f"job {job_id}"
    values = ", ".join(
        f"{k}={as_text(v)}" for k, v in leg.items() if not isinstance(v, dict | list)
    )
    return f"job {job_id} [{values}]"


def step_name(job_id: str, index: int, step: dict) -> str:
    what = step.get("name") or step.get("uses", "").split("@")[0] or step.get("run", "").strip()
    what = what.splitlines()[0] if what else ""
    return f"job {job_id}, step {index + 1} (`{what}`)"


def evaluate(value, context: dict[str, str]) -> str:
    """A value with its ${{ }} expressions replaced: what the context knows, else <expr>."""

    def replace(match: re.Match) -> str:
        expression = " ".join(match.group(1).split())
        return context.get(expression, f"<{expression}>")

    return EXPRESSION.sub(replace, as_text(value))


def uses_of(step: dict) -> str:
    return str(step.get("uses", "")).split("@")[0].lower()


def labels_of(runs_on) -> list:
    if isinstance(runs_on, dict):
        runs_on = runs_on.get("labels", [])
    return runs_on if isinstance(runs_on, list) else [runs_on]


def normal_if(condition) -> str:
    return " ".join(as_text(condition or "").split())


# ---------------------------------------------------------------------------------------
# The rules


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Rules:
    def __init__(self, repo: Path, workflow: dict | None, today: datetime.date | None):
        self.repo = Path(repo)
        if workflow is None:
            workflow = yaml.safe_load((self.repo / WORKFLOW).read_text())
        self.workflow = workflow
        self.jobs: dict[str, dict] = workflow.get("jobs") or {}
        self.today = today or datetime.date.today()
        self.report = Report()
        self.scripts = {
            f".ci/{p.name}": read_script(self.repo, p)
            for p in sorted((self.repo / ".ci").iterdir())
            if p.is_file() and p.suffix not in {".txt", ".toml", ".md", ".yml", ".yaml"}
        }
        self.tox = Tox(self.repo / "tox.ini")
        self.current, self.retired = self.load_labels()
        self.legs = {job_id: legs_of(job) for job_id, job in self.jobs.items()}
        self._uploads: list | None = None
        self._readers: dict[tuple, list[str]] = {}

    def problem(self, text: str) -> None:
        if text not in self.report.problems:
            self.report.problems.append(text)

    def warning(self, text: str) -> None:
        if text not in self.report.warnings:
            self.report.warnings.append(text)

    # -- shared readings

    def load_labels(self) -> tuple[dict, dict]:
        path = self.repo / LABELS
        if tomllib is None:
            self.problem(f"{LABELS} needs Python 3.11 or newer (tomllib) to be read")
            return {}, {}
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            self.problem(f"{LABELS}: {error}: it lists GitHub's runner labels; restore it")
            return {}, {}
        checked = data.get("checked")
        if not isinstance(checked, datetime.date):
            self.problem(f"{LABELS}: `checked = <date>` is missing: say when the list was checked")
        elif self.today - checked > LABELS_MAX_AGE:
            self.warning(
                f"{LABELS} was checked on {checked}: check it against GitHub's runner-images "
                "changelog again (labels retire a few months after their announcement)"
            )
        current, retired = data.get("current", {}), data.get("retired", {})
        for label, platform in current.items():
            if platform.get("os") not in OS_NAME or platform.get("arch") not in RUNNER_ARCH:
                self.problem(
                    f"{LABELS}: [current] {label} needs os = linux|macos|windows and "
                    "arch = x86_64|arm64"
                )
        for label, entry in retired.items():
            if not isinstance(entry.get("retired"), datetime.date):
                self.problem(f"{LABELS}: [retired] {label} needs retired = <date>")
            if entry.get("use") not in current:
                self.problem(f"{LABELS}: [retired] {label}: use = a label of [current]")
        return current, retired

    def context(self, job_id: str, leg: dict) -> dict[str, str]:
        context = {f"matrix.{k}": as_text(v) for k, v in leg.items()}
        context["github.job"] = job_id
        runs_on = self.jobs[job_id].get("runs-on", "")
        for label in labels_of(runs_on):
            platform = self.current.get(evaluate(label, context))
            if platform:
                context["runner.os"] = OS_NAME[platform["os"]]
                context["runner.arch"] = RUNNER_ARCH[platform["arch"]]
        return context

    def platform(self, job_id: str, leg: dict) -> tuple[str, str] | None:
        context = self.context(job_id, leg)
        for label in labels_of(self.jobs[job_id].get("runs-on", "")):
            platform = self.current.get(evaluate(label, context))
            if platform:
                return platform["os"], platform["arch"]
        return None

    def steps(self, job_id: str) -> list[dict]:
        return [s for s in self.jobs[job_id].get("steps") or [] if isinstance(s, dict)]

    def step_calls(self, job_id: str):
        """(index, step, words) of each run: step that calls one .ci/ script."""
        for index, step in enumerate(self.steps(job_id)):
            if "run" in step:
                words = run_call(as_text(step["run"]))
                if words and words[0] in self.scripts:
                    yield index, step, words

    def chains(self, name: str, seen: tuple = ()) -> list[tuple[str, ...]]:
        """Every chain of calls from a script down (the script first), sources excluded."""
        if name in seen or name not in self.scripts:
            return []
        chains = [(*seen, name)]
        for called in self.scripts[name].calls:
            chains += self.chains(called, (*seen, name))
        return chains

    def sourced(self, name: str, seen: frozenset = frozenset()) -> set[str]:
        """The scripts a script sources, and those they source."""
        found: set[str] = set()
        if name in seen or name not in self.scripts:
            return found
        for source in self.scripts[name].sources:
            found |= {source} | self.sourced(source, seen | {name})
        return found

    def reached(self, name: str) -> set[str]:
        """A script, every script it calls or sources, and theirs."""
        found = set()
        for chain in self.chains(name):
            for script in chain:
                found |= {script} | self.sourced(script)
        return found

    def python_at(self, job_id: str, leg: dict, index: int) -> str | None:
        """The Python setup-python put on PATH before the step, as "3.13"."""
        python = None
        context = self.context(job_id, leg)
        for step in self.steps(job_id)[:index]:
            if uses_of(step) == "actions/setup-python":
                version = evaluate((step.get("with") or {}).get("python-version", ""), context)
                lines = [v.strip() for v in version.splitlines() if v.strip()]
                if lines:
                    python = lines[-1]
        return python

    def tox_runs(self, job_id: str):
        """(leg, step index, chain, env) for every tox env a job's steps run."""
        for leg in self.legs[job_id]:
            for index, _step, words in self.step_calls(job_id):
                for chain in self.chains(words[0]):
                    script = self.scripts[chain[-1]]
                    for written in script.tox_envs:
                        for env in self.resolve_env(job_id, leg, index, chain, written):
                            yield leg, index, chain, env

    def resolve_env(self, job_id, leg, index, chain, written) -> list[str]:
        script = self.scripts[chain[-1]]
        if written == "":
            return list(self.tox.env_list)
        if "$" not in written:
            return [written]
        if not script.tox_declared:
            self.problem(
                f"{script.name} runs `tox -e {written}`, an env named at run time: declare "
                "the envs in its header (`# ci-tox: py{python}`, {python} the job's Python)"
            )
            return []
        envs = []
        for declared in script.tox_declared:
            if "{python}" in declared:
                python = self.python_at(job_id, leg, index)
                m = re.match(r"(\d+)\.(\d+)", python or "")
                if not m:
                    self.problem(
                        f"{leg_name(job_id, leg)} runs {script.name}, whose tox env is named "
                        "after its Python, with no actions/setup-python step before it: add one"
                    )
                    continue
                declared = declared.replace("{python}", m.group(1) + m.group(2))
            envs.append(declared)
        return envs

    # -- the rules, each adding its problems

    def rule_run_steps(self):
        """Every run: step is exactly one call of a .ci/ script, as its usage declares."""
        for job_id in self.jobs:
            for index, step in enumerate(self.steps(job_id)):
                if "run" not in step:
                    continue
                where = step_name(job_id, index, step)
                words = run_call(as_text(step["run"]))
                if words is None:
                    self.problem(
                        f"{where}: a run: step must be exactly one call of a .ci/ script: "
                        "move these commands into one, which the local runner runs as GitHub does"
                    )
                    continue
                script = self.scripts.get(words[0])
                if script is None:
                    self.problem(f"{where}: {words[0]} does not exist in .ci/")
                    continue
                if not os.access(script.path, os.X_OK):
                    self.problem(
                        f"{where}: {words[0]} is not executable: git update-index --chmod=+x"
                    )
                if not script.usages:
                    self.problem(
                        f"{where}: {words[0]} declares no usage: add a header line "
                        f"`#   {words[0]} ARGS` (just `{words[0]}` if it takes nothing)"
                    )
                elif not any(usage_matches(u, words[1:]) for u in script.usages):
                    self.problem(
                        f"{where}: `{' '.join(words)}` does not match the usage "
                        f"{words[0]} declares (`{'` or `'.join(script.usage_lines)}`): options "
                        "belong in the script, a step passes only what the event decides"
                    )

    def rule_script_headers(self):
        for script in self.scripts.values():
            for message in script.bad_header:
                self.problem(f"{script.name}: {message}")

    def uploads(self) -> list[tuple[str, dict, int, dict, str]]:
        """(job, leg, step index, step, name) of every artifact upload, per matrix leg."""
        if self._uploads is not None:
            return self._uploads
        found = self._uploads = []
        for job_id in self.jobs:
            for index, step in enumerate(self.steps(job_id)):
                action = uses_of(step)
                if action not in {"actions/upload-artifact", "actions/upload-pages-artifact"}:
                    continue
                given = (step.get("with") or {}).get("name")
                default = "artifact" if action == "actions/upload-artifact" else "github-pages"
                for leg in self.legs[job_id]:
                    name = evaluate(given or default, self.context(job_id, leg))
                    found.append((job_id, leg, index, step, name))
        return found

    def downloads(self, job_id: str):
        """(leg, step index, step, what it asks for, the uploads of needed jobs it gets)."""
        needed = self.needed(job_id)
        offered = [(u[0], u[4]) for u in self.uploads() if u[0] in needed]
        for index, step in enumerate(self.steps(job_id)):
            settings = step.get("with") or {}
            if uses_of(step) != "actions/download-artifact" or "run-id" in settings:
                continue  # not a download, or another run's artifacts
            for leg in self.legs[job_id]:
                context = self.context(job_id, leg)
                if "name" in settings:
                    wanted = evaluate(settings["name"], context)
                    got = [(j, n) for j, n in offered if n == wanted]
                elif "pattern" in settings:
                    wanted = evaluate(settings["pattern"], context)
                    got = [(j, n) for j, n in offered if fnmatch.fnmatchcase(n, wanted)]
                else:
                    wanted, got = "every artifact", offered
                yield leg, index, step, wanted, got

    def rule_artifacts(self):
        """Unique upload names per leg, downloads that match an upload of a needed job, and
        uploads that overwrite on a re-run and fail when their path is empty."""
        by_name: dict[str, list[str]] = {}
        for job_id, leg, index, step, name in self.uploads():
            by_name.setdefault(name, []).append(leg_name(job_id, leg))
            settings = step.get("with") or {}
            if uses_of(step) != "actions/upload-artifact" or leg is not self.legs[job_id][0]:
                continue
            missing = []
            if as_text(settings.get("overwrite")) != "true":
                missing.append("overwrite: true (a re-run of the job uploads again)")
            if settings.get("if-no-files-found") != "error":
                missing.append("if-no-files-found: error (an empty path fails)")
            if missing:
                self.problem(f"{step_name(job_id, index, step)}: add {', '.join(missing)}")
        for name, uploaders in by_name.items():
            if len(uploaders) > 1:
                self.problem(
                    f"artifact name {name} is uploaded by {' and by '.join(uploaders)}: "
                    "names must be unique in a run; put what tells the legs apart in the name"
                )
        for job_id in self.jobs:
            needed = self.needed(job_id)
            offered = sorted({u[4] for u in self.uploads() if u[0] in needed})
            reported = set()
            for _leg, index, step, wanted, got in self.downloads(job_id):
                if not got and index not in reported:
                    reported.add(index)
                    self.problem(
                        f"{step_name(job_id, index, step)}: downloads {wanted}, which no job "
                        f"it needs uploads (they upload: {', '.join(offered) or 'nothing'}); "
                        "match an upload's name, or need the job that uploads it"
                    )

    def needed(self, job_id: str, seen: frozenset = frozenset()) -> set[str]:
        needs = self.jobs.get(job_id, {}).get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        found = set()
        for need in needs:
            if need not in seen:
                found |= {need} | self.needed(need, seen | {job_id})
        return found

    def rule_full_history(self):
        for job_id in self.jobs:
            reached = {s for _, _, words in self.step_calls(job_id) for s in self.reached(words[0])}
            needing = sorted(s for s in reached if "full-history" in self.scripts[s].needs)
            if not needing:
                continue
            checkouts = [s for s in self.steps(job_id) if uses_of(s) == "actions/checkout"]
            if not any(as_text((s.get("with") or {}).get("fetch-depth")) == "0" for s in checkouts):
                self.problem(
                    f"job {job_id}: {', '.join(needing)} needs the full history "
                    "(# ci-needs: full-history): check out with fetch-depth: 0 "
                    "(actions/checkout fetches one commit)"
                )

    def rule_test_set_up(self):
        """A script running tox envs whose tests read a variable that a .ci script exports
        sources that script: the tests then fail instead of skipping without it."""
        # An export reaches the caller only from a sourced script: one that no run: step
        # and no script runs as a program, and that leaves the caller's shell options alone
        # (no `set -e`), like .ci/browser (not .ci/msrv, which exports to its own cargo).
        executed = {words[0] for job_id in self.jobs for _, _, words in self.step_calls(job_id)}
        executed |= {called for script in self.scripts.values() for called in script.calls}
        exporters = {
            variable: name
            for name, script in self.scripts.items()
            if name not in executed
            and not any(re.match(r"\s*set\s+-\w*e", line) for line in code_lines(script.text))
            for variable in script.exports
        }
        for job_id in self.jobs:
            for _leg, _index, chain, env in self.tox_runs(job_id):
                if not self.tox.defined(env):
                    continue
                for paths, markers, confcutdir in self.tox.pytest_runs(env):
                    files = test_files(self.repo, paths, confcutdir)
                    for variable, exporter in sorted(exporters.items()):
                        if exporter in chain:
                            continue
                        key = (tuple(files), variable, markers)
                        if key not in self._readers:
                            self._readers[key] = tests_reading(files, variable, markers)
                        tests = self._readers[key]
                        if not tests:
                            continue
                        if not any(exporter in self.sourced(s) for s in chain):
                            shown = ", ".join(tests[:3]) + (", ..." if len(tests) > 3 else "")
                            self.problem(
                                f"job {job_id}: {chain[-1]} runs tox -e {env}, whose tests "
                                f"({shown}) need {variable}, which {exporter} sets up and "
                                f"exports: source it (`. {exporter}`) before tox"
                            )
                        passed = split_top_level(self.tox.get(env, "pass_env"))
                        if not any(fnmatch.fnmatchcase(variable, p) for p in passed):
                            self.problem(
                                f"tox.ini: env {env} does not pass {variable} (pass_env), "
                                f"which its tests read and {exporter} exports"
                            )

    def runs_tests(self, name: str) -> bool:
        """Whether a script, or one it calls or sources, runs tox or pytest."""
        return any(
            self.scripts[s].tox_envs
            or re.search(r"\bpytest\b", "\n".join(code_lines(self.scripts[s].text)))
            for s in self.reached(name)
        )

    def test_jobs(self) -> tuple[dict, dict]:
        """The wheels jobs (maturin-action builds), and the jobs that download what they
        upload and run tests: each with the indexes of its steps that run them."""
        wheel_jobs = {}
        for job_id in self.jobs:
            for step in self.steps(job_id):
                command = (step.get("with") or {}).get("command", "build")
                if uses_of(step) == "pyo3/maturin-action" and command == "build":
                    wheel_jobs[job_id] = step
        test_jobs = {}
        for job_id in self.jobs:
            sources = {j for *_, got in self.downloads(job_id) for j, _ in got}
            if not sources & set(wheel_jobs):
                continue
            testing = [i for i, _, words in self.step_calls(job_id) if self.runs_tests(words[0])]
            if testing:
                test_jobs[job_id] = testing
        return wheel_jobs, test_jobs

    def rule_wheels_tested(self):
        """The Linux x86_64 test legs cover the wheels' interpreters, and every wheels leg's
        platform has a test leg."""
        wheel_jobs, test_jobs = self.test_jobs()
        if not wheel_jobs:
            return
        if not test_jobs:
            self.problem(
                f"no job installs and tests the wheels of job {', '.join(wheel_jobs)}: "
                "add one that downloads them and runs the tests"
            )
            return
        tested_platforms: set[tuple[str, str]] = set()
        linux_pythons: dict[str, str] = {}
        for job_id, indexes in test_jobs.items():
            for leg in self.legs[job_id]:
                platform = self.platform(job_id, leg)
                if platform is None:
                    continue
                tested_platforms.add(platform)
                if platform == ("linux", "x86_64"):
                    for index in indexes:
                        python = self.python_at(job_id, leg, index)
                        if python:
                            linux_pythons[python] = leg_name(job_id, leg)
        tests = " or ".join(f"job {j}" for j in test_jobs)
        for job_id, step in wheel_jobs.items():
            for leg in self.legs[job_id]:
                context = self.context(job_id, leg)
                settings = step.get("with") or {}
                platform = self.platform(job_id, leg)
                if platform is None:
                    continue
                target = evaluate(settings.get("target", ""), context).split("-")[0]
                arch = TARGET_ARCH.get(target, target) if target else platform[1]
                built = (platform[0], arch)
                if built not in tested_platforms:
                    runners = [k for k, v in self.current.items() if (v["os"], v["arch"]) == built]
                    self.problem(
                        f"{leg_name(job_id, leg)} builds {OS_NAME[built[0]]} {arch} wheels that "
                        f"no leg of {tests} installs and tests: add a test leg on "
                        f"{' or '.join(runners) or f'a {OS_NAME[built[0]]} {arch} runner'}"
                    )
                if built != ("linux", "x86_64"):
                    continue
                args = evaluate(settings.get("args", ""), context).split()
                interpreters: list[str] = []
                for i, word in enumerate(args):
                    if word in {"--interpreter", "-i"}:
                        for value in args[i + 1 :]:
                            if value.startswith("-"):
                                break
                            interpreters.append(value.removeprefix("python"))
                for python in interpreters:
                    if python not in linux_pythons:
                        self.problem(
                            f"{tests}: no Linux x86_64 leg tests CPython {python}, which "
                            f"{leg_name(job_id, leg)} builds wheels for (--interpreter "
                            f"{' '.join(interpreters)}): add python {python} to the test matrix"
                        )
                for python, where in linux_pythons.items():
                    if interpreters and python not in interpreters:
                        self.problem(
                            f"{where} tests CPython {python}, for which job {job_id} builds no "
                            f"wheel (--interpreter {' '.join(interpreters)})"
                        )

    def rule_runner_labels(self):
        for job_id, job in self.jobs.items():
            if "runs-on" not in job:
                continue
            for leg in self.legs[job_id]:
                context = self.context(job_id, leg)
                for written in labels_of(job["runs-on"]):
                    label = evaluate(written, context)
                    where = leg_name(job_id, leg)
                    if label in self.current:
                        continue
                    if label in self.retired:
                        entry = self.retired[label]
                        day, use = entry.get("retired"), entry.get("use")
                        if isinstance(day, datetime.date) and day > self.today:
                            self.warning(f"{where}: {label} retires on {day}: move to {use}")
                        else:
                            self.problem(f"{where}: {label} was retired on {day}: use {use}")
                    else:
                        self.problem(
                            f"{where}: runs-on {label} is not a label of {LABELS}: a job on "
                            "a label GitHub does not have waits, then fails; use one of "
                            "[current], or add it there from GitHub's runner-images changelog"
                        )

    def rule_timeouts(self):
        for job_id, job in self.jobs.items():
            if "uses" not in job and "timeout-minutes" not in job:
                self.problem(
                    f"job {job_id} has no timeout-minutes: add one (GitHub's default lets a "
                    "hung job run for 6 hours)"
                )

    def rule_concurrency(self):
        places = [("the workflow", self.workflow.get("concurrency"))]
        places += [(f"job {j}", job.get("concurrency")) for j, job in self.jobs.items()]
        for where, concurrency in places:
            if not isinstance(concurrency, dict) or "cancel-in-progress" not in concurrency:
                continue
            value = as_text(concurrency["cancel-in-progress"]).strip()
            if value == "false":
                continue
            if not re.search(r"github\.event_name\s*==\s*'pull_request'", value) or "!=" in value:
                self.problem(
                    f"{where}: cancel-in-progress: {value} cancels runs on pushes too (a Pages "
                    "deployment or a release cut off halfway): use "
                    "${{ github.event_name == 'pull_request' }}"
                )

    def rule_fork_guard(self):
        default = self.workflow.get("permissions")
        for job_id, job in self.jobs.items():
            permissions = job.get("permissions", default)
            if permissions == "write-all":
                writes = ["write-all"]
            elif isinstance(permissions, dict):
                writes = [f"{k}: write" for k in PUBLISHING if permissions.get(k) == "write"]
            else:
                writes = []
            if not writes:
                continue
            condition = normal_if(job.get("if"))
            if not any(guard in condition for guard in FORK_GUARDS):
                self.problem(
                    f"job {job_id} publishes ({', '.join(writes)}) without a fork guard: add "
                    "`github.event.repository.fork == false` to its if (a fork has no "
                    "Pages, environments or PyPI project of ours)"
                )

    def rule_actions_pinned(self):
        for job_id, job in self.jobs.items():
            entries = [(f"job {job_id}", job)] if "uses" in job else []
            entries += [
                (step_name(job_id, i, s), s)
                for i, s in enumerate(self.steps(job_id))
                if "uses" in s
            ]
            for where, entry in entries:
                uses = as_text(entry["uses"])
                if uses.startswith("./") or re.match(r"^docker://.+@sha256:[0-9a-f]{64}$", uses):
                    continue
                if not SHA_PIN.match(uses):
                    self.problem(
                        f"{where}: {uses} is not pinned: use the action's 40-hex commit SHA, "
                        "its version in a comment (a tag can be moved to other code)"
                    )
                if (
                    uses_of(entry) == "actions/checkout"
                    and as_text((entry.get("with") or {}).get("persist-credentials")) != "false"
                ):
                    self.problem(
                        f"{where}: add persist-credentials: false (the token stays in "
                        ".git/config for every later step otherwise)"
                    )

    def triggers(self) -> set[str]:
        on = self.workflow.get("on", self.workflow.get(True))  # YAML 1.1 reads `on` as True
        if isinstance(on, str):
            return {on}
        return set(on or ())

    def rule_no_pull_request_code(self):
        """Where a workflow_run or pull_request_target run holds a token that can write, no
        checkout names the pull request's code (its head commit, branch or repository)."""
        privileged = sorted(self.triggers() & set(PRIVILEGED_TRIGGERS))
        if not privileged:
            return
        for job_id in self.jobs:
            for index, step in enumerate(self.steps(job_id)):
                if uses_of(step) != "actions/checkout":
                    continue
                settings = step.get("with") or {}
                named = [
                    k
                    for k in ("ref", "repository")
                    if PULL_REQUEST_CODE.search(as_text(settings.get(k, "")))
                ]
                if named:
                    self.problem(
                        f"{step_name(job_id, index, step)}: {' and '.join(named)} names the "
                        f"pull request's code in a {privileged[0]} run, whose token can "
                        "write: check out the default branch (no ref), and read what the "
                        "pull request's run made as data (an artifact)"
                    )

    def rule_gate(self):
        gates = [
            job_id
            for job_id in self.jobs
            for step in self.steps(job_id)
            if "toJSON(needs)" in "".join(as_text(v) for v in (step.get("env") or {}).values())
        ]
        for gate in gates:
            after = {j for j in self.jobs if gate in self.needed(j)}
            needs = self.jobs[gate].get("needs") or []
            needs = {needs} if isinstance(needs, str) else set(needs)
            for job_id in self.jobs:
                if job_id != gate and job_id not in after and job_id not in needs:
                    self.problem(
                        f"job {gate} does not need job {job_id}: add it to {gate}'s needs "
                        f"(or a failed {job_id} leaves the gate green)"
                    )
            condition = normal_if(self.jobs[gate].get("if")).replace(" ", "")
            if condition not in {"${{!cancelled()}}", "!cancelled()", "always()", "${{always()}}"}:
                self.problem(
                    f"job {gate}: if: ${{{{ !cancelled() }}}}, or a failed need skips the gate, "
                    "and a skipped required check counts as passed"
                )

    def rule_docs_table(self):
        path = self.repo / DOCS
        if not path.exists():
            self.problem(f"{DOCS} is missing: it maps each job to what it does")
            return
        documented = set(re.findall(r"^\| `([\w-]+)` \|", path.read_text(), re.MULTILINE))
        for job_id in self.jobs:
            if job_id not in documented:
                self.problem(f"{DOCS}: job {job_id} is not in the job table: add its row")
        for job_id in sorted(documented - set(self.jobs)):
            self.problem(f"{DOCS}: the job table lists {job_id}, which the workflow does not have")

    def rule_tox_envs(self):
        """The README's `tox` (env_list) and CI run the same tests."""
        run: dict[str, str] = {}
        for job_id in self.jobs:
            for leg, _index, chain, env in self.tox_runs(job_id):
                run.setdefault(env, leg_name(job_id, leg))
                if not self.tox.defined(env):
                    self.problem(
                        f"{leg_name(job_id, leg)} runs tox -e {env} (through "
                        f"{' -> '.join(chain)}), which tox.ini does not define: add it to "
                        "env_list, so the README's `tox` runs it too"
                    )
        for env in self.tox.env_list:
            if env not in run:
                self.problem(
                    f"tox.ini's env_list has {env}, which no job runs: the README's `tox` "
                    "tests more than CI; run it from a .ci script a job calls"
                )

    def run(self, rules=None) -> Report:
        for rule in RULES if rules is None else rules:
            rule(self)
        return self.report


RULES = [
    Rules.rule_script_headers,
    Rules.rule_run_steps,
    Rules.rule_artifacts,
    Rules.rule_full_history,
    Rules.rule_test_set_up,
    Rules.rule_wheels_tested,
    Rules.rule_runner_labels,
    Rules.rule_timeouts,
    Rules.rule_concurrency,
    Rules.rule_fork_guard,
    Rules.rule_actions_pinned,
    Rules.rule_gate,
    Rules.rule_docs_table,
    Rules.rule_tox_envs,
    Rules.rule_no_pull_request_code,
]
# What holds for any workflow, not only ci.yml, whose jobs the other rules map onto the
# docs, tox.ini's env_list and the gate.
RULES_EVERY_WORKFLOW = [
    Rules.rule_run_steps,
    Rules.rule_artifacts,
    Rules.rule_full_history,
    Rules.rule_test_set_up,
    Rules.rule_runner_labels,
    Rules.rule_timeouts,
    Rules.rule_concurrency,
    Rules.rule_fork_guard,
    Rules.rule_actions_pinned,
    Rules.rule_no_pull_request_code,
]


def check(
    repo: Path = REPO, workflow: dict | None = None, today: datetime.date | None = None
) -> Report:
    """The problems and the warnings: ci.yml's (``workflow`` in its place when given),
    then the other workflows', each problem prefixed with the file's name."""
    report = Rules(repo, workflow, today).run()
    for path in sorted((Path(repo) / WORKFLOWS).glob("*.y*ml")):
        if path.name == WORKFLOW.name:
            continue
        other = Rules(repo, yaml.safe_load(path.read_text()), today).run(RULES_EVERY_WORKFLOW)
        report.problems += [f"{path.name}: {p}" for p in other.problems]
        report.warnings += [w for w in other.warnings if w not in report.warnings]
    return report


def problems(
    repo: Path = REPO, workflow: dict | None = None, today: datetime.date | None = None
) -> list[str]:
    """Each problem of the workflow, one line naming the job or step and the fix."""
    return check(repo, workflow, today).problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--workflow", type=Path, help=f"default: {WORKFLOW} in --repo")
    parser.add_argument("--today", type=datetime.date.fromisoformat, help="default: today")
    args = parser.parse_args(argv)
    workflow = yaml.safe_load(args.workflow.read_text()) if args.workflow else None
    report = check(args.repo, workflow, args.today)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for problem in report.problems:
        print(problem)
    count = len(report.problems)
    print(
        f"workflow rules: {count} problem{'s' * (count != 1)}, "
        f"{len(report.warnings)} warning{'s' * (len(report.warnings) != 1)}",
        file=sys.stderr,
    )
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
