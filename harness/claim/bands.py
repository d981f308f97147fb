"""Band statistics: per-step series of several runs (one per learning rate, or one per step size
eta of a line search) summarised as a band, and the statistic that says one band is "narrower"
or "smaller" than another.

The course's figures (reports 000/002/003) are fill-between plots: at each step the max and the
min over the runs. A claim "the band is narrower with BN" is read as

    ratio = median over steps t >= warmup of  a_t / b_t

with a_t, b_t the band widths (or upper edges) of BN and no-BN at step t; BN is smaller when
ratio < 1 - margin. The median over steps is robust to the per-step noise of mini-batch
gradients; the warm-up drops the first steps, where every run starts from the same weights
(identical init per seed, so the band has zero width at step 0 and the ratio is 0/0).

A claim that one band edge is "smoother" (less volatile from step to step) is about its shape, not
its level, so it has its own statistic: `roughness` (median |e_(t+1) - e_t| over the median level,
after the warm-up) and `compare_roughness`, the BN / no-BN ratio of it, read like `compare`'s.

Runs that diverged are left out of a band (and named), because their series stop early.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

EDGES = ("width", "upper", "lower", "middle")


def finite_prefix(values: Sequence[float]) -> list[float]:
    """The values up to (not including) the first non-finite one."""
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            break
        out.append(float(v))
    return out


@dataclass
class Band:
    """Per-step min and max over runs (labels kept), over the steps every included run has."""

    lo: list[float]
    hi: list[float]
    steps: list[int]
    included: list[str]
    excluded: dict[str, str] = field(default_factory=dict)  # label -> why it is not in the band

    def __len__(self) -> int:
        return len(self.lo)

    def edge(self, name: str) -> list[float]:
        if name == "width":
            return [h - l for l, h in zip(self.lo, self.hi)]
        if name == "upper":
            return list(self.hi)
        if name == "lower":
            return list(self.lo)
        if name == "middle":
            return [(l + h) / 2 for l, h in zip(self.lo, self.hi)]
        raise ValueError(f"unknown band edge {name!r}; known: {', '.join(EDGES)}")


def band(series: Mapping[str, Sequence[float]], steps: Sequence[int] | None = None, *,
         min_runs: int = 2) -> Band:
    """Max/min per step over the runs in `series` (label -> per-step values).

    A series with a non-finite value (a diverged run) is excluded; the band covers the steps
    all remaining series share. Fewer than `min_runs` usable series is an error.
    """
    kept: dict[str, list[float]] = {}
    excluded: dict[str, str] = {}
    for label, values in series.items():
        prefix = finite_prefix(values)
        if len(prefix) < len(values):
            excluded[label] = f"non-finite value at index {len(prefix)} (diverged)"
        elif not prefix:
            excluded[label] = "no values"
        else:
            kept[label] = prefix
    if len(kept) < min_runs:
        raise ValueError(f"a band needs {min_runs} usable runs, got {len(kept)} (excluded: {excluded})")
    n = min(len(v) for v in kept.values())
    columns = list(zip(*(v[:n] for v in kept.values())))
    step_index = list(steps[:n]) if steps is not None else list(range(n))
    return Band(lo=[min(c) for c in columns], hi=[max(c) for c in columns], steps=step_index,
                included=list(kept), excluded=excluded)


def ranges(rows: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """Per row min and max (a line search: one row per step, one value per eta)."""
    return [min(r) for r in rows], [max(r) for r in rows]


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average over `window` points (the first points average what exists)."""
    if window <= 1:
        return list(values)
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def downsample(x: Sequence[float], *ys: Sequence[float], points: int = 400) -> tuple[list[float], ...]:
    """Every k-th point so at most `points` remain (for figure data stored in findings)."""
    k = max(1, math.ceil(len(x) / points))
    return (list(x[::k]), *(list(y[::k]) for y in ys))


@dataclass
class Comparison:
    """a relative to b over the steps after the warm-up."""

    ratio: float          # median over the compared steps of a_t / b_t
    steps: int            # how many steps were compared
    below_one: float      # fraction of those steps where a_t < b_t
    mean_a: float
    mean_b: float

    def describe(self, a: str, b: str) -> str:
        return (f"median {a}/{b} ratio {self.ratio:.3g} over {self.steps} steps; {a} smaller at "
                f"{100 * self.below_one:.0f}% of steps; means {self.mean_a:.4g} vs {self.mean_b:.4g}")


def compare(a: Sequence[float], b: Sequence[float], warmup: float = 0.1, eps: float = 1e-12) -> Comparison:
    """Median over steps t >= warmup * n of a_t / b_t (n = the shorter series' length).

    `warmup` is a fraction of the steps (0 <= warmup < 1). A step where b_t is ~0 divides by
    `eps` instead (a huge but finite ratio, so it counts against `a` and means stay finite); a
    step where both are ~0 counts as a tie (ratio 1).
    """
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup}")
    n = min(len(a), len(b))
    start = int(math.floor(warmup * n))
    pairs = [(x, y) for x, y in zip(a[start:n], b[start:n])]
    if not pairs:
        raise ValueError("no steps left to compare after the warm-up")
    ratios = [1.0 if x <= eps and y <= eps else x / max(y, eps) for x, y in pairs]
    return Comparison(ratio=statistics.median(ratios), steps=len(pairs),
                      below_one=sum(r < 1 for r in ratios) / len(ratios),
                      mean_a=statistics.fmean(x for x, _ in pairs), mean_b=statistics.fmean(y for _, y in pairs))


def roughness(edge: Sequence[float], warmup: float = 0.1, eps: float = 1e-12) -> float:
    """Step-to-step roughness of one band edge: median over steps t >= warmup * n of |e_(t+1) - e_t|,
    divided by the median of |e_t| over the same steps.

    "More smooth volatility" is about how much the curve jumps from one step to the next, not about
    where it lies; dividing by the edge's own level makes the number scale-free, so a lower curve is
    not smoother merely for being lower (`compare` already reads the level). Medians, as in `compare`,
    so a few spikes of mini-batch noise do not decide.
    """
    return statistics.median(relative_changes(edge, warmup, eps))


def relative_changes(edge: Sequence[float], warmup: float = 0.1, eps: float = 1e-12) -> list[float]:
    """|e_(t+1) - e_t| / median |e| for t from floor(warmup * n), the median over the same steps.

    The warm-up is dropped for the reason `compare` drops it (every lr starts from the same weights).
    A level of ~0 divides by `eps` instead (finite; an edge flat at zero has changes 0).
    """
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup}")
    kept = [float(v) for v in edge[int(math.floor(warmup * len(edge))):]]
    if len(kept) < 2:
        raise ValueError(f"roughness needs at least 2 steps after the warm-up, got {len(kept)}")
    level = max(statistics.median(abs(v) for v in kept), eps)
    return [abs(y - x) / level for x, y in zip(kept, kept[1:])]


@dataclass
class RoughnessComparison:
    """a's step-to-step roughness relative to b's, over the same steps after the warm-up."""

    ratio: float          # roughness(a) / roughness(b)
    steps: int            # how many consecutive-step changes each roughness is the median of
    below_one: float      # fraction of those steps where a's relative change is smaller than b's
    rough_a: float
    rough_b: float

    def describe(self, a: str, b: str) -> str:
        return (f"roughness (median |step change| / median level) {a} {self.rough_a:.3g} vs {b} {self.rough_b:.3g}, "
                f"ratio {self.ratio:.3g} over {self.steps} step changes; {a}'s relative change smaller at "
                f"{100 * self.below_one:.0f}% of steps")


def compare_roughness(a: Sequence[float], b: Sequence[float], warmup: float = 0.1,
                      eps: float = 1e-12) -> RoughnessComparison:
    """roughness(a) / roughness(b) over the steps both edges have (the shorter length), used like `compare`:
    one ratio per seed, which the claim then tests against 1 - margin over seeds.

    b's roughness ~0 divides by `eps` (a huge but finite ratio, counting against a); both ~0 is a tie
    (ratio 1), as in `compare`.
    """
    n = min(len(a), len(b))
    ca, cb = relative_changes(a[:n], warmup, eps), relative_changes(b[:n], warmup, eps)
    ra, rb = statistics.median(ca), statistics.median(cb)
    ratio = 1.0 if ra <= eps and rb <= eps else ra / max(rb, eps)
    return RoughnessComparison(ratio=ratio, steps=len(ca), below_one=sum(x < y for x, y in zip(ca, cb)) / len(ca),
                               rough_a=ra, rough_b=rb)
