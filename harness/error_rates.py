"""How many decided verdicts may be wrong by chance: the error rates measured per check test and seeds.

A leaf the report reads (it shows, per report and overall, the decided verdicts and how many of them
are expected to be wrong) and the calibration test re-measures; the statistics that make the
verdicts are harness/claim/stats.py.
"""
from __future__ import annotations

from typing import Sequence

DECIDED = ("reproduced", "not-reproduced")

# Per check test (Comparison.test) and seed count, how often a verdict of each kind comes out wrong when
# the claim sits at its boundary (the worst case for both), over the check kinds that share the test
# (better: paired better, orderings, first place, McNemar at 1 seed; at-least: thresholds and paired
# at-least). Source: tests/test_calibration.py (simulated claims, 1,000 test images, per-image difficulty
# spread, a seed effect of ~0.15 points; calibration_sim.error_rates), re-measured 2026-12-06 after the
# per-image floor became trusted only where the arms' own spreads are under it too; that test
# fails if a re-measurement drifts from these. A table cell ('consistent') has no level for a false
# 'reproduced' (None); its 1-seed 'not-reproduced' rate is that of a 0.01 tolerance on 1,000 images.
ERROR_RATES: dict[str, dict[int, dict[str, float | None]]] = {
    "better": {1: {"reproduced": 0.035, "not-reproduced": 0.026}, 2: {"reproduced": 0.016, "not-reproduced": 0.015},
               3: {"reproduced": 0.015, "not-reproduced": 0.013}, 5: {"reproduced": 0.014, "not-reproduced": 0.013}},
    "equivalent": {1: {"reproduced": 0.037, "not-reproduced": 0.027},
                   2: {"reproduced": 0.028, "not-reproduced": 0.013},
                   3: {"reproduced": 0.028, "not-reproduced": 0.013},
                   5: {"reproduced": 0.030, "not-reproduced": 0.013}},
    "at-least": {1: {"reproduced": 0.060, "not-reproduced": 0.050}, 2: {"reproduced": 0.035, "not-reproduced": 0.040},
                 3: {"reproduced": 0.036, "not-reproduced": 0.032}, 5: {"reproduced": 0.036, "not-reproduced": 0.027}},
    "consistent": {1: {"reproduced": None, "not-reproduced": 0.536}, 2: {"reproduced": None, "not-reproduced": 0.046},
                   3: {"reproduced": None, "not-reproduced": 0.052}, 5: {"reproduced": None, "not-reproduced": 0.041}},
}


def error_rate(test: str, n: int, outcome: str) -> float | None:
    """The measured rate at which a decided verdict of this test at n seeds is wrong (at the claim's
    boundary); n between measured seed counts reads the nearest measured count below it (more seeds
    err no more). None for an undecided outcome, an unmeasured test, or a rate with no level."""
    table = ERROR_RATES.get(test)
    if table is None or outcome not in DECIDED or n < 1:
        return None
    return table[max(k for k in table if k <= n) if n >= min(table) else min(table)][outcome]


def expected_wrong(verdicts: Sequence[tuple[str, int, str]]) -> tuple[float, int]:
    """Expected number of wrong verdicts among decided ones, each (test, seeds, outcome) as a Comparison
    gives them (Comparison.test, .n, .outcome), at the measured worst-case error rates. Returns (expected,
    uncounted): the verdicts with no measured rate (an inconclusive one, a table cell's 'reproduced')
    are not in the sum and are counted in `uncounted`. An upper figure: a claim far from its boundary
    errs less often than one on it."""
    total, uncounted = 0.0, 0
    for test, n, outcome in verdicts:
        if outcome not in DECIDED:
            continue
        rate = error_rate(test, n, outcome)
        if rate is None:
            uncounted += 1
        else:
            total += rate
    return total, uncounted
