"""How every tool shows a duration, a workload size and its progress."""


def duration(seconds: float | None) -> str:
    """About three significant digits in the unit that fits: ``1.23 s``, ``45.6 ms``, ``789 µs``."""
    if seconds is None:
        return "?"
    unit, size = next(
        (
            (unit, size)
            for unit, size in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))
            if seconds >= size
        ),
        ("ns", 1e-9),
    )
    value = seconds / size
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:,.{decimals}f} {unit}"


def size_label(size: dict | None) -> str:
    """A workload size as the configuration writes it: ``n=1000, seed=3``."""
    if not size:
        return "the workload factory's defaults"
    return ", ".join(f"{key}={value}" for key, value in size.items())


def progress(*args: object) -> None:
    """A progress line, shown at once even when the output is a pipe (tox, CI logs)."""
    print(*args, flush=True)
