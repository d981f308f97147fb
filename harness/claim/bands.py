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
