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

``[[tool.ladder-bench.peers]]`` has the same fields: other libraries the scaling sweep
measures beside the rungs; ``sweep-rungs`` too: this project's own approaches that only
the sweep measures. The other keys are documented in ``docs/pipeline.md``.
"""

import argparse
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SECTION = "ladder-bench"


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
    gate_threshold_percent: float = 1.0
    gate_rungs: dict[str, float] = field(default_factory=dict)

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


def load(path: Path) -> Config:
    """The ``[tool.ladder-bench]`` table of ``path`` (a pyproject.toml)."""
    path = Path(path).resolve()
    try:
        table = tomllib.loads(path.read_text())["tool"][SECTION]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: no [tool.{SECTION}] table ({error})") from None
    root = path.parent

    def rungs(key: str, kind: str) -> list[Rung]:
        entries = table.get(key, [])
        for entry in entries:
            missing = {"name", "call", "workload"} - set(entry)
            unknown = set(entry) - {"name", "call", "workload", "description", "answer", "extra",
                                    "sizes"}  # fmt: skip
            if missing or unknown:
                raise ConfigError(
                    f"{path}: {key} entry {entry.get('name', '?')!r}: "
                    + (f"lacks {sorted(missing)}" if missing else f"unknown keys {sorted(unknown)}")
                )
        return [Rung(root=root, kind=kind, **entry) for entry in entries]

    gate = table.get("instruction-gate", {})
    config = Config(
        path=path,
        rungs=rungs("rungs", "rung"),
        peers=rungs("peers", "peer"),
        sweep_rungs=rungs("sweep-rungs", "sweep-rung"),
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
        gate_threshold_percent=float(gate.get("threshold-percent", 1.0)),
        gate_rungs={name: float(p) for name, p in gate.get("rungs", {}).items()},
    )
    if not config.rungs:
        raise ConfigError(f"{path}: [tool.{SECTION}] declares no rungs")
    return config


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
        if loader_spec is None or not path.is_file():
            raise ModuleNotFoundError(f"no file {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[key] = module
        loader_spec.loader.exec_module(module)
    return sys.modules[key]


def add_options(parser: argparse.ArgumentParser) -> None:
    """--workspace and --config, which every command takes."""
    parser.add_argument("--workspace", type=Path, default=Path(), help="the repository")
    parser.add_argument("--config", type=Path, help="default: WORKSPACE/pyproject.toml")


def from_options(parser: argparse.ArgumentParser, args, names: str | None, peers: bool = False):
    """The ladder of ``args.config`` and the rungs ``names`` selects (see ``select``);
    resolves ``args.workspace``. A configuration error is the parser's error."""
    args.workspace = args.workspace.resolve()
    try:
        ladder = load(args.config or args.workspace / "pyproject.toml")
        return ladder, ladder.select(names, peers=peers)
    except ConfigError as error:
        parser.error(str(error))


def parse_size(text: str) -> dict:
    """``key=value,...`` as the keyword arguments of a workload factory (numbers as ints)."""
    size = {}
    for item in text.split(","):
        key, equals, value = item.partition("=")
        if not equals or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"a size is key=integer,..., got {item!r}")
        size[key.strip()] = int(value)
    return size
