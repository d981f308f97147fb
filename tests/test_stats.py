"""The statistics against textbook cases computed by hand."""
import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from harness import error_rates
from harness.claim import stats


def test_paired_t_interval_by_hand():
    # differences 1, 2, 3: mean 2, s = 1, sem = 1/sqrt(3); t(0.975, df 2) = 4.302653
    iv = stats.paired_t([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert iv.estimate == 2.0 and iv.n == 3
    assert iv.low == pytest.approx(2 - half, abs=1e-5) and iv.high == pytest.approx(2 + half, abs=1e-5)


def test_one_value_has_no_interval():
    iv = stats.paired_t([0.5])
    assert iv.low == -math.inf and iv.high == math.inf and "no interval" in iv.method


def test_mcnemar_on_a_two_by_two_table():
    # discordant counts 10 and 2: exact two-sided p = 2 * P(X <= 2 | n=12, 1/2) = 2 * 79/4096
    assert stats.mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)
    assert stats.mcnemar_exact(0, 0) == 1.0
    a = np.array([1] * 80 + [1] * 10 + [0] * 2 + [0] * 8, dtype=bool)
    b = np.array([1] * 80 + [0] * 10 + [1] * 2 + [0] * 8, dtype=bool)
    iv = stats.paired_test_set(a, b)
    se = math.sqrt(12 - 8 ** 2 / 100) / 100  # Wald interval of a paired difference of proportions
    assert iv.estimate == pytest.approx(0.08) and iv.p_value == pytest.approx(2 * 79 / 4096)
    assert iv.high - iv.estimate == pytest.approx(1.959964 * se, rel=1e-5)


def test_tost_on_a_known_case():
    # differences 0, .01, .02, .01: mean 0.01, s = sqrt(0.0002 / 3), sem = s / 2; t(0.95, df 3) = 2.353363,
    # so the 90% interval is 0.01 +- 0.009608 = [0.000392, 0.019608]
    tost = stats.paired_t([0.0, 0.01, 0.02, 0.01], confidence=0.90)
    wide = stats.paired_t([0.0, 0.01, 0.02, 0.01])
    assert tost.low == pytest.approx(0.000392, abs=1e-6) and tost.high == pytest.approx(0.019608, abs=1e-6)
    assert stats.decide_equivalent(tost, wide, 0.03) == stats.REPRODUCED   # inside +-0.03
    assert stats.decide_equivalent(tost, wide, 0.015) == stats.INCONCLUSIVE  # neither inside nor outside
    far = stats.paired_t([0.10, 0.11, 0.12, 0.11])
    assert stats.decide_equivalent(far, far, 0.03) == stats.NOT_REPRODUCED


def test_prediction_interval_by_hand():
    iv = stats.prediction_interval([1.0, 2.0, 3.0])
    half = 4.302653 * 1.0 * math.sqrt(1 + 1 / 3)
    assert iv.low == pytest.approx(2 - half, abs=1e-5) and iv.high == pytest.approx(2 + half, abs=1e-5)


def test_one_sided_bounds_and_the_binomial_bound_of_one_run():
    iv = stats.one_sided_bounds([0.96, 0.97, 0.98])
    assert iv.low == pytest.approx(0.97 - 2.919986 * 0.01 / math.sqrt(3), abs=1e-5)  # t(0.95, df 2)
    correct = np.array([1] * 960 + [0] * 40, dtype=bool)
    one = stats.one_sided_bounds([0.96], correct=correct)
    assert 0.945 < one.low < 0.96 < one.high < 0.975 and "Clopper-Pearson" in one.method
    assert stats.decide_at_least(one, 0.94) == stats.REPRODUCED
    assert stats.decide_at_least(one, 0.98) == stats.NOT_REPRODUCED
    assert stats.decide_at_least(one, 0.955) == stats.INCONCLUSIVE


def test_tied_seeds_of_a_threshold_take_the_per_image_floor_on_the_normal_quantile():
    # two seeds at 960 of 1,000 images, 40 + 40 images right in one seed only: each of those 80 images has
    # variance 0.5 over the two seeds, so the floor is 80 * 0.5 / 1000 / 1000 = 4e-5 for one run's accuracy
    first = np.array([1] * 960 + [0] * 40, dtype=bool)
    second = np.roll(first, 40)
    tied = stats.one_sided_bounds([0.96, 0.96], records=[first, second])
    half = 1.644854 * math.sqrt(4e-5 / 2)  # z(0.95): the variance is known from the images
    assert tied.low == pytest.approx(0.96 - half, abs=1e-6) and tied.high == pytest.approx(0.96 + half, abs=1e-6)
    assert tied.noise == stats.Noise(pytest.approx(4e-5), None, 0.0, pytest.approx(4e-5))
    assert "normal quantile" in tied.method
    bare = stats.one_sided_bounds([0.96, 0.96])  # without records: a zero-width bound that reaches 0.96
    assert bare.low == bare.high == 0.96 and stats.decide_at_least(bare, 0.96) == stats.REPRODUCED
    assert stats.decide_at_least(tied, 0.96) == stats.INCONCLUSIVE
    assert stats.decide_at_least(tied, 0.95) == stats.REPRODUCED
    # the power works from the floor: at least what a known variance gives (more seeds would show a spread)
    mde, needed = stats.power_summary(tied, 0.965, "at-least", stats.INCONCLUSIVE)
    assert mde > (1.644854 + 0.841621) * math.sqrt(2e-5) and 2 < needed < 20
    with pytest.raises(ValueError):
        stats.one_sided_bounds([0.96, 0.96, 0.96], records=[first, second])


def test_a_threshold_seed_spread_over_the_floor_keeps_t_on_n_minus_1_df():
    # 0.95 and 0.97 with nested right images: floor 20 * 0.5 / 1000 / 1000 = 1e-5 under a spread of 2e-4
    first = np.array([1] * 950 + [0] * 50, dtype=bool)
    second = np.array([1] * 970 + [0] * 30, dtype=bool)
    iv = stats.one_sided_bounds([0.95, 0.97], records=[first, second])
    t = stats.one_sided_bounds([0.95, 0.97])
    assert iv.low == pytest.approx(0.96 - 6.313752 * 0.01, abs=1e-6) and iv.low == pytest.approx(t.low, abs=1e-9)
    assert iv.noise.seed_df == 1 and iv.noise.floor == pytest.approx(1e-5) and iv.noise.seed_var == pytest.approx(2e-4)


def test_decisions_and_their_combination():
    iv = stats.Interval(0.02, 0.01, 0.03, 3, "t")
    assert stats.decide_better(iv, margin=0.0) == stats.REPRODUCED
    assert stats.decide_better(iv, margin=0.05) == stats.NOT_REPRODUCED
    assert stats.decide_better(iv, margin=0.02) == stats.INCONCLUSIVE
    assert stats.combine(["reproduced", "inconclusive"]) == stats.INCONCLUSIVE
    assert stats.combine(["reproduced", "not-reproduced", "inconclusive"]) == stats.NOT_REPRODUCED
    assert stats.combine(["reproduced", "reproduced"]) == stats.REPRODUCED


def test_rounding_half_unit():
    assert stats.rounding_half_unit(0.8911) == pytest.approx(0.00005)
    assert stats.rounding_half_unit(94.93) == pytest.approx(0.005)


def test_tied_seeds_keep_the_test_sets_sampling_variance_on_infinite_df():
    # two seeds, both differences 0.25 (seed variance 0); per-image differences e = [1, 0, 0, 0] in both:
    # the seed mean of e has variance 0.25 over images and no seed noise, so se = sqrt(0.25 / 4) = 0.25.
    # Every part is known from the images (no seed spread): infinite df, 0.25 +- 1.959964 * 0.25, not the
    # 12.7 of t on 1 df that the whole standard error used to get
    a = [np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)]
    b = [np.array([0, 1, 0, 0], bool), np.array([0, 0, 1, 0], bool)]
    iv = stats.paired_t_with_test_set([0.5, 0.5], [0.25, 0.25], a, b)
    assert stats.paired_t([0.25, 0.25]).high == 0.25  # the seed-only interval collapses
    assert iv.estimate == 0.25 and iv.n == 2 and "test-set sampling variance" in iv.method and "df inf" in iv.method
    assert iv.high - iv.estimate == pytest.approx(1.959964 * 0.25, rel=1e-6)
    assert iv.noise == stats.Noise(0.0, None, 0.0625)


def test_per_image_noise_that_is_only_seed_noise_floors_the_seed_variance():
    # e = [1, 0, 0, 0] and [0, 1, 1, 0]: the image variance of e's seed mean (0.0625) is less than its own
    # seed noise (mean over images of e's seed variance 0.375, over 2 seeds): no image component. The
    # differences 0.25 and 0.5 have variance 0.03125, below the per-image floor 0.375 / 4 = 0.09375: the
    # seed part is the floor, known from the images, so se = sqrt(0.09375 / 2) on infinite df
    a = [np.array([1, 0, 0, 0], bool), np.array([0, 1, 1, 0], bool)]
    b = [np.zeros(4, bool), np.zeros(4, bool)]
    iv = stats.paired_t_with_test_set([0.25, 0.5], [0.0, 0.0], a, b)
    assert iv.estimate == 0.375 and iv.high - iv.estimate == pytest.approx(1.959964 * math.sqrt(0.09375 / 2), rel=1e-6)


def test_the_floor_is_not_trusted_where_the_arms_own_seeds_spread_beyond_it():
    # 1,000 images. Arm A's two seeds read 0.60 and 0.70, arm B's 0.55 and 0.65: each arm moves 10 points
    # from seed to seed, but together, so both differences are +0.05 (a spread of 0 under the per-image
    # floor). The arms' own spreads (0.005 each) exceed the floor, so the seed effect is real and the floor
    # gets the differences' n - 1 = 1 df, not the normal quantile; the pairing is kept (the seed part is the
    # floor, not the arms' spreads)
    def hits(right: int, start: int = 0) -> np.ndarray:
        out = np.zeros(1000, bool)
        out[start:start + right] = True
        return out
    a, b = [hits(600), hits(700)], [hits(550, 25), hits(650, 25)]
    iv = stats.paired_t_with_test_set([0.6, 0.7], [0.55, 0.65], a, b)
    floor = iv.noise.floor
    assert iv.estimate == pytest.approx(0.05) and iv.noise.seed_df == 1 and iv.noise.seed_var == floor
    half = iv.high - iv.estimate
    se = math.sqrt(floor / 2 + iv.noise.fixed_var)
    df = float(stats.satterthwaite_df(floor / 2, iv.noise.fixed_var, 1))
    assert half == pytest.approx(float(student_t.ppf(0.975, df)) * se, rel=1e-9) and math.isfinite(df)
    # the same differences from arms that keep still: the floor is known from the images (normal quantile)
    still = stats.paired_t_with_test_set([0.6, 0.6], [0.55, 0.55], [hits(600), hits(600, 1)],
                                         [hits(550, 25), hits(550, 26)])
    assert still.noise.seed_df is None and "df inf" in still.method


def test_a_seed_spread_over_the_floor_keeps_n_minus_1_df_combined_by_welch_satterthwaite():
    # 1,000 images, each seed's discordant images its own: no image component; the spread of the
    # differences (0.10, 0.20, 0.30: variance 0.01) is above the per-image floor, so the seed part is
    # 0.01 / 3 on 2 df, alone: Satterthwaite gives df 2 and the interval is paired_t's
    a, b = [], []
    for i, gap in enumerate((100, 200, 300)):
        hits = np.zeros(1000, bool)
        hits[300 * i:300 * i + gap] = True
        a.append(hits)
        b.append(np.zeros(1000, bool))
    iv, plain = stats.paired_t_with_test_set([0.1, 0.2, 0.3], [0.0] * 3, a, b), stats.paired_t([0.1, 0.2, 0.3])
    assert (iv.low, iv.high) == pytest.approx((plain.low, plain.high)) and "df 2.0" in iv.method


def test_satterthwaite_df_of_a_seed_part_and_a_known_part_by_hand():
    # seed part 1 on 2 df plus a known part 1: df = (1 + 1)^2 / (1^2 / 2) = 8; a known part alone: inf
    assert float(stats.satterthwaite_df(1.0, 1.0, 2)) == pytest.approx(8.0)
    assert float(stats.satterthwaite_df(0.0, 1.0, 2)) == math.inf
    assert stats.Noise(3.0, 2, 1.0).se_df(3) == (pytest.approx(math.sqrt(2.0)), pytest.approx(8.0))
    half, se, df = stats.paired_half_width(3.0, False, 1.0, 3)
    assert float(half) == pytest.approx(2.306004 * math.sqrt(2.0), rel=1e-6)  # t(0.975, df 8)


def test_minimum_detectable_effect_and_seeds_needed_by_hand():
    # a seed variance known from the images (1e-4 per pair) and nothing fixed: at n seeds se = 0.01 / sqrt(n)
    # on infinite df; the mde at 80% power one-sided 2.5% is (1.959964 + 0.841621) * se
    iv = stats.Interval(0.01, -0.004, 0.024, 2, "t", noise=stats.Noise(1e-4, None, 0.0))
    mde, needed = stats.power_summary(iv, 0.0, "better", stats.INCONCLUSIVE)
    assert mde == pytest.approx(2.801585 * 0.01 / math.sqrt(2), rel=1e-5)
    # 2.801585 * 0.01 / sqrt(n) <= 0.01 first at n = 8 (2.801585^2 = 7.85)
    assert needed == 8
    assert stats.power_summary(iv, 0.0, "better", stats.REPRODUCED) == (pytest.approx(mde), None)
    # a fixed part no seed count removes: the observed distance 0.001 is never decided
    stuck = stats.Interval(0.001, -0.02, 0.022, 2, "t", noise=stats.Noise(1e-4, None, 1e-4))
    assert stats.power_summary(stuck, 0.0, "better", stats.INCONCLUSIVE)[1] is None
    # no variance parts, or a check with no level: nothing to say
    assert stats.power_summary(stats.Interval(0.0, -1, 1, 2, "t"), 0.0, "better", stats.INCONCLUSIVE) == (None, None)
    assert stats.power_summary(iv, 0.0, "consistent", stats.REPRODUCED) == (None, None)


def test_the_power_of_a_seed_spread_is_that_of_the_t_test():
    # seed variance 1e-4 estimated on 2 df (no per-image floor): the power at n seeds is the noncentral t's,
    # so the mde at 3 seeds is the distance where nct.sf(t(0.975, 2), 2, mde / (0.01 / sqrt(3))) = 0.8
    from scipy import stats as sps
    iv = stats.paired_t([0.0, 0.01, 0.02])
    mde, needed = stats.power_summary(iv, -0.01, "better", stats.INCONCLUSIVE)
    assert sps.nct.sf(sps.t.ppf(0.975, 2), 2, mde / (0.01 / math.sqrt(3))) == pytest.approx(0.8, abs=0.01)
    expect = next(n for n in range(3, 100)
                  if sps.nct.sf(sps.t.ppf(0.975, n - 1), n - 1, 0.02 / (0.01 / math.sqrt(n))) >= 0.8)
    assert abs(needed - expect) <= 1


def test_expected_wrong_verdicts_sum_the_measured_rates():
    verdicts = [("better", 3, "reproduced"), ("better", 4, "not-reproduced"), ("equivalent", 2, "inconclusive"),
                ("consistent", 2, "reproduced"), ("at-least", 1, "reproduced")]
    expected, uncounted = error_rates.expected_wrong(verdicts)
    rates = error_rates.ERROR_RATES
    assert expected == pytest.approx(rates["better"][3]["reproduced"] + rates["better"][3]["not-reproduced"]
                                     + rates["at-least"][1]["reproduced"])
    assert uncounted == 1  # the table cell's 'reproduced' has no level; the inconclusive one is no verdict
    assert error_rates.error_rate("better", 10, "reproduced") == rates["better"][5]["reproduced"]


def test_the_widened_interval_needs_one_record_per_seed():
    with pytest.raises(ValueError, match="per-image records"):
        stats.paired_t_with_test_set([0.1, 0.2], [0.0, 0.0], [np.ones(3, bool)], [np.ones(3, bool)] * 2)
