"""The statistics every claim check uses: an estimate, a 95% interval, the method, and a decision.

A verdict has three outcomes. A comparison is *reproduced* when its interval supports the
claim beyond the claim's margin, *not-reproduced* when the interval rules the claim out, and
*inconclusive* when it does neither. The intervals:

- seed-paired differences (>= 2 seeds): Student's t interval of the mean paired difference,
  widened by the test set's sampling variance where the runs kept per-image correctness (a
  test accuracy), so that two tied seeds do not give a zero-width interval;
- one pair of runs: the paired test-set noise from per-image correctness (McNemar's exact
  test on the discordant images, Wald interval of the paired difference of proportions);
  this covers the test-set sample only, not seed-to-seed variance, and says so;
- equivalence ("not significant", "similar"): two one-sided tests against the margin, i.e.
  the 90% interval inside (-margin, margin);
- thresholds ("reaches 96%"): one-sided 95% bounds (t over seeds, or the binomial bound of
  one run's test accuracy);
- absolute cells: the prediction interval for one further run (t over seeds), widened by the
  tolerance and by the report's rounding, must contain the reported value.

Distributions come from scipy.stats; nothing here is hand-written beyond the formulas.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats

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

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


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
    if sem == 0.0:
        return Interval(mean, mean, mean, n, f"{what} of {n} seeds (identical values)", confidence)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), n, f"t interval of the {what} over {n} seeds", confidence)


def paired_t(differences: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of seed-paired differences with its t interval (df = pairs - 1)."""
    iv = mean_interval(differences, confidence, what="paired difference")
    return iv


def paired_t_with_test_set(differences: Sequence[float], a_correct: Sequence[np.ndarray],
                           b_correct: Sequence[np.ndarray], confidence: float = CONFIDENCE) -> Interval:
    """Seed-paired t interval widened by the test set's own sampling variance.

    The t interval measures how the difference varies from seed to seed on one fixed test set;
    the claim is about accuracy on the images' distribution, so the variance of the difference
    over the test images adds. With e[i, j] the per-image difference of seed pair i on image j
    (-1, 0 or 1), the image component is the variance over images of the seed mean of e, less
    its own seed noise (the mean over images of e's variance over seeds, over n), over the number
    of images; floored at 0. On 1,000 test images accuracies move in steps of 0.001, so two seeds
    can tie and the spread of the differences is then 0: the seed variance is floored at what the
    per-image seed noise gives a difference of independent images. Degrees of freedom stay n - 1
    (conservative). So a tie no longer gives a zero-width interval that looks like certainty.
    `a_correct[i]` and `b_correct[i]` are the runs of seed pair i.
    """
    xs = _finite(differences)
    n = len(xs)
    if n < 2 or len(a_correct) != n or len(b_correct) != n:
        raise ValueError(f"{n} seed pairs need {n} per-image records per arm "
                         f"(got {len(a_correct)} and {len(b_correct)}), and at least 2")
    a = np.stack([np.asarray(c, dtype=float) for c in a_correct])
    b = np.stack([np.asarray(c, dtype=float) for c in b_correct])
    if a.shape != b.shape:
        raise ValueError(f"runs were evaluated on different test sets ({a.shape[1]} vs {b.shape[1]} images)")
    e = a - b
    m = e.shape[1]
    per_image_seed_var = float(np.mean(np.var(e, axis=0, ddof=1)))
    # A difference's seed variance is at least what per-image seed noise alone would give it if the
    # images were independent (runs that do better overall make it larger, which the spread of the
    # differences shows unless the seeds happen to tie).
    seed_var = max(float(np.var(xs, ddof=1)), per_image_seed_var / m) / n
    image_var = float(np.var(e.mean(axis=0), ddof=1)) - per_image_seed_var / n
    test_var = max(image_var, 0.0) / m
    mean = float(np.mean(xs))
    se = math.sqrt(seed_var + test_var)
    method = (f"t interval of the paired difference over {n} seeds, widened by the test-set sampling "
              f"variance over {m} images (df {n - 1})")
    if se == 0.0:
        return Interval(mean, mean, mean, n, method + ": no variance in seeds or images", confidence)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=se)
    return Interval(mean, float(low), float(high), n, method, confidence)


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
    return Interval(estimate, estimate - z * se, estimate + z * se, 1, method, confidence, p)


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


def one_sided_bounds(values: Sequence[float], confidence: float = CONFIDENCE,
                     correct: np.ndarray | None = None) -> Interval:
    """Lower and upper one-sided bounds (each at `confidence`) of a mean over seeds.

    With one seed and its per-image correctness, the Clopper-Pearson bounds of that run's
    test accuracy (test-set noise only); with one seed and nothing else, unbounded.
    """
    xs = _finite(values)
    n = len(xs)
    mean = float(np.mean(xs))
    two_sided = 2 * confidence - 1
    if n >= 2:
        iv = mean_interval(xs, two_sided)
        return Interval(mean, iv.low, iv.high, n, f"one-sided {confidence:.0%} t bounds over {n} seeds", confidence)
    if correct is not None:
        hits = int(np.sum(correct))
        ci = stats.binomtest(hits, len(correct)).proportion_ci(two_sided, method="exact")
        return Interval(mean, float(ci.low), float(ci.high), 1,
                        f"one run: one-sided {confidence:.0%} Clopper-Pearson bounds on {len(correct)} test images "
                        f"(test-set noise only)", confidence)
    return Interval(mean, -math.inf, math.inf, 1, "1 seed: no noise estimate", confidence)


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
