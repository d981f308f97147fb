"""Finding: what one claim test leaves behind for one tier, typed and versioned.

A Finding is created once, from the reference entry and the tier (which fix its expected
verdict), filled by the Claim while the test runs (runs, table rows, comparisons with their
intervals, figures with their data, notes), and closed once from the test's outcome. It
carries everything the report shows, so the report is built from findings files alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .reference import ClaimEntry

FINDING_VERSION = 2
# Verdicts, in the order the report lists them. "inconclusive": the interval neither supports nor
# rules out the claim. "error": the machinery failed (a crash, missing data, a bug): no verdict.
VERDICTS = ("reproduced", "not-reproduced", "inconclusive", "expected-not-reproduced", "error", "not-run",
            "under-specified", "qualitative")
# What a closed test can say: the check's own outcome, or why no check ran.
OUTCOMES = ("reproduced", "not-reproduced", "inconclusive", "error", "skipped")


@dataclass
class RunRecord:
    """One training run a claim used (provenance; the curves travel with the figures)."""

    key: str
    label: str
    seed: int
    status: str
    diverged_at_step: int | None = None
    device: str | None = None
    hardware: str | None = None
    torch: str | None = None
    wall_time: float | None = None
    cpu_time: float | None = None
    created: str = ""
    time_split: dict[str, float] = field(default_factory=dict)
    cpu_kernels: str | None = None


@dataclass
class Comparison:
    """One statistical comparison: estimate, interval, seeds, method, the margin and its outcome."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str
    margin: float | None
    outcome: str
    confidence: float = 0.95
    p_value: float | None = None
    test: str = "better"  # better | equivalent | at-least | consistent


@dataclass
class Figure:
    """A figure request with the data to draw it (see reports/figures.py for the kinds)."""

    kind: str
    title: str
    metric: str = "test_acc"
    series: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    claim_id: str
    report: str
    kind: str
    tier: str
    statement: str
    location: str
    expect: str
    why: str | None
    seeds: int | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    report_title: str = ""
    conflicts_with: list[str] = field(default_factory=list)
    agrees_with: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str | None = None
    verdict: str | None = None
    skip_reason: str | None = None
    error: str | None = None
    failure: str | None = None
    duration: float | None = None
    nodeid: str = ""
    command: str = ""
    session: str = ""

    @classmethod
    def open(cls, entry: ClaimEntry, tier: str, report_title: str = "") -> "Finding":
        """A finding for `entry` in `tier`, its expectation fixed by the reference entry."""
        plan = entry.plan(tier)
        expect = (plan.expect if plan else None) or entry.expect
        why = (plan.why if plan else None) or entry.why
        return cls(claim_id=entry.id, report=entry.report, kind=entry.kind, tier=tier, statement=entry.statement,
                   location=entry.location, expect=expect, why=why, seeds=plan.seeds if plan else None,
                   budget=dict(plan.budget) if plan else {}, recipe=dict(entry.recipe), report_title=report_title,
                   conflicts_with=list(entry.conflicts_with), agrees_with=list(entry.agrees_with))

    def close(self, outcome: str, *, message: str | None = None, duration: float | None = None) -> "Finding":
        """Set the verdict from the test's outcome, once."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
        self.outcome = outcome
        self.duration = duration
        if outcome == "error":
            self.error = message
        elif outcome == "not-reproduced":
            self.failure = message
        elif outcome in ("skipped", "inconclusive") and message and not self.skip_reason:
            self.skip_reason = message
        self.verdict = verdict_for(outcome, self.expect)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        """Rebuild a finding; a missing required field or an unknown one is a ValueError naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = required - set(data)
        if missing:
            raise ValueError(f"finding {data.get('claim_id', '?')!r} lacks fields {sorted(missing)}")
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"finding {data.get('claim_id', '?')!r} has unknown fields {sorted(unknown)}")
        values = dict(data)
        values["comparisons"] = [Comparison(**c) for c in data.get("comparisons", [])]
        values["runs"] = [RunRecord(**r) for r in data.get("runs", [])]
        values["figures"] = [Figure(**f) for f in data.get("figures", [])]
        return cls(**values)

    @property
    def has_evidence(self) -> bool:
        """Whether anything was measured (a not-run finding must not displace one that was)."""
        return bool(self.runs or self.rows or self.comparisons)


def verdict_for(outcome: str, expect: str) -> str:
    """The verdict of a closed test: the check's outcome read against the entry's expectation."""
    if outcome == "error":
        return "error"
    if outcome == "skipped":
        return expect if expect in ("under-specified", "qualitative") else "not-run"
    if outcome == "not-reproduced" and expect == "not-reproduced":
        return "expected-not-reproduced"
    return outcome  # reproduced (even where not-reproduced was expected: the entry gets revisited), inconclusive
