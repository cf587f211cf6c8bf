"""Whether a timing run can be trusted, judged from what it measured and from the machine.

Other busy processes do not move every rung alike: a call of milliseconds is preempted by
them, a call of microseconds fits between two preemptions. The baseline is the slowest
rung, so every speedup comes out too high, and the medians alone do not show it. Two
kinds of evidence show it:

- the spreads: a rung's interquartile range as a share of its median, the baseline's
  above all (its preempted calls widen it);
- the machine, sampled just before and just after the timing phase (``sample``): the CPU
  time of processes outside this process tree over a short window, the hypervisor's steal,
  and over the phase itself the CPU pressure (Linux's ``/proc/pressure/cpu``: the share of
  time a runnable task waited for a CPU) and the load average.

``judge`` turns both into timings.json's ``noise``: a verdict, the reasons, what to do,
and the machine's samples. The limits below are set from runs on a 2-core virtual machine
with nothing else busy, with one busy process and with two (docs/pipeline.md, "Noisy
runs", says what each one separates).
"""

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# A rung's IQR as a percentage of its median. Quiet runs keep every rung within a few
# percent; two busy processes on two cores widen a millisecond baseline's tenfold and more,
# and leave microsecond rungs as they were.
BASELINE_SPREAD_LIMIT = 10.0
RUNG_SPREAD_LIMIT = 20.0
# Other processes may keep at most this many cores fewer than the machine has busy: the
# measurement needs a core of its own, with half a core of tolerance, since one busy
# process measures as a whole core and leaves the measurement one.
FREE_CORES = 0.5
# Percent of the timing phase in which a runnable task waited for a CPU (Linux's CPU
# pressure, averaged over the cores): two busy processes on two cores push it to about
# half, while the measurement alone, or beside one busy process, leaves it under a sixth.
CPU_PRESSURE_LIMIT = 30.0
# Percent of the CPU time the hypervisor gave to other guests (steal).
STEAL_LIMIT = 5.0
# The 1-minute load average follows a change with a 60-second time constant, sampled every
# 5 seconds: over a phase shorter than this it says more about what ran before.
LOAD_MIN_SECONDS = 30.0
LOAD_TIME_CONSTANT = 60.0
# Tasks ready to run, on average over the phase, above the cores plus this (the
# measurement itself is one, or one per core on a parallel rung).
LOAD_MARGIN = 0.5
# The window each sample watches the processes for, and the CPU share (in cores) that
# lists a process as busy.
SAMPLE_SECONDS = 0.5
BUSY_PROCESS_CORES = 0.2
ADVICE = (
    "Rerun on a quiet machine (nothing else busy; --strict fails a run like this one), or "
    "count instructions per call, which load does not move: ladder-bench instructions "
    "(tox -e instructions)."
)


@dataclass(frozen=True)
class Counters:
    """The machine's cumulative counters at one moment (None where the system has none)."""

    wall: float
    load_average: tuple[float, float, float] | None
    cpu_ticks: tuple[int, int, int] | None  # all, busy (not idle nor steal), steal
    cpu_pressure_us: int | None  # time some runnable task waited for a CPU

    @classmethod
    def now(cls) -> "Counters":
        load: tuple[float, float, float] | None
        try:
            one, five, fifteen = os.getloadavg()
        except OSError:
            load = None
        else:
            load = (round(one, 2), round(five, 2), round(fifteen, 2))
        return cls(time.monotonic(), load, _cpu_ticks(), _cpu_pressure_us())


@dataclass(frozen=True)
class Snapshot:
    """The machine over a short window: its counters at both ends, and which processes
    outside this process tree used the CPU in between."""

    cores: int
    start: Counters
    end: Counters
    other_cores: float | None  # CPU time of the others over the window, in cores
    busy_processes: list[dict] = field(default_factory=list)

    def describe(self) -> dict:
        """The JSON of timings.json's ``noise.machine.before`` / ``after``."""
        seconds = self.end.wall - self.start.wall
        return {
            "load_average": list(self.end.load_average) if self.end.load_average else None,
            "cores": self.cores,
            "window_seconds": round(seconds, 3),
            "other_processes_cores": _round(self.other_cores, 2),
            "busy_processes": self.busy_processes,
            "steal_percent": _round(_steal_percent(self.start, self.end), 1),
            "cpu_pressure_percent": _round(_pressure_percent(self.start, self.end), 1),
        }


def sample(seconds: float = SAMPLE_SECONDS) -> Snapshot:
    """The machine now, watched for ``seconds``: the processes outside this process tree
    that used the CPU, the steal and the CPU pressure. Elsewhere than Linux only the load
    average is known."""
    start, before = Counters.now(), _process_ticks()
    time.sleep(seconds)
    end, after = Counters.now(), _process_ticks()
    cores = os.cpu_count() or 1
    if not after or start.cpu_ticks is None or end.cpu_ticks is None:
        return Snapshot(cores, start, end, None)
    hertz, window = os.sysconf("SC_CLK_TCK"), end.wall - start.wall
    mine = _tree(os.getpid(), {pid: info[0] for pid, info in after.items()})
    used = {pid: ticks - before.get(pid, (0, 0, ""))[1] for pid, (_, ticks, _) in after.items()}
    own_ticks = sum(used[pid] for pid in mine)
    busy_ticks = end.cpu_ticks[1] - start.cpu_ticks[1]
    busiest = sorted(
        (
            (round(ticks / hertz / window, 2), pid)
            for pid, ticks in used.items()
            if pid not in mine and ticks / hertz / window >= BUSY_PROCESS_CORES
        ),
        key=lambda cores_pid: -cores_pid[0],
    )
    busy = [{"pid": pid, "command": after[pid][2], "cores": cores} for cores, pid in busiest]
    other = max(busy_ticks - own_ticks, 0) / hertz / window
    return Snapshot(cores, start, end, other, busy[:5])


def judge(rows: list[dict], baseline: str | None, before=None, after=None) -> dict:
    """timings.json's ``noise`` from the rows' spreads (``iqr_ms`` over ``median_ms``) and,
    where given, the ``Snapshot``s of the machine before and after the timing phase."""
    reasons = []
    for row in rows:
        if not row.get("iqr_ms") or not row.get("median_ms"):
            continue  # no spread recorded, or none at all: nothing to judge
        limit = BASELINE_SPREAD_LIMIT if row["rung"] == baseline else RUNG_SPREAD_LIMIT
        spread = 100 * row["iqr_ms"] / row["median_ms"]
        if spread > limit:
            reasons.append(
                f"{row['rung']}'s IQR is {spread:.0f}% of its median (limit {limit:.0f}%)"
            )
    machine = None
    if before is not None and after is not None:
        for when, snapshot in (("before", before), ("after", after)):
            reasons += _busy_reasons(snapshot, when)
        during = phase(before, after)
        machine = {"before": before.describe(), "after": after.describe(), "during": during}
        reasons += _phase_reasons(during, before.cores)
    trustworthy = not reasons
    return {
        "trustworthy": trustworthy,
        "verdict": "quiet" if trustworthy else "noisy",
        "reasons": reasons,
        "advice": None if trustworthy else ADVICE,
        "machine": machine,
    }


def phase(before: Snapshot, after: Snapshot) -> dict:
    """The timing phase, from the end of the sample before it to the start of the one
    after it: its length, the steal and CPU pressure over it, and the tasks ready to run
    on average, estimated from the load average (None on a phase too short for it)."""
    start, end = before.end, after.start
    seconds = end.wall - start.wall
    runnable = None
    if seconds >= LOAD_MIN_SECONDS and start.load_average and end.load_average:
        # load(t + s) = load(t) * decay + tasks * (1 - decay), decay = exp(-s / 60 s)
        decay = math.exp(-seconds / LOAD_TIME_CONSTANT)
        runnable = (end.load_average[0] - start.load_average[0] * decay) / (1 - decay)
    return {
        "seconds": round(seconds, 1),
        "steal_percent": _round(_steal_percent(start, end), 1),
        "cpu_pressure_percent": _round(_pressure_percent(start, end), 1),
        "runnable_tasks": _round(runnable, 1),
    }


def _busy_reasons(snapshot: Snapshot, when: str) -> list[str]:
    limit = snapshot.cores - FREE_CORES
    if snapshot.other_cores is None or snapshot.other_cores <= limit:
        return []
    named = ", ".join(
        f"{process['command']} (pid {process['pid']}) {100 * process['cores']:.0f}%"
        for process in snapshot.busy_processes[:3]
    )
    return [
        f"other processes kept {snapshot.other_cores:.1f} of {snapshot.cores} cores busy "
        f"{when} timing{f': {named}' if named else ''} (limit {limit:g})"
    ]


def _phase_reasons(during: dict, cores: int) -> list[str]:
    reasons = []
    pressure, steal, runnable = (
        during["cpu_pressure_percent"],
        during["steal_percent"],
        during["runnable_tasks"],
    )
    if pressure is not None and pressure > CPU_PRESSURE_LIMIT:
        reasons.append(
            f"runnable tasks waited for a CPU {pressure:.0f}% of the timing phase "
            f"(CPU pressure; limit {CPU_PRESSURE_LIMIT:.0f}%)"
        )
    if steal is not None and steal > STEAL_LIMIT:
        reasons.append(
            f"the hypervisor took {steal:.1f}% of the CPU time during timing "
            f"(steal; limit {STEAL_LIMIT:.0f}%)"
        )
    if runnable is not None and runnable > cores + LOAD_MARGIN:
        reasons.append(
            f"the load average says about {runnable:.1f} tasks were ready to run on "
            f"{cores} cores during timing (limit {cores + LOAD_MARGIN:g})"
        )
    return reasons


def strict_failure(noise: dict | None) -> str | None:
    """The one line ``--strict`` exits with when ``noise`` is not trustworthy, else None."""
    if not noise or noise["trustworthy"]:
        return None
    return f"--strict: the timings are noisy: {'; '.join(noise['reasons'])}. {noise['advice']}"


def warning(noise: dict | None) -> str | None:
    """The warning line at the top of timings.md, or None for a quiet run."""
    if not noise or noise["trustworthy"]:
        return None
    return (
        f"**Warning: these timings are noisy**: {'; '.join(noise['reasons'])}. "
        "Speedups over a preempted baseline come out too high. " + noise["advice"]
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _steal_percent(start: Counters, end: Counters) -> float | None:
    if start.cpu_ticks is None or end.cpu_ticks is None:
        return None
    total = end.cpu_ticks[0] - start.cpu_ticks[0]
    return 100 * (end.cpu_ticks[2] - start.cpu_ticks[2]) / total if total > 0 else 0.0


def _pressure_percent(start: Counters, end: Counters) -> float | None:
    if start.cpu_pressure_us is None or end.cpu_pressure_us is None or end.wall <= start.wall:
        return None
    return 100 * (end.cpu_pressure_us - start.cpu_pressure_us) / 1e6 / (end.wall - start.wall)


def _cpu_ticks() -> tuple[int, int, int] | None:
    """/proc/stat's first line, all CPUs together: (all, busy, steal) in clock ticks."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal (guest time is counted in user)
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, first[1:9])
    every = user + nice + system + idle + iowait + irq + softirq + steal
    return every, user + nice + system + irq + softirq, steal


def _cpu_pressure_us() -> int | None:
    try:
        some = Path("/proc/pressure/cpu").read_text().split("\n", 1)[0]
    except OSError:  # no PSI: not Linux, a kernel before 4.20, or booted with psi=0
        return None
    return int(some.rpartition("total=")[2])


def _process_ticks() -> dict[int, tuple[int, int, str]]:
    """Every process: its parent, its CPU time so far in clock ticks, its command."""
    processes: dict[int, tuple[int, int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return processes
    for entry in filter(str.isdigit, entries):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        # "pid (command) state ppid ... utime stime ...": the command may hold spaces.
        head, _, rest = stat.rpartition(")")
        fields = rest.split()
        processes[int(entry)] = (
            int(fields[1]),
            int(fields[11]) + int(fields[12]),
            head.partition("(")[2],
        )
    return processes


def _tree(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, queue = {root}, [root]
    while queue:
        below = children.get(queue.pop(), [])
        found.update(below)
        queue += below
    return found
