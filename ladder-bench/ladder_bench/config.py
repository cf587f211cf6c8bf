"""The ladder a project declares: ``[tool.ladder-bench]`` in its ``pyproject.toml``.

Every tool reads the rungs from here, so pointing the pipeline at another ladder is a
matter of configuration. A rung names its function and the factory of its workload as
``"module:attribute"`` (importable) or ``"path/to/file.py:attribute"`` (relative to the
file that declares it)::

    [tool.ladder-bench]
    baseline = "v1"                        # speedups are relative to this rung
    default-size = { n = 1000 }            # keyword arguments of every workload factory
    quick-size = { n = 100 }
    scaling-sizes = [{ n = 1000 }, { n = 10000 }]

    [[tool.ladder-bench.rungs]]
    name = "v1"
    call = "mylib.v1:main"                 # called as call(*workload(**size))
    workload = "mylib.v1:generate_example"
    description = "..."                    # default: the first line of call's module docstring
    answer = "bench.py:as_indices"         # optional: answer(result, *workload) -> comparable
    extra = "bench.py:more_numbers"        # optional: extra(*workload) -> {name: number},
                                           # called after the timed calls
    sizes = [{ n = 10000 }]                # optional: the only scaling sizes it runs at

``[tool.ladder-bench.layers]`` adds frame patterns to the layers of ``ladder_bench.layers``::

    [tool.ladder-bench.layers]
    boundary = ["^mylib::python::"]        # regular expressions, searched in each frame

``[[tool.ladder-bench.peers]]`` has the same fields: other libraries the scaling sweep
measures beside the rungs; ``sweep-rungs`` too: this project's own approaches that only
the sweep measures. The other keys are documented in ``docs/pipeline.md``.

``load`` refuses what it cannot use, in one line naming the key and the fix: a key it does
not know (with the nearest known one), a missing or mistyped value, a baseline or
reference that names no rung. Whether the hooks import and run is checked in a child
process before anything is measured (``ladder_bench.preflight``).
"""

import argparse
import difflib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SECTION = "ladder-bench"
# A median this many percent slower than before is flagged (timings, criterion, compare).
REGRESSION_THRESHOLD_PERCENT = 10.0
# The instruction gate's threshold where [tool.ladder-bench.instruction-gate] sets none.
GATE_THRESHOLD_PERCENT = 1.0


class ConfigError(ValueError):
    """The configuration is missing or wrong; the message says where."""


@dataclass(frozen=True)
class Rung:
    name: str
    call: str
    workload: str
    root: Path
    description: str = ""
    answer: str | None = None
    extra: str | None = None
    sizes: list[dict] | None = None  # None: every size of the sweep
    profiler: str | None = None  # "py-spy", "perf" or "auto"; None: the command's choice
    kind: str = "rung"  # or "peer", "sweep-rung"

    def resolve_call(self):
        return resolve(self.call, self.root)

    def resolve_workload(self):
        return resolve(self.workload, self.root)

    def resolve_answer(self):
        return resolve(self.answer, self.root) if self.answer else None

    def resolve_extra(self):
        return resolve(self.extra, self.root) if self.extra else None

    def summary(self) -> str:
        """The one-line description: the configured one, else the call's module docstring."""
        if self.description:
            return self.description
        module = _load_module(self.call, self.root)
        return (module.__doc__ or "").strip().partition("\n")[0]


@dataclass(frozen=True)
class Config:
    path: Path
    rungs: list[Rung]
    peers: list[Rung] = field(default_factory=list)
    sweep_rungs: list[Rung] = field(default_factory=list)
    baseline: str | None = None
    reference: str | None = None
    distribution: str | None = None
    agreement: str | None = None
    default_size: dict = field(default_factory=dict)
    quick_size: dict = field(default_factory=dict)
    scaling_sizes: list[dict] = field(default_factory=list)
    quick_scaling_sizes: int = 3
    work_keys: list[str] | None = None  # the size keys whose product is the work; None: all
    criterion_package: str | None = None
    gate_threshold_percent: float = GATE_THRESHOLD_PERCENT
    gate_rungs: dict[str, float] = field(default_factory=dict)
    layers: dict[str, list[str]] = field(default_factory=dict)  # layer -> frame patterns

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def names(self) -> list[str]:
        return [rung.name for rung in self.rungs]

    @property
    def sweep_approaches(self) -> list[Rung]:
        """Everything the scaling sweep measures: rungs, peers, sweep-only rungs."""
        return [*self.rungs, *self.peers, *self.sweep_rungs]

    def rung(self, name: str) -> Rung:
        for rung in self.sweep_approaches:
            if rung.name == name:
                return rung
        known = ", ".join(r.name for r in self.sweep_approaches)
        raise ConfigError(f"unknown rung {name!r}; {self.path} declares: {known}")

    def select(self, names: str | None, *, peers: bool = False) -> list[Rung]:
        """The rungs named in a comma-separated list (all of them when ``names`` is empty);
        ``peers`` lets peers and sweep-only rungs be named, and includes them all by default."""
        pool = self.sweep_approaches if peers else self.rungs
        if not names:
            return list(pool)
        chosen = [self.rung(name) for name in names.split(",") if name]
        stray = [r.name for r in chosen if r not in pool]
        if stray:
            raise ConfigError(
                f"{', '.join(stray)}: peers and sweep-rungs are only measured by the scaling sweep"
            )
        return chosen

    def workload_args(self, rung: Rung, size: dict | None = None) -> tuple:
        args = rung.resolve_workload()(**(self.default_size if size is None else size))
        return tuple(args)


# Every key [tool.ladder-bench] knows, and what its value must be: anything else is refused
# (a misspelt key would otherwise be ignored, and its default measured in silence).
TOP_LEVEL_KEYS = {
    "baseline": "a rung's name",
    "reference": "a rung's or peer's name",
    "distribution": "the name the measured package is installed under",
    "agreement": "a hook, 'module:attribute' or 'file.py:attribute'",
    "default-size": "a size",
    "quick-size": "a size",
    "scaling-sizes": "a list of sizes",
    "quick-scaling-sizes": "a whole number, at least 1",
    "work-keys": "a list of a size's keys",
    "criterion-package": "a cargo package's name",
    "instruction-gate": "a table",
    "layers": "a table of a layer = a list of frame patterns",
    "rungs": "a list of rungs",
    "peers": "a list of rungs",
    "sweep-rungs": "a list of rungs",
}
RUNG_KEYS = ("name", "call", "workload", "description", "answer", "extra", "sizes", "profiler")
PROFILERS = ("auto", "py-spy", "perf")
REQUIRED_RUNG_KEYS = {  # and an example of each, for the message that asks for it
    "name": '"v2"',
    "call": '"module:function"',
    "workload": '"module:factory"',
}
HOOK_KEYS = ("call", "workload", "answer", "extra")
GATE_KEYS = ("threshold-percent", "rungs")
# The layers ladder_bench.layers splits a profile into, and the two kinds of frame that
# pass their samples to their caller: each takes a list of frame patterns.
LAYER_KEYS = ("interpreter", "numpy", "boundary", "core", "allocator", "cpython", "helpers")
LAYER_EXAMPLE = '["^mylib::python::"]'
# What each list holds, as its entries are named in messages.
KINDS = {"rungs": "rung", "peers": "peer", "sweep-rungs": "sweep-rung"}
SIZE_EXAMPLE = "{ n = 1000 }"


def load(path: Path) -> Config:
    """The ``[tool.ladder-bench]`` table of ``path`` (a pyproject.toml), every key checked:
    a key it does not know, a missing or mistyped value, a rung named twice, a baseline
    or reference that names no rung are a ``ConfigError`` naming the key and the fix."""
    path = Path(path).resolve()
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(
            f"{shown_path(path)}: cannot be read ({error.strerror}); run from the project's "
            "folder, or name its pyproject.toml with --config (or the folder with --workspace)"
        ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{shown_path(path)} is not valid TOML: {error}; fix it") from None
    try:
        table = document["tool"][SECTION]
    except (KeyError, TypeError):
        raise ConfigError(
            f"{shown_path(path)}: no [tool.{SECTION}] table; declare the ladder there "
            "(docs/pipeline.md)"
        ) from None
    _check_table(table, path)
    root = path.parent

    def rungs(key: str) -> list[Rung]:
        return [Rung(root=root, kind=KINDS[key], **entry) for entry in table.get(key, [])]

    gate = table.get("instruction-gate", {})
    config = Config(
        path=path,
        rungs=rungs("rungs"),
        peers=rungs("peers"),
        sweep_rungs=rungs("sweep-rungs"),
        baseline=table.get("baseline"),
        reference=table.get("reference"),
        distribution=table.get("distribution"),
        agreement=table.get("agreement"),
        default_size=table.get("default-size", {}),
        quick_size=table.get("quick-size", table.get("default-size", {})),
        scaling_sizes=table.get("scaling-sizes", []),
        quick_scaling_sizes=table.get("quick-scaling-sizes", 3),
        work_keys=table.get("work-keys"),
        criterion_package=table.get("criterion-package"),
        gate_threshold_percent=float(gate.get("threshold-percent", GATE_THRESHOLD_PERCENT)),
        gate_rungs={name: float(p) for name, p in gate.get("rungs", {}).items()},
        layers=table.get("layers", {}),
    )
    _check_names(config)
    return config


def require_baseline(config: Config) -> str:
    """The baseline: a command that shows speedups needs the rung they are relative to."""
    if config.baseline is None:
        raise ConfigError(
            f"[tool.{SECTION}] has no baseline, the rung every speedup is relative to; add "
            f'baseline = "{config.names[0]}" (or another of: {", ".join(config.names)}) '
            f"to {shown_path(config.path)}"
        )
    return config.baseline


def _check_table(table: dict, path: Path) -> None:
    """The keys and the types of their values; the names are checked once loaded."""
    where = f"[tool.{SECTION}]"
    fix = f"in {shown_path(path)}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not a table; fix it {fix}")
    _refuse_unknown(table, TOP_LEVEL_KEYS, where, path)
    for key in ("baseline", "reference", "distribution", "criterion-package"):
        if key in table and not (isinstance(table[key], str) and table[key]):
            wanted = TOP_LEVEL_KEYS[key]
            raise ConfigError(
                f"{where} {key} = {table[key]!r}: not {wanted} (a string); fix it {fix}"
            )
    if "agreement" in table:
        _check_spec(table["agreement"], where, "agreement", path)
    for key in ("default-size", "quick-size"):
        if key in table:
            _check_size(table[key], f"{where} {key}", path)
    if "scaling-sizes" in table:
        _check_sizes(table["scaling-sizes"], f"{where} scaling-sizes", path)
    count = table.get("quick-scaling-sizes", 1)
    if not _is_int(count) or count < 1:
        raise ConfigError(
            f"{where} quick-scaling-sizes = {count!r}: not a whole number of at least 1; "
            f"fix it {fix}"
        )
    work_keys = table.get("work-keys", [])
    if not isinstance(work_keys, list) or not all(isinstance(k, str) for k in work_keys):
        raise ConfigError(
            f"{where} work-keys = {work_keys!r}: not a list of a size's keys, e.g. "
            f'["n"]; fix it {fix}'
        )
    if not table.get("rungs"):
        raise ConfigError(
            f"{where} declares no rungs; add rungs = [{{ name = ..., call = ..., workload = "
            f"... }}, ...] {fix}"
        )
    for key, kind in KINDS.items():
        entries = table.get(key, [])
        if not isinstance(entries, list):
            raise ConfigError(
                f"{where} {key}: not {TOP_LEVEL_KEYS[key]} (an array of tables); fix it {fix}"
            )
        for number, entry in enumerate(entries, 1):
            _check_rung(entry, kind, key, number, path)
    gate = table.get("instruction-gate", {})
    gate_where = f"[tool.{SECTION}.instruction-gate]"
    if not isinstance(gate, dict):
        raise ConfigError(f"{where} instruction-gate: not a table; fix it {fix}")
    _refuse_unknown(gate, GATE_KEYS, gate_where, path)
    if "threshold-percent" in gate and not _is_number(gate["threshold-percent"]):
        raise ConfigError(
            f"{gate_where} threshold-percent = {gate['threshold-percent']!r}: "
            f"not a number of percent; fix it {fix}"
        )
    per_rung = gate.get("rungs", {})
    if not isinstance(per_rung, dict) or not all(map(_is_number, per_rung.values())):
        raise ConfigError(
            f"{gate_where} rungs = {per_rung!r}: not a table of a rung's name "
            f"= a number of percent; fix it {fix}"
        )
    _check_layers(table.get("layers", {}), path)


def _check_layers(layers, path: Path) -> None:
    """``[tool.ladder-bench.layers]``: known layers, each a list of regular expressions."""
    where = f"[tool.{SECTION}.layers]"
    fix = f"in {shown_path(path)}"
    if not isinstance(layers, dict):
        raise ConfigError(f"[tool.{SECTION}] layers: not a table; fix it {fix}")
    _refuse_unknown(layers, LAYER_KEYS, where, path)
    for layer, patterns in layers.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ConfigError(
                f"{where} {layer} = {patterns!r}: not a list of frame patterns (regular "
                f"expressions), e.g. {layer} = {LAYER_EXAMPLE}; fix it {fix}"
            )
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ConfigError(
                    f"{where} {layer}: {pattern!r} is not a regular expression ({error}); "
                    f"fix it {fix}"
                ) from None


def _check_rung(entry, kind: str, key: str, number: int, path: Path) -> None:
    fix = f"in {shown_path(path)}"
    if not isinstance(entry, dict):
        raise ConfigError(f"[tool.{SECTION}] {key} entry {number} is not a table; fix it {fix}")
    name = entry.get("name")
    where = f"{kind} {name!r}" if isinstance(name, str) else f"{key} entry {number}"
    _refuse_unknown(entry, RUNG_KEYS, where, path)
    for required in REQUIRED_RUNG_KEYS:
        if required not in entry:
            example = REQUIRED_RUNG_KEYS[required]
            raise ConfigError(
                f"{where}: no {required!r} key; add {required} = {example} to it {fix}"
            )
    for text_key in ("name", "description"):
        if text_key in entry and not isinstance(entry[text_key], str):
            raise ConfigError(
                f"{where} {text_key} = {entry[text_key]!r}: not a string; fix it {fix}"
            )
    if not entry["name"]:
        raise ConfigError(f"{key} entry {number}: an empty name; give it one {fix}")
    for hook in HOOK_KEYS:
        if hook in entry:
            _check_spec(entry[hook], where, hook, path)
    if "sizes" in entry:
        _check_sizes(entry["sizes"], f"{where} sizes", path)
    if "profiler" in entry and entry["profiler"] not in PROFILERS:
        raise ConfigError(
            f"{where} profiler = {entry['profiler']!r}: not one of {', '.join(PROFILERS)}; "
            f"fix it {fix}"
        )


def _check_names(config: Config) -> None:
    """Each name declared once; baseline, reference and the gate's rungs declared."""
    fix = f"in {shown_path(config.path)}"
    seen = set()
    for rung in config.sweep_approaches:
        if rung.name in seen:
            raise ConfigError(
                f"{rung.kind} {rung.name!r} is declared twice; give each its own name {fix}"
            )
        seen.add(rung.name)
    rungs = ", ".join(config.names)
    if config.baseline is not None and config.baseline not in config.names:
        raise ConfigError(
            f"[tool.{SECTION}] baseline = {config.baseline!r} is not a declared rung"
            f"{_near(config.baseline, config.names)} (the rungs: {rungs}); set baseline to one "
            f"of them {fix}"
        )
    everything = [rung.name for rung in config.sweep_approaches]
    if config.reference is not None and config.reference not in everything:
        raise ConfigError(
            f"[tool.{SECTION}] reference = {config.reference!r} is not a declared rung or "
            f"peer{_near(config.reference, everything)} (declared: {', '.join(everything)}); "
            f"set reference to one of them {fix}"
        )
    for name in config.gate_rungs:
        if name not in config.names:
            raise ConfigError(
                f"[tool.{SECTION}.instruction-gate.rungs] {name!r} is not a declared rung"
                f"{_near(name, config.names)} (the rungs: {rungs}); fix it {fix}"
            )


def _refuse_unknown(table: dict, known, where: str, path: Path) -> None:
    for key in table:
        if key not in known:
            near = _near(key, known) or f" (the keys: {', '.join(known)})"
            raise ConfigError(
                f"{where}: unknown key {key!r}{near}; rename or remove it in {shown_path(path)}"
            )


def _near(word: str, known) -> str:
    close = difflib.get_close_matches(str(word), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_spec(value, where: str, key: str, path: Path) -> None:
    module, colon, attribute = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not (colon and module and attribute):
        raise ConfigError(
            f"{where}: {key} = {value!r} is not 'module:attribute' or 'path/file.py:attribute'; "
            f"fix the `{key}` key in {shown_path(path)}"
        )


def _check_size(value, where: str, path: Path) -> None:
    if not isinstance(value, dict) or not all(map(_is_int, value.values())):
        raise ConfigError(
            f"{where} = {value!r}: a size is a table of integers (the workload factory's "
            f"keyword arguments), e.g. {SIZE_EXAMPLE}; fix it in {shown_path(path)}"
        )


def _check_sizes(value, where: str, path: Path) -> None:
    if not isinstance(value, list):
        raise ConfigError(
            f"{where} = {value!r}: not a list of sizes, e.g. [{SIZE_EXAMPLE}]; "
            f"fix it in {shown_path(path)}"
        )
    for size in value:
        _check_size(size, where, path)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown_path(path: Path) -> str:
    """``path`` as a message shows it: relative to the current folder when inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resolve(spec: str, root: Path):
    """``"module:attribute"`` or ``"file.py:attribute"`` (relative to ``root``) as an object."""
    _, _, attribute = spec.partition(":")
    if not attribute:
        raise ConfigError(f"{spec!r} is not of the form 'module:attribute'")
    value = _load_module(spec, root)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _load_module(spec: str, root: Path):
    module_name = spec.partition(":")[0]
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = (root / module_name).resolve()
    key = f"ladder_bench_file_{abs(hash(str(path)))}"
    if key not in sys.modules:
        loader_spec = importlib.util.spec_from_file_location(key, path)
        if loader_spec is None or loader_spec.loader is None or not path.is_file():
            raise ModuleNotFoundError(f"no file {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[key] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[key]  # half-run: the next look-up must fail the same way
            raise
    return sys.modules[key]


def add_options(parser: argparse.ArgumentParser) -> None:
    """--workspace and --config, which every command takes."""
    parser.add_argument("--workspace", type=Path, default=Path(), help="the repository")
    parser.add_argument("--config", type=Path, help="default: WORKSPACE/pyproject.toml")


def from_options(parser: argparse.ArgumentParser, args, names: str | None, peers: bool = False):
    """The ladder of ``args.config`` and the rungs ``names`` selects (see ``select``);
    resolves ``args.workspace``. A configuration error ends the command: one line, which
    names the key and the fix, and exit status 2."""
    args.workspace = args.workspace.resolve()
    try:
        ladder = load(args.config or args.workspace / "pyproject.toml")
        return ladder, ladder.select(names, peers=peers)
    except ConfigError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")


def parse_size(text: str) -> dict:
    """``key=value,...`` as the keyword arguments of a workload factory (numbers as ints)."""
    size = {}
    for item in text.split(","):
        key, equals, value = item.partition("=")
        if not equals or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"a size is key=integer,..., got {item!r}")
        size[key.strip()] = int(value)
    return size
