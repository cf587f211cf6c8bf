"""Time one rung on the example: ``python -m poly_match.measure VERSION [--iterations N]``.

The seed's measure.py as a command. It is also what the profiler records.
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
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")

    rung = poly_match.VERSIONS[args.version]
    print(f"Measuring `{rung.__name__}`: {poly_match.description(rung)}", flush=True)
    polygons, points = rung.generate_example()

    start = time.perf_counter()
    for _ in range(args.iterations):
        rung.main(polygons, points)
    took = (time.perf_counter() - start) / args.iterations

    print(f"Took an avg of {took * 1000:.3f}ms per iteration ({args.iterations} iterations)")


if __name__ == "__main__":
    main()
