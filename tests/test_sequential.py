"""Adaptive seeding keeps its error rate: the group-sequential design, measured on simulated claims
(tests/sequential_sim.py).

2,000 claims per kind and truth, looks at 2, 3, 5 and 8 seeds per arm (the default O'Brien-Fleming-type
spending), fixed RNG. Under a true null the sequential rule says "reproduced" at most the check's one-sided
level plus three Monte-Carlo standard errors; the rule it replaces (a look after every added seed at the fixed
95%) is shown to exceed it; under a planted effect the sequential rule decides more often than the fixed rule
at the reference count; and one look's decisions are those the stats functions give at the look's confidence.
"""
import math

import numpy as np
import pytest

from harness.claim import sequential, stats
from harness.claim.sequential import Design
from tests import calibration_sim as sim
from tests import sequential_sim as seq

LEVEL = {"better": 0.025, "equivalent": 0.05, "at-least": 0.05}
MOST = 8


@pytest.fixture(scope="module")
def table() -> list[dict]:
    return seq.measure(most=(MOST,), spendings=(sequential.DEFAULT_SPENDING,), stress=False)


def _rule(table, kind: seq.Kind, truth: str, rule: str, most: int = MOST) -> dict:
    return seq.find(table, kind=kind.name, seed_sd=kind.seed_sd, truth=truth, rule=rule, most=most)


DEFAULT_RULE = f"{seq.SEQUENTIAL} {sequential.DEFAULT_SPENDING}"  # the default design: O'Brien-Fleming spending


def test_the_design_spends_alpha_over_its_looks():
    assert sequential.looks(2, 8) == [2, 3, 5, 8]
    for spending in sequential.SPENDING:
        design = Design.plan(2, 8, spending=spending)
        assert design.looks == (2, 3, 5, 8)
        last = len(design.looks) - 1
        assert design.spent(last) == pytest.approx(design.alpha, abs=1e-12)
        levels = [design.level(k) for k in range(len(design.looks))]
        assert all(level > 0 for level in levels), (spending, levels)
        assert math.fsum(levels) == pytest.approx(design.alpha, abs=1e-12)
    one = Design.plan(2, 2)
    assert one.looks == (2,) and one.confidence(0) == pytest.approx(0.95, abs=1e-12)
    with pytest.raises(ValueError):
        Design.plan(2, 8, spending="bonferroni")


def test_under_a_true_null_the_sequential_rule_keeps_the_level(table):
    bad = []
    for kind in seq.KINDS:
        row = _rule(table, kind, "null", DEFAULT_RULE)
        alpha = LEVEL[kind.test]
        if row["reproduced"] > alpha + 3 * sim.mc_se(alpha, row["claims"]):
            bad.append((kind.name, row["reproduced"]))
    assert not bad, f"false reproduced above the level: {bad}\n{seq.format_table(table)}"


def test_a_look_after_every_seed_at_95_percent_inflates_the_error(table):
    # paired better at margin 0: the naive rule's false reproduced is about twice its 2.5% (0.052 at this RNG
    # seed: seven looks at 2, 3, ..., 8 seeds), while the sequential (O'Brien-Fleming) rule's is 0.015
    kind = seq.KINDS[0]
    naive = _rule(table, kind, "null", seq.NAIVE)["reproduced"]
    assert naive > 0.025 + 3 * sim.mc_se(0.025, seq.CLAIMS), seq.format_table(table)


def test_under_a_planted_effect_the_sequential_rule_decides_more_than_two_fixed_seeds(table):
    # reproduced under the planted effect, sequential O'Brien-Fleming (mean seeds per arm) against fixed 2 seeds,
    # at this RNG seed: better margin 0 0.998 (4.9) vs 0.548; margin 0.01 0.776 (6.7) vs 0.268; ordering 0.998
    # (5.2) vs 0.475; equivalent 0.999 (5.5) vs 0.521; paired at-least 0.877 (6.5) vs 0.350; threshold 1.000
    # (3.7) vs 0.638
    for kind in seq.KINDS:
        adaptive = _rule(table, kind, "effect", DEFAULT_RULE)
        fixed = _rule(table, kind, "effect", seq.FIXED, most=seq.START)
        assert adaptive["reproduced"] >= fixed["reproduced"], (kind.name, adaptive, fixed)
        assert seq.START <= adaptive["seeds"] <= MOST


def _stats_interval(d: sim.Draw, c: int, n: int, confidence: float) -> stats.Interval:
    a, b = list(d.hits[0][c, :n]), list(d.hits[1][c, :n])
    return stats.paired_t_with_test_set([float(x.mean()) for x in a], [float(y.mean()) for y in b], a, b, confidence)


def test_a_look_decides_as_the_stats_functions_do_at_its_confidence():
    rng = np.random.default_rng(13)
    claims = 12
    d = sim.draw(rng, claims, sim.IMAGES, [0.02, 0.0], seeds=MOST)
    design = Design.plan(seq.START, MOST)
    rule = seq.sequential_rule(MOST, sequential.DEFAULT_SPENDING)
    assert rule.looks == design.looks
    assert rule.confidences == tuple(design.confidence(k) for k in range(len(design.looks)))
    sample = seq.Sample({"d": d})
    checks = {  # the simulator's decision at (n, confidence), and the stats functions' for one claim
        "better": (seq.better(0.0), lambda c, n, conf: stats.decide_better(_stats_interval(d, c, n, conf), None, 0.0)),
        "equivalent": (seq.equivalent, lambda c, n, conf: stats.decide_equivalent(
            _stats_interval(d, c, n, 1 - 2 * (1 - conf)), _stats_interval(d, c, n, conf), sim.BAND)),
        "threshold": (seq.threshold, lambda c, n, conf: stats.decide_at_least(stats.one_sided_bounds(
            [float(h.mean()) for h in d.hits[1][c, :n]], conf, records=list(d.hits[1][c, :n])),
            d.truth_acc[1][c] - 3 * sim.MARGIN)),
    }
    code = {stats.REPRODUCED: 1, stats.NOT_REPRODUCED: -1, stats.INCONCLUSIVE: 0}
    for k, n in enumerate(design.looks):
        conf = design.confidence(k)
        low, high = sample.paired("d", 0, 1, n).interval(conf)
        for c in range(claims):
            iv = _stats_interval(d, c, n, conf)
            assert (low[c], high[c]) == pytest.approx((iv.low, iv.high), abs=1e-9), (k, n, c)
    for name, (simulated, scalar) in checks.items():
        outcome, used = seq.stop(lambda n, conf: simulated(sample, "d", "effect", n, conf), rule)
        for c in range(claims):  # the rule one claim at a time: the first decided look, else the last's outcome
            for k, n in enumerate(design.looks):
                verdict = code[scalar(c, n, design.confidence(k))]
                if verdict != 0 or k == len(design.looks) - 1:
                    break
            assert (outcome[c], used[c]) == (verdict, n if verdict else MOST), (name, c)
