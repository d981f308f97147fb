"""The claim API a test uses: ask for runs, make one check, leave a finding.

A Claim knows its reference entry and tier. `runs()` scales the report's recipe to the tier
and gets every seed from the RunStore; the checks compare measured with reported values
through harness/stats.py (an estimate, a 95% interval, the method) and end in one of three
outcomes: reproduced (the check returns), not-reproduced (ClaimCheckFailed), inconclusive
(ClaimInconclusive, a skip). Everything lands in the Claim's typed Finding.
"""
from __future__ import annotations

import math
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pytest
from _pytest.outcomes import Skipped

from ..figure_kinds import BAND, RUN_FIGURES, unknown_kind

from . import stats
from ..train import data, timing
from ..findings import Comparison, Figure, Finding, RunRecord
from ..reference.entries import ClaimEntry, ReferenceError, TierPlan
from ..runs.result import RunResult
from ..runs.store import RunNotCachedError, RunStore
from ..runs.spec import Spec
from .tiers import scale

# The metric labels of a check that name one run's test accuracy, and the stored per-image correctness
# each reads (the test set's sampling term of a paired interval, McNemar for one seed). A label may add a
# qualifier in parentheses: "final test accuracy (ReLU vs tanh)". Every other label (an epoch mean, a
# drop, a gap, a time) has no per-image record behind it.
TEST_ACC_READINGS = {"best test accuracy": "best", "final test accuracy": "final"}
# A label that reads like a test accuracy but is none of the above (a typo, another wording) would silently
# lose the per-image term: an error naming the known labels instead.
LOOKS_LIKE_TEST_ACC = re.compile(r"((best|final|last|max(imum)?|top-?1)[ _-]*)?test[ _-]*acc(uracy|\.)?", re.IGNORECASE)
# "Similar" between untrained models is no evidence: an equivalence on a test accuracy whose arms all sit
# at chance (every dataset here has 10 classes) is inconclusive. The slack is about two binomial standard
# errors of 10% accuracy on the fast tier's 1,000 test images (sqrt(0.1 * 0.9 / 1000) = 0.0095).
CHANCE_ACCURACY = 0.10
CHANCE_SLACK = 0.02


BF16_ASSUMPTION = ("bf16 autocast (fp32 weights, optimizer state and BatchNorm statistics): the report does not "
                   "train in bf16; every arm of the claim trains alike (harness/claim/tiers.py full_precision)")


class ClaimCheckFailed(AssertionError):
    """The measured values rule the claim out."""


class ClaimInconclusive(Skipped):
    """The interval neither supports nor rules out the claim: an honest verdict, not a failure."""


@dataclass
class ClaimContext:
    """Session-wide settings every Claim shares."""

    store: RunStore
    base_seed: int = 0
    can_train_full: bool = False  # a GPU is present, or the user asked for CPU explicitly
    device: str | None = None  # --device: None trains each tier on its own device kind (tiers.TIER_DEVICES)
    data_root: str | os.PathLike | None = None  # None: harness/settings.py's default
    download: bool | None = None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _spread(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 and all(map(math.isfinite, values)) else None


def _hits_match(hits: list[np.ndarray] | None, values: Sequence[float]) -> bool:
    """The per-image records are those of the values, seed by seed (each run's accuracy is its value)."""
    return bool(hits) and len(hits) == len(values) and \
        all(abs(float(h.mean()) - float(v)) < 1e-6 for h, v in zip(hits, values))


def _runs_match(runs: Sequence[RunResult], epoch: str, values: Sequence[float]) -> bool:
    """These runs are the ones behind the values, seed by seed, and kept per-image correctness."""
    hits = [r.correctness(epoch) for r in runs]
    return bool(hits) and all(h is not None for h in hits) and _hits_match(hits, values)


def accuracy_reading(metric: str) -> str | None:
    """The per-image correctness ('best' or 'final') a check's metric label reads, or None for a label
    that is not one run's test accuracy; a label that looks like a test accuracy the table does not know
    is a ValueError naming the known labels."""
    head = metric.split(" (")[0]
    if head in TEST_ACC_READINGS:
        return TEST_ACC_READINGS[head]
    if LOOKS_LIKE_TEST_ACC.fullmatch(head.strip()):
        raise ValueError(f"metric label {metric!r} reads like a test accuracy but is not one this API knows, so its "
                         f"interval would lose the test set's sampling term; known: "
                         f"{', '.join(map(repr, TEST_ACC_READINGS))} (optionally followed by ' (qualifier)')")
    return None


def _values(measured: float | Sequence[float]) -> list[float]:
    return [float(v) for v in measured] if isinstance(measured, (list, tuple, np.ndarray)) else [float(measured)]


@dataclass
class Claim:
    entry: ClaimEntry
    tier: str
    context: ClaimContext
    report_title: str = ""
    finding: Finding = field(init=False)
    _arms: dict[str, list[RunResult]] = field(init=False, default_factory=dict)
    _outcomes: list[str] = field(init=False, default_factory=list)
    _precisions: dict[str, str] = field(init=False, default_factory=dict)  # arm label -> precision

    def __post_init__(self) -> None:
        self.finding = Finding.open(self.entry, self.tier, self.report_title)
        plan = self.entry.plan(self.tier)
        if plan is not None and plan.underpowered:
            self.finding.notes.append(f"underpowered: {plan.underpowered}")

    def __repr__(self) -> str:
        return f"Claim({self.entry.id} [{self.tier}])"

    # -- plan -----------------------------------------------------------------
    @property
    def plan(self) -> TierPlan:
        plan = self.entry.plan(self.tier)
        if plan is None:
            raise RuntimeError(f"claim {self.entry.id} has no plan for tier {self.tier}")
        return plan

    @property
    def reported(self) -> Any:
        return self.entry.reported

    @property
    def tolerance(self) -> dict[str, Any]:
        return self.plan.tolerance

    def _tolerance_value(self, key: str) -> float:
        """The tier's tolerance `key`: absent is a reference error naming the field, never a silent zero."""
        if key not in self.tolerance:
            given = sorted(k for k in self.tolerance if k != "why") or "none"
            raise ReferenceError(f"reference error in {self.entry.source_file}, claim {self.entry.id!r}, field "
                                 f"'tiers.{self.tier}.tolerance.{key}': this check reads {key}; the tier gives {given}")
        return float(self.tolerance[key])

    def seeds(self) -> list[int]:
        return [self.context.base_seed + i for i in range(self.plan.seeds)]

    def spec(self, full_spec: Spec) -> Spec:
        """The report's recipe as this tier runs it."""
        return scale(full_spec, self.tier, self.plan.budget, device=self.context.device)

    # -- runs -----------------------------------------------------------------
    def runs(self, full_spec: Spec, label: str | None = None) -> list[RunResult]:
        """One run per seed of the tier, each from the store (trained if missing)."""
        scaled = self.spec(full_spec)
        label = label or full_spec.model
        self._same_precision(label, scaled)
        results = [self._get(scaled.replace(seed=s), label) for s in self.seeds()]
        self._arms[label] = results
        return results

    def _same_precision(self, label: str, spec: Spec) -> None:
        """Every arm of a claim trains at one precision (a comparison must not measure bf16 against fp32),
        and the finding's recipe records a bf16 one as the assumption it is (the reports trained in fp32
        or do not say)."""
        others = {k: v for k, v in self._precisions.items() if k != label and v != spec.precision}
        if others:
            raise ValueError(f"claim {self.entry.id!r}: arm {label!r} trains in {spec.precision} but "
                             + ", ".join(f"{k!r} in {v}" for k, v in others.items())
                             + "; give the claim's tier one precision (budget: {precision: ...})")
        self._precisions[label] = spec.precision
        if self.tier == "full":  # bf16 on a GPU, fp32 on the CPU: the finding says which it was
            self.finding.budget["precision"] = spec.precision
        if spec.precision == "bf16":
            recipe = dict(self.finding.recipe)
            assumed = recipe.get("assumed")
            assumed = dict(assumed) if isinstance(assumed, Mapping) else ({"reading": assumed} if assumed else {})
            assumed.setdefault("precision", BF16_ASSUMPTION)
            recipe["assumed"] = assumed
            self.finding.recipe = recipe

    def _get(self, spec: Spec, label: str) -> RunResult:
        store = self.context.store
        if self.tier == "full" and not self.context.can_train_full and store.load(spec) is None \
                and store.mode != "cached-only":
            self.skip(f"full tier needs a GPU to train run {spec.key} ({label}); "
                      f"use --device cpu to train on the CPU anyway, or --run-mode cached-only")
        try:
            result = store.get(spec)
        except RunNotCachedError as exc:  # missing, or stored but corrupt: the store's message says which
            self.skip(f"cached-only ({label}): {exc}")
        env = result.environment
        self.finding.runs.append(RunRecord(
            key=result.key, label=label, seed=spec.seed, status=result.status,
            diverged_at_step=result.diverged_at_step, device=env.get("device"),
            hardware=env.get("gpu") or env.get("cpu"), torch=env.get("torch"), wall_time=result.wall_time,
            cpu_time=result.cpu_time, created=result.created, time_split=result.time_split(),
            cpu_kernels=env.get("cpu_kernels")))
        return result

    # -- findings ---------------------------------------------------------------
    def dataset(self, name: str) -> dict[str, data.Split]:
        """A dataset's splits, read from the session's data root (downloaded only where the session allows)."""
        return data.load_arrays(name, self.context.data_root, self.context.download)

    def note(self, text: str) -> None:
        self.finding.notes.append(text)

    def figure(self, kind: str, title: str, runs: Mapping[str, Sequence[RunResult]], metric: str = "test_acc",
               reported: Mapping[Any, Any] | None = None) -> None:
        """A figure of these runs (curves, pruning curves, kernels); its data travel in the finding.
        An unknown kind is a ValueError naming the known ones (harness/figure_kinds.py)."""
        if kind not in RUN_FIGURES:
            raise ValueError(unknown_kind(kind, tuple(RUN_FIGURES)) + f" (a {BAND!r} figure: Claim.band_figure)")
        probes = RUN_FIGURES[kind]
        series = {label: [{"key": r.key, "seed": r.spec.get("seed"),
                           "curves": {"epoch": r.curves.get("epoch", []), metric: r.curves.get(metric, [])},
                           "probes": {p: r.extra.get("probes", {}).get(p) for p in probes}}
                          for r in rs] for label, rs in runs.items()}
        options = {"reported": {str(k): v for k, v in reported.items()}} if reported else {}
        self.finding.figures.append(Figure(kind=kind, title=title, metric=metric, series=series, options=options))

    def band_figure(self, title: str, ylabel: str, series: Mapping[str, Mapping[str, list[float]]], *,
                    log: bool = False, smoothing: str = "") -> None:
        """A fill-between figure of per-step bands (x, lo, hi and optionally line per label)."""
        self.finding.figures.append(Figure(kind=BAND, title=title, series={k: dict(v) for k, v in series.items()},
                                           options={"xlabel": "training step", "ylabel": ylabel, "log": log,
                                                    "smoothing": smoothing}))

    def skip(self, reason: str) -> None:
        self.finding.skip_reason = reason
        pytest.skip(reason)

    def fail(self, reason: str) -> None:
        """Rule the claim out where no interval decides (no run learned at all, say): the verdict
        not-reproduced, with the claim's statement and the rows recorded so far."""
        __tracebackhide__ = True
        self._conclude(stats.NOT_REPRODUCED, reason)

    def note_divergence(self, runs: Mapping[str, Sequence[RunResult]]) -> None:
        """Name every diverged run: its readings cover only the epochs before the divergence."""
        for label, rs in runs.items():
            for r in rs:
                if r.diverged:
                    self.note(f"{label} seed {r.spec['seed']} diverged at step {r.diverged_at_step}; "
                              f"its metrics cover the epochs before that")

    def skip_unless_timeable(self, runs: Mapping[str, Sequence[RunResult]], *, gpu_only: bool = False) -> None:
        """Skip when these runs' epoch times do not compare (a shared GPU, compiled and eager runs mixed,
        or, with `gpu_only`, runs off a GPU: the reports timed on their own GPUs)."""
        flat = [r for rs in runs.values() for r in rs]
        devices = sorted({str(r.environment.get("device", "")) for r in flat})
        if gpu_only and not all(d.startswith("cuda") for d in devices):
            self.skip(f"epoch times only compare on a GPU of its own (the report's); these runs ran on {devices}")
        reason = timing.unfit_for_timing(flat)
        if reason:
            self.skip(reason)

    def _row(self, **row: Any) -> None:
        self.finding.rows.append(row)

    def _compare(self, label: str, iv: stats.Interval, margin: float | None, outcome: str, test: str) -> None:
        self.finding.comparisons.append(Comparison(
            label=label, estimate=iv.to_dict()["estimate"], low=iv.to_dict()["low"], high=iv.to_dict()["high"],
            n=iv.n, method=iv.method, margin=margin, outcome=outcome, confidence=iv.confidence,
            p_value=iv.p_value, test=test))

    def _table(self) -> str:
        return "\n".join(
            f"  {r.get('label', ''):<24} reported={_fmt(r.get('reported'))} measured={_fmt(r.get('measured'))} "
            f"{'ok' if r.get('ok') else 'FAIL'} {r.get('detail', '')}" for r in self.finding.rows) + "\n" + "\n".join(
            f"  {c.label}: {_fmt(c.estimate)} [{_fmt(c.low)}, {_fmt(c.high)}] n={c.n} ({c.method}) -> {c.outcome}"
            for c in self.finding.comparisons)

    def _conclude(self, outcome: str, message: str) -> None:
        """Raise for an outcome other than reproduced: the test's result is the verdict."""
        __tracebackhide__ = True
        text = f"{self.entry.id} [{self.tier}]: {message}\n{self.entry.statement}\n{self._table()}"
        if outcome == stats.NOT_REPRODUCED:
            raise ClaimCheckFailed(text)
        if outcome == stats.INCONCLUSIVE:
            self.finding.skip_reason = f"inconclusive: {message}"
            raise ClaimInconclusive(f"inconclusive: {message}", pytrace=False)

    def _margin(self) -> float:
        return self._tolerance_value("margin")

    def _band(self) -> float:
        """An equivalence band: the tolerance's abs (or its margin)."""
        return self._tolerance_value("abs" if "abs" in self.tolerance else "margin")

    def _abs_or_rel(self, reported: float) -> float:
        tol = self.tolerance
        if "abs" in tol:
            return float(tol["abs"])
        if "rel" in tol:
            return float(tol["rel"]) * abs(reported)
        raise ValueError(f"claim {self.entry.id} [{self.tier}] has no abs/rel tolerance in reference/")

    # -- intervals of a difference ---------------------------------------------------------------
    def _correctness(self, label: str, metric: str, values: Sequence[float]) -> list[np.ndarray] | None:
        """Per-image correctness of the runs behind `values`, seed by seed, or None.

        The arm registered under `label` when its runs match the values; else the one arm whose runs
        do (checks often name an arm by a shorter label than its runs were asked for under)."""
        epoch = accuracy_reading(metric)
        if epoch is None:
            return None
        if label in self._arms and _runs_match(self._arms[label], epoch, values):
            return [r.correctness(epoch) for r in self._arms[label]]
        matching = {tuple(r.key for r in runs): runs for runs in self._arms.values()
                    if _runs_match(runs, epoch, values)}
        if len(matching) != 1:  # none, or two arms with the same accuracies: no way to tell which
            return None
        return [r.correctness(epoch) for r in next(iter(matching.values()))]

    def _diverged(self, label: str, values: Sequence[float]) -> list[str]:
        runs = self._arms.get(label, [])
        out = []
        for i, v in enumerate(values):
            if not math.isfinite(v):
                run = runs[i] if i < len(runs) else None
                step = f" at step {run.diverged_at_step}" if run is not None and run.diverged_at_step is not None else ""
                seed = run.spec.get("seed") if run is not None else i
                out.append(f"{label} seed {seed} diverged{step}")
        return out

    def _difference(self, a: str, a_values: Sequence[float], b: str, b_values: Sequence[float], metric: str,
                    confidence: float = stats.CONFIDENCE) -> stats.Interval:
        """Interval of (a - b): seed-paired t, one-pair McNemar, or divergence as the outcome."""
        a_values, b_values = _values(a_values), _values(b_values)
        if len(a_values) != len(b_values):
            raise ValueError(f"{a} has {len(a_values)} seeds and {b} {len(b_values)}: pairs need equal counts")
        diverged = self._diverged(a, a_values) + self._diverged(b, b_values)
        if diverged:  # a diverged run is worse than any that trained; two diverged runs tie
            signs = [(math.isfinite(x) - math.isfinite(y)) if not (math.isfinite(x) and math.isfinite(y))
                     else float(np.sign(x - y)) for x, y in zip(a_values, b_values)]
            self.note("; ".join(diverged) + " (counted as worse than any run that trained)")
            est = float(np.mean(signs))
            if all(x > 0 for x in signs):
                lo = hi = math.inf
            elif all(x < 0 for x in signs):
                lo = hi = -math.inf
            else:
                lo, hi = -math.inf, math.inf
            return stats.Interval(est, lo, hi, len(signs), "divergence decides: " + "; ".join(diverged), confidence)
        a_hits, b_hits = self._correctness(a, metric, a_values), self._correctness(b, metric, b_values)
        differences = [x - y for x, y in zip(a_values, b_values)]
        if len(a_values) >= 2:
            if a_hits and b_hits:
                return stats.paired_t_with_test_set(differences, a_hits, b_hits, confidence)
            return stats.paired_t(differences, confidence)
        if a_hits and b_hits:
            return stats.paired_test_set(a_hits[0], b_hits[0], confidence)
        return stats.Interval(a_values[0] - b_values[0], -math.inf, math.inf, 1,
                              "one run per arm and no per-image data for this metric: no interval", confidence)

    def _better(self, a: str, a_values, b: str, b_values, metric: str, margin: float, comparisons: int = 1) -> str:
        support = self._difference(a, a_values, b, b_values, metric)
        refute = support if comparisons == 1 else self._difference(
            a, a_values, b, b_values, metric, 1 - (1 - stats.CONFIDENCE) / comparisons)
        outcome = stats.decide_better(support, refute, margin)
        self._compare(f"{a} - {b} ({metric})", support, margin, outcome, "better")
        return outcome

    # -- checks -----------------------------------------------------------------
    def within(self, label: str, measured: float | Sequence[float], reported: float,
               tolerance: Mapping[str, Any] | None = None) -> str:
        """Is the reported value consistent with ours? Per-seed values give a prediction interval for
        one run, widened by the tolerance and the report's rounding; one value is compared directly."""
        values = _values(measured)
        allowed = self._abs_or_rel(reported) if tolerance is None else \
            float(tolerance.get("abs", float(tolerance.get("rel", 0.0)) * abs(reported)))
        mean = float(np.mean(values))
        if not all(map(math.isfinite, values)):
            outcome, iv = stats.NOT_REPRODUCED, stats.Interval(mean, math.nan, math.nan, len(values),
                                                               "a run diverged: no finite value")
        else:
            iv = stats.prediction_interval(values) if isinstance(measured, (list, tuple, np.ndarray)) else \
                stats.Interval(mean, mean, mean, 1, "exact value")
            rounding = stats.rounding_half_unit(reported) if len(values) > 1 else 0.0
            ok = iv.low - allowed - rounding - 1e-12 <= reported <= iv.high + allowed + rounding + 1e-12
            outcome = stats.REPRODUCED if ok else stats.NOT_REPRODUCED
        self._row(label=label, reported=reported, measured=mean, delta=mean - reported, tolerance=allowed,
                  spread=_spread(values), n=len(values), ok=outcome == stats.REPRODUCED)
        self._compare(label, iv, allowed, outcome, "consistent")
        self._outcomes.append(outcome)
        return outcome

    def check_within(self, label: str, measured: float | Sequence[float], reported: float) -> None:
        """The reported value lies within our runs' spread (per-seed values) plus the tolerance."""
        __tracebackhide__ = True
        if self.within(label, measured, reported) != stats.REPRODUCED:
            self._conclude(stats.NOT_REPRODUCED,
                           f"{label}: measured {_fmt(float(np.mean(_values(measured))))} is not consistent with "
                           f"{_fmt(reported)} +- tolerance")

    def _unless_at_chance(self, outcome: str, metric: str, *arms: Sequence[float]) -> str:
        """An equivalence of test accuracies is inconclusive when every run of every arm is at chance."""
        values = [v for arm in arms for v in _values(arm)]
        if accuracy_reading(metric) is None or not all(math.isfinite(v) for v in values) \
                or max(values) > CHANCE_ACCURACY + CHANCE_SLACK:
            return outcome
        self.note(f"every run is at chance on {metric} (at most {max(values):.3f}, chance {CHANCE_ACCURACY:.2f} + "
                  f"{CHANCE_SLACK}): similarity between models that have not learned is no evidence, so inconclusive")
        return stats.INCONCLUSIVE

    def check_equivalent(self, a: str, a_values: Sequence[float], b: str, b_values: Sequence[float],
                         metric: str) -> None:
        """`a` and `b` do not differ by more than the band (tolerance `abs`, else `margin`): two one-sided tests."""
        __tracebackhide__ = True
        band = self._band()
        tost = self._difference(a, a_values, b, b_values, metric, confidence=1 - 2 * (1 - stats.CONFIDENCE))
        wide = self._difference(a, a_values, b, b_values, metric)
        outcome = self._unless_at_chance(stats.decide_equivalent(tost, wide, band), metric, a_values, b_values)
        self._compare(f"{a} - {b} ({metric})", tost, band, outcome, "equivalent")
        for label, vals in ((a, a_values), (b, b_values)):
            vals = _values(vals)
            self._row(label=label, reported=(self.reported or {}).get(label) if isinstance(self.reported, Mapping)
                      else None, measured=float(np.mean(vals)), spread=_spread(vals), n=len(vals),
                      ok=outcome == stats.REPRODUCED, detail=f"{metric}; equivalence band +-{band}")
        self._conclude(outcome, f"{a} vs {b} on {metric}: 90% interval [{_fmt(tost.low)}, {_fmt(tost.high)}] "
                                f"against the band +-{band}")

    def check_all_similar(self, values: Mapping[str, Sequence[float]], metric: str) -> None:
        """Every pair of configurations is equivalent within the band (TOST per pair)."""
        __tracebackhide__ = True
        band = self._band()
        labels = list(values)
        outcomes = []
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                tost = self._difference(a, values[a], b, values[b], metric, 1 - 2 * (1 - stats.CONFIDENCE))
                wide = self._difference(a, values[a], b, values[b], metric)
                outcomes.append(self._unless_at_chance(stats.decide_equivalent(tost, wide, band), metric,
                                                       values[a], values[b]))
                self._compare(f"{a} - {b} ({metric})", tost, band, outcomes[-1], "equivalent")
        for label in labels:
            vals = _values(values[label])
            self._row(label=label, measured=float(np.mean(vals)), spread=_spread(vals), n=len(vals),
                      ok=True, detail=f"{metric}; equivalence band +-{band}")
        self._conclude(stats.combine(outcomes), f"{', '.join(labels)} similar on {metric} within +-{band}")

    def check_ranks_first(self, winner: str, values: Mapping[str, Sequence[float]], metric: str) -> None:
        """`winner` is ahead of every other configuration by more than the margin (one interval each)."""
        __tracebackhide__ = True
        margin = self._margin()
        others = [k for k in values if k != winner]
        outcomes = {k: self._better(winner, values[winner], k, values[k], metric, margin, len(others))
                    for k in others}
        means = {k: float(np.mean(_values(v))) if all(map(math.isfinite, _values(v))) else -math.inf
                 for k, v in values.items()}
        ranking = sorted(means, key=means.get, reverse=True)
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        for label in ranking:
            vals = _values(values[label])
            self._row(label=label, reported=reported.get(label), measured=means[label], spread=_spread(vals),
                      n=len(vals), rank=ranking.index(label) + 1,
                      ok=label == winner or outcomes[label] == stats.REPRODUCED,
                      detail=f"{metric}, mean of {len(vals)} seed(s)")
        self._conclude(stats.combine(list(outcomes.values())),
                       f"{winner} first by {metric} (margin {margin}); ranking by mean: {ranking}")

    def check_paired_better(self, better: str, better_values: Sequence[float], worse: str,
                            worse_values: Sequence[float], metric: str) -> None:
        """`better` beats `worse` by more than the margin: interval of the seed-paired difference."""
        __tracebackhide__ = True
        outcome = self._better(better, better_values, worse, worse_values, metric, self._margin())
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        diffs = [a - b for a, b in zip(_values(better_values), _values(worse_values))]
        wins = sum(d > 0 for d in diffs)
        for label, vals in ((better, better_values), (worse, worse_values)):
            vals = _values(vals)
            self._row(label=label, reported=reported.get(label),
                      measured=float(np.mean(vals)) if all(map(math.isfinite, vals)) else None,
                      spread=_spread(vals), n=len(vals), ok=outcome == stats.REPRODUCED,
                      detail=f"{metric}; {better} wins {wins}/{len(diffs)} seed pairs")
        self._conclude(outcome, f"{better} beats {worse} by more than {self._margin()} on {metric}")

    def check_ordered(self, labels: Sequence[str], values: Mapping[str, Sequence[float]], metric: str) -> None:
        """Each configuration along `labels` (best first) beats the next by more than the margin."""
        __tracebackhide__ = True
        margin = self._margin()
        pairs = list(zip(labels, labels[1:]))
        outcomes = {(a, b): self._better(a, values[a], b, values[b], metric, margin, len(pairs)) for a, b in pairs}
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        for label in labels:
            vals = _values(values[label])
            self._row(label=label, reported=reported.get(label),
                      measured=float(np.mean(vals)) if all(map(math.isfinite, vals)) else None,
                      spread=_spread(vals), n=len(vals),
                      ok=all(o == stats.REPRODUCED for pair, o in outcomes.items() if label in pair),
                      detail=f"{metric}, expected position {list(labels).index(label) + 1}")
        self._conclude(stats.combine(list(outcomes.values())), f"order {' > '.join(labels)} on {metric}")

    def check_at_least(self, label: str, measured: float | Sequence[float], bound: float,
                       runs: Sequence[RunResult] | None = None, reading: str | None = None) -> None:
        """The mean reaches `bound` - abs slack (a headline such as "reaches 96%"): one-sided bounds
        over seeds (a list of per-seed values), or for one run of a test accuracy (`runs`, `reading`
        best|final) its binomial bounds; a plain number is an exact quantity, compared as it is."""
        __tracebackhide__ = True
        values = _values(measured)
        slack = self._tolerance_value("abs")
        target = bound - slack
        if not all(map(math.isfinite, values)):
            outcome = stats.NOT_REPRODUCED
            iv = stats.Interval(math.nan, math.nan, math.nan, len(values), "a run diverged: no finite value")
        elif not isinstance(measured, (list, tuple, np.ndarray)):  # an exact quantity, not a measurement over seeds
            iv = stats.Interval(values[0], values[0], values[0], 1, "exact value")
            outcome = stats.decide_at_least(iv, target)
        else:
            correct = runs[0].correctness(reading) if runs and reading and len(values) == 1 else None
            iv = stats.one_sided_bounds(values, correct=correct)
            outcome = stats.decide_at_least(iv, target)
        mean = float(np.mean(values))
        self._row(label=label, reported=bound, measured=mean, delta=mean - bound, tolerance=slack,
                  n=len(values), spread=_spread(values), ok=outcome == stats.REPRODUCED, detail="at least")
        self._compare(label, iv, target, outcome, "at-least")
        self._conclude(outcome, f"{label}: {_fmt(mean)} against the bound {_fmt(bound)} - {slack}")

    def check_paired_at_least(self, label: str, a: str, a_values: Sequence[float], b: str,
                              b_values: Sequence[float], metric: str, bound: float) -> None:
        """The seed-paired mean of (a - b) reaches `bound` - abs slack ("no gain", "not slower"): one-sided
        95% bounds from the same interval as every paired comparison (widened by the test set's sampling
        variance where the runs kept per-image correctness)."""
        __tracebackhide__ = True
        slack = self._tolerance_value("abs")
        target = bound - slack
        iv = self._difference(a, a_values, b, b_values, metric, confidence=2 * stats.CONFIDENCE - 1)
        if math.isfinite(iv.estimate) and not iv.method.startswith("divergence"):
            iv = stats.Interval(iv.estimate, iv.low, iv.high, iv.n, f"one-sided {stats.CONFIDENCE:.0%} bounds: "
                                + iv.method, stats.CONFIDENCE, iv.p_value)
        outcome = stats.decide_at_least(iv, target)
        self._row(label=label, reported=bound, measured=iv.estimate, delta=iv.estimate - bound, tolerance=slack,
                  n=iv.n, spread=_spread([x - y for x, y in zip(_values(a_values), _values(b_values))]),
                  ok=outcome == stats.REPRODUCED, detail="at least")
        self._compare(label, iv, target, outcome, "at-least")
        self._conclude(outcome, f"{label}: {_fmt(iv.estimate)} against the bound {_fmt(bound)} - {slack}")

    def check_all_rows(self, what: str) -> None:
        """One verdict for the rows recorded so far by `within`: any inconsistent one rules the claim out."""
        __tracebackhide__ = True
        bad = [r["label"] for r in self.finding.rows if not r.get("ok")]
        self._conclude(stats.combine(self._outcomes) if self._outcomes else stats.REPRODUCED,
                       f"{what}: {', '.join(bad) or 'none'} outside tolerance")
