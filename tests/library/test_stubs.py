"""The type stubs of the compiled module (python_pkg/poly_match/_rs/*.pyi) against the
module itself: every public name, class member and parameter the one has, the other has."""

import ast
import inspect
from pathlib import Path
from types import ModuleType

import pytest

import poly_match
from poly_match import _rs

STUBS = Path(poly_match.__file__).parent / "_rs"
SUBMODULES = sorted(name for name, value in vars(_rs).items() if isinstance(value, ModuleType))


def stub_path(submodule: str | None) -> Path:
    return STUBS / (f"{submodule}.pyi" if submodule else "__init__.pyi")


def parameters(function: ast.FunctionDef) -> list[str]:
    """A stub function's parameter names, without ``self`` or ``cls``."""
    arguments = function.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    return [name for name in names if name not in ("self", "cls")]


def runtime_parameters(value: object) -> list[str]:
    return list(inspect.signature(value).parameters)  # type: ignore[arg-type]


def mismatch(label: str, stubbed: list[str], runtime: list[str]) -> list[str]:
    if stubbed == runtime:
        return []
    return [f"{label}{tuple(stubbed)}: the compiled one takes {tuple(runtime)}"]


def differences(module: ModuleType, stub_source: str) -> list[str]:
    """What the stub and the module disagree on, one line each."""
    stub = ast.parse(stub_source)
    stubbed: dict[str, ast.AST] = {}
    for node in stub.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            stubbed[node.name] = node
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            # ``from . import v2 as v2``: the stub's way of saying "a submodule named v2".
            stubbed.update({alias.asname: node for alias in node.names if alias.asname})
    stubbed = {name: node for name, node in stubbed.items() if not name.startswith("_")}
    public = {name for name in dir(module) if not name.startswith("_")}
    found = [f"{module.__name__}.{name} has no stub" for name in sorted(public - set(stubbed))]
    found += [
        f"the stub's {name} is not in {module.__name__}" for name in sorted(set(stubbed) - public)
    ]
    for name, node in stubbed.items():
        value = getattr(module, name, None)
        if isinstance(node, ast.FunctionDef) and value is not None:
            found += mismatch(name, parameters(node), runtime_parameters(value))
        if isinstance(node, ast.ClassDef) and isinstance(value, type):
            found += class_differences(name, node, value)
    return found


def class_differences(name: str, node: ast.ClassDef, cls: type) -> list[str]:
    methods = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
    public = {member for member in dir(cls) if not member.startswith("_")}
    stubbed = {member for member in methods if not member.startswith("__")}
    found = [f"{name}.{member} has no stub" for member in sorted(public - stubbed)]
    found += [
        f"the stub's {name}.{member} is not in the class" for member in sorted(stubbed - public)
    ]
    found += [
        f"the stub's {name}.{member} is not in the class"
        for member in sorted(set(methods) - stubbed - {"__init__"})
        if member not in vars(cls)
    ]
    if "__init__" not in methods:
        found.append(f"{name} has no stubbed constructor")
    else:
        found += mismatch(name, parameters(methods["__init__"]), runtime_parameters(cls))
    for member, method in methods.items():
        value = getattr(cls, member, None)
        if member in public and callable(value) and not isinstance(value, property):
            found += mismatch(f"{name}.{member}", parameters(method), runtime_parameters(value)[1:])
    return found


def test_the_compiled_module_has_rungs_v2_to_v8():
    # Guards the parametrization below: a module with no submodules would check nothing.
    assert SUBMODULES == ["v2", "v3", "v4", "v5", "v6", "v7", "v8"]


@pytest.mark.parametrize("submodule", [None, *SUBMODULES])
def test_the_stub_matches_the_module(submodule):
    module = getattr(_rs, submodule) if submodule else _rs
    assert differences(module, stub_path(submodule).read_text()) == []


def test_the_typing_marker_ships_beside_the_stubs():
    assert (STUBS.parent / "py.typed").is_file()


@pytest.mark.parametrize(
    ("submodule", "edit", "expected"),
    [
        (
            None,
            ("def match_points(", "def _match_points("),
            "poly_match._rs.match_points has no stub",
        ),
        (None, ("from . import v8 as v8", "from . import v8 as v9"), "the stub's v9 is not in"),
        (None, ("centers: NDArray", "centres: NDArray"), "Index('centres', 'areas', 'max_dist')"),
        (
            None,
            ("    def __len__", "    def size(self) -> int: ...\n    def __len__"),
            "the stub's Index.size",
        ),
        ("v3", ("    @property\n    def center", "    def centre"), "Polygon.center has no stub"),
        (
            "v5",
            ("max_dist: float\n", "max_dist: float, chunks: int\n"),
            "find_all_close_polygons(",
        ),
        (
            "v8",
            ("    def __reduce__", "    def __getstate__(self) -> Any: ...\n    def __reduce__"),
            "the stub's Polygon.__getstate__ is not in the class",
        ),
    ],
    ids=[
        "a missing function",
        "a missing submodule",
        "a renamed parameter",
        "an extra method",
        "a missing property",
        "an extra parameter",
        "an extra dunder",
    ],
)
def test_a_stub_that_disagrees_is_caught(submodule, edit, expected):
    module = getattr(_rs, submodule) if submodule else _rs
    source = stub_path(submodule).read_text()
    old, new = edit
    assert old in source
    found = differences(module, source.replace(old, new, 1))
    assert any(expected in line for line in found), found
