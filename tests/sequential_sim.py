"""Simulated claims under optional stopping: the error rates of `--seeds-until-decided` (tests/test_sequential.py,
benchmarks/calibration_sequential.py).

A claim left inconclusive at its reference seeds may get more seeds per arm, in looks, until it decides. The
rule that keeps the error rate is the group-sequential design of harness/claim/sequential.py: each look checks
exactly as a fixed sample does, at the confidence the design gives it (1 minus the alpha spent there), and the
claim stops at the first look that decides; the last look's outcome is final. The rule it replaces, "test
after every added seed at the fixed 95%", looks at every n from the reference count to N at 0.95: each look
keeps its level, the claim does not. The fixed rules (the reference count, and N, at 95%) are the references.

Claims and check kinds are those of tests/calibration_sim.measure (same generator, nulls at the claim's
boundary, planted effects); each claim draws N seeds per arm and a look at n seeds reads the first n, so a
claim's looks are nested as the store's cached runs are, and every rule sees the same claims. Decisions go
through calibration_sim's vectorised intervals, which tests/test_calibration.py checks against the stats
functions claim.py calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness.claim import stats
from harness.claim.sequential import SPENDING, Design
from tests import calibration_sim as sim

START = 2  # the fast tier's reference seed count
MOST = (8, 16)
SPENDINGS = tuple(SPENDING)
CLAIMS, CHUNK = 2000, 1000
SEQUENTIAL, NAIVE, FIXED = "sequential", "naive", "fixed"


@dataclass(frozen=True)
class Rule:
    """A stopping rule: the seeds per arm at each look and the confidence each look checks at."""

    name: str  # "sequential pocock", "sequential obrien-fleming", "naive" or "fixed"
    looks: tuple[int, ...]
    confidences: tuple[float, ...]

    @property
    def most(self) -> int:
        return self.looks[-1]


def sequential_rule(most: int, spending: str, start: int = START) -> Rule:
    """The design's looks at the levels it spends."""
    design = Design.plan(start, most, spending=spending)
    return Rule(f"{SEQUENTIAL} {spending}", design.looks,
                tuple(design.confidence(k) for k in range(len(design.looks))))


def naive_rule(most: int, start: int = START) -> Rule:
    """A look after every added seed, each at the fixed 95%."""
    looks = tuple(range(start, most + 1))
    return Rule(NAIVE, looks, tuple(stats.CONFIDENCE for _ in looks))


def fixed_rule(n: int) -> Rule:
    """One look at n seeds per arm at 95%: the rule without adaptive seeding."""
    return Rule(FIXED, (n,), (stats.CONFIDENCE,))


def all_rules(most: tuple[int, ...] = MOST, spendings: tuple[str, ...] = SPENDINGS,
              start: int = START) -> list[Rule]:
    """The fixed rule at the reference count once, then per N the sequential rules, the naive one and fixed N."""
    rules = [fixed_rule(start)]
    for n in most:
        rules += [sequential_rule(n, s, start) for s in spendings] + [naive_rule(n, start), fixed_rule(n)]
    return rules


def stop(outcome_at: Callable[[int, float], np.ndarray], rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """The rule over claims: each stops at its first decided look (1 or -1); the last look's outcome is final.
    Returns (outcome, seeds per arm used)."""
    outcome, used, stopped = None, None, None
    for n, confidence in zip(rule.looks, rule.confidences):
        at = outcome_at(n, confidence)
        if outcome is None:
            outcome, used, stopped = np.zeros_like(at), np.full(at.shape, rule.most), np.zeros(at.shape, bool)
        newly = ~stopped & (at != 0)
        outcome[newly], used[newly] = at[newly], n
        stopped |= newly
    return outcome, used


# -- the claims and the check kinds ---------------------------------------------------------------

# the draws (arms' population differences from the first) and their seed effect
DRAWS = {
    "A = B > C": ([0.0, 0.0, -0.2], sim.REALISTIC_SEED_SD),
    "A leads B > C": ([sim.LEAD, 0.0, -0.2], sim.REALISTIC_SEED_SD),
    "A - B at the margin": ([sim.MARGIN, 0.0], sim.REALISTIC_SEED_SD),
    "A - B three margins": ([3 * sim.MARGIN, 0.0], sim.REALISTIC_SEED_SD),
    "A = B, stress": ([0.0, 0.0], sim.STRESS_SEED_SD),
    "A leads B, stress": ([sim.LEAD, 0.0], sim.STRESS_SEED_SD),
}


class Sample:
    """One chunk of claims: every draw at N seeds per arm, and the paired summaries each look reads."""

    def __init__(self, draws: dict[str, sim.Draw]):
        self.draws = draws
        self._paired: dict[tuple, sim.Paired] = {}

    @classmethod
    def of(cls, rng: np.random.Generator, claims: int, seeds: int, names: list[str]) -> "Sample":
        """Fresh claims of the named DRAWS, `seeds` seeds per arm."""
        return cls({name: sim.draw(rng, claims, sim.IMAGES, DRAWS[name][0], DRAWS[name][1], seeds=seeds)
                    for name in names})

    def paired(self, name: str, i: int, j: int, n: int) -> sim.Paired:
        key = (name, i, j, n)
        if key not in self._paired:
            self._paired[key] = sim.paired(self.draws[name], i, j, n)
        return self._paired[key]


Outcome = Callable[[Sample, str, str, int, float], np.ndarray]  # (sample, draw, truth, n, confidence)


def better(margin: float) -> Outcome:
    """check_paired_better: the c interval above the margin, or at or below it."""
    def outcome(s: Sample, name: str, truth: str, n: int, c: float) -> np.ndarray:
        low, high = s.paired(name, 0, 1, n).interval(c)
        return sim.decide_better(low, high, high, margin)
    return outcome


def ordering(s: Sample, name: str, truth: str, n: int, c: float) -> np.ndarray:
    """A > B > C: every pair supported at c, any one ruled out at 1 - (1 - c) / 2 (intersection-union)."""
    parts = []
    for i, j in ((0, 1), (1, 2)):
        p = s.paired(name, i, j, n)
        low, high = p.interval(c)
        _, refute_high = p.interval(1 - (1 - c) / 2)
        parts.append(sim.decide_better(low, high, refute_high, 0.0))
    return sim.combine(*parts)


def equivalent(s: Sample, name: str, truth: str, n: int, c: float) -> np.ndarray:
    """TOST: the 1 - 2(1 - c) interval inside the band, or the c interval outside it."""
    p = s.paired(name, 0, 1, n)
    tost_low, tost_high = p.interval(1 - 2 * (1 - c))
    wide_low, wide_high = p.interval(c)
    return sim.decide_equivalent(tost_low, tost_high, wide_low, wide_high, sim.BAND)


def paired_at_least(s: Sample, name: str, truth: str, n: int, c: float) -> np.ndarray:
    """check_paired_at_least: one-sided c bounds of a - b (the 2c - 1 interval) against the target."""
    low, high = s.paired(name, 0, 1, n).interval(2 * c - 1)
    return sim.decide_at_least(low, high, sim.MARGIN)


def threshold(s: Sample, name: str, truth: str, n: int, c: float) -> np.ndarray:
    """check_at_least: one-sided c bounds over seeds of arm B (the seeds' variance floored at its per-image part)
    against its test set's expected accuracy (null) or a level three margins below it (the claim holds)."""
    d = s.draws[name]
    low, high = sim.one_sided_bounds(sim.accuracies(d, 1, n), d.hits[1][:, 0], c, hits=d.hits[1][:, :n])
    bound = d.truth_acc[1] if truth == "null" else d.truth_acc[1] - 3 * sim.MARGIN
    return sim.decide_at_least(low, high, bound)


@dataclass(frozen=True)
class Kind:
    """A check kind: its test (which sets its one-sided level), the draws of its null and its planted effect."""

    name: str
    test: str
    null: str
    effect: str
    outcome: Outcome
    seed_sd: float = sim.REALISTIC_SEED_SD


KINDS = (
    Kind("paired better (margin 0)", "better", "A = B > C", "A leads B > C", better(0.0)),
    Kind(f"paired better (margin {sim.MARGIN})", "better", "A - B at the margin", "A - B three margins",
         better(sim.MARGIN)),
    Kind("ordering (2 comparisons)", "better", "A = B > C", "A leads B > C", ordering),
    # TOST: the band at the true difference (null), a true difference of 0 (the claim holds)
    Kind(f"equivalent (band {sim.BAND})", "equivalent", "A leads B > C", "A = B > C", equivalent),
    Kind(f"paired at-least (target {sim.MARGIN})", "at-least", "A - B at the margin", "A - B three margins",
         paired_at_least),
    Kind("at-least (threshold)", "at-least", "A = B > C", "A = B > C", threshold),
)
STRESS = Kind("paired better (margin 0)", "better", "A = B, stress", "A leads B, stress", better(0.0),
              sim.STRESS_SEED_SD)


# -- the table ------------------------------------------------------------------------------------

def _row(kind: Kind, truth: str, rule: Rule, outcome: np.ndarray, used: np.ndarray) -> dict:
    return {"kind": kind.name, "test": kind.test, "seed_sd": kind.seed_sd, "truth": truth, "rule": rule.name,
            "most": rule.most, "looks": rule.looks, **sim.rates(outcome), "seeds": float(np.mean(used))}


def measure(seed: int = 20241206, claims: int = CLAIMS, most: tuple[int, ...] = MOST,
            spendings: tuple[str, ...] = SPENDINGS, stress: bool = True, chunk: int = CHUNK) -> list[dict]:
    """Every kind under its null and its planted effect, under every rule of all_rules; the stress seed effect
    for paired better at margin 0. One row per kind, seed effect, truth and rule. Deterministic for a seed
    (and chunk size)."""
    rng = np.random.default_rng(seed)
    kinds = list(KINDS) + ([STRESS] if stress else [])
    names = list(dict.fromkeys(name for k in kinds for name in (k.null, k.effect)))
    rules = all_rules(most, spendings)
    parts: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    for first in range(0, claims, chunk):
        sample = Sample.of(rng, min(chunk, claims - first), max(most), names)
        for kind in kinds:
            for truth, name in (("null", kind.null), ("effect", kind.effect)):
                memo: dict[tuple[int, float], np.ndarray] = {}

                def outcome_at(n: int, c: float, kind=kind, truth=truth, name=name, memo=memo) -> np.ndarray:
                    if (n, c) not in memo:
                        memo[n, c] = kind.outcome(sample, name, truth, n, c)
                    return memo[n, c]

                for rule in rules:
                    parts.setdefault((kind, truth, rule), []).append(stop(outcome_at, rule))
        del sample
    return [_row(kind, truth, rule, np.concatenate([o for o, _ in runs]), np.concatenate([u for _, u in runs]))
            for (kind, truth, rule), runs in parts.items()]


def find(rows: list[dict], **match) -> dict:
    """The one row with these fields."""
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    if len(found) != 1:
        raise LookupError(f"{len(found)} rows match {match}")
    return found[0]


def format_table(rows: list[dict]) -> str:
    """The table as text: one line per cell."""
    head = (f"{'kind':<34}{'seedsd':>7} {'truth':<7}{'rule':<27}{'N':>3}{'repro':>7}{'not':>7}{'inc':>7}"
            f"{'seeds':>7}{'claims':>7}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['kind']:<34}{r['seed_sd']:>7} {r['truth']:<7}{r['rule']:<27}{r['most']:>3}"
                     f"{r['reproduced']:>7.3f}{r['not-reproduced']:>7.3f}{r['inconclusive']:>7.3f}"
                     f"{r['seeds']:>7.2f}{r['claims']:>7}")
    return "\n".join(lines)
