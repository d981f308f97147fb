"""Adaptive seeding that keeps its error rate: a group-sequential design with alpha spending.

A comparison left inconclusive at its reference seed count may get more seeds, in planned looks
(the reference count, then 3, 5, 8, 13, ... seeds per arm, up to N), until it decides. Testing
again after every added seed at the fixed 95% ("rerun until significant") inflates the chance
of a false verdict with every look; spending the error rate over the looks does not.

The design: Lan & DeMets (1983, Biometrika 70:659) alpha spending over the planned looks, with
the information fraction t = n / N. At look k a check runs at the level it is given,
alpha(t_k) - alpha(t_{k-1}), as a fixed-sample test (its interval at confidence 1 minus that).
By the union bound the chance that any look gives a false verdict, in either direction, is at
most the sum, alpha(1) = alpha, whatever the correlation between looks. This is conservative
against boundaries computed from the joint law of the looks (Jennison & Turnbull 2000, ch. 7),
but it needs nothing of that law, so it holds for every check the suite makes: seed-paired t
with the test-set term, TOST equivalence, one-sided thresholds, intersection-union orderings,
one-pair McNemar at a first look of one seed. Checks that cannot be inconclusive (a table cell's
prediction interval, an exact count) never take a second look.

The spending function is the Lan-DeMets O'Brien-Fleming type, 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)): it
spends almost nothing before about half of N seeds, and most at the last look. The Pocock type,
alpha * ln(1 + (e - 1) t), spends a third of alpha at a first look of 2 of 8 seeds and stops large
effects about one look earlier, but that puts the most weight on the 2- and 3-seed intervals, the least
certain ones: on simulated claims with a large seed effect the Pocock design errs at 2.8% against a
nominal 2.5%, the O'Brien-Fleming design at 2.1% (N = 8) and 1.7% (N = 16), with more power at small
effects (`benchmarks/calibration_sequential.py`, benchmarks/README.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from scipy import stats as scipy_stats

# Seeds per arm at the looks after the reference count (about x1.6 each, so each look adds information
# in proportion to what is there).
LOOK_SEEDS = (2, 3, 5, 8, 13, 21, 34, 55, 89)


def pocock_spending(t: float, alpha: float) -> float:
    """Lan-DeMets Pocock-type spending: alpha * ln(1 + (e - 1) t)."""
    return alpha * math.log(1 + (math.e - 1) * min(max(t, 0.0), 1.0))


def obrien_fleming_spending(t: float, alpha: float) -> float:
    """Lan-DeMets O'Brien-Fleming-type spending: 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t)) (two-sided alpha)."""
    t = min(max(t, 0.0), 1.0)
    if t == 0.0:
        return 0.0
    if t == 1.0:  # exactly alpha at the last look (the formula gives it only to rounding)
        return alpha
    return float(2 * scipy_stats.norm.sf(scipy_stats.norm.isf(alpha / 2) / math.sqrt(t)))


SPENDING: dict[str, Callable[[float, float], float]] = {"pocock": pocock_spending,
                                                        "obrien-fleming": obrien_fleming_spending}
DEFAULT_SPENDING = "obrien-fleming"


def looks(start: int, most: int) -> list[int]:
    """Seeds per arm at each look: the reference count, the LOOK_SEEDS between it and `most`, then `most`."""
    if start < 1:
        raise ValueError(f"a first look needs at least one seed, not {start}")
    if most <= start:
        return [start]
    return [start] + [n for n in LOOK_SEEDS if start < n < most] + [most]


@dataclass(frozen=True)
class Design:
    """The planned looks and the level each look tests at; `alpha` is the two-sided error of a 95% check."""

    looks: tuple[int, ...]
    alpha: float = 0.05
    spending: str = DEFAULT_SPENDING

    @classmethod
    def plan(cls, start: int, most: int, alpha: float = 0.05, spending: str = DEFAULT_SPENDING) -> "Design":
        if spending not in SPENDING:
            raise ValueError(f"unknown spending function {spending!r}; known: {', '.join(SPENDING)}")
        return cls(tuple(looks(start, most)), alpha, spending)

    def spent(self, k: int) -> float:
        """Alpha spent up to and including look k (0-based)."""
        if k < 0:
            return 0.0
        return SPENDING[self.spending](self.looks[k] / self.looks[-1], self.alpha)

    def level(self, k: int) -> float:
        """The (two-sided) error level look k tests at: what the spending function adds at it."""
        return self.spent(k) - self.spent(k - 1)

    def confidence(self, k: int) -> float:
        """The confidence a check's interval uses at look k (0.95 for a design of one look)."""
        return 1 - self.level(k)

    def rule(self) -> str:
        """The stopping rule in words, for the finding and the report."""
        if len(self.looks) == 1:
            return f"fixed {self.looks[0]} seed(s) per arm at {1 - self.alpha:.0%}"
        levels = ", ".join(f"{n}: {self.level(k):.4f}" for k, n in enumerate(self.looks))
        return (f"group-sequential, {self.spending} alpha spending (Lan-DeMets) of {self.alpha:g} over looks at "
                f"{', '.join(map(str, self.looks))} seeds per arm, union-bound boundaries; stop at the first decided "
                f"look; level per look (seeds: level) {levels}")
