"""Readings of training runs that the claims compare: one definition of each, used by every claim file.

A reading takes the runs of one arm (one per seed) and returns one number per run, because the
checks of harness/claim.py take per-seed lists (seed-paired intervals, McNemar for one seed).
No reading is named test_*: claim modules import them, and pytest would collect such a name.
A reading that has nothing to read (a run that diverged before the epochs it needs) gives NaN,
which the checks treat as a diverged arm instead of as a measurement.
"""
from __future__ import annotations

import math
from statistics import fmean
from typing import Callable, Mapping, Protocol, Sequence

from ..train.timing import epoch_seconds


class _Run(Protocol):
    best_test_acc: float
    final_test_acc: float
    final_train_acc: float
    curves: dict[str, list[float]]


Reading = Callable[..., list[float]]


def best(runs: Sequence[_Run]) -> list[float]:
    """Best test accuracy over the epochs (the reports that keep the best epoch's model)."""
    return [r.best_test_acc for r in runs]


def final(runs: Sequence[_Run]) -> list[float]:
    """Test accuracy after the last epoch (the reports that print the accuracy once, at the end)."""
    return [r.final_test_acc for r in runs]


def final_train_acc(runs: Sequence[_Run]) -> list[float]:
    """Running train accuracy of the last epoch (the tables' "train accuracy" columns)."""
    return [r.final_train_acc for r in runs]


def final_train_loss(runs: Sequence[_Run]) -> list[float]:
    """Mean training loss of the last epoch: how far from convergence a run ended."""
    return [r.curves["train_loss"][-1] if r.curves["train_loss"] else math.nan for r in runs]


def mean_train_acc(runs: Sequence[_Run]) -> list[float]:
    """Running train accuracy averaged over the epochs: lower training error all along, not only at the end."""
    return [_mean(r.curves["train_acc"]) for r in runs]


def mean_train_loss(runs: Sequence[_Run]) -> list[float]:
    """Mean epoch training loss over the epochs, the area under the loss curve: lower = faster convergence."""
    return [_mean(r.curves["train_loss"]) for r in runs]


def early(runs: Sequence[_Run], epochs: int) -> list[float]:
    """Mean test accuracy over the first `epochs` epochs (all epochs of a shorter run), the area under the
    early test curve: learning speed, read without picking one epoch."""
    return [_mean(r.curves["test_acc"][:epochs]) for r in runs]


def train_test_gap(runs: Sequence[_Run], test: str = "best") -> list[float]:
    """Final (running) train accuracy minus test accuracy: the tables' gap (`test="best"`, best test
    accuracy) or the gap at the curves' end (`test="final"`). Larger = more overfitting."""
    if test not in ("best", "final"):
        raise ValueError(f"test must be 'best' or 'final', not {test!r}")
    return [r.final_train_acc - (r.best_test_acc if test == "best" else r.final_test_acc) for r in runs]


def epoch_time(runs: Sequence[_Run], minus: Sequence[str] = ()) -> list[float]:
    """Seconds per epoch: the median of epochs 2+ (the first pays for compilation and autotuning);
    `minus` takes phases out, e.g. ("eval",) for training time only."""
    return [epoch_seconds(r, minus=minus) for r in runs]


def mean_acc_drop(runs: Sequence[_Run], epochs: slice = slice(None)) -> list[float]:
    """Instability: the mean fall of test accuracy between consecutive epochs of the window `epochs`,
    rises counted as 0. Larger = less stable.

    "Stable" in the reports means a curve that does not fall back, not a flat one: a run that keeps
    learning rises every epoch, and counting rises (a mean |change|) would score learning itself as
    instability, so a fast learner would look unsteady. Only falls count, so a monotone learning
    curve scores 0 whatever its speed. The window is the claim's (the ending plateau, the epochs
    while the learning rate is high, or the whole run); a window with fewer than two epochs has no
    change to read and gives NaN.
    """
    out = []
    for r in runs:
        acc = r.curves["test_acc"][epochs]
        out.append(_mean([max(0.0, a - b) for a, b in zip(acc, acc[1:])]))
    return out


def steadiness(runs: Sequence[_Run], epochs: slice = slice(None)) -> list[float]:
    """Minus `mean_acc_drop` (higher = steadier), for checks that ask which arm is the steadier."""
    return [-d for d in mean_acc_drop(runs, epochs)]


def per_arm(reading: Reading, runs: Mapping[str, Sequence[_Run]], *args, **kwargs) -> dict[str, list[float]]:
    """{arm label: the reading's per-seed values}: the shape check_ranks_first and check_ordered take."""
    return {label: reading(rs, *args, **kwargs) for label, rs in runs.items()}


def _mean(values: Sequence[float]) -> float:
    return fmean(values) if values else math.nan
