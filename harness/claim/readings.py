"""Readings of training runs that the claims compare: one definition of each, used by every claim file.

A reading takes the runs of one arm (one per seed) and returns a `Measured`: one number per run (the
checks of harness/claim/claim.py take per-seed lists: seed-paired intervals, McNemar for one seed) that
also says what it is: the reading's name, which way is better, and the noise one run shows on its own
(a test accuracy's per-image correctness, an epoch time's per-epoch times). A check picks its statistic
from these, never from its label text, so a label worded differently changes nothing.

Divergence is a value: a run that diverged at any epoch reads as the reading's worst value (-inf where
higher is better, +inf where lower is better: worse than any run that trained), whatever its epochs
before the divergence read; a reading with no direction (a train-test gap) gives NaN, no value at all.
Epoch times are the exception: the epochs a diverged run trained took the time they took.
A reading that has nothing to read (a window with too few epochs) gives NaN as well.
No reading is named test_*: claim modules import them, and pytest would collect such a name.
"""
from __future__ import annotations

import math
from statistics import fmean
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from ..train.timing import epoch_seconds

# Every dataset of the reports has 10 classes: an untrained model's test accuracy is 0.10, and an arm whose
# best test accuracy is at most AT_CHANCE (about two binomial standard errors above it on 1,000 test images)
# never trained.
CHANCE_ACCURACY = 0.10
AT_CHANCE = 0.12


class _Run(Protocol):
    best_test_acc: float
    final_test_acc: float
    final_train_acc: float
    curves: dict[str, list[float]]


class Measured(list):
    """The per-run values of one reading of one arm, and what they are.

    A list (means, zips and indexing work as on any list of floats), plus:
    `reading` its name; `higher_is_better` True, False or None (no direction: a gap, a time);
    `runs` the runs read, in order (a check names diverged runs and arms at chance from them);
    `correct_at` "best" or "final" for a test accuracy, whose runs keep per-image correctness there;
    `epoch_samples` each run's per-epoch values behind a median over epochs (epoch times).
    A value computed from a Measured in a claim body (a ratio, a difference) is a plain list: it has
    no per-image or per-epoch record behind it.
    """

    def __init__(self, values: Iterable[float], *, reading: str, higher_is_better: bool | None,
                 runs: Sequence[Any] = (), correct_at: str | None = None,
                 epoch_samples: Sequence[Sequence[float]] | None = None) -> None:
        super().__init__(float(v) for v in values)
        if correct_at not in (None, "best", "final"):
            raise ValueError(f"correct_at must be 'best', 'final' or None, not {correct_at!r}")
        self.reading = reading
        self.higher_is_better = higher_is_better
        self.runs = tuple(runs)
        self.correct_at = correct_at
        self.epoch_samples = None if epoch_samples is None else [list(map(float, s)) for s in epoch_samples]

    @property
    def worst(self) -> float:
        """The value a diverged run reads as: -inf, +inf, or NaN for a reading with no direction."""
        if self.higher_is_better is None:
            return math.nan
        return -math.inf if self.higher_is_better else math.inf

    @property
    def within_run(self) -> str | None:
        """What one run alone can show noise over, so one run per arm still gives a finite interval:
        'test images' (a test accuracy), 'epochs' (an epoch time), or None (a seed's single number)."""
        if self.correct_at is not None:
            return "test images"
        if self.epoch_samples is not None:
            return "epochs"
        return None

    def records(self) -> list[np.ndarray] | None:
        """Each run's per-image correctness at `correct_at`; None for a reading without, or when a run kept none."""
        if self.correct_at is None or len(self.runs) != len(self):
            return None
        hits = [getattr(r, "correctness", lambda _: None)(self.correct_at) for r in self.runs]
        return hits if hits and all(h is not None for h in hits) else None


def _diverged(run: Any) -> bool:
    return getattr(run, "status", "completed") == "diverged"


def _read(runs: Sequence[_Run], value: Callable[[_Run], float], *, reading: str, higher_is_better: bool | None,
          **what: Any) -> Measured:
    """One value per run; a diverged run reads as the reading's worst value."""
    out = Measured([], reading=reading, higher_is_better=higher_is_better, runs=runs, **what)
    out.extend(out.worst if _diverged(r) else float(value(r)) for r in runs)
    return out


def best(runs: Sequence[_Run]) -> Measured:
    """Best test accuracy over the epochs (the reports that keep the best epoch's model)."""
    return _read(runs, lambda r: r.best_test_acc, reading="best test accuracy", higher_is_better=True,
                 correct_at="best")


def final(runs: Sequence[_Run]) -> Measured:
    """Test accuracy after the last epoch (the reports that print the accuracy once, at the end)."""
    return _read(runs, lambda r: r.final_test_acc, reading="final test accuracy", higher_is_better=True,
                 correct_at="final")


def final_train_acc(runs: Sequence[_Run]) -> Measured:
    """Running train accuracy of the last epoch (the tables' "train accuracy" columns)."""
    return _read(runs, lambda r: r.final_train_acc, reading="final train accuracy", higher_is_better=True)


def final_train_loss(runs: Sequence[_Run]) -> Measured:
    """Mean training loss of the last epoch: how far from convergence a run ended."""
    return _read(runs, lambda r: r.curves["train_loss"][-1] if r.curves["train_loss"] else math.nan,
                 reading="training loss of the last epoch", higher_is_better=False)


def mean_train_acc(runs: Sequence[_Run]) -> Measured:
    """Running train accuracy averaged over the epochs: lower training error all along, not only at the end."""
    return _read(runs, lambda r: _mean(r.curves["train_acc"]), reading="train accuracy averaged over the epochs",
                 higher_is_better=True)


def mean_train_loss(runs: Sequence[_Run]) -> Measured:
    """Mean epoch training loss over the epochs, the area under the loss curve: lower = faster convergence."""
    return _read(runs, lambda r: _mean(r.curves["train_loss"]), reading="mean training loss over the epochs",
                 higher_is_better=False)


def early(runs: Sequence[_Run], epochs: int) -> Measured:
    """Mean test accuracy over the first `epochs` epochs (all epochs of a shorter run), the area under the
    early test curve: learning speed, read without picking one epoch."""
    return _read(runs, lambda r: _mean(r.curves["test_acc"][:epochs]),
                 reading=f"mean test accuracy over the first {epochs} epochs", higher_is_better=True)


def train_test_gap(runs: Sequence[_Run], test: str = "best") -> Measured:
    """Final (running) train accuracy minus test accuracy: the tables' gap (`test="best"`, best test
    accuracy) or the gap at the curves' end (`test="final"`). Larger = more overfitting; a diverged run
    has no gap (NaN): it neither overfits nor generalises."""
    if test not in ("best", "final"):
        raise ValueError(f"test must be 'best' or 'final', not {test!r}")
    return _read(runs, lambda r: r.final_train_acc - (r.best_test_acc if test == "best" else r.final_test_acc),
                 reading=f"train accuracy - {test} test accuracy", higher_is_better=None)


def _epoch_times(run: _Run, minus: Sequence[str]) -> list[float]:
    """The per-epoch seconds `epoch_seconds` takes its median of (epochs 2+, or epoch 1 alone)."""
    curves = run.curves
    per_epoch = [total - sum(curves[f"{name}_time"][i] for name in minus)
                 for i, total in enumerate(curves["epoch_time"])]
    return per_epoch[1:] or per_epoch


def epoch_time(runs: Sequence[_Run], minus: Sequence[str] = ()) -> Measured:
    """Seconds per epoch: the median of epochs 2+ (the first pays for compilation and autotuning);
    `minus` takes phases out, e.g. ("eval",) for training time only. Each run's epochs are kept, so one
    run per arm still compares (epoch-to-epoch timing noise)."""
    return Measured([epoch_seconds(r, minus=minus) for r in runs], reading="seconds per epoch",
                    higher_is_better=None, runs=runs, epoch_samples=[_epoch_times(r, minus) for r in runs])


def relative_epoch_time(runs: Sequence[_Run], base: Sequence[_Run], minus: Sequence[str] = ()) -> Measured:
    """Seconds per epoch relative to the seed-paired run of `base` (run i over base run i, medians of
    epochs 2+): `relative_epoch_time(base, base)` is 1.0 per seed, the base arm of a time ordering. The
    per-epoch samples are each epoch's seconds over the base run's median, so one run per arm compares too."""
    if len(runs) != len(base):
        raise ValueError(f"{len(runs)} runs against {len(base)} base runs: the ratio pairs them seed by seed")
    medians = [epoch_seconds(b, minus=minus) for b in base]
    return Measured([epoch_seconds(r, minus=minus) / m for r, m in zip(runs, medians)],
                    reading="seconds per epoch relative to the base arm's", higher_is_better=None, runs=runs,
                    epoch_samples=[[t / m for t in _epoch_times(r, minus)] for r, m in zip(runs, medians)])


def mean_acc_drop(runs: Sequence[_Run], epochs: slice = slice(None)) -> Measured:
    """Instability: the mean fall of test accuracy between consecutive epochs of the window `epochs`,
    rises counted as 0. Larger = less stable; a run that diverged at any epoch is the least stable (+inf).

    "Stable" in the reports means a curve that does not fall back, not a flat one: a run that keeps
    learning rises every epoch, and counting rises (a mean |change|) would score learning itself as
    instability, so a fast learner would look unsteady. Only falls count, so a monotone learning
    curve scores 0 whatever its speed. The window is the claim's (the ending plateau, the epochs
    while the learning rate is high, or the whole run); a window with fewer than two epochs has no
    change to read and gives NaN.
    """
    def drop(r: _Run) -> float:
        acc = r.curves["test_acc"][epochs]
        return _mean([max(0.0, a - b) for a, b in zip(acc, acc[1:])])

    return _read(runs, drop, reading="mean test-accuracy drop per epoch", higher_is_better=False)


def steadiness(runs: Sequence[_Run], epochs: slice = slice(None)) -> Measured:
    """Minus `mean_acc_drop` (higher = steadier), for checks that ask which arm is the steadier; a diverged
    run is the least steady (-inf)."""
    drops = mean_acc_drop(runs, epochs)
    return Measured([-d for d in drops], reading="minus mean test-accuracy drop per epoch", higher_is_better=True,
                    runs=runs)


def per_arm(reading: Callable[..., Measured], runs: Mapping[str, Sequence[_Run]], *args,
            **kwargs) -> dict[str, Measured]:
    """{arm label: the reading's per-seed values}: the shape check_ranks_first and check_ordered take."""
    return {label: reading(rs, *args, **kwargs) for label, rs in runs.items()}


def at_chance(values: Sequence[float]) -> list[Any]:
    """The runs behind `values` (a Measured) whose best test accuracy is at most AT_CHANCE: they never trained.
    A plain list has no runs to tell."""
    runs = getattr(values, "runs", ())
    return [r for r in runs if math.isfinite(r.best_test_acc) and r.best_test_acc <= AT_CHANCE]


def _mean(values: Sequence[float]) -> float:
    return fmean(values) if values else math.nan
