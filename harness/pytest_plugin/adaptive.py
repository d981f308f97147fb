"""`--seeds-until-decided N`: run a claim's check again, with more seeds, while it is inconclusive.

The test body is called once per look of the claim's design (harness/claim/sequential.py): its reference
seeds, then 3, 5, 8, ... seeds per arm up to N. Each call asks the store for its seeds (runs of earlier
looks are cached, so a look trains only the seeds it adds, and claims that share arms share them) and
checks at the look's level. The first look that decides ends the test with that verdict; the last look's
inconclusive is the verdict. The finding records every look (seeds, level, outcome) and the rule.

Without the option (N = 0), or with N at most the reference count, the body runs once, as it always has.
Under --plan the body runs at every look on placeholder runs, so the plan lists the worst case, and each
look's runs travel with the plan's requests (the expected cost weighs them, harness/plan/adaptive_cost.py).
"""
from __future__ import annotations

from typing import Any

import pytest
from _pytest.outcomes import Skipped

from ..claim.claim import Claim, ClaimCheckFailed, ClaimInconclusive
from ..claim.sequential import Design
from .config import recording, settings_of


def design_for(claim: Claim, most: int) -> Design | None:
    """The claim's looks under `--seeds-until-decided most`; None when there is nothing to add."""
    plan = claim.entry.plan(claim.tier)
    if most <= 0 or plan is None or plan.skip:
        return None
    design = Design.plan(plan.seeds, most)
    return design if len(design.looks) > 1 else None


def can_extend(claim: Claim) -> bool:
    """Whether more seeds could change this look's verdict: some comparison is a test over seeds, not a table
    cell's consistency or an exact quantity (those never end inconclusive)."""
    return any(c.test != "consistent" and c.method != "exact value" for c in claim.finding.comparisons)


def _look(claim: Claim, design: Design, k: int, outcome: str) -> dict[str, Any]:
    return {"look": k + 1, "seeds": design.looks[k], "level": round(design.level(k), 6),
            "confidence": round(design.confidence(k), 6), "outcome": outcome,
            "runs": sorted({r.key for r in claim.finding.runs})}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    claim = pyfuncitem.funcargs.get("claim")
    if not isinstance(claim, Claim):
        return None
    design = design_for(claim, settings_of(pyfuncitem.config).seeds_until_decided)
    if design is None:
        return None
    rehearsing = recording(pyfuncitem.config)
    claim.finding.stopping_rule = design.rule()
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    kept = None  # the last undecided look's evidence, put back should a later look be unable to run
    for k, seeds in enumerate(design.looks):
        if k:
            kept = claim.next_look(seeds, design.confidence(k))
        else:
            claim.seed_count, claim.confidence = seeds, design.confidence(0)
        claim.finding.seeds = seeds
        last = k == len(design.looks) - 1
        try:
            pyfuncitem.obj(**args)
        except ClaimInconclusive:
            claim.finding.looks.append(_look(claim, design, k, "inconclusive"))
            if last or not can_extend(claim):
                raise
        except Skipped as exc:  # a later look cannot run (a run missing under cached-only): the last verdict stands
            if kept is None:
                raise
            claim.finding.put_back(kept)
            claim.finding.looks.append({"look": k + 1, "seeds": seeds, "outcome": f"not run: {exc.msg}"[:300]})
            raise ClaimInconclusive(f"{kept['skip_reason'] or 'inconclusive'} (look {k + 1}, {seeds} seeds per arm, "
                                    f"could not run: {exc.msg})", pytrace=False) from None
        except ClaimCheckFailed:
            claim.finding.looks.append(_look(claim, design, k, "not-reproduced"))
            if last or not rehearsing:  # a plan checks placeholder values: it goes on to the worst case
                raise
        else:
            claim.finding.looks.append(_look(claim, design, k, "reproduced"))
            if last or not rehearsing or not can_extend(claim):
                return True
    return True
