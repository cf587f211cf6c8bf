"""Differential flamegraphs that colour only the changes sampling noise cannot explain.

Each side is recorded RECORDINGS times, base and head interleaved. A function is
compared by its time per call: the share of the samples in the measured calls whose stack
holds it, times the rung's median time per call, which the comparison timed interleaved
on the same machine. Every box of the function takes its colour. Shares alone would not
do: when one function gets slower, every other function's share shrinks though its time
did not. Nor would places in the call tree: two builds of the same code can reach a
function through different frames (inlined, or unwound through an unnamed one), and the
same work would show up as red in one place and blue in the other. Frames that py-spy
could not name (``[unknown]``, ``[libc.so.6]``) are drawn but not tested: they are not
one function.

The test is a z-test of the two sides' times per call. The share's variance is the
binomial one times an overdispersion factor that the repeated recordings estimate (at
least 1): between recordings of the same build, shares vary as binomial sampling
predicts at 150 Hz, but more at higher rates or with threads sampled together
(docs/flamegraphs.md). The time per call's own variance comes from its rounds. The
functions of a rung are corrected together (Holm) to a family-wise false-alarm rate of
FALSE_ALARM_RATE. The SVG is inferno's flamegraph of the head, recoloured: red for a
significant increase, blue for a decrease, grey for the rest. Every box's hover text
gives the change and its 95% interval.
"""

import html
import json
import math
import re
import statistics
import subprocess
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from . import display, frames

RECORDINGS = 2
FALSE_ALARM_RATE = 0.001
# Functions with fewer samples than this on both sides together are drawn, not tested:
# too few to show a change, they would only weaken the correction for the others.
MIN_TESTED_SAMPLES = 10
Z_95 = 1.959963984540054
NEUTRAL = "rgb(225,225,225)"


@dataclass
class Sampled:
    """A side's recordings: each one's samples per function (every sample whose stack
    holds the function, once however often it recurses) and in all."""

    counts: list[Counter]
    totals: list[int]

    @classmethod
    def of(cls, folded: list[str], measured_frame: str) -> "Sampled":
        counts, totals = [], []
        for recording in folded:
            count: Counter = Counter()
            stacks = in_calls(recording, measured_frame)
            for stack, samples in stacks:
                for function in set(stack):
                    count[function] += samples
            counts.append(count)
            totals.append(sum(samples for _, samples in stacks))
        return cls(counts, totals)

    def share(self, function: str) -> float:
        return sum(c[function] for c in self.counts) / sum(self.totals)

    def dispersion(self, function: str) -> tuple[float, int] | None:
        """Pearson's chi-square of the recordings' counts against the pooled share, and
        its degrees of freedom: about the overdispersion times those if it is constant."""
        share = self.share(function)
        if not 0 < share < 1 or len(self.counts) < 2:
            return None
        chi2 = sum(
            (c[function] - n * share) ** 2 / (n * share * (1 - share))
            for c, n in zip(self.counts, self.totals, strict=True)
        )
        return chi2, len(self.counts) - 1


@dataclass
class FunctionChange:
    function: str
    base_seconds: float
    head_seconds: float
    change_seconds: float
    half_width_seconds: float  # of the 95% interval
    p_value: float
    tested: bool = False
    significant: bool = False


def in_calls(folded: str, measured_frame: str) -> list[tuple[list[str], int]]:
    """The stacks inside the harness's measured calls."""
    return [
        (s, count)
        for s, count in frames.stacks(folded)
        if frames.in_measured_calls(s, measured_frame)
    ]


def overdispersion(sides: list[Sampled], functions) -> float:
    """How much more the shares vary between recordings than binomial sampling says,
    pooled over the functions of both sides; at least 1."""
    chi2 = dof = 0.0
    for side in sides:
        for function in functions:
            if (found := side.dispersion(function)) is not None:
                chi2, dof = chi2 + found[0], dof + found[1]
    return max(1.0, chi2 / dof) if dof else 1.0


def per_call(seconds: list[float]) -> tuple[float, float]:
    """The median of the rounds' seconds per call and its variance (the median's
    large-sample variance, pi/2 times the mean's)."""
    median = statistics.median(seconds)
    if len(seconds) < 2:
        return median, 0.0
    return median, math.pi / 2 * statistics.variance(seconds) / len(seconds)


def compare(base: Sampled, head: Sampled, base_times: list[float], head_times: list[float]):
    """Every function's change in time per call, the significant ones marked (Holm), how
    many were tested, and the overdispersion used."""
    functions = set().union(*base.counts, *head.counts)
    phi = overdispersion([base, head], functions)
    (base_t, base_var_t), (head_t, head_var_t) = per_call(base_times), per_call(head_times)
    n_base, n_head = sum(base.totals), sum(head.totals)
    changes = []
    for function in sorted(functions):
        p_base, p_head = base.share(function), head.share(function)
        variance = (
            base_t**2 * phi * p_base * (1 - p_base) / n_base
            + p_base**2 * base_var_t
            + head_t**2 * phi * p_head * (1 - p_head) / n_head
            + p_head**2 * head_var_t
        )
        difference = p_head * head_t - p_base * base_t
        se = math.sqrt(variance)
        p_value = math.erfc(abs(difference) / se / math.sqrt(2)) if se > 0 else 1.0
        changes.append(
            FunctionChange(
                function, p_base * base_t, p_head * head_t, difference, Z_95 * se, p_value
            )
        )
    tested = [
        c
        for c in changes
        if not c.function.startswith("[")  # py-spy's names for unnamed code
        and base.share(c.function) * n_base + head.share(c.function) * n_head >= MIN_TESTED_SAMPLES
    ]
    for change in tested:
        change.tested = True
    # Holm: the k-th smallest p-value must be under the rate divided by the frames left.
    for rank, change in enumerate(sorted(tested, key=lambda c: c.p_value)):
        if change.p_value > FALSE_ALARM_RATE / (len(tested) - rank):
            break
        change.significant = True
    return changes, len(tested), phi


def draw(flamegraph: str, folded: str, changes: list[FunctionChange], svg: Path, title: str):
    """inferno's flamegraph of ``folded`` (the head), each box recoloured and its hover
    text replaced by its change."""
    drawn = subprocess.run(
        [
            flamegraph,
            "--title",
            title,
            "--subtitle",
            "red: significantly more time per call "
            "than the base, blue: less; grey: no change beyond sampling noise",
        ],
        input=folded,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    by_function = {c.function: c for c in changes}
    largest = max((abs(c.change_seconds) for c in changes if c.significant), default=0.0)
    pieces, end = [], 0
    for box in BOX.finditer(drawn):
        name = TITLE.match(html.unescape(box["title"]))
        change = by_function.get(name["name"]) if name else None
        pieces += [drawn[end : box.start()], recoloured(box, change, largest)]
        end = box.end()
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_text("".join(pieces) + drawn[end:])


# One box of inferno's SVG: its hover text and the rest of its rectangle, fill apart.
BOX = re.compile(
    r'<g><title>(?P<title>[^<]*)</title><rect (?P<before>[^>]*?)fill="[^"]*"(?P<after>[^>]*)/>'
)
TITLE = re.compile(r"^(?P<name>.*) \([\d,]+ samples?, [\d.]+%\)$")


def recoloured(box: re.Match, change: FunctionChange | None, largest: float) -> str:
    """The box grey, or red or blue if its change is significant, and its hover text
    with the change (the root, all samples, just grey)."""
    title = html.unescape(box["title"])
    if change is not None:
        verdict = "too few samples to test"
        if change.tested:
            verdict = "significant" if change.significant else "within sampling noise"
        # Inside the closing parentheses, which inferno's script strips to label the box.
        title = (
            f"{title[:-1]}; {display.duration(change.head_seconds)} per call, {signed(change)} "
            f"since the base at 95%, {verdict})"
        )
    fill = NEUTRAL
    if change is not None and change.significant:
        fade = round(210 * (1 - abs(change.change_seconds) / largest)) if largest else 0
        fill = f"rgb(255,{fade},{fade})" if change.change_seconds > 0 else f"rgb({fade},{fade},255)"
    rect = f'{box["before"]}fill="{fill}"{box["after"]}'
    return f"<g><title>{html.escape(title, quote=False)}</title><rect {rect}/>"


def signed(change) -> str:
    """A change and its 95% interval: ``+1.23 µs ± 0.4 µs``; ``change`` a FunctionChange
    or its summary dict."""
    if isinstance(change, dict):
        change = FunctionChange(**change)
    sign = "+" if change.change_seconds >= 0 else "-"
    magnitude = display.duration(abs(change.change_seconds))
    return f"{sign}{magnitude} ± {display.duration(change.half_width_seconds)}"


def diff_flamegraph(
    flamegraph: str,
    base: list[str],
    head: list[str],
    times: dict,
    measured_frame: str,
    svg: Path,
    title: str,
) -> dict:
    """The differential flamegraph of one rung and its summary (written beside it as
    ``<rung>.json``): the recordings' folded stacks and the rounds' seconds per call of
    each side."""
    base_sampled, head_sampled = (Sampled.of(r, measured_frame) for r in (base, head))
    changes, tested, phi = compare(base_sampled, head_sampled, times["base"], times["head"])
    head_stacks = [s for recording in head for s in in_calls(recording, measured_frame)]
    head_folded = "".join(f"{';'.join(stack)} {count}\n" for stack, count in head_stacks)
    draw(flamegraph, head_folded, changes, svg, title)
    summary = {
        "samples": {"base": base_sampled.totals, "head": head_sampled.totals},
        "overdispersion": round(phi, 3),
        "false_alarm_rate": FALSE_ALARM_RATE,
        "functions_tested": tested,
        "significant": sorted(
            (asdict(c) for c in changes if c.significant), key=lambda c: -abs(c["change_seconds"])
        ),
    }
    svg.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    return summary
