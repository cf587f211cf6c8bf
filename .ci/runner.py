#!/usr/bin/env python3
"""The local CI run: .github/workflows/ci.yml executed job by job, the way GitHub runs it.

Started by .ci/run, which installs PyYAML first when it is missing; docs/local-ci.md is the
manual. Each job, and each matrix leg, runs as the unprivileged user `runner` (with
passwordless sudo, as on GitHub's runners) in a fresh folder with a fresh HOME, from a
clone of the commit under test as deep as its checkout asks for. Artifacts pass between
jobs through a store of this run; `${{ }}` expressions, `if:`, `needs`,
`continue-on-error` and `timeout-minutes` act as on GitHub. The actions the workflow uses
are emulated here, and an action this file does not know fails its job: nothing is
skipped silently.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import functools
import glob
import hashlib
import itertools
import json
import math
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import tomllib  # CPython 3.11 or newer: .ci/run checks
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW_FILE = ".github/workflows/ci.yml"
RULES_SCRIPT = ".ci/workflow_rules.py"
LABELS_FILE = ".ci/runner-labels.toml"
TOOLCHAIN_FILE = "rust-toolchain.toml"
CRATE_MANIFEST = "rust_crate/Cargo.toml"
# The last run's table as JSON, to size timeout-minutes from measured times. The folder
# ignores itself (a .gitignore of "*" inside), so nothing in the repository names it.
SCRATCH = REPO / ".ci-run"

OWNER = "local"
REPOSITORY = f"{OWNER}/poly-match"
CHECKOUT_FOLDER = "poly-match"
RUNNER_USER = "runner"
# github.token and secrets.GITHUB_TOKEN: a value that authenticates nowhere.
DUMMY_TOKEN = "local-run-token-that-authenticates-nowhere"

# GitHub runs the workflow once per event; one local run runs every job once, each as the
# event under which its steps do the most. A push to main for most jobs; a pull request
# for bench (its base-vs-head comparison runs only on pull requests; here base = head = the
# tested commit); the push of the tag v<version> for release (which runs only on tags, up
# to the upload). --event makes every job run as one event.
EVENTS = ("push", "pull_request", "tag")
DEFAULT_EVENT = "push"
EVENT_OF_JOB = {"bench": "pull_request", "release": "tag"}
PULL_REQUEST_NUMBER = 1
PULL_REQUEST_BRANCH = "local-change"

# The runner labels this machine stands in for: GitHub's Linux x86_64 images. Labels that
# .ci/runner-labels.toml lists as Linux x86_64 count too.
LINUX_X64_LABELS = {"ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04"}
HOST_TRIPLE = "x86_64-unknown-linux-gnu"
# maturin-action targets built here, on the host; any other is a cross build in a
# manylinux container (or another OS), a leg not reproduced.
MATURIN_HOST_TARGETS = {"", "x86_64", HOST_TRIPLE}

# The invoking user's interpreters and toolchains (root's, under /root, on this machine).
HOST_HOME = Path.home()
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or HOST_HOME / ".pyenv") / "versions"
HOST_RUSTUP = Path(os.environ.get("RUSTUP_HOME") or HOST_HOME / ".rustup")
HOST_CARGO_BIN = Path(os.environ.get("CARGO_HOME") or HOST_HOME / ".cargo") / "bin"

# A GitHub Ubuntu runner's PATH, less the tools this machine does not have (snap, pipx,
# dotnet...); the job's own ~/.local/bin and ~/.cargo/bin come first, as there. No pyenv
# shims: only setup-python puts a Python before the system's.
SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
# The machine's own settings that steps need and that a GitHub runner has its own version
# of: the CA bundle of this network's TLS proxy, proxies, the locale, and the CPU quirks
# OpenBLAS needs on this virtual CPU (the TOX_* ones carry those into tox's test envs).
HOST_VARIABLES = {
    "LANG",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "GIT_SSL_CAINFO",
    "NODE_EXTRA_CA_CERTS",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "TOX_OVERRIDE",
    "TOX_TESTENV_PASSENV",
}
HOST_VARIABLE_PREFIXES = ("LC_", "OPENBLAS_", "NVPL_")
# Between SIGTERM and SIGKILL when a job's processes are ended.
GRACE_SECONDS = 10

STARTED = time.monotonic()


class ExpressionError(Exception):
    """An expression this run cannot evaluate: bad syntax, an unknown function or context."""


class StepFailed(Exception):
    """A step (or the job, before its steps) fails, for the one-line reason given."""


class JobTimedOut(Exception):
    """The job ran past its timeout-minutes; its processes were ended."""


class Refused(Exception):
    """The run refuses to start (the reasons were printed)."""


class UsageError(Exception):
    """A wrong command line."""


def clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def say(text: str) -> None:
    """A header line: the run's elapsed time first, then what starts or ends."""
    print(f"{clock(time.monotonic() - STARTED)} {text}", flush=True)


def note(text: str) -> None:
    """A line of this run's own, inside a step's output."""
    print(f"       {text}", flush=True)


# ---------------------------------------------------------------------------------------
# Expressions: ${{ }} as GitHub evaluates them (docs.github.com, "Evaluate expressions in
# workflows and actions"): literals, property paths with `.`, `[ ]` and `.*`, the
# operators ! < <= > >= == != && ||, parentheses, and the functions below. Anything else
# is an error naming where it is, never a guess.

CONTEXTS = {
    "github",
    "env",
    "vars",
    "job",
    "jobs",
    "steps",
    "runner",
    "secrets",
    "strategy",
    "matrix",
    "needs",
    "inputs",
}
# Name (lower case, as GitHub matches them) -> (fewest, most) arguments.
FUNCTIONS = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, None),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "hashfiles": (1, None),
    "success": (0, 0),
    "always": (0, 0),
    "failure": (0, 0),
    "cancelled": (0, 0),
}
STATUS_FUNCTIONS = {"success", "always", "failure", "cancelled"}
TOKEN = re.compile(
    r"(?P<number>0x[0-9a-fA-F]+|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],.*])"
    r"|(?P<name>[A-Za-z_][\w-]*)"
)
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class Filtered(list):
    """The result of `.*`: a property read on it is read on each element (needs.*.result)."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return tokens
        match = TOKEN.match(text, position)
        if not match:
            raise ExpressionError(f"cannot read {text[position:]!r} in `{text.strip()}`")
        tokens.append((match.lastgroup, match.group()))
        position = match.end()


class Parser:
    """Recursive descent, lowest precedence first: || && (== !=) (< <= > >=) ! postfix."""

    def __init__(self, text: str):
        self.text = text.strip()
        self.tokens = tokenize(text)
        self.position = 0

    def parse(self):
        node = self.either()
        if self.position != len(self.tokens):
            raise self.error(f"unexpected {self.peek()[1]!r}")
        return node

    def error(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} in `{self.text}`")

    def peek(self) -> tuple[str, str]:
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return ("end", "the end")

    def is_op(self, *values: str) -> bool:
        kind, value = self.peek()
        return kind == "op" and value in values

    def expect(self, value: str) -> None:
        if not self.is_op(value):
            raise self.error(f"expected {value!r}, found {self.peek()[1]!r}")
        self.position += 1

    def binary(self, operators, operand, kind):
        node = operand()
        while self.is_op(*operators):
            operator = self.peek()[1]
            self.position += 1
            node = (kind, operator, node, operand())
        return node

    def either(self):
        return self.binary(("||",), self.both, "or")

    def both(self):
        return self.binary(("&&",), self.equality, "and")

    def equality(self):
        return self.binary(("==", "!="), self.comparison, "compare")

    def comparison(self):
        return self.binary(("<", "<=", ">", ">="), self.unary, "compare")

    def unary(self):
        if self.is_op("!"):
            self.position += 1
            return ("not", self.unary())
        return self.postfix()

    def postfix(self):
        node = self.primary()
        while True:
            if self.is_op("."):
                self.position += 1
                kind, value = self.peek()
                self.position += 1
                if kind == "op" and value == "*":
                    node = ("star", node)
                elif kind == "name":
                    node = ("property", node, value)
                else:
                    raise self.error(f"a property name expected after '.', found {value!r}")
            elif self.is_op("["):
                self.position += 1
                index = self.either()
                self.expect("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self):
        kind, value = self.peek()
        self.position += 1
        if kind == "number":
            number = int(value, 16) if value.lower().startswith("0x") else float(value)
            return ("literal", number)
        if kind == "string":
            return ("literal", value[1:-1].replace("''", "'"))
        if kind == "op" and value == "(":
            node = self.either()
            self.expect(")")
            return node
        if kind != "name":
            raise self.error(f"unexpected {value!r}")
        lowered = value.lower()
        if lowered in ("true", "false"):
            return ("literal", lowered == "true")
        if lowered == "null":
            return ("literal", None)
        if self.is_op("("):
            return self.call(value)
        if lowered not in CONTEXTS:
            raise self.error(f"unknown context {value!r}")
        return ("context", lowered)

    def call(self, name: str):
        self.position += 1
        arguments = []
        if not self.is_op(")"):
            arguments.append(self.either())
            while self.is_op(","):
                self.position += 1
                arguments.append(self.either())
        self.expect(")")
        lowered = name.lower()
        if lowered not in FUNCTIONS:
            raise self.error(f"unknown function {name}()")
        fewest, most = FUNCTIONS[lowered]
        if len(arguments) < fewest or (most is not None and len(arguments) > most):
            raise self.error(f"{name}() with {len(arguments)} arguments")
        return ("call", lowered, arguments)


@functools.cache
def parse(text: str):
    return Parser(text).parse()


def uses_status_function(node) -> bool:
    if isinstance(node, list):
        return any(uses_status_function(item) for item in node)
    if not isinstance(node, tuple):
        return False
    if node[0] == "call" and node[1] in STATUS_FUNCTIONS:
        return True
    return any(uses_status_function(part) for part in node[1:])


@dataclass
class Scope:
    """What an expression sees: the contexts, the job's status, the workspace (hashFiles)."""

    contexts: dict
    status: dict = field(
        default_factory=lambda: {"success": True, "failure": False, "cancelled": False}
    )
    workspace: Path | None = None


def kind_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def to_number(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
        except ValueError:
            return math.nan
    return math.nan


def to_string(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def truthy(value) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def loosely_equal(left, right) -> bool:
    """GitHub's ==: strings ignore case; mixed types compare as numbers; objects by identity."""
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind != right_kind:
        return to_number(left) == to_number(right)
    if left_kind == "string":
        return left.casefold() == right.casefold()
    if left_kind == "object":
        return left is right
    return left == right


def compare(operator: str, left, right) -> bool:
    if operator == "==":
        return loosely_equal(left, right)
    if operator == "!=":
        return not loosely_equal(left, right)
    if kind_of(left) == kind_of(right) == "string":
        left, right = left.casefold(), right.casefold()
    else:
        left, right = to_number(left), to_number(right)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
        operator
    ]


def read_property(value, name: str):
    if isinstance(value, Filtered):
        found = Filtered()
        for element in value:
            item = read_property(element, name)
            if item is not None:
                found.append(item)
        return found
    if isinstance(value, dict):
        if name in value:
            return value[name]
        lowered = name.casefold()  # context properties are case-insensitive on GitHub
        for key, item in value.items():
            if str(key).casefold() == lowered:
                return item
    return None


def evaluate(node, scope: Scope):
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "context":
        return scope.contexts.get(node[1], {})
    if kind == "property":
        return read_property(evaluate(node[1], scope), node[2])
    if kind == "index":
        value, index = evaluate(node[1], scope), evaluate(node[2], scope)
        if isinstance(value, list) and kind_of(index) == "number":
            position = int(to_number(index))
            return value[position] if 0 <= position < len(value) else None
        return read_property(value, to_string(index))
    if kind == "star":
        value = evaluate(node[1], scope)
        if isinstance(value, dict):
            return Filtered(value.values())
        return Filtered(value) if isinstance(value, list) else Filtered()
    if kind == "not":
        return not truthy(evaluate(node[1], scope))
    if kind == "and":
        left = evaluate(node[2], scope)
        return evaluate(node[3], scope) if truthy(left) else left
    if kind == "or":
        left = evaluate(node[2], scope)
        return left if truthy(left) else evaluate(node[3], scope)
    if kind == "compare":
        return compare(node[1], evaluate(node[2], scope), evaluate(node[3], scope))
    if kind == "call":
        return call_function(node[1], [evaluate(argument, scope) for argument in node[2]], scope)
    raise ExpressionError(f"cannot evaluate {kind}")


def call_function(name: str, arguments: list, scope: Scope):
    if name == "always":
        return True
    if name in STATUS_FUNCTIONS:
        return scope.status[name]
    if name == "contains":
        haystack, needle = arguments
        if isinstance(haystack, list):
            return any(loosely_equal(item, needle) for item in haystack)
        return to_string(needle).casefold() in to_string(haystack).casefold()
    if name == "startswith":
        return to_string(arguments[0]).casefold().startswith(to_string(arguments[1]).casefold())
    if name == "endswith":
        return to_string(arguments[0]).casefold().endswith(to_string(arguments[1]).casefold())
    if name == "format":
        return format_string(to_string(arguments[0]), [to_string(a) for a in arguments[1:]])
    if name == "join":
        separator = to_string(arguments[1]) if len(arguments) > 1 else ","
        items = arguments[0] if isinstance(arguments[0], list) else [arguments[0]]
        return separator.join(to_string(item) for item in items)
    if name == "tojson":
        return json.dumps(arguments[0], indent=2)
    if name == "fromjson":
        try:
            return json.loads(to_string(arguments[0]))
        except json.JSONDecodeError as error:
            raise ExpressionError(f"fromJSON of text that is not JSON: {error}") from None
    if name == "hashfiles":
        if scope.workspace is None:
            raise ExpressionError("hashFiles() outside a step: there is no workspace")
        return hash_files(scope.workspace, [to_string(a) for a in arguments])
    raise ExpressionError(f"unknown function {name}()")


def format_string(pattern: str, values: list[str]) -> str:
    def replace(match: re.Match) -> str:
        if match.group() in ("{{", "}}"):
            return match.group()[0]
        index = int(match.group(1))
        if index >= len(values):
            raise ExpressionError(f"format(): no argument {index} for {pattern!r}")
        return values[index]

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", replace, pattern)


def hash_files(workspace: Path, patterns: list[str]) -> str:
    """GitHub's hashFiles: a SHA-256 over each matching file's SHA-256; '' for no match."""
    included: set[str] = set()
    for pattern in patterns:
        for line in pattern.splitlines():
            line = line.strip()
            if not line:
                continue
            negate = line.startswith("!")
            matches = glob.glob(str(workspace / line.lstrip("!")), recursive=True)
            files = {path for path in matches if os.path.isfile(path)}
            included = included - files if negate else included | files
    if not included:
        return ""
    digest = hashlib.sha256()
    for path in sorted(included):
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def render(value, scope: Scope) -> str:
    """A workflow string with its ${{ }} replaced by their values, as text."""
    if not isinstance(value, str):
        return to_string(value)
    return TEMPLATE.sub(lambda match: to_string(evaluate(parse(match.group(1)), scope)), value)


def render_value(value, scope: Scope):
    """Like render, but a value that is one whole ${{ }} keeps its type (true, 20, a list)."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return evaluate(parse(whole.group(1)), scope)
        return render(value, scope)
    if isinstance(value, list):
        return [render_value(item, scope) for item in value]
    return value


def condition_text(value) -> str:
    """An `if:` as expression text: with or without ${{ }}, success() when absent."""
    if value is None:
        return "success()"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    whole = TEMPLATE.fullmatch(text)
    return whole.group(1).strip() if whole else text


def condition_holds(value, scope: Scope) -> bool:
    """An `if:`; without a status function it is `success() && (...)`, as on GitHub."""
    node = parse(condition_text(value))
    if not uses_status_function(node):
        node = ("and", "&&", ("call", "success", []), node)
    return truthy(evaluate(node, scope))


def is_true(text) -> bool:
    return to_string(text).strip().lower() == "true"


# ---------------------------------------------------------------------------------------
# The workflow: jobs, their order, matrices, and what this machine cannot reproduce.


def as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def step_title(step: dict) -> str:
    if step.get("name"):
        return str(step["name"])
    if "uses" in step:
        return str(step["uses"]).split("@")[0]
    first_line = str(step.get("run", "")).strip().splitlines()
    return first_line[0] if first_line else "run"


def expand_matrix(strategy: dict | None) -> list[dict]:
    """GitHub's legs: the product of the matrix's lists, less `exclude`; each `include`
    entry joins every leg whose original values it does not change, or is a leg of its own.
    """
    matrix = (strategy or {}).get("matrix")
    if not matrix:
        return [{}]
    if not isinstance(matrix, dict):
        raise StepFailed("a matrix from an expression: teach .ci/runner.py")
    keys = [key for key in matrix if key not in ("include", "exclude")]
    legs = []
    if keys:
        for values in itertools.product(*(as_list(matrix[key]) for key in keys)):
            legs.append(dict(zip(keys, values, strict=True)))
    legs = [
        leg
        for leg in legs
        if not any(
            all(leg.get(k) == v for k, v in excluded.items())
            for excluded in as_list(matrix.get("exclude"))
        )
    ]
    product_size = len(legs)
    for extra in as_list(matrix.get("include")):
        joined = False
        for leg in legs[:product_size]:
            if all(leg[k] == v for k, v in extra.items() if k in keys):
                leg.update(extra)
                joined = True
        if not joined:
            legs.append(dict(extra))
    return legs


def pyenv_versions() -> list[str]:
    if not PYENV_VERSIONS.is_dir():
        return []
    names = [p.name for p in PYENV_VERSIONS.iterdir() if re.fullmatch(r"\d+\.\d+\.\d+", p.name)]
    return sorted(names, key=lambda name: tuple(int(part) for part in name.split(".")))


def find_python(version: str) -> Path | None:
    """The installed CPython that setup-python's python-version asks for: that exact
    version, or the newest whose version starts with it (3.13 -> 3.13.0)."""
    version = version.strip()
    matches = [
        name for name in pyenv_versions() if name == version or name.startswith(version + ".")
    ]
    return PYENV_VERSIONS / matches[-1] if matches else None


@dataclass
class Labels:
    """.ci/runner-labels.toml's current labels, with their platform: which legs run here.
    (.ci/workflow_rules.py refuses a retired or unknown label before the run starts.)"""

    current: dict = field(default_factory=dict)

    def is_linux_x64(self, label: str) -> bool:
        platform = self.current.get(label) or {}
        os_name, arch = str(platform.get("os", "")).lower(), str(platform.get("arch", "")).lower()
        return label in LINUX_X64_LABELS or (os_name == "linux" and arch in ("x86_64", "x64"))

    def describe(self, label: str) -> str:
        platform = self.current.get(label)
        if platform:
            system = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
            os_name = str(platform.get("os", "?"))
            return f"runs-on {label}: {system.get(os_name, os_name)} {platform.get('arch', '?')}"
        return f"runs-on {label}: not a label of Linux x86_64 this run knows"


def load_labels(tree: Path) -> Labels:
    path = tree / LABELS_FILE
    if not path.exists():
        return Labels()
    table = tomllib.loads(path.read_text())
    return Labels(table.get("current", {}))


@dataclass
class Commit:
    """The commit under test and what the run reads from it."""

    sha: str
    subject: str
    parent: str | None
    version: str
    toolchain: str | None

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    @property
    def title(self) -> str:
        """The short SHA and the subject, cut to one line's worth."""
        subject = self.subject if len(self.subject) <= 60 else self.subject[:57] + "..."
        return f"{self.sha[:12]} ({subject})"


def event_facts(event: str, commit: Commit) -> dict:
    """github.* for one event; `payload` is github.event (GITHUB_EVENT_PATH's file)."""
    repository = {
        "name": REPOSITORY.split("/")[1],
        "full_name": REPOSITORY,
        "fork": False,
        "private": False,
        "default_branch": "main",
        "owner": {"login": OWNER},
    }
    if event == "pull_request":
        number = PULL_REQUEST_NUMBER
        side = {"sha": commit.sha, "repo": repository}
        payload = {
            "action": "synchronize",
            "number": number,
            "repository": repository,
            "pull_request": {
                "number": number,
                "title": commit.subject,
                "base": {**side, "ref": "main"},
                "head": {**side, "ref": PULL_REQUEST_BRANCH},
            },
        }
        return {
            "event_name": "pull_request",
            "ref": f"refs/pull/{number}/merge",
            "ref_name": f"{number}/merge",
            "ref_type": "branch",
            "base_ref": "main",
            "head_ref": PULL_REQUEST_BRANCH,
            "payload": payload,
        }
    # A push: of main, or of the tag (a new ref, so `before` is zeros).
    tag = event == "tag"
    ref = f"refs/tags/{commit.tag}" if tag else "refs/heads/main"
    payload = {
        "ref": ref,
        "before": "0" * 40 if tag else commit.parent or "0" * 40,
        "after": commit.sha,
        "created": tag,
        "deleted": False,
        "forced": False,
        "head_commit": {"id": commit.sha, "message": commit.subject},
        "repository": repository,
    }
    return {
        "event_name": "push",
        "ref": ref,
        "ref_name": commit.tag if tag else "main",
        "ref_type": "tag" if tag else "branch",
        "base_ref": "",
        "head_ref": "",
        "payload": payload,
    }


def github_context(workflow: dict, job_id: str, event: str, commit: Commit, **extra) -> dict:
    facts = event_facts(event, commit)
    return {
        "event_name": facts["event_name"],
        "event": facts["payload"],
        "ref": facts["ref"],
        "ref_name": facts["ref_name"],
        "ref_type": facts["ref_type"],
        "base_ref": facts["base_ref"],
        "head_ref": facts["head_ref"],
        "sha": commit.sha,
        "job": job_id,
        "repository": REPOSITORY,
        "repository_owner": OWNER,
        "workflow": workflow.get("name") or WORKFLOW_FILE,
        "token": DUMMY_TOKEN,
        "actor": OWNER,
        "triggering_actor": OWNER,
        "run_attempt": "1",
        "run_number": "1",
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
        "retention_days": "90",
        **extra,
    }


def outer_scope(workflow: dict, job_id: str, event: str, commit: Commit, **contexts) -> Scope:
    """The contexts of job-level keys (if, runs-on, strategy, env, timeout-minutes)."""
    base = {
        "github": github_context(workflow, job_id, event, commit),
        "needs": {},
        "vars": {},
        "inputs": {},
        "matrix": {},
        "strategy": {},
        "secrets": {"GITHUB_TOKEN": DUMMY_TOKEN},
        "env": {k: to_string(v) for k, v in (workflow.get("env") or {}).items()},
    }
    base.update(contexts)
    return Scope(base)


@dataclass
class Leg:
    """One matrix combination of a job (the whole job when it has no matrix)."""

    job: str
    matrix: dict
    label: str
    runs_on: str = ""
    not_reproduced: str = ""
    result: str = "not run"
    note: str = ""
    seconds: float = 0.0
    timeout_minutes: float | None = None
    folder: Path | None = None

    @property
    def title(self) -> str:
        return f"{self.job} ({self.label})" if self.label else self.job

    @property
    def slug(self) -> str:
        name = f"{self.job}-{self.label.replace(', ', '-')}" if self.label else self.job
        return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


@dataclass
class Job:
    id: str
    spec: dict
    event: str
    needs: list[str]
    legs: list[Leg]
    result: str = "not run"
    note: str = ""
    outputs: dict = field(default_factory=dict)
    # Steps of actions that act on GitHub only (publish, deploy, attest): listed, not run.
    github_only: list[str] = field(default_factory=list)


def jobs_with_needs(jobs: dict, wanted: list[str]) -> list[str]:
    """The wanted jobs and every job they need, transitively, in an order that puts each
    job after its needs and otherwise keeps the workflow's order."""
    chosen: set[str] = set()
    pending = list(wanted)
    while pending:
        job_id = pending.pop()
        if job_id not in chosen:
            chosen.add(job_id)
            pending.extend(as_list(jobs[job_id].get("needs")))
    order: list[str] = []
    while len(order) < len(chosen):
        for job_id in jobs:
            needs = as_list(jobs[job_id].get("needs"))
            if job_id in chosen and job_id not in order and all(n in order for n in needs):
                order.append(job_id)
                break
        else:
            raise Refused("the jobs' needs form a cycle")
    return order


def leg_not_reproduced(
    workflow: dict, job_id: str, spec: dict, leg: Leg, scope: Scope, labels: Labels
) -> str:
    """Why this leg cannot run on this machine, or ''."""
    outside = [label for label in leg.runs_on.split(", ") if not labels.is_linux_x64(label)]
    if outside:
        return labels.describe(outside[0])
    scope.contexts["runner"] = {"os": "Linux", "arch": "X64"}
    for step in spec.get("steps") or []:
        action = str(step.get("uses", "")).split("@")[0].casefold()
        if action not in ("actions/setup-python", "pyo3/maturin-action"):
            continue
        try:
            if not condition_holds(step.get("if"), scope):
                continue
            inputs = {k: render(v, scope) for k, v in (step.get("with") or {}).items()}
        except ExpressionError:
            continue  # the step itself reports it when it runs
        if action == "actions/setup-python":
            for version in inputs.get("python-version", "").split():
                if find_python(version) is None:
                    have = ", ".join(pyenv_versions()) or "none"
                    return f"CPython {version} is not installed here (pyenv has {have})"
        elif inputs.get("target", "") not in MATURIN_HOST_TARGETS:
            return (
                f"maturin-action target {inputs['target']}: a cross build in a manylinux "
                "container, not reproduced here"
            )
    return ""


def plan_jobs(
    workflow: dict, wanted: list[str], forced_event: str | None, commit: Commit, labels: Labels
) -> list[Job]:
    jobs = workflow.get("jobs") or {}
    plan = []
    for job_id in jobs_with_needs(jobs, wanted or list(jobs)):
        spec = jobs[job_id]
        event = forced_event or EVENT_OF_JOB.get(job_id, DEFAULT_EVENT)
        job = Job(job_id, spec, event, as_list(spec.get("needs")), [])
        for matrix in expand_matrix(spec.get("strategy")):
            label = ", ".join(to_string(value) for value in matrix.values())
            leg = Leg(job_id, matrix, label)
            scope = outer_scope(workflow, job_id, event, commit, matrix=matrix)
            try:
                leg.runs_on = ", ".join(
                    to_string(v) for v in as_list(render_value(spec.get("runs-on"), scope))
                )
            except ExpressionError as error:
                leg.runs_on = f"({error})"
            leg.not_reproduced = leg_not_reproduced(workflow, job_id, spec, leg, scope, labels)
            job.legs.append(leg)
        for number, step in enumerate(spec.get("steps") or [], 1):
            action = str(step.get("uses", "")).split("@")[0].casefold()
            if action in GITHUB_ONLY:
                job.github_only.append(f"step {number} {step_title(step)}: {GITHUB_ONLY[action]}")
        plan.append(job)
    return plan


def expression_problems(workflow: dict) -> list[str]:
    """Every ${{ }} and `if:` of the workflow parsed before anything runs: an unknown
    function or context, or bad syntax, is one line naming the job and step."""
    problems = []

    def check(value, where: str, is_condition: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                check(item, where, key == "if")
        elif isinstance(value, list):
            for item in value:
                check(item, where, False)
        elif isinstance(value, str) or (is_condition and value is not None):
            try:
                if is_condition:
                    parse(condition_text(value))
                else:
                    for match in TEMPLATE.finditer(value):
                        parse(match.group(1))
            except ExpressionError as error:
                problems.append(f"{where}: {error}: fix it, or teach .ci/runner.py")

    for key in ("env", "concurrency", "defaults"):
        check(workflow.get(key), f"workflow {key}", False)
    for job_id, spec in (workflow.get("jobs") or {}).items():
        for key, value in spec.items():
            if key != "steps":
                check({key: value}, f"job {job_id}", False)
        for number, step in enumerate(spec.get("steps") or [], 1):
            check(step, f"job {job_id} step {number} ({step_title(step)})", False)
    return problems


def structural_problems(workflow: dict) -> list[str]:
    """What the run needs and .ci/workflow_rules.py (run first) does not check: every
    `needs` names a job, every expression is one this run can evaluate."""
    problems = []
    jobs = workflow.get("jobs") or {}
    for job_id, spec in jobs.items():
        for need in as_list(spec.get("needs")):
            if need not in jobs:
                problems.append(f"job {job_id}: needs {need}, which is no job of the workflow")
    return problems + expression_problems(workflow)


# ---------------------------------------------------------------------------------------
# The machine: host set-up, the user the steps run as, processes.


def run_quietly(argv: list, **kwargs) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout


# The repository under test may belong to another user than the one running this (root,
# or a user who runs it on a shared checkout): git must still read it, and serve it.
TRUST_REPO = {
    **os.environ,
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": str(REPO),
    "GIT_CONFIG_KEY_1": "safe.directory",
    "GIT_CONFIG_VALUE_1": str(REPO / ".git"),
}


# git runs the serving side of a file:// fetch without the variables above: it is told too.
UPLOAD_PACK = shlex.join(
    ["git", "-c", f"safe.directory={REPO}", "-c", f"safe.directory={REPO / '.git'}", "upload-pack"]
)


def git(*args: str, cwd: Path = REPO) -> str:
    return run_quietly(["git", *args], cwd=cwd, env=TRUST_REPO).strip()


def set_up_host(toolchain: str | None) -> None:
    """As root: sudo, the user `runner` with passwordless sudo, read-only access to root's
    pyenv and rustup, and the pinned Rust linked to an identical stable (no download)."""
    if os.geteuid() != 0:
        user = pwd.getpwuid(os.geteuid()).pw_name
        say(f"host: not root: the steps run as {user}, with whatever sudo {user} has")
        return
    if not shutil.which("sudo"):
        say("host: installing sudo (apt-get update, apt-get install sudo)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        quiet = {"check": True, "stdout": subprocess.DEVNULL}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "sudo"],
            **quiet,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    try:
        pwd.getpwnam(RUNNER_USER)
    except KeyError:
        say(f"host: creating the user {RUNNER_USER} (useradd -m)")
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", RUNNER_USER], check=True)
    sudoers = Path("/etc/sudoers.d") / RUNNER_USER
    rule = f"{RUNNER_USER} ALL=(ALL) NOPASSWD:ALL\n"
    if not sudoers.exists() or sudoers.read_text() != rule:
        say(f"host: passwordless sudo for {RUNNER_USER} ({sudoers})")
        sudoers.parent.mkdir(exist_ok=True)
        sudoers.write_text(rule)
        sudoers.chmod(0o440)
    # root's home is mode 700; others may traverse it (not list it) to reach pyenv and rustup.
    for tree in (PYENV_VERSIONS, HOST_RUSTUP, HOST_CARGO_BIN):
        for folder in tree.parents:
            if folder == Path("/"):
                break
            mode = folder.stat().st_mode
            if tree.exists() and not mode & 0o001:
                say(f"host: chmod o+x {folder} (the runner user reaches {tree} read-only)")
                folder.chmod(mode | 0o001)
    link_pinned_toolchain(toolchain)


def link_pinned_toolchain(channel: str | None) -> None:
    """rust-toolchain.toml's channel: when that exact version is the installed stable,
    link it under its own name rather than let rustup download the same compiler again."""
    if not channel or not re.fullmatch(r"\d+\.\d+\.\d+", channel):
        return
    toolchains = HOST_RUSTUP / "toolchains"
    pinned = toolchains / f"{channel}-{HOST_TRIPLE}"
    if pinned.exists():
        return
    stable = toolchains / f"stable-{HOST_TRIPLE}"
    try:
        version = run_quietly([str(stable / "bin" / "rustc"), "--version"]).split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        version = ""
    if version == channel:
        say(f"host: Rust {channel} is the installed stable: linked {pinned.name} to it")
        pinned.symlink_to(stable)
    else:
        say(f"host: Rust {channel} is not installed: rustup installs it in the first job")


@dataclass
class StepUser:
    """Who the steps run as: `runner` when this run is root, else the invoking user."""

    name: str
    uid: int
    gid: int
    groups: list[int]
    home: Path
    switch: bool  # this process is root and starts each step as that user

    @classmethod
    def of_this_run(cls) -> StepUser:
        switch = os.geteuid() == 0
        entry = pwd.getpwnam(RUNNER_USER) if switch else pwd.getpwuid(os.geteuid())
        groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, groups, Path(entry.pw_dir), switch)

    def give(self, path: Path, recursive: bool = False) -> None:
        """Hand a path this (root) process made to the step user, without following links."""
        if not self.switch:
            return
        os.lchown(path, self.uid, self.gid)
        if recursive and path.is_dir() and not path.is_symlink():
            for folder, folders, files in os.walk(path):
                for name in folders + files:
                    os.lchown(os.path.join(folder, name), self.uid, self.gid)

    def make_dir(self, path: Path) -> Path:
        path.mkdir(exist_ok=True)
        self.give(path)
        return path


def live_processes(groups: set[int], tracking_id: str) -> list[int]:
    """The processes (zombies aside) in these process groups or whose environment carries
    this tracking id: GitHub's runner finds what a job left running by RUNNER_TRACKING_ID
    the same way, which also finds what left the group (setsid, daemons)."""
    marker = f"RUNNER_TRACKING_ID={tracking_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            state, _, group = stat[stat.rindex(")") + 2 :].split()[:3]
            if state == "Z":
                continue
            if int(group) in groups or marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def end_processes(groups: list[int], tracking_id: str) -> int:
    """SIGTERM what the job still runs, SIGKILL what outlives the grace; how many there were."""
    ended: set[int] = set()
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        alive = live_processes(set(groups), tracking_id)
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal_number)
                ended.add(pid)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and live_processes(set(groups), tracking_id):
            time.sleep(0.2)
    return len(ended)


def remove_tree(path: Path) -> None:
    def make_writable(function, name, _error):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            os.chmod(name, 0o700)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=make_writable)


def parse_command_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT and GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values, lines, index = {}, text.splitlines(), 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            continue
        name, heredoc, delimiter = line.partition("<<")
        if heredoc and "=" not in name:
            block = []
            while index < len(lines) and lines[index] != delimiter:
                block.append(lines[index])
                index += 1
            if index == len(lines):
                raise StepFailed(f"no closing {delimiter!r} for {name} in a command file")
            index += 1
            values[name] = "\n".join(block)
        elif "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
        else:
            raise StepFailed(
                f"a command-file line that is neither name=value nor name<<EOF: {line!r}"
            )
    return values


# ---------------------------------------------------------------------------------------
# The actions the workflow uses, emulated. Keyed by owner/name (case-insensitive); the
# inputs each one understands, None for "any" (for those that do nothing here).

ACTIONS = {
    "actions/checkout": (
        "checkout",
        {"persist-credentials", "fetch-depth", "fetch-tags", "path", "clean", "show-progress"},
    ),
    "actions/setup-python": (
        "setup_python",
        {"python-version", "check-latest", "update-environment", "allow-prereleases"},
    ),
    "swatinem/rust-cache": ("cold_cache", None),
    "actions/cache": ("cold_cache", None),
    "actions/upload-artifact": (
        "upload_artifact",
        {
            "name",
            "path",
            "if-no-files-found",
            "retention-days",
            "compression-level",
            "overwrite",
            "include-hidden-files",
        },
    ),
    "actions/download-artifact": (
        "download_artifact",
        {"name", "pattern", "merge-multiple", "path"},
    ),
    "pyo3/maturin-action": (
        "maturin",
        {"maturin-version", "command", "args", "target", "manylinux", "working-directory"},
    ),
    "actions/upload-pages-artifact": ("pages_artifact", {"path", "name", "retention-days"}),
}
# Actions that act on GitHub itself: not run, and listed as not reproduced.
GITHUB_ONLY = {
    "actions/attest-build-provenance": "attestations are signed by GitHub's OIDC",
    "pypa/gh-action-pypi-publish": "the upload to PyPI (trusted publishing)",
    "actions/upload-pages-artifact": "the Pages artifact (its path is checked)",
    "actions/deploy-pages": "the GitHub Pages deployment",
}
GITHUB_ONLY_RUNS = {
    "actions/attest-build-provenance",
    "pypa/gh-action-pypi-publish",
    "actions/deploy-pages",
}
JOB_KEYS = {
    "name",
    "needs",
    "runs-on",
    "permissions",
    "environment",
    "concurrency",
    "outputs",
    "env",
    "defaults",
    "if",
    "steps",
    "timeout-minutes",
    "strategy",
}
STEP_KEYS = {
    "id",
    "if",
    "name",
    "uses",
    "run",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
    "working-directory",
    "shell",
}


def action_name(step: dict) -> str:
    return str(step["uses"]).split("@")[0].casefold()


def unknown_parts(spec: dict) -> str:
    """The first thing of a job this run does not know, as a one-line reason, or ''."""
    extra = sorted(set(spec) - JOB_KEYS)
    if extra:
        return f"job key {extra[0]} (container, services, reusable workflows...)"
    for number, step in enumerate(spec.get("steps") or [], 1):
        extra = sorted(set(step) - STEP_KEYS)
        if extra:
            return f"step {number} key {extra[0]}"
        if "uses" in step:
            name = action_name(step)
            if name not in ACTIONS and name not in GITHUB_ONLY:
                return f"step {number}: the local run does not know {step['uses'].split('@')[0]}"
    return ""


# ---------------------------------------------------------------------------------------
# The run.


class LocalRun:
    """One run: host state, the bare mirror, the artifact store, the jobs in order."""

    def __init__(self, options, commit: Commit, workflow: dict, jobs: list[Job]):
        self.options = options
        self.commit = commit
        self.workflow = workflow
        self.jobs = jobs
        self.jobs_by_id = {job.id: job for job in jobs}
        self.user = StepUser.of_this_run()
        if options.work:
            self.work_root = Path(options.work).resolve()
        elif self.user.name == RUNNER_USER:
            self.work_root = self.user.home / "work"
        else:
            self.work_root = self.user.home / ".cache" / "local-ci" / "work"
        self.run_dir = self.work_root / "_run"
        self.mirror = self.run_dir / "mirror.git"
        self.artifacts = self.run_dir / "artifacts"
        self.summaries = self.run_dir / "summaries"
        # Download caches (pip's, cargo's registry and git, rustup's toolchains) are shared by
        # the jobs and kept between runs: they save downloads, not build results.
        self.caches = self.user.home / ".cache" / "local-ci"
        self.rustup_home = self.caches / "rustup" if self.user.switch else HOST_RUSTUP
        self.run_id = str(int(time.time()))
        self.said_once: set[str] = set()
        self.cancelled = False
        self.lock = None

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self) -> None:
        self.make_dirs(self.work_root)
        marker = self.work_root / ".local-ci"
        others = [p for p in self.work_root.iterdir() if p.name not in (".lock", ".local-ci")]
        if others and not marker.exists():
            raise UsageError(f"{self.work_root} holds files no local run made: pass --work DIR")
        marker.touch()
        # Held (flock) until this process ends: one run at a time per work folder.
        self.lock = open(self.work_root / ".lock", "a+")  # noqa: SIM115
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock.seek(0)
            raise UsageError(
                f"another local run (pid {self.lock.read().strip() or '?'}) is using "
                f"{self.work_root}: wait for it, or pass --work DIR"
            ) from None
        self.lock.seek(0)
        self.lock.truncate()
        self.lock.write(f"{os.getpid()}\n")
        self.lock.flush()
        if others:
            say(
                f"wiping the last run's folders in {self.work_root}: "
                f"{', '.join(sorted(p.name for p in others))}"
            )
            for path in others:
                remove_tree(path)
        for folder in (self.run_dir, self.artifacts, self.summaries):
            self.user.make_dir(folder)
        self.prepare_caches()
        self.make_mirror()

    def make_dirs(self, path: Path) -> None:
        missing = [p for p in [path, *path.parents] if not p.exists()]
        for folder in reversed(missing):
            self.user.make_dir(folder)

    def prepare_caches(self) -> None:
        self.make_dirs(self.caches)
        for name in ("pip", "cargo-registry", "cargo-git"):
            self.user.make_dir(self.caches / name)
        if not self.user.switch:
            return
        # rustup for the runner user: its own RUSTUP_HOME (so `rustup toolchain install` can
        # add a toolchain), where root's toolchains appear as links (reused, read-only) with
        # their update hashes (so rustup sees them as installed and current).
        home = self.user.make_dir(self.rustup_home)
        toolchains = self.user.make_dir(home / "toolchains")
        hashes = self.user.make_dir(home / "update-hashes")
        if (HOST_RUSTUP / "settings.toml").exists():
            shutil.copyfile(HOST_RUSTUP / "settings.toml", home / "settings.toml")
            self.user.give(home / "settings.toml")
        for toolchain in sorted((HOST_RUSTUP / "toolchains").glob("*")):
            link = toolchains / toolchain.name
            if not os.path.lexists(link):
                link.symlink_to(toolchain)
                self.user.give(link)
            known = HOST_RUSTUP / "update-hashes" / toolchain.name
            if link.is_symlink() and known.exists():
                shutil.copyfile(known, hashes / toolchain.name)
                self.user.give(hashes / toolchain.name)

    def make_mirror(self) -> None:
        """The run's bare mirror of the repository: `origin` of every job's clone, with main
        at the tested commit (plus the tag and the pull request's refs when a job uses
        them), served over file:// so that --depth works. A job's push lands here."""
        clone = [
            "git",
            "clone",
            "--bare",
            "--no-local",
            "--quiet",
            "--upload-pack",
            UPLOAD_PACK,
            str(REPO),
            str(self.mirror),
        ]
        subprocess.run(clone, check=True, env=TRUST_REPO)
        refs = {"refs/heads/main": self.commit.sha}
        events = {job.event for job in self.jobs}
        if "tag" in events:
            refs[f"refs/tags/{self.commit.tag}"] = self.commit.sha
        if "pull_request" in events:
            refs[f"refs/pull/{PULL_REQUEST_NUMBER}/head"] = self.commit.sha
            refs[f"refs/pull/{PULL_REQUEST_NUMBER}/merge"] = self.commit.sha
        for ref, sha in refs.items():
            git("update-ref", ref, sha, cwd=self.mirror)
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=self.mirror)
        self.user.give(self.mirror, recursive=True)
        say(f"mirror: {self.mirror} ({', '.join(refs)} at {self.commit.sha[:12]})")

    # -- processes ------------------------------------------------------------------------

    def spawn(self, argv: list, *, cwd: Path, env: dict, leg_run: LegRun) -> int:
        """Start a process as the step user in a process group of its own (so that the
        job's timeout and Ctrl-C end all of it), wait for it within the job's deadline."""
        switch = {}
        if self.user.switch:
            switch = dict(user=self.user.uid, group=self.user.gid, extra_groups=self.user.groups)
        process = subprocess.Popen(
            [str(arg) for arg in argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            umask=0o022,
            **switch,
        )
        leg_run.process_groups.append(process.pid)
        try:
            return process.wait(timeout=leg_run.seconds_left())
        except subprocess.TimeoutExpired:
            leg_run.seconds_left()  # raises the job's or the step's timeout, whichever passed
            raise JobTimedOut() from None
        finally:
            if process.returncode is None:  # timed out or interrupted
                end_processes([process.pid], leg_run.tracking_id)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=GRACE_SECONDS)

    def say_once(self, key: str, text: str) -> None:
        if key not in self.said_once:
            self.said_once.add(key)
            note(text)

    # -- jobs -----------------------------------------------------------------------------

    def ancestors(self, job: Job) -> list[Job]:
        found, pending = {}, list(job.needs)
        while pending:
            other = self.jobs_by_id[pending.pop()]
            if other.id not in found:
                found[other.id] = other
                pending.extend(other.needs)
        return list(found.values())

    def needs_context(self, job: Job) -> dict:
        return {
            need: {"result": self.jobs_by_id[need].result, "outputs": self.jobs_by_id[need].outputs}
            for need in job.needs
        }

    def execute(self) -> int:
        self.prepare()
        for job in self.jobs:
            if self.cancelled:
                job.result, job.note = "cancelled", "the run was interrupted"
                continue
            try:
                self.run_job(job)
            except KeyboardInterrupt:
                self.cancelled = True
                job.result, job.note = "cancelled", "interrupted (Ctrl-C)"
                say(f"[{job.id}] interrupted: its processes were ended; no further job runs")
        return self.report()

    def run_job(self, job: Job) -> None:
        ancestors = self.ancestors(job)
        status = {
            "success": all(other.result == "success" for other in ancestors),
            "failure": any(other.result == "failure" for other in ancestors),
            "cancelled": self.cancelled,
        }
        scope = outer_scope(
            self.workflow, job.id, job.event, self.commit, needs=self.needs_context(job)
        )
        scope.status = status
        try:
            wanted = condition_holds(job.spec.get("if"), scope)
        except ExpressionError as error:
            job.result, job.note = "failure", f"if: {error}"
            say(f"[{job.id}] fails: if: {error}: fix it, or teach .ci/runner.py")
            return
        if not wanted:
            job.result = "skipped"
            condition = job.spec.get("if")
            implicit = condition is None or not uses_status_function(
                parse(condition_text(condition))
            )
            if not status["success"] and implicit:
                failed = [f"{o.id}: {o.result}" for o in ancestors if o.result != "success"]
                job.note = f"a job it needs did not succeed ({', '.join(failed)})"
            else:
                job.note = f"if: {condition_text(condition)} is false ({job.event})"
            say(f"[{job.id}] skipped: {job.note}")
            return
        try:
            fail_fast = truthy(
                render_value((job.spec.get("strategy") or {}).get("fail-fast", True), scope)
            )
        except ExpressionError:
            fail_fast = True
        runnable = [leg for leg in job.legs if not leg.not_reproduced]
        for index, leg in enumerate(runnable):
            if fail_fast and any(other.result == "failure" for other in runnable[:index]):
                leg.result, leg.note = "cancelled", "fail-fast: another leg failed"
                continue
            try:
                LegRun(self, job, leg).execute()
            except KeyboardInterrupt:
                for later in runnable[index + 1 :]:
                    later.result, later.note = "cancelled", "the run was interrupted"
                raise
            if leg.result == "success" and not self.options.keep and leg.folder:
                remove_tree(leg.folder)
        results = {leg.result for leg in runnable}
        if not runnable:
            job.result, job.note = "skipped", "no leg can run here"
        elif "failure" in results:
            job.result = "failure"
        elif "cancelled" in results:
            job.result = "cancelled"
        else:
            job.result = "success"

    # -- the report -----------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """One row per leg that could run here; one per job that did not get to its legs."""
        rows = []
        for job in self.jobs:
            legs = [leg for leg in job.legs if not leg.not_reproduced]
            if all(leg.result == "not run" for leg in legs):
                legs = [Leg(job.id, {}, "", result=job.result, note=job.note)]
            for leg in legs:
                kept = leg.folder is not None and leg.folder.exists()
                rows.append(
                    {
                        "job": job.id,
                        "leg": leg.label,
                        "result": leg.result,
                        "seconds": round(leg.seconds, 1),
                        "event": job.event,
                        "timeout_minutes": leg.timeout_minutes or job.spec.get("timeout-minutes"),
                        "note": leg.note,
                        "folder": str(leg.folder) if kept else "",
                    }
                )
        return rows

    def not_reproduced(self) -> list[dict]:
        listed = []
        for job in self.jobs:
            for leg in job.legs:
                if leg.not_reproduced:
                    listed.append(dict(job=job.id, leg=leg.label, why=leg.not_reproduced))
            for step in job.github_only:
                listed.append(dict(job=job.id, leg="", why=f"{step} (GitHub only)"))
        return listed

    def report(self) -> int:
        rows = self.rows()
        total = time.monotonic() - STARTED
        print(flush=True)
        say(f"summary of the local run of {self.commit.title}")
        table = [
            [
                row["job"],
                row["leg"],
                row["result"],
                clock(row["seconds"]) if row["result"] != "skipped" else "",
                f"{row['timeout_minutes']} min" if row["timeout_minutes"] else "",
                row["note"],
            ]
            for row in rows
        ]
        print_table(["job", "leg", "result", "time", "timeout", "note"], table)
        listed = self.not_reproduced()
        if listed:
            print("\nnot reproduced here:")
            for item in listed:
                where = f"{item['job']} ({item['leg']})" if item["leg"] else item["job"]
                print(f"  {where}: {item['why']}")
        kept = [r["folder"] for r in rows if r.get("folder")]
        if kept:
            print("\nfolders kept:" + "".join(f"\n  {folder}" for folder in kept))
        summary = {
            "commit": self.commit.sha,
            "subject": self.commit.subject,
            "events": {job.id: job.event for job in self.jobs},
            "total_seconds": round(total, 1),
            "cancelled": self.cancelled,
            "jobs": rows,
            "not_reproduced": listed,
        }
        path = write_summary(summary, self.run_dir)
        print(f"\nthe table as JSON: {path}", flush=True)
        if self.cancelled:
            return 130
        return 0 if all(row["result"] in ("success", "skipped") for row in rows) else 1


def write_summary(summary: dict, fallback: Path) -> Path:
    for folder in (SCRATCH, fallback):
        try:
            folder.mkdir(exist_ok=True)
            if folder == SCRATCH:
                (folder / ".gitignore").write_text("# the local CI run's scratch (.ci/run)\n*\n")
            path = folder / "summary.json"
            path.write_text(json.dumps(summary, indent=2) + "\n")
            return path
        except OSError:
            continue
    return Path("(not written)")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip())


class LegRun:
    """One leg of one job: its folder, its steps, its environment, its deadline."""

    def __init__(self, run: LocalRun, job: Job, leg: Leg):
        self.run, self.job, self.leg = run, job, leg
        self.folder = run.work_root / leg.slug
        self.workspace = self.folder / CHECKOUT_FOLDER
        self.home = self.folder / "home"
        self.temp = self.folder / "temp"
        self.tool_cache = self.folder / "toolcache"
        self.files = self.folder / "files"
        self.summary = run.summaries / f"{leg.slug}.md"
        self.tracking_id = f"local-ci-{uuid.uuid4().hex[:12]}-{leg.slug}"
        self.process_groups: list[int] = []
        self.deadline: float | None = None
        self.step_deadline: float | None = None
        self.step_results: dict[str, dict] = {}
        self.added_env: dict[str, str] = {}
        self.added_path: list[str] = []  # GITHUB_PATH, the latest first
        self.failed = False
        self.facts = event_facts(job.event, run.commit)
        self.github = github_context(
            run.workflow,
            job.id,
            job.event,
            run.commit,
            workspace=str(self.workspace),
            event_path=str(self.files / "event.json"),
            run_id=run.run_id,
        )
        self.runner = {
            "os": "Linux",
            "arch": "X64",
            "name": "local",
            "temp": str(self.temp),
            "tool_cache": str(self.tool_cache),
        }
        strategy = job.spec.get("strategy") or {}
        self.strategy = {
            "fail-fast": strategy.get("fail-fast", True),
            "job-index": [id(other) for other in job.legs].index(id(leg)),
            "job-total": len(job.legs),
            "max-parallel": strategy.get("max-parallel", len(job.legs)),
        }
        self.workflow_env: dict[str, str] = {}
        self.job_env: dict[str, str] = {}

    def seconds_left(self) -> float | None:
        """Until the job's timeout or the step's, whichever is first; past one, its error."""
        now = time.monotonic()
        if self.deadline is not None and now >= self.deadline:
            raise JobTimedOut()
        if self.step_deadline is not None and now >= self.step_deadline:
            raise StepFailed("ran past the step's timeout-minutes: its processes were ended")
        left = [deadline - now for deadline in (self.deadline, self.step_deadline) if deadline]
        return min(left) if left else None

    def scope(self, env: dict | None = None) -> Scope:
        contexts = {
            "github": self.github,
            "runner": self.runner,
            "matrix": self.leg.matrix,
            "strategy": self.strategy,
            "needs": self.run.needs_context(self.job),
            "steps": self.step_results,
            "job": {"status": "failure" if self.failed else "success"},
            "secrets": {"GITHUB_TOKEN": DUMMY_TOKEN},
            "vars": {},
            "inputs": {},
            "env": env if env is not None else self.env_context(),
        }
        status = {"success": not self.failed, "failure": self.failed, "cancelled": False}
        return Scope(contexts, status, self.workspace)

    def env_context(self) -> dict:
        return {**self.workflow_env, **self.job_env, **self.added_env}

    # -- the leg --------------------------------------------------------------------------

    def execute(self) -> None:
        leg, spec = self.leg, self.job.spec
        started = time.monotonic()
        leg.folder = self.folder
        leg.result = "failure"
        try:
            scope = self.scope(env={})
            self.workflow_env = self.render_env(self.run.workflow.get("env"), scope)
            scope = self.scope(env=dict(self.workflow_env))
            minutes = to_number(render_value(spec.get("timeout-minutes", 360), scope))
            leg.timeout_minutes = int(minutes) if minutes.is_integer() else minutes
            self.deadline = started + minutes * 60
            self.job_env = self.render_env(spec.get("env"), scope)
            self.prepare_folder()
            say(
                f"[{leg.title}] job: {describe_event(self.job.event, self.run.commit)}, "
                f"timeout {leg.timeout_minutes} min, as {self.run.user.name} in {self.folder}"
            )
            unknown = unknown_parts(spec)
            if unknown:
                raise StepFailed(f"{unknown}: teach .ci/runner.py")
            steps = spec.get("steps") or []
            for number, step in enumerate(steps, 1):
                self.run_step(number, len(steps), step)
            leg.result = "failure" if self.failed else "success"
            self.job.outputs = self.job_outputs()
        except JobTimedOut:
            leg.note = f"timed out: ran past timeout-minutes ({leg.timeout_minutes})"
            say(f"[{leg.title}] {leg.note}: its processes were ended")
        except (StepFailed, ExpressionError) as error:
            leg.note = str(error)
            say(f"[{leg.title}] fails: {error}")
        except KeyboardInterrupt:
            leg.result, leg.note = "cancelled", "interrupted (Ctrl-C)"
            raise
        finally:
            ended = end_processes(self.process_groups, self.tracking_id)
            if ended:
                note(f"ended {ended} processes the job left running (as GitHub's runner does)")
            leg.seconds = time.monotonic() - started
            if self.summary.exists() and self.summary.stat().st_size:
                say(f"[{leg.title}] step summary: {self.summary}")
            say(f"[{leg.title}] {leg.result} in {clock(leg.seconds)}")

    def render_env(self, env: dict | None, scope: Scope) -> dict[str, str]:
        rendered: dict[str, str] = {}
        for name, value in (env or {}).items():
            rendered[str(name)] = render(value, scope)
            scope.contexts["env"] = {**scope.contexts["env"], str(name): rendered[str(name)]}
        return rendered

    def prepare_folder(self) -> None:
        user = self.run.user
        folders = [
            self.folder,
            self.workspace,
            self.home,
            self.temp,
            self.tool_cache,
            self.files,
            self.home / ".cache",
            self.home / ".cargo",
        ]
        for folder in folders:
            user.make_dir(folder)
        # The run's download caches, where a fresh HOME's tools look for them.
        for link, target in (
            (self.home / ".cache" / "pip", self.run.caches / "pip"),
            (self.home / ".cargo" / "registry", self.run.caches / "cargo-registry"),
            (self.home / ".cargo" / "git", self.run.caches / "cargo-git"),
        ):
            link.symlink_to(target)
            user.give(link)
        event_file = self.files / "event.json"
        event_file.write_text(json.dumps(self.facts["payload"], indent=2))
        user.give(event_file)

    def job_outputs(self) -> dict:
        outputs = {}
        scope = self.scope()
        for name, value in (self.job.spec.get("outputs") or {}).items():
            outputs[name] = render(value, scope)
        return outputs

    # -- steps ----------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        """What GitHub's runner sets for every step (GITHUB_ACTIONS left out: the scripts
        tell the local run apart by it), HOME the job's own, rustup and cargo the run's."""
        facts, commit = self.facts, self.run.commit
        return {
            "CI": "true",
            "HOME": str(self.home),
            "USER": self.run.user.name,
            "LOGNAME": self.run.user.name,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REF": facts["ref"],
            "GITHUB_REF_NAME": facts["ref_name"],
            "GITHUB_REF_TYPE": facts["ref_type"],
            "GITHUB_SHA": commit.sha,
            "GITHUB_EVENT_NAME": facts["event_name"],
            "GITHUB_EVENT_PATH": str(self.files / "event.json"),
            "GITHUB_JOB": self.job.id,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_REPOSITORY_OWNER": OWNER,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_WORKFLOW": self.github["workflow"],
            "GITHUB_RUN_ID": self.run.run_id,
            "GITHUB_RUN_NUMBER": "1",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_ACTOR": OWNER,
            "GITHUB_BASE_REF": facts["base_ref"],
            "GITHUB_HEAD_REF": facts["head_ref"],
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "local",
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_TOOL_CACHE": str(self.tool_cache),
            "RUNNER_WORKSPACE": str(self.folder),
            "RUNNER_TRACKING_ID": self.tracking_id,
            "CARGO_HOME": str(self.home / ".cargo"),
            "RUSTUP_HOME": str(self.run.rustup_home),
        }

    def process_env(self, step_env: dict, extra_path: list[str] | None = None) -> dict:
        """A step's environment: the machine's settings that pass through, GitHub's
        variables, the workflow's, job's, GITHUB_ENV's and step's env; GITHUB_PATH first."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k in HOST_VARIABLES or k.startswith(HOST_VARIABLE_PREFIXES)
        }
        env.update(self.base_env())
        env.update(self.env_context())
        env.update(step_env)
        home_bins = [str(self.home / ".local" / "bin"), str(self.home / ".cargo" / "bin")]
        path = [*(extra_path or []), *self.added_path, *home_bins, str(HOST_CARGO_BIN)]
        env["PATH"] = ":".join([*path, *SYSTEM_PATH])
        return env

    def run_step(self, number: int, count: int, step: dict) -> None:
        title = step_title(step)
        with contextlib.suppress(ExpressionError):
            title = render(title, self.scope())
        say(f"[{self.leg.title}] step {number}/{count}: {title}")
        where = f"step {number} ({step_title(step)})"
        self.seconds_left()  # past the deadline: the job times out here
        try:
            wanted = condition_holds(step.get("if"), self.scope())
        except ExpressionError as error:
            note(f"{where} fails: if: {error}: fix it, or teach .ci/runner.py")
            self.failed = True
            self.leg.note = self.leg.note or f"step {number} failed: {step_title(step)}"
            self.record(step, {}, "failure", "failure")
            return
        if not wanted:
            note(f"skipped: if: {condition_text(step.get('if'))}")
            self.record(step, {}, "skipped", "skipped")
            return
        outputs, outcome = {}, "success"
        try:
            minutes = to_number(render_value(step.get("timeout-minutes"), self.scope()))
            if minutes > 0:
                self.step_deadline = time.monotonic() + minutes * 60
            step_env = self.render_env(step.get("env"), self.scope())
            scope = self.scope(env={**self.env_context(), **step_env})
            if "run" in step:
                outputs = self.run_script(number, step, step_env, scope)
            else:
                outputs, outcome = self.run_action(number, step, step_env, scope)
        except ExpressionError as error:
            outcome = "failure"
            note(f"{where} fails: {error}: fix it, or teach .ci/runner.py")
        except StepFailed as error:
            outcome = "failure"
            note(f"{where} fails: {error}")
        finally:
            self.step_deadline = None
        conclusion = outcome
        if outcome == "failure":
            continue_on_error = False
            with contextlib.suppress(ExpressionError):
                continue_on_error = truthy(
                    render_value(step.get("continue-on-error", False), self.scope())
                )
            if continue_on_error:
                conclusion = "success"
                note("failed, and continue-on-error lets the job go on")
            else:
                self.failed = True
                self.leg.note = self.leg.note or f"step {number} failed: {step_title(step)}"
        self.record(step, outputs, outcome, conclusion)

    def record(self, step: dict, outputs: dict, outcome: str, conclusion: str) -> None:
        if step.get("id"):
            self.step_results[str(step["id"])] = {
                "outputs": outputs,
                "outcome": outcome,
                "conclusion": conclusion,
            }

    def command_files(self, number: int) -> dict[str, Path]:
        files = {}
        for variable in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"):
            path = self.files / f"step{number}-{variable.lower()}"
            path.write_text("")
            self.run.user.give(path)
            files[variable] = path
        return files

    def absorb(self, files: dict[str, Path]) -> dict[str, str]:
        """After a step: its outputs, and GITHUB_ENV / GITHUB_PATH for the later steps."""
        self.added_env.update(parse_command_file(files["GITHUB_ENV"].read_text()))
        for line in files["GITHUB_PATH"].read_text().splitlines():
            if line.strip():
                self.added_path.insert(0, line.strip())
        summary = files["GITHUB_STEP_SUMMARY"].read_text()
        if summary:
            with self.summary.open("a") as job_summary:
                job_summary.write(summary if summary.endswith("\n") else summary + "\n")
        return parse_command_file(files["GITHUB_OUTPUT"].read_text())

    def working_directory(self, step: dict, scope: Scope) -> Path:
        defaults = [
            (self.job.spec.get("defaults") or {}).get("run") or {},
            (self.run.workflow.get("defaults") or {}).get("run") or {},
        ]
        folder = step.get("working-directory") or next(
            (d["working-directory"] for d in defaults if d.get("working-directory")), ""
        )
        return self.workspace / render(folder, scope) if folder else self.workspace

    def shell_command(self, step: dict, script: Path) -> list[str]:
        defaults = [
            (self.job.spec.get("defaults") or {}).get("run") or {},
            (self.run.workflow.get("defaults") or {}).get("run") or {},
        ]
        shell = step.get("shell") or next((d["shell"] for d in defaults if d.get("shell")), None)
        # GitHub's shells: no shell named runs `bash -e {0}`; `bash` adds the profile-free,
        # pipefail form; `{0}` in a custom one is the script.
        known = {
            None: ["bash", "-e", "{0}"],
            "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
            "sh": ["sh", "-e", "{0}"],
            "python": ["python", "{0}"],
        }
        if shell in known:
            words = known[shell]
        elif "{0}" in str(shell):
            words = shlex.split(str(shell))
        else:
            raise StepFailed(f"shell {shell!r}: teach .ci/runner.py")
        return [word.replace("{0}", str(script)) for word in words]

    def run_script(self, number: int, step: dict, step_env: dict, scope: Scope) -> dict:
        script = self.temp / f"step{number}-{uuid.uuid4().hex[:8]}.sh"
        script.write_text(render(step["run"], scope) + "\n")
        self.run.user.give(script)
        files = self.command_files(number)
        env = self.process_env(step_env)
        env.update({name: str(path) for name, path in files.items()})
        cwd = self.working_directory(step, scope)
        code = self.run.spawn(self.shell_command(step, script), cwd=cwd, env=env, leg_run=self)
        outputs = self.absorb(files)
        if code:
            raise StepFailed(f"exit code {code}")
        return outputs

    def run_action(self, number: int, step: dict, step_env: dict, scope: Scope):
        name = action_name(step)
        inputs = {
            str(k): to_string(render_value(v, scope)) for k, v in (step.get("with") or {}).items()
        }
        if name in GITHUB_ONLY_RUNS:
            note(f"not run here: {GITHUB_ONLY[name]} (GitHub only)")
            return {}, "skipped"
        method, known_inputs = ACTIONS[name]
        if known_inputs is not None:
            unknown = sorted(set(inputs) - known_inputs)
            if unknown:
                raise StepFailed(
                    f"the local run does not know input {unknown[0]} of "
                    f"{step['uses'].split('@')[0]}: teach .ci/runner.py"
                )
        return getattr(self, f"action_{method}")(inputs, step_env, scope)

    # -- actions --------------------------------------------------------------------------

    def git(self, *args: str, cwd: Path) -> None:
        code = self.run.spawn(["git", *args], cwd=cwd, env=self.process_env({}), leg_run=self)
        if code:
            raise StepFailed(f"git {args[0]}: exit code {code}")

    def action_checkout(self, inputs: dict, step_env: dict, scope: Scope):
        """actions/checkout: git init, fetch the commit (depth 1 unless fetch-depth says
        otherwise; 0 = every branch and tag too), check it out as GitHub does per event."""
        depth = int(to_number(inputs.get("fetch-depth") or 1))
        target = self.workspace / inputs.get("path", "")
        if (target / ".git").exists():  # a second checkout into the same folder starts clean
            remove_tree(target)
        self.run.make_dirs(target)
        sha, event = self.run.commit.sha, self.job.event
        local_ref = {
            "push": "refs/remotes/origin/main",
            "tag": f"refs/tags/{self.run.commit.tag}",
            "pull_request": f"refs/remotes/pull/{PULL_REQUEST_NUMBER}/merge",
        }[event]
        self.git("-c", "init.defaultBranch=main", "init", "-q", str(target), cwd=target)
        self.git("remote", "add", "origin", f"file://{self.run.mirror}", cwd=target)
        self.git("config", "--local", "gc.auto", "0", cwd=target)
        fetch = [
            "-c",
            "protocol.version=2",
            "fetch",
            "--quiet",
            "--prune",
            "--no-recurse-submodules",
        ]
        if depth <= 0:
            self.git(
                *fetch,
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
                cwd=target,
            )
            if event == "pull_request":
                self.git(*fetch, "origin", f"+{sha}:{local_ref}", cwd=target)
        else:
            tags = [] if is_true(inputs.get("fetch-tags", "false")) else ["--no-tags"]
            self.git(*fetch, *tags, f"--depth={depth}", "origin", f"+{sha}:{local_ref}", cwd=target)
        if event == "push":
            self.git("checkout", "--quiet", "--force", "-B", "main", local_ref, cwd=target)
        else:
            self.git("checkout", "--quiet", "--force", "--detach", local_ref, cwd=target)
        where = "branch main" if event == "push" else f"{local_ref} (detached)"
        depth_text = "all history, every branch and tag" if depth <= 0 else f"depth {depth}"
        note(f"{sha[:12]} checked out at {where}, {depth_text}, from the run's mirror")
        return {"ref": self.facts["ref"], "commit": sha}, "success"

    def action_setup_python(self, inputs: dict, step_env: dict, scope: Scope):
        """actions/setup-python: pyenv's matching CPython first on PATH (the last version
        listed first, as setup-python does with several)."""
        versions = inputs.get("python-version", "").split()
        if not versions:
            raise StepFailed("setup-python without python-version: teach .ci/runner.py")
        found = []
        for version in versions:
            python = find_python(version)
            if python is None:
                raise StepFailed(f"CPython {version} is not installed here")
            found.append(python)
        found = list(dict.fromkeys(found))  # a version listed twice is set up once
        for python in found:
            self.added_path.insert(0, str(python / "bin"))
        chosen = found[-1]
        self.added_env.update(
            {
                "pythonLocation": str(chosen),
                "Python_ROOT_DIR": str(chosen),
                "Python3_ROOT_DIR": str(chosen),
                "PKG_CONFIG_PATH": str(chosen / "lib" / "pkgconfig"),
            }
        )
        read_only = (
            " (read-only: pip puts packages in the job's ~/.local)" if self.run.user.switch else ""
        )
        note(f"CPython {', '.join(p.name for p in found)} from {PYENV_VERSIONS}{read_only}")
        return {
            "python-version": chosen.name,
            "python-path": str(chosen / "bin" / "python"),
        }, "success"

    def action_cold_cache(self, inputs: dict, step_env: dict, scope: Scope):
        self.run.say_once(
            "cache",
            "caches are cold, as on a first push: Swatinem/rust-cache "
            "and actions/cache restore and save nothing here",
        )
        return {"cache-hit": "false"}, "success"

    def collect_files(self, path_text: str, hidden: bool) -> tuple[list[Path], Path | None]:
        """upload-artifact's `path`: lines of paths or globs, `!` excludes; the root is the
        search paths' least common ancestor; hidden files are left out unless asked for."""
        lines = [line.strip() for line in path_text.splitlines() if line.strip()]
        excludes = [str(self.workspace / line[1:]) for line in lines if line.startswith("!")]
        found: dict[Path, Path] = {}
        roots = []
        for line in (line for line in lines if not line.startswith("!")):
            pattern = os.path.normpath(str(self.workspace / line))
            parts = Path(pattern).parts
            magic = next((i for i, part in enumerate(parts) if re.search(r"[*?[]", part)), None)
            if magic is None:
                root = Path(pattern) if os.path.isdir(pattern) else Path(pattern).parent
                matches = [pattern] if os.path.exists(pattern) else []
            else:
                root = Path(*parts[:magic])
                matches = glob.glob(pattern, recursive=True)
            roots.append(root)
            for match in map(Path, matches):
                files = [p for p in match.rglob("*") if p.is_file()] if match.is_dir() else [match]
                for file in files:
                    found.setdefault(file, root)
        kept = []
        for file, root in sorted(found.items()):
            relative = file.relative_to(root) if file.is_relative_to(root) else Path(file.name)
            if not hidden and any(part.startswith(".") for part in relative.parts):
                continue
            if any(fnmatch.fnmatch(str(file), pattern) for pattern in excludes):
                continue
            kept.append(file)
        root = Path(os.path.commonpath([str(r) for r in roots])) if roots else None
        return kept, root

    def action_upload_artifact(self, inputs: dict, step_env: dict, scope: Scope):
        name = inputs.get("name") or "artifact"
        files, root = self.collect_files(
            inputs.get("path", ""), is_true(inputs.get("include-hidden-files", "false"))
        )
        if not files:
            missing = f"no files at {inputs.get('path', '').strip()!r}"
            choice = inputs.get("if-no-files-found") or "warn"
            if choice == "error":
                raise StepFailed(f"{missing} (if-no-files-found: error)")
            if choice == "warn":
                note(
                    f"warning: {missing}: no artifact {name} (if-no-files-found: warn, the default)"
                )
            return {}, "success"
        store = self.run.artifacts / name
        if store.exists():
            if not is_true(inputs.get("overwrite", "false")):
                raise StepFailed(
                    f"artifact {name} was already uploaded in this run (GitHub: 409 "
                    "Conflict); `overwrite: true` replaces it"
                )
            remove_tree(store)
        size = 0
        for file in files:
            destination = store / file.relative_to(root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, destination)
            size += file.stat().st_size
        self.run.user.give(store, recursive=True)
        note(f"artifact {name}: {len(files)} files, {size / 1e6:.1f} MB (this run's store)")
        return {"artifact-id": name, "artifact-url": str(store)}, "success"

    def action_download_artifact(self, inputs: dict, step_env: dict, scope: Scope):
        available = sorted(p.name for p in self.run.artifacts.iterdir())
        destination = self.workspace / inputs.get("path", "")
        name, pattern = inputs.get("name"), inputs.get("pattern")
        if name:
            if name not in available:
                raise StepFailed(
                    f"artifact {name} not found (this run has: {', '.join(available) or 'none'})"
                )
            chosen = {name: destination}
        else:
            merge = is_true(inputs.get("merge-multiple", "false"))
            names = [a for a in available if fnmatch.fnmatchcase(a, pattern or "*")]
            chosen = {a: destination if merge else destination / a for a in names}
            if not names:
                note(
                    f"warning: no artifact matches {pattern or '*'!r} (this run has: "
                    f"{', '.join(available) or 'none'})"
                )
        self.run.make_dirs(destination)
        for artifact, into in chosen.items():
            shutil.copytree(self.run.artifacts / artifact, into, dirs_exist_ok=True)
        self.run.user.give(destination, recursive=True)
        note(f"downloaded {', '.join(chosen) or 'nothing'} into {destination}")
        return {"download-path": str(destination)}, "success"

    def action_maturin(self, inputs: dict, step_env: dict, scope: Scope):
        """PyO3/maturin-action, on the host (no manylinux container, no docker): the
        maturin asked for, from PyPI through the pins, in a venv of this job's."""
        target = inputs.get("target", "")
        if target not in MATURIN_HOST_TARGETS:
            raise StepFailed(f"maturin-action target {target}: a cross build, not reproduced here")
        requirements = self.workspace / ".ci" / "requirements.txt"
        if not requirements.exists():
            raise StepFailed("no .ci/requirements.txt in the checkout to pin maturin with")
        version = inputs.get("maturin-version", "").strip().removeprefix("v")
        wanted = "maturin" if version in ("", "latest") else f"maturin=={version}"
        venv = self.temp / "maturin-venv"
        env = self.process_env(step_env)
        for argv in (
            [sys.executable, "-m", "venv", venv],
            [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                requirements,
                wanted,
            ],
        ):
            code = self.run.spawn(argv, cwd=self.workspace, env=env, leg_run=self)
            if code:
                raise StepFailed(f"installing {wanted}: exit code {code}")
        command = inputs.get("command") or "build"
        arguments, interpreter_paths = self.local_interpreters(shlex.split(inputs.get("args", "")))
        if target and command in ("build", "publish"):
            arguments += ["--target", HOST_TRIPLE]
        note(
            f"maturin {command} on the host, not in the manylinux container (manylinux: "
            f"{inputs.get('manylinux') or 'auto'} is the container's): {shlex.join(arguments)}"
        )
        cwd = self.workspace / inputs.get("working-directory", "")
        env = self.process_env(step_env, extra_path=interpreter_paths)
        code = self.run.spawn(
            [venv / "bin" / "maturin", command, *arguments], cwd=cwd, env=env, leg_run=self
        )
        if code:
            raise StepFailed(f"maturin {command}: exit code {code}")
        return {}, "success"

    def local_interpreters(self, arguments: list[str]) -> tuple[list[str], list[str]]:
        """--interpreter 3.10 3.11 ...: the installed ones stay (their pyenv bin on PATH);
        the others are dropped with a note (the manylinux container has every one)."""
        kept, paths, dropped, in_list = [], [], [], False
        for word in arguments:
            if word in ("-i", "--interpreter"):
                in_list = True
            elif in_list and not word.startswith("-"):
                python = find_python(word.removeprefix("python"))
                if python is None:
                    dropped.append(word)
                    continue
                paths.append(str(python / "bin"))
            else:
                in_list = False
            kept.append(word)
        if dropped:
            note(f"--interpreter {' '.join(dropped)}: not installed here, left out")
        return kept, paths

    def action_pages_artifact(self, inputs: dict, step_env: dict, scope: Scope):
        path = inputs.get("path") or "_site/"
        if not (self.workspace / path).is_dir():
            raise StepFailed(f"upload-pages-artifact: {path} is not a directory")
        note(
            f"not run here: {GITHUB_ONLY['actions/upload-pages-artifact']} (GitHub only); "
            f"{path} is a directory"
        )
        return {}, "skipped"


def describe_event(event: str, commit: Commit) -> str:
    if event == "push":
        return "push to main"
    if event == "tag":
        return f"push of the tag {commit.tag}"
    return f"pull request #{PULL_REQUEST_NUMBER} (base = head = {commit.sha[:12]})"


# ---------------------------------------------------------------------------------------
# The command line.


def read_commit(tree: Path, sha: str) -> Commit:
    subject = git("log", "-1", "--format=%s", sha)
    parents = git("log", "-1", "--format=%P", sha).split()
    manifest = tomllib.loads((tree / CRATE_MANIFEST).read_text())
    toolchain = None
    if (tree / TOOLCHAIN_FILE).exists():
        toolchain = (
            tomllib.loads((tree / TOOLCHAIN_FILE).read_text()).get("toolchain", {}).get("channel")
        )
    return Commit(
        sha, subject, parents[0] if parents else None, manifest["package"]["version"], toolchain
    )


def jobs_reading_history(plan: list[Job]) -> list[str]:
    """The planned jobs whose checkout asks for the whole history (fetch-depth: 0)."""
    return [
        job.id
        for job in plan
        if any(
            "uses" in step
            and action_name(step) == "actions/checkout"
            and str((step.get("with") or {}).get("fetch-depth", 1)).strip() == "0"
            for step in job.spec.get("steps") or []
        )
    ]


def refuse_a_shallow_clone_for(plan: list[Job]) -> None:
    """A shallow clone (git clone --depth) has no history to give the jobs that read it:
    their checkout would fail after the jobs before them had run, so say so first."""
    if git("rev-parse", "--is-shallow-repository") != "true":
        return
    if reading := jobs_reading_history(plan):
        raise UsageError(
            f"this clone is shallow, and {', '.join(reading)} read the history "
            "(fetch-depth: 0): run `git fetch --unshallow` first, or name the jobs to run "
            "without them (.ci/run --list shows them)"
        )


def export_commit(sha: str, tree: Path) -> None:
    """A clone of the tested commit: what the workflow, the rules and the pins are read from.
    The commit alone (depth 1), which a shallow clone of the repository can give too."""
    fetch = [
        "fetch",
        "--quiet",
        "--depth",
        "1",
        "--upload-pack",
        UPLOAD_PACK,
        f"file://{REPO}",
        sha,
    ]
    for argv in (
        ["init", "--quiet", str(tree)],
        ["-C", str(tree), *fetch],
        ["-C", str(tree), "checkout", "--quiet", "--detach", "FETCH_HEAD"],
    ):
        subprocess.run(["git", *argv], check=True, env=TRUST_REPO)


def run_rules(tree: Path) -> None:
    say(f"workflow rules: python {RULES_SCRIPT}")
    result = subprocess.run([sys.executable, RULES_SCRIPT], cwd=tree, stdin=subprocess.DEVNULL)
    if result.returncode:
        say(
            f"refused: {RULES_SCRIPT} found the problems above: fix the workflow, commit, run again"
        )
        raise Refused()


def print_plan(jobs: list[Job], problems: list[str], commit: Commit, workflow: dict) -> None:
    print(f"commit {commit.title}")
    for job in jobs:
        scope = outer_scope(
            workflow,
            job.id,
            job.event,
            commit,
            needs={n: {"result": "success", "outputs": {}} for n in job.needs},
        )
        try:
            runs = condition_holds(job.spec.get("if"), scope)
            verdict = (
                "runs" if runs else f"skipped: if: {condition_text(job.spec.get('if'))} is false"
            )
        except ExpressionError as error:
            verdict = f"fails: {error}"
        unknown = unknown_parts(job.spec)
        if unknown:
            verdict = f"fails: {unknown}: teach .ci/runner.py"
        after = f" (after {', '.join(job.needs)})" if job.needs else ""
        timeout = job.spec.get("timeout-minutes", "none")
        print(
            f"\n{job.id}: {describe_event(job.event, commit)}, timeout {timeout} min: "
            f"{verdict}{after}"
        )
        for leg in job.legs:
            where = f"  ({leg.label})" if leg.label else "  "
            state = (
                f"not reproduced here: {leg.not_reproduced}"
                if leg.not_reproduced
                else (f"runs-on {leg.runs_on}: runs here")
            )
            print(f"{where} {state}")
        for step in job.github_only:
            print(f"   not run: {step} (GitHub only)")
    if problems:
        print("\nrefused until fixed:")
        for problem in problems:
            print(f"  {problem}")


def parse_options(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog=".ci/run",
        description="Run .github/workflows/ci.yml locally, job by job, the way GitHub runs "
        "it (docs/local-ci.md).",
    )
    parser.add_argument(
        "jobs", nargs="*", metavar="JOB", help="jobs to run (and the jobs they need); all when none"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="show the jobs and legs, what runs here and what not, and why",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep every job's folder (failed ones are always kept)"
    )
    parser.add_argument(
        "--event",
        choices=EVENTS,
        help="run every job as this event (default: push, bench as a pull "
        "request, release as the version's tag)",
    )
    parser.add_argument(
        "--work", metavar="DIR", help="the folder for the jobs (default /home/runner/work)"
    )
    return parser.parse_args(argv)


def interrupt(signal_number, frame) -> None:
    raise KeyboardInterrupt()


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    for signal_number in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: end the jobs, report
        signal.signal(signal_number, interrupt)
    try:
        sha = git("rev-parse", "HEAD")
        if git("status", "--porcelain", "--untracked-files=no"):
            say(
                f"warning: uncommitted changes are not tested: the run checks out {sha[:12]}, "
                "the last commit (GitHub only sees commits)"
            )
        with tempfile.TemporaryDirectory(prefix="local-ci-source-") as folder:
            tree = Path(folder)
            export_commit(sha, tree)
            commit = read_commit(tree, sha)
            workflow = yaml.safe_load((tree / WORKFLOW_FILE).read_text())
            jobs = workflow.get("jobs") or {}
            unknown = [job for job in options.jobs if job not in jobs]
            if unknown:
                raise UsageError(
                    f"no job {', '.join(unknown)} in {WORKFLOW_FILE} (jobs: {', '.join(jobs)})"
                )
            run_rules(tree)
            labels = load_labels(tree)
            problems = structural_problems(workflow)
            plan = plan_jobs(workflow, options.jobs, options.event, commit, labels)
        if options.list:
            print_plan(plan, problems, commit, workflow)
            return 1 if problems else 0
        if problems:
            for problem in problems:
                print(problem)
            say("refused: fix the workflow as said above, commit, run again")
            return 1
        refuse_a_shallow_clone_for(plan)
        say(f"local run of {commit.title}: {', '.join(job.id for job in plan)}")
        set_up_host(commit.toolchain)
        return LocalRun(options, commit, workflow, plan).execute()
    except Refused:
        return 1
    except UsageError as error:
        print(f".ci/run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
