"""The claim API a test uses: ask for runs, make one check, leave a finding.

A Claim knows its reference entry and tier. `runs()` scales the report's
recipe to the tier and gets every seed from the RunStore; the checks compare
measured against reported values with the entry's tolerance and record a
table row for each comparison; a failed check raises with that table.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pytest

from .reference import ClaimEntry, TierPlan
from .result import RunResult
from .runs import RunNotCachedError, RunStore
from .spec import Spec
from .tiers import scale


class ClaimCheckFailed(AssertionError):
    """The measured values do not support the claim."""


@dataclass
class ClaimContext:
    """Session-wide settings every Claim shares."""

    store: RunStore
    base_seed: int = 0
    can_train_full: bool = False  # a GPU is present, or the user asked for CPU explicitly
    device: str | None = None  # --device: None trains each tier on its own device kind (tiers.TIER_DEVICES)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if len(finite) == len(values) and finite else float("-inf")


def _spread(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 and all(map(math.isfinite, values)) else None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Claim:
    entry: ClaimEntry
    tier: str
    context: ClaimContext
    on_change: Callable[[dict[str, Any]], None] = lambda finding: None
    finding: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.finding = {
            "claim_id": self.entry.id, "report": self.entry.report, "kind": self.entry.kind,
            "tier": self.tier, "statement": self.entry.statement, "location": self.entry.location,
            "expect": self.entry.expect, "why": self.entry.why, "rows": [], "runs": [], "notes": [],
            "figures": [], "seeds": self.plan.seeds, "budget": self.plan.budget,
        }
        self._publish()

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

    def seeds(self) -> list[int]:
        return [self.context.base_seed + i for i in range(self.plan.seeds)]

    def spec(self, full_spec: Spec) -> Spec:
        """The report's recipe as this tier runs it."""
        return scale(full_spec, self.tier, self.plan.budget, device=self.context.device)

    # -- runs -----------------------------------------------------------------
    def runs(self, full_spec: Spec, label: str | None = None) -> list[RunResult]:
        """One run per seed of the tier, each from the store (trained if missing)."""
        scaled = self.spec(full_spec)
        return [self._get(scaled.replace(seed=s), label or full_spec.model) for s in self.seeds()]

    def run(self, full_spec: Spec, label: str | None = None) -> RunResult:
        """A single run (the tier's first seed); comparisons should prefer `runs`."""
        return self._get(self.spec(full_spec).replace(seed=self.seeds()[0]), label or full_spec.model)

    def _get(self, spec: Spec, label: str) -> RunResult:
        store = self.context.store
        if self.tier == "full" and not self.context.can_train_full and store.load(spec) is None \
                and store.mode != "cached-only":
            self.skip(f"full tier needs a GPU to train run {spec.key} ({label}); "
                      f"use --device cpu to train on the CPU anyway, or --run-mode cached-only")
        try:
            result = store.get(spec)
        except RunNotCachedError:
            self.skip(f"cached-only: run {spec.key} ({label}, seed {spec.seed}) is not in {store.root}")
        self.finding["runs"].append({
            "key": result.key, "label": label, "seed": spec.seed, "status": result.status,
            "diverged_at_step": result.diverged_at_step, "device": result.environment.get("device"),
            "wall_time": result.wall_time, "cpu_time": result.cpu_time, "created": result.created,
            "torch": result.environment.get("torch"), "time_split": result.time_split(),
            "hardware": result.environment.get("gpu") or result.environment.get("cpu"),
        })
        self._publish()
        return result

    # -- findings ---------------------------------------------------------------
    def note(self, text: str) -> None:
        self.finding["notes"].append(text)
        self._publish()

    def figure(self, kind: str, title: str, runs: Mapping[str, Sequence[RunResult]], metric: str = "test_acc") -> None:
        """Ask the report for a figure of these runs' curves (read back from the store)."""
        self.finding["figures"].append({
            "kind": kind, "title": title, "metric": metric,
            "series": {label: [r.key for r in rs] for label, rs in runs.items()},
        })
        self._publish()

    def skip(self, reason: str) -> None:
        self.finding["skip_reason"] = reason
        self._publish()
        pytest.skip(reason)

    def _row(self, **row: Any) -> None:
        self.finding["rows"].append(row)
        self._publish()

    def _publish(self) -> None:
        self.on_change(self.finding)

    def _fail(self, message: str) -> None:
        __tracebackhide__ = True
        table = "\n".join(
            f"  {r.get('label', ''):<24} reported={_fmt(r.get('reported'))} measured={_fmt(r.get('measured'))} "
            f"{'ok' if r.get('ok') else 'FAIL'} {r.get('detail', '')}" for r in self.finding["rows"])
        raise ClaimCheckFailed(f"{self.entry.id} [{self.tier}]: {message}\n{self.entry.statement}\n{table}")

    # -- checks -----------------------------------------------------------------
    def within(self, label: str, measured: float, reported: float, tolerance: Mapping[str, Any] | None = None) -> bool:
        """|measured - reported| within the tier's abs (or rel) tolerance; records a row, returns ok."""
        tol = dict(tolerance or self.tolerance)
        if "abs" in tol:
            allowed = float(tol["abs"])
        elif "rel" in tol:
            allowed = float(tol["rel"]) * abs(reported)
        else:
            raise ValueError(f"claim {self.entry.id} [{self.tier}] has no abs/rel tolerance in reference/")
        delta = measured - reported
        ok = math.isfinite(measured) and abs(delta) <= allowed + 1e-12
        self._row(label=label, reported=reported, measured=measured, delta=delta, tolerance=allowed, ok=ok)
        return ok

    def check_within(self, label: str, measured: float, reported: float) -> None:
        __tracebackhide__ = True
        if not self.within(label, measured, reported):
            self._fail(f"{label}: measured {_fmt(measured)} is outside {_fmt(reported)} +- tolerance")

    def check_ranks_first(self, winner: str, values: Mapping[str, Sequence[float]], metric: str) -> None:
        """`winner` has the highest mean over seeds, ahead of every other by the tier's margin."""
        __tracebackhide__ = True
        margin = float(self.tolerance.get("margin", 0.0))
        means = {k: _mean(v) for k, v in values.items()}
        ranking = sorted(means, key=means.get, reverse=True)
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        runner_up = max((m for k, m in means.items() if k != winner), default=float("-inf"))
        ok = means[winner] - runner_up > margin
        for label in ranking:
            self._row(label=label, reported=reported.get(label), measured=means[label],
                      spread=_spread(values[label]), n=len(values[label]), rank=ranking.index(label) + 1,
                      ok=(label != winner) or ok, detail=f"{metric}, mean of {len(values[label])} seed(s)")
        if len(next(iter(values.values()))) == 1:
            self.note("single-seed comparison: the ranking rests on one run per configuration")
        if not ok:
            self._fail(f"{winner} does not rank first by {metric} (margin {margin}); ranking: {ranking}")

    def check_paired_better(self, better: str, better_values: Sequence[float], worse: str,
                            worse_values: Sequence[float], metric: str) -> None:
        """`better` beats `worse` on the mean of seed-paired differences by more than the margin."""
        __tracebackhide__ = True
        margin = float(self.tolerance.get("margin", 0.0))
        diffs = [a - b for a, b in zip(better_values, worse_values)]
        mean_diff = _mean(diffs)
        wins = sum(d > 0 for d in diffs)
        ok = mean_diff > margin
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        for label, vals in ((better, better_values), (worse, worse_values)):
            self._row(label=label, reported=reported.get(label), measured=_mean(vals), spread=_spread(vals),
                      n=len(vals), ok=ok, detail=f"{metric}; {better} wins {wins}/{len(diffs)} seed pairs")
        if len(diffs) == 1:
            self.note("single-seed comparison")
        if not ok:
            self._fail(f"{better} does not beat {worse} by more than {margin} on {metric} (mean diff {mean_diff:.4g})")

    def check_ordered(self, labels: Sequence[str], values: Mapping[str, Sequence[float]], metric: str) -> None:
        """Means over seeds decrease along `labels` (best first), each step by more than the margin."""
        __tracebackhide__ = True
        margin = float(self.tolerance.get("margin", 0.0))
        means = {k: _mean(values[k]) for k in labels}
        reported = self.reported if isinstance(self.reported, Mapping) else {}
        broken = [(a, b) for a, b in zip(labels, labels[1:]) if not means[a] - means[b] > margin]
        for label in labels:
            self._row(label=label, reported=reported.get(label), measured=means[label], spread=_spread(values[label]),
                      n=len(values[label]), ok=all(label not in pair for pair in broken),
                      detail=f"{metric}, expected position {labels.index(label) + 1}")
        if broken:
            self._fail(f"order {' > '.join(labels)} broken at {', '.join(f'{a} <= {b}' for a, b in broken)}")

    def check_at_least(self, label: str, measured: float, bound: float) -> None:
        """measured >= bound - abs tolerance (a headline such as 'reaches 96%')."""
        __tracebackhide__ = True
        slack = float(self.tolerance.get("abs", 0.0))
        ok = math.isfinite(measured) and measured >= bound - slack
        self._row(label=label, reported=bound, measured=measured, delta=measured - bound, tolerance=slack, ok=ok,
                  detail="at least")
        if not ok:
            self._fail(f"{label}: {_fmt(measured)} is below {_fmt(bound)} - {slack}")

    def check_all_rows(self, what: str) -> None:
        """Fail once if any row recorded so far (by `within`, say) is not ok."""
        __tracebackhide__ = True
        bad = [r["label"] for r in self.finding["rows"] if not r.get("ok")]
        if bad:
            self._fail(f"{what}: {', '.join(bad)} outside tolerance")
