"""Types of ``poly_match._rs``, the compiled module (rust_crate/src/python/): one
submodule per Rust rung, ``v2`` to ``v8``, and the array API, ``Index`` and
``match_points``. Checked against the compiled module by tests/library/test_stubs.py."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import v2 as v2
from . import v3 as v3
from . import v4 as v4
from . import v5 as v5
from . import v6 as v6
from . import v7 as v7
from . import v8 as v8

class Index:
    """The polygons' centers and areas, indexed for matching points within ``max_dist``."""

    def __init__(
        self, centers: NDArray[np.float64], areas: NDArray[np.float64], max_dist: float
    ) -> None: ...
    def match(self, points: NDArray[np.float64]) -> NDArray[np.int64]: ...
    @property
    def max_dist(self) -> float: ...
    def __len__(self) -> int: ...
    def __reduce__(self) -> tuple[type[Index], tuple[Any, ...]]: ...

def match_points(
    centers: NDArray[np.float64],
    areas: NDArray[np.float64],
    points: NDArray[np.float64],
    max_dist: float,
) -> NDArray[np.int64]: ...
