"""The claim API a test uses: ask for runs, make one check, leave a finding.

A Claim knows its reference entry and tier. `runs()` scales the report's recipe to the tier
and gets every seed from the RunStore; the checks compare measured with reported values
through harness/claim/stats.py (an estimate, a 95% interval, the method) and end in one of three
outcomes: reproduced (the check returns), not-reproduced (ClaimCheckFailed), inconclusive
(ClaimInconclusive, a skip). Everything lands in the Claim's typed Finding.

A check takes each arm's values as a reading returns them (harness/claim/readings.py `Measured`): the
reading, not the check's label, says which way is better, how a diverged run counts, and whether one run
per arm can give an interval (per-image correctness of a test accuracy, per-epoch times). A check that
cannot give a finite interval with its seeds and reading raises UndecidableCheck, an error of the plan.
"""
from __future__ import annotations

import math
import os
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
from .readings import AT_CHANCE, CHANCE_ACCURACY, Measured, at_chance

# "Similar" between untrained models is no evidence: an equivalence on a test accuracy whose arms all sit
# at chance (every dataset here has 10 classes) is inconclusive. The slack is about two binomial standard
# errors of 10% accuracy on the fast tier's 1,000 test images (sqrt(0.1 * 0.9 / 1000) = 0.0095).
CHANCE_SLACK = AT_CHANCE - CHANCE_ACCURACY


BF16_ASSUMPTION = ("bf16 autocast (fp32 weights, optimizer state and BatchNorm statistics): the report does not "
                   "train in bf16; every arm of the claim trains alike (harness/claim/tiers.py full_precision)")


class ClaimCheckFailed(AssertionError):
    """The measured values rule the claim out."""


class ClaimInconclusive(Skipped):
    """The interval neither supports nor rules out the claim: an honest verdict, not a failure."""


class UndecidableCheck(Exception):
    """A check whose method cannot give a finite interval with its seeds and reading (one run per arm of a
    reading that has no per-image or per-epoch record): it could never decide, whatever the runs show, so
    it is an error of the claim's plan, not an inconclusive verdict."""


@dataclass
class ClaimContext:
    """Session-wide settings every Claim shares."""

    store: RunStore
    base_seed: int = 0
    can_train_full: bool = False  # a GPU is present, or the user asked for CPU explicitly
    device: str | None = None  # --device: None trains each tier on its own device kind (tiers.TIER_DEVICES)
    data_root: str | os.PathLike | None = None  # None: harness/settings.py's default
    download: bool | None = None
    # The session's reference entries by claim id, so a claim can read another entry of its report (reported_of).
    entries: Mapping[str, ClaimEntry] = field(default_factory=dict)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _level(confidence: float) -> str:
    """95% as '95%', a look's 98.21% with its decimals."""
    return f"{confidence:.0%}" if round(confidence, 2) == confidence else f"{confidence:.2%}"


def _spread(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 and all(map(math.isfinite, values)) else None


def _values(measured: float | Sequence[float]) -> list[float]:
    return [float(v) for v in measured] if isinstance(measured, (list, tuple, np.ndarray)) else [float(measured)]


def _ranked(measured: Sequence[float]) -> list[float]:
    """Values as they order against others: a NaN is the reading's worst value (-inf in a plain list: a run
    that has no reading is worse than any that trained); a reading with no direction keeps NaN (no order)."""
    worst = measured.worst if isinstance(measured, Measured) else -math.inf
    return [worst if math.isnan(v) else v for v in _values(measured)]


def _sign(difference: float) -> float:
    """+1, -1, or 0 for a tie (two diverged runs) or no order (a NaN)."""
    return 0.0 if math.isnan(difference) else float(np.sign(difference))


def _records(measured: Sequence[float]) -> list[np.ndarray] | None:
    """The per-image correctness behind a reading's values, run by run (None for a value without)."""
    return measured.records() if isinstance(measured, Measured) else None


def _epochs(measured: Sequence[float]) -> list[list[float]] | None:
    """The per-epoch values behind a reading's medians, run by run, where each run has two or more."""
    samples = measured.epoch_samples if isinstance(measured, Measured) else None
    return samples if samples and all(len(s) >= 2 for s in samples) else None


@dataclass
class Claim:
    entry: ClaimEntry
    tier: str
    context: ClaimContext
    report_title: str = ""
    # The level this look tests at (harness/claim/sequential.py): 95% unless adaptive seeding spends it over looks.
    confidence: float = stats.CONFIDENCE
    seed_count: int | None = None  # seeds per arm at this look; None: the tier's reference count
    finding: Finding = field(init=False)
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
        count = self.plan.seeds if self.seed_count is None else self.seed_count
        return [self.context.base_seed + i for i in range(count)]

    def next_look(self, seeds: int, confidence: float) -> dict[str, Any]:
        """Start the check again at a later look of adaptive seeding: more seeds per arm, its own level, and a
        finding emptied of the previous look's evidence, which this returns (`Finding.put_back` restores it; the
        looks themselves are kept in `finding.looks`)."""
        self.seed_count, self.confidence = seeds, confidence
        self._outcomes.clear()
        self._precisions.clear()
        return self.finding.take_evidence()

    def spec(self, full_spec: Spec) -> Spec:
        """The report's recipe as this tier runs it."""
        return scale(full_spec, self.tier, self.plan.budget, device=self.context.device)

    # -- runs -----------------------------------------------------------------
    def runs(self, full_spec: Spec, label: str | None = None) -> list[RunResult]:
        """One run per seed of the tier, each from the store (trained if missing)."""
        scaled = self.spec(full_spec)
        label = label or full_spec.model
        self._same_precision(label, scaled)
        return [self._get(scaled.replace(seed=s), label) for s in self.seeds()]

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
        """Name every diverged run: whatever its epochs before the divergence read, every reading of it
        is the reading's worst value (harness/claim/readings.py), worse than any run that trained."""
        for label, rs in runs.items():
            for r in rs:
                if r.diverged:
                    self.note(f"{label} seed {r.spec['seed']} diverged at step {r.diverged_at_step}; "
                              f"its readings count it as diverged (the reading's worst value)")

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
        mde, seeds_needed = stats.power_summary(iv, margin, test, outcome)
        self.finding.comparisons.append(Comparison(
            label=label, estimate=iv.to_dict()["estimate"], low=iv.to_dict()["low"], high=iv.to_dict()["high"],
            n=iv.n, method=iv.method, margin=margin, outcome=outcome, confidence=iv.confidence,
            p_value=iv.p_value, test=test, mde=mde, seeds_needed=seeds_needed))

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
    def _decidable(self, *arms: tuple[str, Sequence[float]], usable: Sequence[str] = ("test images", "epochs")) -> None:
        """Raise UndecidableCheck when these arms' interval cannot be finite by construction: one run per arm
        and, for some arm, a reading without a within-run record the interval can use (`usable`: per-image
        correctness, per-epoch values), whatever the values."""
        if min(len(_values(v)) for _, v in arms) >= 2:
            return
        blind = [label for label, v in arms if not (isinstance(v, Measured) and v.within_run in usable)]
        if blind:
            raise UndecidableCheck(
                f"claim {self.entry.id!r} [{self.tier}] can never decide: one run per arm, and the values of "
                f"{', '.join(map(repr, blind))} carry no per-image or per-epoch record, so the interval is "
                f"(-inf, inf) whatever the runs show. Fix reference/{self.entry.source_file}: give "
                f"tiers.{self.tier}.seeds >= 2 (a seed-paired interval), or decide on a reading that one run can "
                f"carry (a test accuracy's per-image correctness, an epoch time's epochs), or take the claim "
                f"out of this tier with its reason")

    def _diverged(self, label: str, values: Sequence[float]) -> list[str]:
        """'label seed s diverged at step n' for each non-finite value (a diverged run, or no reading)."""
        runs = getattr(values, "runs", ())
        out = []
        for i, v in enumerate(_values(values)):
            run = runs[i] if i < len(runs) else None
            if run is not None and getattr(run, "diverged", False):
                out.append(f"{label} seed {run.spec.get('seed')} diverged at step {run.diverged_at_step}")
            elif not math.isfinite(v):
                out.append(f"{label} {'seed ' + str(run.spec.get('seed')) if run is not None else f'value {i + 1}'} "
                           f"has no finite reading")
        return out

    def _difference(self, a: str, a_values: Sequence[float], b: str, b_values: Sequence[float], metric: str,
                    confidence: float | None = None) -> stats.Interval:
        """Interval of (a - b): seed-paired t, one-pair McNemar or per-epoch Welch, or divergence as the outcome.
        The readings say which applies (their per-image and per-epoch records), never the label `metric`."""
        confidence = self.confidence if confidence is None else confidence
        xs, ys = _values(a_values), _values(b_values)
        if len(xs) != len(ys):
            raise ValueError(f"{a} has {len(xs)} seeds and {b} {len(ys)}: pairs need equal counts")
        self._decidable((a, a_values), (b, b_values))
        if not all(map(math.isfinite, xs + ys)):  # a diverged run is worse than any that trained; two tie
            diverged = self._diverged(a, a_values) + self._diverged(b, b_values)
            signs = [_sign(x - y) for x, y in zip(_ranked(a_values), _ranked(b_values))]
            self.note("; ".join(diverged) + " (counted as worse than any run that trained)")
            est = float(np.mean(signs))
            if all(x > 0 for x in signs):
                lo = hi = math.inf
            elif all(x < 0 for x in signs):
                lo = hi = -math.inf
            else:
                lo, hi = -math.inf, math.inf
            return stats.Interval(est, lo, hi, len(signs), "divergence decides: " + "; ".join(diverged), confidence)
        a_hits, b_hits = _records(a_values), _records(b_values)
        differences = [x - y for x, y in zip(xs, ys)]
        if len(xs) >= 2:
            if a_hits and b_hits:
                return stats.paired_t_with_test_set(xs, ys, a_hits, b_hits, confidence)
            return stats.paired_t(differences, confidence)
        if a_hits and b_hits:
            return stats.paired_test_set(a_hits[0], b_hits[0], confidence)
        a_epochs, b_epochs = _epochs(a_values), _epochs(b_values)
        if a_epochs and b_epochs:
            return stats.median_difference_over_epochs(xs[0] - ys[0], a_epochs[0], b_epochs[0], confidence)
        return stats.Interval(xs[0] - ys[0], -math.inf, math.inf, 1,
                              "one run per arm, and a run kept no per-image record: no interval", confidence)

    def _better(self, a: str, a_values, b: str, b_values, metric: str, margin: float, comparisons: int = 1) -> str:
        support = self._difference(a, a_values, b, b_values, metric)
        refute = support if comparisons == 1 else self._difference(
            a, a_values, b, b_values, metric, 1 - (1 - self.confidence) / comparisons)
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
        chance = self._chance(label, measured)
        self._row(label=label, reported=reported, measured=mean, delta=mean - reported, tolerance=allowed,
                  spread=_spread(values), n=len(values), ok=outcome == stats.REPRODUCED,
                  **({"detail": chance.removeprefix("; ")} if chance else {}))
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

    def _chance(self, label: str, values: Any) -> str:
        """Name an arm whose runs sit at chance (best test accuracy at most AT_CHANCE: they never trained) in a
        note, once, and return the row's detail for it; '' for an arm that trained or values with no runs."""
        stuck = at_chance(values) if isinstance(values, Measured) else []
        if not stuck:
            return ""
        accs = ", ".join(f"{r.best_test_acc:.2f}" for r in stuck)
        if len(stuck) == len(values.runs):
            text, detail = f"arm {label!r} is at chance (best test accuracy {accs}): it never trained", "at chance"
        else:
            seeds = ", ".join(str(r.spec.get("seed")) for r in stuck)
            text = f"arm {label!r}: seed(s) {seeds} at chance (best test accuracy {accs}): they never trained"
            detail = f"{len(stuck)}/{len(values.runs)} runs at chance"
        if text not in self.finding.notes:
            self.note(text)
        return f"; {detail}"

    def _unless_at_chance(self, outcome: str, metric: str, *arms: Sequence[float]) -> str:
        """An equivalence of test accuracies (the reading says so) is inconclusive when every run of every arm
        is at chance."""
        values = [v for arm in arms for v in _values(arm)]
        if not all(isinstance(arm, Measured) and arm.correct_at for arm in arms) \
                or not all(math.isfinite(v) for v in values) or max(values) > CHANCE_ACCURACY + CHANCE_SLACK:
            return outcome
        self.note(f"every run is at chance on {metric} (at most {max(values):.3f}, chance {CHANCE_ACCURACY:.2f} + "
                  f"{CHANCE_SLACK:.2f}): similarity between models that have not learned is no evidence, "
                  f"so inconclusive")
        return stats.INCONCLUSIVE

    def check_equivalent(self, a: str, a_values: Sequence[float], b: str, b_values: Sequence[float],
                         metric: str) -> None:
        """`a` and `b` do not differ by more than the band (tolerance `abs`, else `margin`): two one-sided tests."""
        __tracebackhide__ = True
        band = self._band()
        tost = self._difference(a, a_values, b, b_values, metric, confidence=1 - 2 * (1 - self.confidence))
        wide = self._difference(a, a_values, b, b_values, metric)
        outcome = self._unless_at_chance(stats.decide_equivalent(tost, wide, band), metric, a_values, b_values)
        self._compare(f"{a} - {b} ({metric})", tost, band, outcome, "equivalent")
        for label, arm in ((a, a_values), (b, b_values)):
            vals = _values(arm)
            self._row(label=label, reported=(self.reported or {}).get(label) if isinstance(self.reported, Mapping)
                      else None, measured=float(np.mean(vals)), spread=_spread(vals), n=len(vals),
                      ok=outcome == stats.REPRODUCED,
                      detail=f"{metric}; equivalence band +-{band}" + self._chance(label, arm))
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
                tost = self._difference(a, values[a], b, values[b], metric, 1 - 2 * (1 - self.confidence))
                wide = self._difference(a, values[a], b, values[b], metric)
                outcomes.append(self._unless_at_chance(stats.decide_equivalent(tost, wide, band), metric,
                                                       values[a], values[b]))
                self._compare(f"{a} - {b} ({metric})", tost, band, outcomes[-1], "equivalent")
        for label in labels:
            vals = _values(values[label])
            self._row(label=label, measured=float(np.mean(vals)), spread=_spread(vals), n=len(vals),
                      ok=True, detail=f"{metric}; equivalence band +-{band}" + self._chance(label, values[label]))
        self._conclude(stats.combine(outcomes), f"{', '.join(labels)} similar on {metric} within +-{band}")

    def check_ranks_first(self, winner: str, values: Mapping[str, Sequence[float]], metric: str) -> None:
        """`winner` is ahead of every other configuration by more than the margin (one interval each)."""
        __tracebackhide__ = True
        margin = self._margin()
        others = [k for k in values if k != winner]
        outcomes = {k: self._better(winner, values[winner], k, values[k], metric, margin, len(others))
                    for k in others}
        means = {k: float(np.mean(_ranked(v))) for k, v in values.items()}  # a diverged run at its reading's worst
        means = {k: -math.inf if math.isnan(m) else m for k, m in means.items()}
        ranking = sorted(means, key=means.get, reverse=True)
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        for label in ranking:
            vals = _values(values[label])
            self._row(label=label, reported=reported.get(label),
                      measured=means[label] if math.isfinite(means[label]) else None, spread=_spread(vals),
                      n=len(vals), rank=ranking.index(label) + 1,
                      ok=label == winner or outcomes[label] == stats.REPRODUCED,
                      detail=f"{metric}, mean of {len(vals)} seed(s)" + self._chance(label, values[label]))
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
        for label, arm in ((better, better_values), (worse, worse_values)):
            vals = _values(arm)
            self._row(label=label, reported=reported.get(label),
                      measured=float(np.mean(vals)) if all(map(math.isfinite, vals)) else None,
                      spread=_spread(vals), n=len(vals), ok=outcome == stats.REPRODUCED,
                      detail=f"{metric}; {better} wins {wins}/{len(diffs)} seed pairs" + self._chance(label, arm))
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
                      detail=f"{metric}, expected position {list(labels).index(label) + 1}"
                      + self._chance(label, values[label]))
        self._conclude(stats.combine(list(outcomes.values())), f"order {' > '.join(labels)} on {metric}")

    def check_at_least(self, label: str, measured: float | Sequence[float], bound: float) -> None:
        """The mean reaches `bound` - abs slack (a headline such as "reaches 96%"): one-sided bounds
        over seeds (a list of per-seed values), or for one run of a test accuracy (a reading that keeps
        per-image correctness) its binomial bounds; a plain number is an exact quantity, compared as it is."""
        __tracebackhide__ = True
        values = _values(measured)
        slack = self._tolerance_value("abs")
        target = bound - slack
        exact = not isinstance(measured, (list, tuple, np.ndarray))
        if not exact:
            self._decidable((label, measured), usable=("test images",))
        if not all(map(math.isfinite, values)):
            outcome = stats.NOT_REPRODUCED
            iv = stats.Interval(math.nan, math.nan, math.nan, len(values), "a run diverged: no finite value")
        elif exact:  # an exact quantity, not a measurement over seeds
            iv = stats.Interval(values[0], values[0], values[0], 1, "exact value")
            outcome = stats.decide_at_least(iv, target)
        else:
            records = _records(measured)
            iv = stats.one_sided_bounds(values, self.confidence,
                                        correct=records[0] if records and len(values) == 1 else None,
                                        records=records if records and len(values) >= 2 else None)
            outcome = stats.decide_at_least(iv, target)
        mean = float(np.mean(values))
        self._row(label=label, reported=bound, measured=mean, delta=mean - bound, tolerance=slack,
                  n=len(values), spread=_spread(values), ok=outcome == stats.REPRODUCED,
                  detail="at least" + self._chance(label, measured))
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
        iv = self._difference(a, a_values, b, b_values, metric, confidence=2 * self.confidence - 1)
        if math.isfinite(iv.estimate) and not iv.method.startswith("divergence"):
            iv = stats.Interval(iv.estimate, iv.low, iv.high, iv.n, f"one-sided {_level(self.confidence)} bounds: "
                                + iv.method, self.confidence, iv.p_value, iv.noise)
        outcome = stats.decide_at_least(iv, target)
        self._row(label=label, reported=bound, measured=iv.estimate, delta=iv.estimate - bound, tolerance=slack,
                  n=iv.n, spread=_spread([x - y for x, y in zip(_values(a_values), _values(b_values))]),
                  ok=outcome == stats.REPRODUCED,
                  detail="at least" + self._chance(a, a_values) + self._chance(b, b_values))
        self._compare(label, iv, target, outcome, "at-least")
        self._conclude(outcome, f"{label}: {_fmt(iv.estimate)} against the bound {_fmt(bound)} - {slack}")

    def check_all_rows(self, what: str) -> None:
        """One verdict for the rows recorded so far by `within`: any inconsistent one rules the claim out."""
        __tracebackhide__ = True
        bad = [r["label"] for r in self.finding.rows if not r.get("ok")]
        self._conclude(stats.combine(self._outcomes) if self._outcomes else stats.REPRODUCED,
                       f"{what}: {', '.join(bad) or 'none'} outside tolerance")

    def reported_of(self, claim_id: str) -> Any:
        """The `reported` value of another entry of this claim's report: a claim whose entry quotes no table draws
        the table its report gives in another entry (a pruning curve over the table claim's cells, say)."""
        other = self.context.entries.get(claim_id)
        if other is None or other.report != self.entry.report:
            where = "not in the session's reference" if other is None else \
                f"of report {other.report}, not {self.entry.report}"
            raise ReferenceError(f"claim {self.entry.id!r} reads the reported values of {claim_id!r}: {where} "
                                 f"(only an entry of reference/{self.entry.source_file} can be read)")
        return other.reported
