"""The verdicts' error rates, measured on simulated claims (tests/calibration_sim.py).

Every check kind the claims use, at 1, 2, 3 and 5 seeds, 2,000 claims per cell: under a true null
(the claim exactly at its boundary) a check may say "reproduced" at most its level plus three
Monte-Carlo standard errors; its 95% intervals cover the truth 93-97% of the time; and a check may
not be far more conservative than its level while it can hardly decide (the pre-fix paired rule,
kept in the simulator only, is shown to fail that). The rates in error_rates.ERROR_RATES are re-measured.
"""
import math

import numpy as np
import pytest

from harness import error_rates
from harness.claim import stats
from tests import calibration_sim as sim

LEVEL = {"better": 0.025, "equivalent": 0.05, "at-least": 0.05}


@pytest.fixture(scope="module")
def table() -> list[dict]:
    return sim.measure()


def _cells(table, **match):
    return [r for r in table if all(r[k] == v for k, v in match.items())]


def _realistic(table, **match):
    return _cells(table, rule=sim.NEW_RULE, seed_sd=sim.REALISTIC_SEED_SD, **match)


def test_the_simulated_decisions_are_those_of_the_stats_functions():
    rng = np.random.default_rng(7)
    d = sim.draw(rng, 12, 1000, [0.02, 0.0])
    for n in (1, 2, 3):
        p = sim.paired(d, 0, 1, n)
        for confidence in (0.95, 0.90, 0.975):
            low, high = p.interval(confidence)
            for c in range(12):
                a, b = list(d.hits[0][c, :n]), list(d.hits[1][c, :n])
                if n == 1:
                    iv = stats.paired_test_set(a[0], b[0], confidence)
                else:
                    iv = stats.paired_t_with_test_set([float(x.mean()) for x in a], [float(y.mean()) for y in b],
                                                      a, b, confidence)
                assert (low[c], high[c]) == pytest.approx((iv.low, iv.high), abs=1e-9)
                if n >= 2:
                    assert all(x == pytest.approx(y, abs=1e-12) for x, y in zip(
                            (p.noise(c).seed_var, p.noise(c).fixed_var, p.noise(c).floor, p.noise(c).seed_df),
                            (iv.noise.seed_var, iv.noise.fixed_var, iv.noise.floor, iv.noise.seed_df)))
        values = sim.accuracies(d, 1, n)
        low, high = sim.one_sided_bounds(values, d.hits[1][:, 0])
        floored = sim.one_sided_bounds(values, d.hits[1][:, 0], hits=d.hits[1][:, :n])
        for c in range(12):
            iv = stats.one_sided_bounds(list(values[c]), correct=d.hits[1][c, 0] if n == 1 else None)
            assert (low[c], high[c]) == pytest.approx((iv.low, iv.high), abs=1e-9)
            iv = stats.one_sided_bounds(list(values[c]), correct=d.hits[1][c, 0] if n == 1 else None,
                                        records=list(d.hits[1][c, :n]) if n >= 2 else None)
            assert (floored[0][c], floored[1][c]) == pytest.approx((iv.low, iv.high), abs=1e-9)
            if n >= 2:
                pi = stats.prediction_interval(list(values[c]))
                inside = sim.within(values[c:c + 1], np.array([pi.high - 1e-4]), 0.0)
                assert inside[0] == 1
    # two seeds with identical accuracy (different images right): the floor binds, the normal quantile
    tied = d.hits[1][:1, :2].copy()
    tied[0, 1] = np.roll(tied[0, 0], 1)
    values = tied.mean(axis=2, dtype=np.float64)
    low, high = sim.one_sided_bounds(values, tied[:, 0], hits=tied)
    iv = stats.one_sided_bounds(list(values[0]), records=list(tied[0]))
    assert values[0, 0] == values[0, 1] and iv.noise.seed_df is None and iv.low < iv.estimate < iv.high
    assert (low[0], high[0]) == pytest.approx((iv.low, iv.high), abs=1e-9)
    outcomes = [(1.0, 2.0, 2.0, 0.0), (-1.0, 0.5, 0.5, 0.0), (-1.0, -0.5, 0.5, 0.0)]
    for low, high, refute_high, margin in outcomes:
        iv, refute = stats.Interval(0, low, high, 2, "t"), stats.Interval(0, low, refute_high, 2, "t")
        expect = {stats.REPRODUCED: 1, stats.NOT_REPRODUCED: -1, stats.INCONCLUSIVE: 0}[
            stats.decide_better(iv, refute, margin)]
        assert sim.decide_better(np.array(low), np.array(high), np.array(refute_high), margin) == expect


def test_under_a_true_null_reproduced_at_most_the_level_plus_three_monte_carlo_errors(table):
    bad = []
    for r in _realistic(table, truth="null"):
        if r["test"] == "consistent" or "population" in r["kind"]:
            continue
        alpha = LEVEL[r["test"]]
        if r["reproduced"] > alpha + 3 * sim.mc_se(alpha, r["claims"]):
            bad.append((r["kind"], r["n"], r["images"], r["reproduced"]))
    assert not bad, f"false reproduced above the level: {bad}\n{sim.format_table(table)}"


def test_a_table_cell_of_a_true_report_is_ruled_out_at_most_five_percent_of_the_time(table):
    # the claim holds (the reported value is one more run of the recipe): a prediction interval over
    # >= 2 seeds rules it out at most 5% of the time
    for r in _realistic(table, truth="null", test="consistent"):
        if r["n"] >= 2:
            assert r["not-reproduced"] <= 0.05 + 3 * sim.mc_se(0.05, r["claims"]), r


def test_two_sided_95_percent_intervals_cover_the_true_difference_93_to_97_percent(table):
    bad = []
    for r in _realistic(table):
        if r["coverage"] is None or r["test"] == "consistent":
            continue
        se = sim.mc_se(0.95, r["claims"])
        if not 0.93 - 3 * se <= r["coverage"] <= 0.97 + 3 * se:
            bad.append((r["kind"], r["n"], r["images"], r["truth"], r["coverage"]))
    assert not bad, f"coverage outside 93-97%: {bad}"


def test_a_planted_effect_is_reproduced_most_of_the_time_at_five_seeds(table):
    # the figures at 2 and 3 seeds are in the table (the report: MDE and seeds_needed say where a
    # comparison stands); at 5 seeds every kind with a level decides the planted effect most of the time
    for r in _realistic(table, truth="effect", images=sim.IMAGES, n=5):
        if r["test"] != "consistent":
            assert r["reproduced"] > 0.5, r


def test_the_fix_gains_power_at_2_3_and_5_seeds_and_keeps_the_level(table):
    for kind in ("paired better (margin 0)", "ordering (2 comparisons)", f"equivalent (band {sim.BAND})"):
        for n in (2, 3, 5):
            new = _realistic(table, kind=kind, n=n, truth="effect", images=sim.IMAGES)[0]["reproduced"]
            old = _cells(table, kind=kind, n=n, truth="effect", rule=sim.OLD_RULE, images=sim.IMAGES,
                         seed_sd=sim.REALISTIC_SEED_SD)[0]["reproduced"]
            assert new >= old, (kind, n, new, old)
    # a 3.5-point lead on 1,000 images: about half the time at 2 and 3 seeds (0.46 and 0.53 measured; trusting
    # the per-image floor on the differences' spread alone gave 0.56 and 0.61, at the cost of twice the level
    # under a large seed effect: test_a_large_seed_effect_keeps_the_level_at_2_3_and_5_seeds)
    lead = {n: _realistic(table, kind="paired better (margin 0)", n=n, truth="effect", images=sim.IMAGES)[0]
            for n in (2, 3)}
    assert lead[2]["reproduced"] > 0.4 and lead[3]["reproduced"] > 0.45


def _wasteful(rows) -> list[tuple]:
    """Cells whose false-reproduced rate is below a quarter of the level while their planted effect is
    reproduced less than half of the time: a check that errs far less than it may but cannot decide."""
    out = []
    for r in rows:
        if r["truth"] != "null" or r["test"] == "consistent" or "population" in r["kind"]:
            continue
        effect = _cells(rows, kind=r["kind"], n=r["n"], images=r["images"], truth="effect", rule=r["rule"],
                        seed_sd=r["seed_sd"])
        if effect and r["reproduced"] < LEVEL[r["test"]] / 4 and effect[0]["reproduced"] < 0.5:
            out.append((r["kind"], r["n"], r["images"], r["reproduced"], effect[0]["reproduced"]))
    return out


def test_no_check_is_far_below_its_level_while_it_can_hardly_decide(table):
    assert not _wasteful(_realistic(table))
    old = _wasteful(_cells(table, rule=sim.OLD_RULE))  # the pre-fix rule fails this very criterion
    assert ("paired better (margin 0)", 2, sim.IMAGES, 0.0, 0.0) in old


def test_a_large_seed_effect_keeps_the_level_at_2_3_and_5_seeds(table):
    # A run-to-run effect as large as (stress) or twice (large) the per-image noise of 1,000 images. The
    # per-image floor is trusted (normal quantile) only where neither the differences' spread nor the arms'
    # own spreads exceed it, so the check stays at its level from 2 seeds on. Trusting the floor on the
    # differences' spread alone (1 df at 2 seeds; the former rule, kept in the simulator) erred about
    # twice the level at 2 seeds and is shown to. One run per arm (McNemar: test-set noise only) cannot see
    # a seed effect at all, and its method says so.
    limit = LEVEL["better"] + 3 * sim.mc_se(LEVEL["better"], sim.CLAIMS)
    for seed_sd in (sim.STRESS_SEED_SD, sim.LARGE_SEED_SD):
        for n in (2, 3, 5):
            new = _cells(table, seed_sd=seed_sd, rule=sim.NEW_RULE, truth="null", n=n)[0]
            assert new["reproduced"] <= limit, (seed_sd, new)
            assert 0.93 - 3 * sim.mc_se(0.95, sim.CLAIMS) <= new["coverage"], (seed_sd, new)
        pair_only = _cells(table, seed_sd=seed_sd, rule=sim.PAIR_ONLY_RULE, truth="null", n=2)[0]
        assert pair_only["reproduced"] > limit, (seed_sd, pair_only)  # the former rule's defect


def test_the_error_rates_in_stats_are_the_measured_ones(table):
    measured = sim.error_rates(table)
    assert set(measured) == set(error_rates.ERROR_RATES)
    for test, by_n in measured.items():
        for n, rates in by_n.items():
            for outcome, rate in rates.items():
                stored = error_rates.ERROR_RATES[test][n][outcome]
                if rate is None or stored is None:
                    assert rate is stored is None
                    continue
                tol = max(3 * sim.mc_se(stored, sim.CLAIMS), 0.005)
                assert abs(rate - stored) <= tol, (test, n, outcome, rate, stored)


def test_the_minimum_detectable_effect_predicts_the_simulated_power():
    # 80% power at the mde: plant the mde a 3-seed comparison reports and count how often it is decided
    rng = np.random.default_rng(11)
    d = sim.draw(rng, 1000, 1000, [0.0, 0.0])
    p = sim.paired(d, 0, 1, 3)
    mdes = [stats.power_summary(stats.Interval(0.0, -1, 1, 3, "t", noise=p.noise(c)), 0.0, "better",
                                stats.REPRODUCED)[0] for c in range(0, 1000, 10)]
    mde = float(np.median(mdes))
    effect = sim.draw(rng, 1000, 1000, [mde, 0.0])
    low, _ = sim.paired(effect, 0, 1, 3).interval(stats.CONFIDENCE)
    power = float(np.mean(low > 0))
    assert 0.70 <= power <= 0.90, (mde, power)
    assert math.isfinite(mde) and 0.02 < mde < 0.06
