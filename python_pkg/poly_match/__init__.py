"""Match 2-D points to polygons, as a ladder of ever faster versions.

For each point, find the polygons whose center lies within ``max_dist`` and pick
the one with the smallest area. Every rung of the ladder is a module with the
same public names (``Polygon``, ``generate_example``, ``main``, ...) and gives
the same answer as ``v1``; the first line of each module's docstring says what
that rung changed.

``VERSIONS`` maps rung names to their modules, in ladder order. It is built on
first use, so importing ``poly_match`` imports neither numpy nor the native
module (a benchmark must be able to configure numpy's threads first). So is the
array API (``poly_match.arrays``): ``Index``, ``match_points`` and ``match_dask``, which
needs the ``dask`` extra and imports dask only when called.

The measurement tooling is not part of this package: it lives beside it, in the
repository's ``ladder-bench``, and declares these rungs in ``pyproject.toml``.
"""

import importlib
from types import ModuleType
from typing import Any

RUNG_NAMES = (
    "v1",
    "v1_5_vectorized",
    "v1_6_vectorized",
    "v2_riir",
    "v3_riir_polygon",
    "v4_avoid_allocs",
    "v5_find_all_in_rust",
    "v6_convert_once",
    "v7_grid_parallel",
    "v8_lean_boundary",
)

ARRAY_API = ("Index", "match_dask", "match_points")

__all__ = ["RUNG_NAMES", "VERSIONS", "description", *ARRAY_API]


def description(rung: ModuleType) -> str:
    """The one-line summary of what a rung changed: its docstring's first line."""
    return (rung.__doc__ or "").strip().splitlines()[0]


def __getattr__(name: str) -> Any:
    if name == "VERSIONS":
        versions = {rung: importlib.import_module(f"{__name__}.{rung}") for rung in RUNG_NAMES}
        globals()["VERSIONS"] = versions
        return versions
    if name in ARRAY_API:
        from . import arrays

        return getattr(arrays, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
