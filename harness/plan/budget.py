"""--budget: the claims whose missing runs fit a time budget on this device, cheapest claim first.

A laptop without a GPU cannot train the whole full tier in an afternoon, but it can train the
claims that need little: from the plan (each distinct run with the claims that use it, whether
the store holds it and its estimated seconds), `select` takes, one at a time, the claim that adds
the least training to what is already chosen (a run two claims share counts once; cached runs
count nothing) while the chosen runs still end within the budget on the session's workers
(longest first, `makespan`). What is left out keeps its cost, so the session can say what more
time would buy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .cost import makespan

def describe_duration(seconds: float) -> str:
    """'2 h 05 min', '12 min', '40 s'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


@dataclass(frozen=True)
class LeftOut:
    """A claim the budget leaves out, and the training it would add to the selection (seconds, runs)."""

    claim: str
    seconds: float
    runs: int


@dataclass(frozen=True)
class Selection:
    """The claims chosen, the uncached runs they train (key -> estimated seconds), and what is left out."""

    budget_s: float
    workers: int
    claims: list[str]
    runs: dict[str, float]
    left_out: list[LeftOut]

    @property
    def wall_seconds(self) -> float:
        """The chosen runs' wall time on the workers, longest first."""
        return makespan(self.runs.values(), self.workers)

    def lines(self) -> list[str]:
        """The terminal summary: what runs, in how long, and what each left-out claim would add."""
        out = [f"budget {describe_duration(self.budget_s)} on {self.workers} worker(s): {len(self.claims)} claim(s), "
               f"{len(self.runs)} run(s) to train, about {describe_duration(self.wall_seconds)} by the plan's estimate"]
        out += [f"  {claim}" for claim in self.claims]
        if self.left_out:
            out.append(f"left out {len(self.left_out)} claim(s) (what each would add to this selection):")
            out += [f"  {c.claim}: {describe_duration(c.seconds)}, {c.runs} run(s)" for c in self.left_out]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"budget_s": self.budget_s, "workers": self.workers, "claims": self.claims, "runs": self.runs,
                "left_out": [vars(c) for c in self.left_out]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Selection":
        return cls(float(data["budget_s"]), int(data["workers"]), list(data["claims"]), dict(data["runs"]),
                   [LeftOut(**c) for c in data["left_out"]])


def claim_runs(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[str, set[str]], dict[str, float]]:
    """From plan rows: each claim's uncached run keys, and each uncached run's estimated seconds."""
    needs: dict[str, set[str]] = {}
    seconds: dict[str, float] = {}
    for row in rows:
        for claim in row["claims"]:
            needs.setdefault(claim, set())
            if not row["cached"]:
                needs[claim].add(row["key"])
        if not row["cached"]:
            seconds[row["key"]] = float(row["est_seconds"])
    return needs, seconds


def select(rows: Iterable[Mapping[str, Any]], budget_s: float, workers: int = 1) -> Selection:
    """The claims to run within `budget_s` wall seconds on `workers`, cheapest addition first (ties by name)."""
    needs, seconds = claim_runs(rows)
    chosen: list[str] = []
    runs: set[str] = set()
    remaining = set(needs)

    def added(claim: str) -> float:
        return sum(seconds[k] for k in needs[claim] - runs)

    while remaining:
        for claim in sorted(remaining, key=lambda c: (added(c), c)):
            if makespan((seconds[k] for k in runs | needs[claim]), workers) <= budget_s:
                chosen.append(claim)
                runs |= needs[claim]
                remaining.discard(claim)
                break
        else:
            break
    left = [LeftOut(c, added(c), len(needs[c] - runs)) for c in remaining]
    left.sort(key=lambda c: (c.seconds, c.claim))
    return Selection(budget_s, max(1, workers), chosen, {k: seconds[k] for k in sorted(runs)}, left)
