"""What `--seeds-until-decided N` may cost: the plan's runs split into the reference looks, the worst case and
the expected case.

Under --plan with the option every claim body runs at each of its looks (harness/pytest_plugin/adaptive.py),
so the plan lists the worst case: every look of every claim. Each look's run keys travel with the plan's
requests. The reference looks alone are what a run without the option trains. The expected case stops each
claim at the look its last measured finding says would decide it: a decided finding stops at its first look;
an inconclusive one at the first look with at least the seeds its comparisons need at the observed effect
(`Comparison.seeds_needed`, a fixed-sample figure, so an approximation); a claim with no finding yet, or
one whose effect would need more than N seeds, counts its worst case.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

DECIDED = ("reproduced", "not-reproduced", "expected-not-reproduced")


def expected_look(looks: Sequence[Mapping[str, Any]], finding: Mapping[str, Any] | None) -> tuple[int, str]:
    """(index of the look the claim is expected to stop at, why) from its last finding of the same tier."""
    last = len(looks) - 1
    if finding is None or not finding.get("comparisons"):
        return last, "no measurement yet"
    if finding.get("verdict") in DECIDED:
        return 0, f"decided ({finding['verdict']})"
    needed = [c.get("seeds_needed") for c in finding["comparisons"] if c.get("outcome") == "inconclusive"]
    if not needed or any(n is None for n in needed):
        return last, "the observed effect needs more seeds than N (or has no estimate)"
    want = max(needed)
    for k, look in enumerate(looks):
        if look["seeds"] >= want:
            return k, f"about {want} seeds per arm decide the observed effect"
    return last, f"about {want} seeds per arm, beyond N"


def adaptive_summary(runs: Iterable[Mapping[str, Any]], looks_by_claim: Mapping[str, Sequence[Mapping[str, Any]]],
                     findings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Runs and device-hours to train for the reference looks, the expected case and the worst case.

    `runs`: the plan's runs (key, cached, est_seconds, flop, claims); `looks_by_claim`: 'id [tier]' -> its looks (each
    with the keys it asked for); `findings`: 'id [tier]' -> its last finding."""
    by_key = {r["key"]: r for r in runs}
    later: set[str] = set()
    first: set[str] = set()
    expected_extra: set[str] = set()
    stops: dict[str, dict[str, Any]] = {}
    for claim, looks in looks_by_claim.items():
        if not looks:
            continue
        first |= set(looks[0]["runs"])
        later |= set(looks[-1]["runs"]) - set(looks[0]["runs"])
        k, why = expected_look(looks, findings.get(claim))
        expected_extra |= set(looks[k]["runs"]) - set(looks[0]["runs"])
        stops[claim] = {"expected_look": k + 1, "seeds": looks[k]["seeds"], "worst_seeds": looks[-1]["seeds"],
                        "why": why}
    fixed = {k for k, r in by_key.items() if any(c not in looks_by_claim for c in r.get("claims", ()))}
    base = (set(by_key) - later) | first | fixed  # a run of a claim with one look is in every case

    def cost(keys: set[str]) -> dict[str, float]:
        todo = [by_key[k] for k in keys if k in by_key and not by_key[k]["cached"]]
        return {"runs": len(keys), "to_train": len(todo), "device_hours": sum(r["est_seconds"] for r in todo) / 3600,
                "pflop": sum(r["flop"] for r in todo) / 1e15}

    return {"reference": cost(base), "expected": cost(base | expected_extra), "worst": cost(set(by_key)),
            "claims": stops}


def adaptive_lines(summary: Mapping[str, Any], device: str) -> list[str]:
    """The plan's summary lines for the option."""
    lines = []
    for case, what in (("reference", "reference seeds only"), ("expected", "expected, from the findings so far"),
                       ("worst", "worst case, every look")):
        c = summary[case]
        lines.append(f"plan: adaptive seeding, {what}: {c['runs']} runs, {c['to_train']} to train, "
                     f"{c['pflop']:.1f} PFLOP, {c['device_hours']:.1f} device-hours on {device}")
    extendable = len(summary["claims"])
    unmeasured = sum(1 for s in summary["claims"].values() if s["why"] == "no measurement yet")
    lines.append(f"plan: adaptive seeding: {extendable} claim(s) can take more looks; {unmeasured} have no finding "
                 f"yet in the report directory and count their worst case in the expected figure")
    return lines
