"""The statistics every claim check uses: an estimate, a 95% interval, the method, and a decision.

A verdict has three outcomes. A comparison is *reproduced* when its interval supports the
claim beyond the claim's margin, *not-reproduced* when the interval rules the claim out, and
*inconclusive* when it does neither. The intervals:

- seed-paired differences (>= 2 seeds): Student's t interval of the mean paired difference,
  widened by the test set's sampling variance where the runs kept per-image correctness (a
  test accuracy), the seed variance floored at its per-image part so that two tied seeds do not
  give a zero-width interval (the floor is trusted only where no arm's seeds spread beyond it);
- one pair of runs: the paired test-set noise from per-image correctness (McNemar's exact
  test on the discordant images, Wald interval of the paired difference of proportions);
  this covers the test-set sample only, not seed-to-seed variance, and says so;
- equivalence ("not significant", "similar"): two one-sided tests against the margin, i.e.
  the 90% interval inside (-margin, margin);
- thresholds ("reaches 96%"): one-sided 95% bounds (t over seeds, the seeds' variance floored at
  the per-image part the runs' per-image correctness shows, so tied seeds do not give a zero-width
  bound; or the binomial bound of one run's test accuracy);
- absolute cells: the prediction interval for one further run (t over seeds), widened by the
  tolerance and by the report's rounding, must contain the reported value.

Distributions come from scipy.stats; nothing here is hand-written beyond the formulas.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import optimize, stats

CONFIDENCE = 0.95
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not-reproduced", "inconclusive"


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided interval (low/high may be infinite: no noise estimate)."""

    estimate: float
    low: float
    high: float
    n: int  # seeds (or seed pairs) behind the estimate
    method: str
    confidence: float = CONFIDENCE
    p_value: float | None = None
    noise: "Noise | None" = None  # the variance parts behind the interval (power at other seed counts)

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()
                if k != "noise"}


def _finite(values: Sequence[float]) -> list[float]:
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"non-finite values {out}: handle diverged runs before the statistics")
    return out


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE, what: str = "mean") -> Interval:
    """Student's t interval of a mean over seeds; with one value the interval is unbounded."""
    xs = _finite(values)
    n = len(xs)
    mean = float(np.mean(xs))
    if n < 2:
        return Interval(mean, -math.inf, math.inf, n, f"{what} of 1 seed: no seed-to-seed variance, no interval",
                        confidence)
    sem = float(np.std(xs, ddof=1)) / math.sqrt(n)
    noise = Noise(sem ** 2 * n, n - 1)
    if sem == 0.0:
        return Interval(mean, mean, mean, n, f"{what} of {n} seeds (identical values)", confidence, noise=noise)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n, f"t interval of the {what} over {n} seeds", confidence,
                    noise=noise)


def paired_t(differences: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of seed-paired differences with its t interval (df = pairs - 1)."""
    iv = mean_interval(differences, confidence, what="paired difference")
    return iv


@dataclass(frozen=True)
class Noise:
    """The variance behind an interval, split by where it comes from, so that each part keeps its own
    degrees of freedom and the power of the comparison at other seed counts can be worked out.

    `seed_var` is the variance of one seed's value (or one seed pair's difference); it shrinks as
    1/n. `seed_df` is None where it is known from the images (the per-image noise floor: hundreds of
    images, effectively infinite df) and n - 1 where it is the spread of the seeds' values.
    `fixed_var` is the variance more seeds do not shrink (the test set's sampling term), known from
    the images (infinite df)."""

    seed_var: float
    seed_df: int | None
    fixed_var: float = 0.0
    floor: float = 0.0  # the per-image floor of seed_var (what independent per-image noise alone gives)

    def se_df(self, n: int) -> tuple[float, float]:
        """Standard error of a mean over n seeds and its Welch-Satterthwaite degrees of freedom."""
        seed = self.seed_var / n
        total = seed + self.fixed_var
        if self.seed_df is None or seed == 0.0:
            return math.sqrt(total), math.inf
        return math.sqrt(total), total ** 2 / (seed ** 2 / self.seed_df)


def satterthwaite_df(seed_part, fixed_part, seed_df):
    """Welch-Satterthwaite degrees of freedom of seed_part + fixed_part, where only seed_part is
    estimated (with seed_df df) and fixed_part is known from the images; inf where seed_part is 0
    or seed_df is None. Works elementwise on numpy arrays (the calibration simulates with it)."""
    seed_part, fixed_part = np.asarray(seed_part, float), np.asarray(fixed_part, float)
    if seed_df is None:
        return np.full(np.broadcast(seed_part, fixed_part).shape, math.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(seed_part > 0, (seed_part + fixed_part) ** 2 / (seed_part ** 2 / np.asarray(seed_df, float)),
                      math.inf)
    return df


def paired_parts(differences, n: int, m: int, per_image_seed_var, image_mean_var, arm_spreads=None):
    """The variance parts of a seed-paired mean difference with per-image records (elementwise on arrays).

    Returns (seed_var, seed_known, test_var): `seed_var` the variance of one pair's difference, the
    larger of the seeds' spread and the per-image floor; `seed_known` True where the floor binds (the
    part is then known from the images, infinite df); `test_var` the test set's sampling variance of the
    mean (known from the images). The arguments are the per-seed differences' sample variance
    `differences` (ddof 1), the number of seed pairs and of images, the mean over images of e's variance
    over seeds, the variance over images of e's seed mean (see paired_t_with_test_set), and the two arms'
    own seed variances summed (`arm_spreads`): the floor binds only where that sum is under it too."""
    spread = np.asarray(differences, float)
    floor = np.asarray(per_image_seed_var, float) / m
    seed_var = np.maximum(spread, floor)
    test_var = np.maximum(np.asarray(image_mean_var, float) - np.asarray(per_image_seed_var, float) / n, 0.0) / m
    known = spread <= floor
    if arm_spreads is not None:
        known = known & (np.asarray(arm_spreads, float) <= floor)
    return seed_var, known, test_var


def paired_half_width(seed_var, seed_known, test_var, n: int, confidence: float = CONFIDENCE):
    """Half width of the paired interval from its parts (elementwise): se over n pairs times the t
    quantile at the Welch-Satterthwaite df (the seeds' spread has n - 1 df, the parts known from the
    images infinite df). Returns (half, se, df)."""
    seed_part = np.asarray(seed_var, float) / n
    fixed = np.asarray(test_var, float)
    df = np.where(np.asarray(seed_known), math.inf, satterthwaite_df(seed_part, fixed, n - 1))
    se = np.sqrt(seed_part + fixed)
    return stats.t.ppf(0.5 + confidence / 2, df) * se, se, df


def paired_t_with_test_set(a_values: Sequence[float], b_values: Sequence[float], a_correct: Sequence[np.ndarray],
                           b_correct: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> Interval:
    """Seed-paired interval of the mean difference of A and B, with the test set's own sampling variance.

    The seed spread measures how the difference varies from seed to seed on one fixed test set; the
    claim is about accuracy on the images' distribution, so the variance of the difference over the
    test images adds. With e[i, j] the per-image difference of seed pair i on image j (-1, 0 or 1):
    - the image part is the variance over images of the seed mean of e, less its own seed noise (the
      mean over images of e's variance over seeds, over n), over the number of images; floored at 0;
    - the seed part is the spread of the differences over n; it is floored at what the per-image seed
      noise gives a difference of independent images (so two tied seeds on 1,000 images, whose
      accuracies move in steps of 0.001, do not give a zero-width interval).
    Each part keeps its own degrees of freedom: the image part has hundreds of images behind it,
    effectively infinite df; the seeds' spread has n - 1. They combine by Welch-Satterthwaite. (Giving the
    whole standard error n - 1 df multiplied the known test-set part by t(0.975, 1) = 12.7 at two seeds:
    the check then erred far below its level and could hardly decide; tests/test_calibration.py measures
    both.)

    The floor counts as known (infinite df) only where no spread shows a seed effect above it: neither
    the differences' spread nor the two arms' own seed variances summed. At 2 seeds the differences'
    spread has 1 df, and a run-to-run effect as large as the per-image noise makes the two differences
    agree by chance often enough that, trusting the floor on that alone, the check said "reproduced" for
    4.8-6.6% of true nulls at its 2.5% level (8% on real LeNet A/A runs, benchmarks/README). The arms'
    own spreads (2 (n - 1) df) see that effect whatever the pairing removes; the pairing itself is kept,
    since arms that share a seed share much of its luck. `a_correct[i]` and `b_correct[i]` are the
    per-image records of the runs behind `a_values[i]` and `b_values[i]`.
    """
    xs, ys = _finite(a_values), _finite(b_values)
    n = len(xs)
    if n < 2 or len(ys) != n or len(a_correct) != n or len(b_correct) != n:
        raise ValueError(f"{n} and {len(ys)} seeds need as many per-image records per arm "
                         f"(got {len(a_correct)} and {len(b_correct)}), and at least 2 pairs")
    a = np.stack([np.asarray(c, dtype=float) for c in a_correct])
    b = np.stack([np.asarray(c, dtype=float) for c in b_correct])
    if a.shape != b.shape:
        raise ValueError(f"runs were evaluated on different test sets ({a.shape[1]} vs {b.shape[1]} images)")
    e = a - b
    m = e.shape[1]
    per_image_seed_var = float(np.mean(np.var(e, axis=0, ddof=1)))
    image_mean_var = float(np.var(e.mean(axis=0), ddof=1))
    differences = [x - y for x, y in zip(xs, ys)]
    seed_var, known, test_var = paired_parts(float(np.var(differences, ddof=1)), n, m, per_image_seed_var,
                                             image_mean_var, float(np.var(xs, ddof=1) + np.var(ys, ddof=1)))
    half, se, df = (float(v) for v in paired_half_width(seed_var, known, test_var, n, confidence))
    noise = Noise(float(seed_var), None if bool(known) else n - 1, float(test_var), per_image_seed_var / m)
    mean = float(np.mean(differences))
    dfs = "inf" if not math.isfinite(df) else f"{df:.1f}"
    method = (f"interval of the paired difference over {n} seeds with the test-set sampling variance over "
              f"{m} images (Welch-Satterthwaite df {dfs})")
    return _centred(mean, half, se, n, method, confidence, noise)


def _centred(mean: float, half: float, se: float, n: int, method: str, confidence: float, noise: Noise) -> Interval:
    """mean +- half; a zero standard error (no variance in seeds or images) says so in the method."""
    if se == 0.0:
        return Interval(mean, mean, mean, n, method + ": no variance in seeds or images", confidence, noise=noise)
    return Interval(mean, mean - half, mean + half, n, method, confidence, noise=noise)


def paired_test_set(a_correct: np.ndarray, b_correct: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """Accuracy of A minus accuracy of B on the same test images, from one run each.

    McNemar's exact test on the discordant images gives the p-value; the interval is the Wald
    interval of a paired difference of proportions. Test-set noise only: one seed per arm
    cannot show seed-to-seed variance, and the method text says so.
    """
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"runs were evaluated on different test sets ({a.size} vs {b.size} images)")
    n = a.size
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    estimate = (only_a - only_b) / n
    se = math.sqrt(max((only_a + only_b) - (only_a - only_b) ** 2 / n, 0.0)) / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = mcnemar_exact(only_a, only_b)
    method = (f"one run per arm: McNemar on {n} test images ({only_a} vs {only_b} discordant), "
              f"test-set noise only, seed variance not measured")
    return Interval(estimate, estimate - z * se, estimate + z * se, 1, method, confidence, p, Noise(se ** 2, None))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant counts against 1/2."""
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def prediction_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Where one further run would fall: mean +- t * s * sqrt(1 + 1/n) over seeds."""
    xs = _finite(values)
    n = len(xs)
    mean = float(np.mean(xs))
    if n < 2:
        return Interval(mean, mean, mean, n, "1 seed: the run itself, no seed-noise estimate", confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.std(xs, ddof=1)) * math.sqrt(1 + 1 / n)
    return Interval(mean, mean - half, mean + half, n, f"prediction interval for one run from {n} seeds", confidence)


def seed_var_floor(spread, per_image_seed_var, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The variance of one run's accuracy over seeds on a fixed test set, floored at its per-image
    Bernoulli part (elementwise on arrays, as the calibration simulates it).

    Each image's correctness varies from seed to seed, so a run's accuracy on m images varies at least
    by the mean over images of that variance (ddof 1 over seeds), over m: two seeds that happen to tie
    do not measure a variance of 0. Returns (seed_var, known): the larger of the seeds' sample variance
    `spread` and the floor, and True where the floor binds (the variance is then known from the images:
    hundreds of them, effectively infinite df)."""
    spread = np.asarray(spread, float)
    floor = np.asarray(per_image_seed_var, float) / m
    return np.maximum(spread, floor), spread <= floor


def one_sided_bounds(values: Sequence[float], confidence: float = CONFIDENCE,
                     correct: np.ndarray | None = None, *,
                     records: Sequence[np.ndarray] | None = None) -> Interval:
    """Lower and upper one-sided bounds (each at `confidence`) of a mean over seeds.

    Over 2+ seeds with each run's per-image correctness (`records`), the seeds' variance is floored at
    its per-image part (seed_var_floor): where the floor binds the variance is known from the images and
    the bounds take the normal quantile, otherwise t on n - 1 df (as paired_t_with_test_set). Without
    records, t bounds over seeds. With one seed and its per-image correctness, the Clopper-Pearson bounds
    of that run's test accuracy (test-set noise only); with one seed and nothing else, unbounded.
    """
    xs = _finite(values)
    n = len(xs)
    mean = float(np.mean(xs))
    two_sided = 2 * confidence - 1
    if n >= 2 and records is not None:
        return _floored_bounds(xs, records, confidence)
    if n >= 2:
        iv = mean_interval(xs, two_sided)
        return Interval(mean, iv.low, iv.high, n, f"one-sided {confidence:.0%} t bounds over {n} seeds", confidence,
                        noise=iv.noise)
    if correct is not None:
        hits = int(np.sum(correct))
        ci = stats.binomtest(hits, len(correct)).proportion_ci(two_sided, method="exact")
        return Interval(mean, float(ci.low), float(ci.high), 1,
                        f"one run: one-sided {confidence:.0%} Clopper-Pearson bounds on {len(correct)} test images "
                        f"(test-set noise only)", confidence, noise=Noise(mean * (1 - mean) / len(correct), None))
    return Interval(mean, -math.inf, math.inf, 1, "1 seed: no noise estimate", confidence)


def _floored_bounds(xs: list[float], records: Sequence[np.ndarray], confidence: float) -> Interval:
    """one_sided_bounds over n >= 2 seeds with the per-image floor of the seeds' variance."""
    n, mean = len(xs), float(np.mean(xs))
    if len(records) != n:
        raise ValueError(f"{n} seeds need {n} per-image records (got {len(records)})")
    hits = np.stack([np.asarray(r, dtype=float) for r in records])
    per_image, m = float(np.mean(np.var(hits, axis=0, ddof=1))), hits.shape[1]
    seed_var, known = seed_var_floor(float(np.var(xs, ddof=1)), per_image, m)
    half, se, df = (float(v) for v in paired_half_width(seed_var, known, 0.0, n, 2 * confidence - 1))
    noise = Noise(float(seed_var), None if bool(known) else n - 1, 0.0, per_image / m)
    quantile = "normal quantile" if not math.isfinite(df) else f"t on {df:.0f} df"
    method = (f"one-sided {confidence:.0%} bounds over {n} seeds, the seed variance floored at the per-image "
              f"variance over {m} images ({quantile})")
    return _centred(mean, half, se, n, method, confidence, noise)


# -- decisions ---------------------------------------------------------------------------------

def decide_better(support: Interval, refute: Interval | None = None, margin: float = 0.0) -> str:
    """Claim: the difference exceeds `margin`. Supported if the interval lies above it, ruled
    out if it lies at or below it. `refute` may be a wider interval (multiple comparisons)."""
    refute = refute or support
    if support.low > margin:
        return REPRODUCED
    if refute.high <= margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def decide_equivalent(tost: Interval, wide: Interval, margin: float) -> str:
    """Claim: |difference| < margin. Two one-sided tests at 5% each (the 90% interval `tost`
    inside the band) support it; a 95% interval `wide` entirely outside the band rules it out."""
    if -margin < tost.low and tost.high < margin:
        return REPRODUCED
    if wide.low > margin or wide.high < -margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def decide_at_least(bounds: Interval, bound: float) -> str:
    """Claim: the mean reaches `bound`. The lower one-sided bound at or above it supports it;
    the upper one below it rules it out."""
    if bounds.low >= bound:
        return REPRODUCED
    if bounds.high < bound:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def combine(outcomes: Sequence[str]) -> str:
    """Several comparisons that must all hold (an ordering, a first place): any ruled out rules the
    claim out; all supported supports it (intersection-union test); anything else is inconclusive."""
    if any(o == NOT_REPRODUCED for o in outcomes):
        return NOT_REPRODUCED
    if outcomes and all(o == REPRODUCED for o in outcomes):
        return REPRODUCED
    return INCONCLUSIVE


def rounding_half_unit(value: float) -> float:
    """Half a unit of the last digit a reported number was given with (0.8911 -> 0.00005)."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0.0
    decimals = len(text.split(".")[1].rstrip("0"))
    return 0.5 * 10 ** (-decimals) if decimals else 0.5


# -- power -------------------------------------------------------------------------------------

POWER = 0.80
MAX_SEEDS = 1000  # beyond this many seeds per arm a comparison counts as undecidable at its observed effect


def _alpha(test: str, confidence: float) -> float | None:
    """The one-sided level a check tests at: a two-sided interval's tail for `better` and `equivalent`
    (TOST's 90% interval: 5% a side), the one-sided bound's for `at-least`; None for `consistent`."""
    if test in ("better", "equivalent"):
        return (1 - confidence) / 2
    if test == "at-least":
        return 1 - confidence
    return None


_CHI_POINTS = (np.arange(64) + 0.5) / 64  # quantile midpoints over which a future seed spread is averaged


def power_at(noise: Noise, n: int, distance: float, alpha: float) -> float:
    """Probability that a check at n seeds, one-sided level alpha, decides a true distance from its
    margin, when the parts behind `noise` are the truth: averaged over the seed spread the n seeds
    would show (a chi-square on n - 1 df), which decides both the standard error (floored at the
    per-image floor) and the Welch-Satterthwaite df, as paired_t_with_test_set does. The floor is taken as
    binding where the differences' spread is under it; the check also asks the arms' own spreads, which can
    only make it more careful, so at 2-3 seeds this can overstate the power a little (the minimum detectable
    effect of a simulated 3-seed comparison still gives 70-90% power: tests/test_calibration.py)."""
    sigma2, floor, fixed = noise.seed_var, noise.floor, noise.fixed_var
    true_se = math.sqrt(sigma2 / n + fixed)
    if true_se == 0.0:
        return 1.0 if distance > 0 else 0.0
    if noise.seed_df is None and floor == 0.0:  # a variance known from the images alone (one run per arm)
        return float(stats.norm.sf(stats.norm.ppf(1 - alpha) - distance / true_se))
    spread = sigma2 * stats.chi2.ppf(_CHI_POINTS, n - 1) / (n - 1)
    seed_var = np.maximum(spread, floor)
    df = np.where(spread <= floor, math.inf, satterthwaite_df(seed_var / n, fixed, n - 1))
    crit = stats.t.ppf(1 - alpha, df) * np.sqrt(seed_var / n + fixed)
    return float(np.mean(stats.norm.sf((crit - distance) / true_se)))


def power_summary(iv: Interval, margin: float | None, test: str, outcome: str,
                  power: float = POWER, max_seeds: int = MAX_SEEDS) -> tuple[float | None, int | None]:
    """(mde, seeds_needed) of a comparison, from its interval's variance parts.

    mde: the smallest distance from the margin (for an equivalence: the smallest band at a true
    difference 0) that the check, at its own seed count and one-sided level, decides with 80% power.
    seeds_needed: for an inconclusive comparison, about how many seeds per arm would decide it if the
    observed distance from the margin were the truth (either way); None when it would take more than
    `max_seeds`, when the seeds cannot help (the test set's part alone is too wide), or when nothing
    is inconclusive. Both None where the interval has no variance parts or the check has no level."""
    alpha = _alpha(test, iv.confidence)
    noise = iv.noise
    if alpha is None or noise is None or not math.isfinite(iv.estimate) or (noise.seed_df is not None
                                                                           and noise.seed_var == 0.0):
        return None, None
    target = 1 - (1 - power) / 2 if test == "equivalent" else power  # TOST at 0: both one-sided tests
    n = max(iv.n, 2) if noise.seed_df is not None or noise.floor > 0 else iv.n
    hi = 1.0
    while power_at(noise, n, hi, alpha) < target and hi < 1e6:
        hi *= 4
    mde = float(optimize.brentq(lambda d: power_at(noise, n, d, alpha) - target, 0.0, hi, xtol=1e-7))
    if outcome != INCONCLUSIVE or margin is None:
        return mde, None
    distance = abs(margin - abs(iv.estimate)) if test == "equivalent" else abs(iv.estimate - margin)
    if distance == 0.0 or power_at(noise, max_seeds, distance, alpha) < target:
        return mde, None
    lo, hi_n = max(iv.n, 1), max_seeds  # power grows with n: the first n that reaches the target
    if noise.seed_df is not None or noise.floor > 0:
        lo = max(lo, 2)
    while lo < hi_n:
        mid = (lo + hi_n) // 2
        if power_at(noise, mid, distance, alpha) >= target:
            hi_n = mid
        else:
            lo = mid + 1
    return mde, lo


# The standard error of a median of n normal values is about sqrt(pi / 2) times that of their mean.
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2)


def median_difference_over_epochs(estimate: float, a: Sequence[float], b: Sequence[float],
                                  confidence: float = CONFIDENCE) -> Interval:
    """One run per arm of a median over epochs (an epoch time): Welch's interval from the two runs' per-epoch
    values, the standard error scaled from a mean's to a median's. Epoch-to-epoch noise only: run-to-run
    variance (another seed, another machine state) is not measured, and the method says so."""
    va, vb = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    method = (f"one run per arm: Welch interval over {len(a)} and {len(b)} epochs, epoch-to-epoch noise only, "
              f"run-to-run variance not measured")
    if va + vb == 0.0:
        return Interval(estimate, estimate, estimate, 1, method + " (identical epochs)", confidence)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * MEDIAN_SE_FACTOR * math.sqrt(va + vb)
    return Interval(estimate, estimate - half, estimate + half, 1, method, confidence)
