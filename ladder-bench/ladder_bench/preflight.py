"""Everything that can be checked before the first measurement, in one child process and
a second or two, so that a mistake costs seconds, not a whole run:

- the configuration (``config.load``: unknown keys, missing or mistyped values, a
  baseline or reference that names no rung), and that there is a baseline;
- that every rung's ``call``, ``workload``, ``answer`` and ``extra`` hook, and the
  ``agreement`` hook, import and name something callable;
- that every workload factory builds at the quick size, and every rung runs on it;
- that every rung answers as the reference does (``reference``, else the baseline): each
  answer, through the rung's ``answer`` hook if it has one, is compared with the
  reference's by the ``agreement`` hook, or element by element (``exact_agreement``).
  A rung that disagrees fails the run, unless the command allows it: then it is timed
  and marked.

The library is imported in the child only (``python -m ladder_bench.preflight
'{json}'``), in the interpreter that runs the rungs and from an empty folder, as the
timed children are; so the tool's process stays clean, a crash while importing is caught
and named, and the child also reports which build of the package it imported
(``environment.build_facts``). A mistake is one line naming the rung, the key and the fix.
"""

import contextlib
import difflib
import json
import os
import pkgutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import config, environment, harness
from .display import size_label

# The child's lines on stderr that say what it is doing: if it dies, the last one names
# the rung and key it died on.
DOING = "ladder-bench-check: "
MESSAGE_CHARACTERS = 240  # of an exception's message quoted in the one line
ALLOW_OPTION = "--allow-disagreement"


class PreflightError(Exception):
    """A mistake found before measuring; its message is the one line to show."""


@dataclass(frozen=True)
class Checked:
    """What the checks found: each rung's description, how its answer compared with the
    reference's, the disagreements allowed, and the build of the package imported."""

    reference: str
    size: dict
    descriptions: dict[str, str]
    agreements: dict[str, dict]  # rung -> {"reference", "same", "ties", "different"}
    disagreements: dict[str, str]  # rung -> the one line, where disagreeing was allowed
    build: dict

    def described(self, rungs: list[config.Rung]) -> list[config.Rung]:
        """``rungs`` with their descriptions filled in, so that showing one does not import
        the library into this process."""
        return [
            replace(rung, description=rung.description or self.descriptions.get(rung.name, ""))
            for rung in rungs
        ]


def run(
    ladder: config.Config,
    rungs: list[config.Rung],
    *,
    python: str = sys.executable,
    allow_disagreement: bool = False,
    resolve_only: Sequence[config.Rung] = (),
) -> Checked:
    """Check ``rungs`` (and the reference they are compared with) in a child of
    ``python``; ``resolve_only``: approaches whose hooks must import, nothing more (the
    sweep's peers: some start clusters). Raises ``PreflightError``."""
    try:
        baseline = config.require_baseline(ladder)
    except config.ConfigError as error:
        raise PreflightError(str(error)) from None
    reference = ladder.reference or baseline
    request = {
        "config": str(ladder.path),
        "rungs": [rung.name for rung in rungs],
        "reference": reference,
        "size": ladder.quick_size,
        "distribution": ladder.distribution,
        "resolve_only": [rung.name for rung in resolve_only],
    }
    with tempfile.TemporaryDirectory() as scratch:
        completed = subprocess.run(
            [str(python), "-m", "ladder_bench.preflight", json.dumps(request)],
            capture_output=True,
            text=True,
            cwd=scratch,
            env=harness.bench_environ(),
        )
    reply = _reply(completed)
    if reply is None:
        raise PreflightError(_death(completed, python))
    if reply["problems"]:
        raise PreflightError(_first(reply["problems"]))
    disagreements = reply["disagreements"]
    if disagreements and not allow_disagreement:
        raise PreflightError(_first(list(disagreements.values())))
    return Checked(
        reference=reference,
        size=ladder.quick_size,
        descriptions=reply["descriptions"],
        agreements=reply["agreements"],
        disagreements=disagreements,
        build=reply["build"],
    )


def _reply(completed: subprocess.CompletedProcess) -> dict | None:
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return None
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return None


def _first(messages: list[str]) -> str:
    more = len(messages) - 1
    return messages[0] + (f" ({more} more after this one)" if more else "")


def _death(completed: subprocess.CompletedProcess, python: str) -> str:
    """One line for a child that died instead of replying: what it was doing (its last
    DOING line) and its last words."""
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    steps = [json.loads(line[len(DOING) :]) for line in lines if line.startswith(DOING)]
    said = [line.strip() for line in lines if not line.startswith(DOING)]
    if completed.returncode < 0:
        cause = f"killed by {signal.Signals(-completed.returncode).name}"
    else:
        cause = f"exit status {completed.returncode}"
    last = f": {said[-1][:MESSAGE_CHARACTERS]}" if said else ""
    if not steps:
        return f"the check of the ladder in {python} died before it began ({cause}){last}"
    where, key, spec, action = steps[-1]
    return (
        f"{where}: {key} = {spec!r}: the checking process died ({cause}) while {action}{last}; "
        f"fix what the `{key}` key names"
    )


def exact_agreement(answer, reference, size: dict | None = None) -> dict:
    """The default ``agreement``: element by element where both are sequences of one
    length (or arrays of one shape), else as a whole; ``==`` throughout, and numpy only
    if the answers are numpy's (it is not imported otherwise)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and (
        isinstance(answer, numpy.ndarray) or isinstance(reference, numpy.ndarray)
    ):
        answer, reference = (
            numpy.asarray(answer, dtype=object),
            numpy.asarray(reference, dtype=object),
        )
        if answer.shape != reference.shape or answer.ndim == 0:
            return _whole(answer.shape == reference.shape and _equal(answer, reference))
        same = int((answer == reference).sum())
        return {"same": same, "ties": 0, "different": answer.size - same}
    sequences = (list, tuple)
    both = isinstance(answer, sequences) and isinstance(reference, sequences)
    if both and len(answer) == len(reference) and answer:
        same = sum(_equal(a, r) for a, r in zip(answer, reference, strict=True))
        return {"same": same, "ties": 0, "different": len(answer) - same}
    return _whole(_equal(answer, reference))


def _whole(same: bool) -> dict:
    return {"same": int(same), "ties": 0, "different": int(not same)}


def _equal(a, b) -> bool:
    """``a == b`` as one truth: an array-like result must hold everywhere."""
    try:
        result = a == b
    except Exception:  # e.g. arrays of shapes that do not broadcast
        return False
    if isinstance(result, bool):
        return result
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(result, numpy.ndarray):
        return bool(numpy.array_equal(a, b))
    if hasattr(result, "all"):
        return bool(result.all())
    try:
        return bool(result)
    except Exception:
        return False


# The child: everything below runs in the interpreter that runs the rungs.


class Problem(Exception):
    """A hook that cannot be used; the message says why (the caller adds where)."""


def check(request: dict) -> dict:
    """Every check ``run`` asks for; the reply, its problems one line each."""
    ladder = config.load(Path(request["config"]))
    size, reference = request["size"], request["reference"]
    names = list(request["rungs"])
    checked = [*names, *([reference] if reference not in names else [])]
    at_size = f"at the quick size ({size_label(size)})"
    fix = f"in {config.shown_path(ladder.path)}"
    problems: list[str] = []

    hooks: dict[str, dict] = {}
    for name in [*checked, *request.get("resolve_only", [])]:
        rung = ladder.rung(name)
        where, resolved = f"{rung.kind} {name!r}", {}
        declared = [key for key in config.HOOK_KEYS if getattr(rung, key) is not None]
        for key in declared:
            spec = getattr(rung, key)
            try:
                with _doing(where, key, spec, "importing it"):
                    resolved[key] = _resolve(spec, ladder.root)
            except Problem as problem:
                problems.append(f"{where}: {key} = {spec!r}: {problem}; fix the `{key}` key {fix}")
        if len(resolved) == len(declared):
            hooks[name] = resolved
    table = f"[tool.{config.SECTION}]"
    agree: Callable[[object, object, dict | None], dict] | None = exact_agreement
    if ladder.agreement:
        try:
            with _doing(table, "agreement", ladder.agreement, "importing it"):
                agree = _resolve(ladder.agreement, ladder.root)
        except Problem as problem:
            problems.append(
                f"{table} agreement = {ladder.agreement!r}: {problem}; fix the key {fix}"
            )
            agree = None

    answers = {}
    for name in (name for name in checked if name in hooks):
        answer = _answer(ladder, name, hooks[name], size, problems)
        if answer is not _FAILED:
            answers[name] = answer

    agreements, disagreements = {}, {}
    compared = [n for n in names if n != reference and n in answers and reference in answers]
    for name in compared:
        if agree is None:  # the hook did not import: that problem is reported already
            break
        hook = ladder.agreement or "exact equality"
        try:
            with _doing(table, "agreement", hook, f"comparing rung {name!r} with {reference!r}"):
                counts = _counts(agree(answers[name], answers[reference], size))
        except Problem as problem:
            problems.append(f"{table} agreement = {hook!r}: {problem}; fix the hook {fix}")
            continue
        except (Exception, SystemExit) as error:
            problems.append(
                f"{table} agreement = {hook!r} raised {_said(error)} comparing rung {name!r} "
                f"with {reference!r} {at_size}; fix the hook {fix}"
            )
            continue
        agreements[name] = {"reference": reference, **counts}
        if counts["different"]:
            disagreements[name] = _disagreement(ladder, name, reference, counts, at_size, answers)

    descriptions = {}
    for name in names:
        if name in hooks:
            with contextlib.suppress(Exception):
                descriptions[name] = ladder.rung(name).summary()
    modules = [spec.partition(":")[0] for spec in (ladder.rung(n).call for n in checked)]
    packages = [module.partition(".")[0] for module in modules if not module.endswith(".py")]
    return {
        "problems": problems,
        "agreements": agreements,
        "disagreements": disagreements,
        "descriptions": descriptions,
        "build": environment.build_facts(
            request.get("distribution"), list(dict.fromkeys(packages))
        ),
    }


_FAILED = object()  # a rung whose answer could not be had (its problem is recorded)


def _answer(ladder: config.Config, name: str, hook: dict, size: dict, problems: list):
    """The rung's answer on its workload at ``size``, through its ``answer`` hook if it has
    one; where a step fails, the problem is added to ``problems``."""
    rung = ladder.rung(name)
    where, at_size = f"{rung.kind} {name!r}", f"at the quick size ({size_label(size)})"
    fix = f"in {config.shown_path(ladder.path)}"
    steps = [
        ("workload", f"building its workload {at_size}", f"fix the factory, or quick-size {fix}"),
        ("call", f"calling it {at_size}", "fix the function it names"),
        ("answer", "turning its result into an answer", "fix the hook"),
    ]
    value = None
    for key, action, remedy in steps:
        if key not in hook:
            continue
        spec = getattr(rung, key)
        try:
            with _doing(where, key, spec, action):
                if key == "workload":
                    args = _arguments(hook[key](**size))
                    continue
                value = hook[key](*args) if key == "call" else hook[key](value, *args)
        except Problem as problem:
            problems.append(f"{where}: {key} = {spec!r} {problem} {at_size}; {remedy}")
            return _FAILED
        except (Exception, SystemExit) as error:
            problems.append(f"{where}: {key} = {spec!r} raised {_said(error)} {at_size}; {remedy}")
            return _FAILED
    return value


def _arguments(returned) -> tuple:
    """A workload factory's result as the call's arguments."""
    if isinstance(returned, str | bytes | dict) or not hasattr(returned, "__iter__"):
        raise Problem(
            f"returned {_short(returned)} ({type(returned).__name__}), not the call's arguments "
            "(a tuple, e.g. return (data,))"
        )
    return tuple(returned)


def _resolve(spec: str, root: Path):
    """``config.resolve``, with the reason it fails in words: the file or module that is
    not there, the attribute that is not (and the nearest one that is), what importing
    raised, or that what it names is not callable."""
    module_name, _, attribute = spec.partition(":")
    try:
        value = config._load_module(spec, root)
    except ModuleNotFoundError as error:
        if module_name.endswith(".py") and not (root / module_name).is_file():
            raise Problem(f"there is no file {root / module_name}") from None
        missing = error.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            near = _near_module(missing)
            raise Problem(f"no module named {missing!r} in {sys.executable}{near}") from None
        raise Problem(f"importing {module_name} raised {_said(error)}") from None
    except (Exception, SystemExit) as error:
        raise Problem(f"importing {module_name} raised {_said(error)}") from None
    owner = f"module {module_name}"
    for part in attribute.split("."):
        if not hasattr(value, part):
            public = [n for n in dir(value) if not n.startswith("_")]
            raise Problem(f"{owner} has no attribute {part!r}{_near(part, public)}")
        value, owner = getattr(value, part), f"{module_name}:{attribute}"
    if not callable(value):
        raise Problem(f"names a {type(value).__name__}, not a function")
    return value


def _near(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _near_module(name: str) -> str:
    """For a missing ``package.module``: the package's module with the nearest name."""
    parent, _, last = name.rpartition(".")
    if not parent:
        return ""
    try:
        package = sys.modules.get(parent) or __import__(parent, fromlist=["_"])
    except Exception:
        return ""
    siblings = [module.name for module in pkgutil.iter_modules(getattr(package, "__path__", []))]
    close = difflib.get_close_matches(last, siblings, n=1)
    return f" (did you mean {parent}.{close[0]}?)" if close else ""


def _counts(result) -> dict:
    """An agreement hook's result, checked: how many answers were the same, ties, different."""
    try:
        counts = {key: int(result.get(key, 0)) for key in ("same", "ties", "different")}
    except (AttributeError, TypeError, ValueError):
        counts = None
    if counts is None or "different" not in result:
        raise Problem(f"returned {result!r:.80}, not {{'same': n, 'ties': n, 'different': n}}")
    return counts


def _disagreement(ladder, name, reference, counts, at_size, answers) -> str:
    total = sum(counts.values())
    differ = f"{counts['different']} of {total} differ"
    if total == 1:  # compared as a whole: show both
        differ = (
            f"the answers differ ({_short(answers[name])} against {_short(answers[reference])})"
        )
    hint = (
        "" if ladder.agreement else ", declare an `agreement` hook if they may differ by rounding"
    )
    return (
        f"rung {name!r} answers differently from {reference!r} {at_size}: "
        f"{differ}; fix the rung{hint}, or pass "
        f"{ALLOW_OPTION} to time it anyway, marked"
    )


def _short(value) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:59] + "…"


def _said(error: BaseException) -> str:
    """An exception as ``Type: first line of its message``."""
    message = str(error).strip().partition("\n")[0][:MESSAGE_CHARACTERS]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@contextlib.contextmanager
def _doing(where: str, key: str, spec: str, action: str):
    """Say on stderr what comes next, so that a crash in it can be named."""
    sys.stderr.write(DOING + json.dumps([where, key, spec, action]) + "\n")
    sys.stderr.flush()
    yield


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    request = json.loads(argv[0])
    # The library's own prints (Python's or native code's) go to stderr: stdout carries
    # the reply alone.
    sys.stdout.flush()
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        reply = check(request)
    except config.ConfigError as error:
        reply = {"problems": [str(error)], "disagreements": {}}
    sys.stdout.flush()
    with os.fdopen(reply_fd, "w") as out:
        out.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
