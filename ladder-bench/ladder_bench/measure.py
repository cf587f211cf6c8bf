"""Time one rung on the default workload, in this process: a quick look by hand.

    ladder-bench measure RUNG [--iterations N] [--seconds S]

Any declared rung, peer or sweep-only rung.
"""

import statistics
import sys

from . import cli, config, harness
from .display import duration


def main(argv: list[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="ladder-bench measure", description=__doc__)
    parser.add_argument("rung", help="a rung declared in the configuration")
    parser.add_argument(
        "--iterations", type=cli.positive_int, default=10, help="calls to time (default 10)"
    )
    parser.add_argument(
        "--seconds",
        type=cli.non_negative_number,
        default=0.0,
        help="keep calling until this many seconds passed",
    )
    config.add_options(parser)
    args = parser.parse_args(argv)
    harness.set_bench_environ()
    ladder, (rung,) = config.from_options(parser, args, args.rung, peers=True)
    print(f"Measuring `{rung.name}`: {rung.summary()}", flush=True)
    call, _ = harness.prepare(ladder, rung)
    call()  # warm-up
    times, _ = harness.run_calls(call, args.iterations, args.seconds)
    print(
        f"Took a median of {duration(statistics.median(times))} per call, "
        f"mean {duration(statistics.mean(times))} ({len(times)} calls)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
