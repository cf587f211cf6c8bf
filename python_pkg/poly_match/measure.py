"""Time one rung on the example: ``python -m poly_match.measure VERSION [--iterations N]``.

The seed's measure.py as a command. It is also what the profiler records:
``--seconds S`` keeps calling ``main`` until S seconds have passed, so a sampling
profiler gets enough samples however fast the rung is.
"""

import os

# OpenBLAS reads this once, when numpy is first imported: more threads only add
# noise to a single-threaded comparison. Nothing above this line imports numpy.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import time

import poly_match


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m poly_match.measure", description=__doc__)
    parser.add_argument("version", choices=poly_match.RUNG_NAMES, help="the rung to time")
    parser.add_argument(
        "--iterations", type=int, default=10, help="calls of main to average (default 10)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.0,
        help="keep iterating until this many seconds have passed (default 0: just --iterations)",
    )
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")
    if not args.seconds >= 0:
        parser.error("--seconds must be a non-negative number")

    rung = poly_match.VERSIONS[args.version]
    print(f"Measuring `{rung.__name__}`: {poly_match.description(rung)}", flush=True)
    polygons, points = rung.generate_example()

    iterations = 0
    start = time.perf_counter()
    while iterations < args.iterations or time.perf_counter() - start < args.seconds:
        rung.main(polygons, points)
        iterations += 1
    took = (time.perf_counter() - start) / iterations

    print(f"Took an avg of {took * 1000:.3f}ms per iteration ({iterations} iterations)")


if __name__ == "__main__":
    main()
