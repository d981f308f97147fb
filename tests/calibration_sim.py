"""Simulated claims for measuring the verdicts' error rates (tests/test_calibration.py).

The generator follows Jordan (2024)'s model of test-set noise: each test image has a difficulty (a
logit drawn from a normal spread), each run of an arm gets each image right with probability
sigmoid(difficulty + the arm's shift + the run's seed shift), independently across images. A claim
draws a fresh test set from the image distribution and fresh seeds, so the truth of a paired claim
is the difference of the arms' accuracies on the image distribution (worked out by quadrature), and
that of a one-arm threshold is the arm's expected accuracy on the claim's own test set.

Each claim draws SEEDS_MAX seeds per arm and a cell at n seeds reads the first n, so the cells at
1, 2, 3 and 5 seeds share draws (each cell is still a set of independent claims). The decisions run
through the harness's own variance parts and half widths (stats.paired_parts, stats.seed_var_floor,
stats.paired_half_width) vectorised over claims; tests/test_calibration.py checks that they agree with the
scalar stats functions claim.py calls. Two former rules are kept here only as comparisons: `OLD_RULE` (one t
quantile on n - 1 df for the whole standard error) and `PAIR_ONLY_RULE` (the per-image floor trusted whenever
the differences' spread is under it, whatever the arms' own spreads show).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats as sps

from harness.claim import stats

IMAGE_MEAN, IMAGE_SD = 0.6, 2.0  # difficulty logits: about 60% accuracy, many easy and many hard images
REALISTIC_SEED_SD = 0.01  # logit shift per run: ~0.15 points of accuracy, small beside per-image noise
STRESS_SEED_SD = 0.10  # ~1.5 points: as large as the per-image noise of 1,000 images
LARGE_SEED_SD = 0.20  # ~3 points: twice the per-image noise (runs far from converged, as in the fast tier)
SEEDS_MAX = 5
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
_SEED_NODES, _SEED_WEIGHTS = np.polynomial.hermite_e.hermegauss(7)
_SEED_WEIGHTS = _SEED_WEIGHTS / _SEED_WEIGHTS.sum()
OLD_RULE, NEW_RULE, PAIR_ONLY_RULE = "old", "new", "pair"


def population_accuracy(shift: float, seed_sd: float) -> float:
    """Expected accuracy over images and seeds of an arm with this logit shift."""
    sd = math.hypot(IMAGE_SD, seed_sd)
    return float(np.sum(_WEIGHTS * special.expit(IMAGE_MEAN + shift + sd * _NODES)))


def shift_for(difference: float, seed_sd: float) -> float:
    """The logit shift that puts an arm `difference` above the unshifted arm on the image distribution."""
    base = population_accuracy(0.0, seed_sd)
    return float(optimize.brentq(lambda s: population_accuracy(s, seed_sd) - base - difference, -3, 3))


@dataclass
class Draw:
    """Per-image correctness summaries of `claims` simulated claims, SEEDS_MAX seeds per arm."""

    hits: list[np.ndarray]  # per arm: (claims, seeds, images) bool
    truth_acc: list[np.ndarray]  # per arm: (claims,) expected accuracy on each claim's own test set
    population: list[float]  # per arm: accuracy on the image distribution
    images: int


def draw(rng: np.random.Generator, claims: int, images: int, differences: list[float],
         seed_sd: float = REALISTIC_SEED_SD, seeds: int = SEEDS_MAX) -> Draw:
    """Arms at the given population accuracy differences from the first (differences[0] is 0), `seeds`
    seeds per arm (more for the sequential rule's later looks, tests/sequential_sim.py)."""
    shifts = [shift_for(d, seed_sd) for d in differences]
    difficulty = rng.normal(IMAGE_MEAN, IMAGE_SD, (claims, 1, images)).astype(np.float32)
    hits, truth = [], []
    for s in shifts:
        u = rng.normal(0.0, seed_sd, (claims, seeds, 1)).astype(np.float32)
        p = special.expit(difficulty + np.float32(s) + u)
        hits.append(rng.random(p.shape, dtype=np.float32) < p)
        grid = difficulty[:, 0, :, None] + np.float32(s) + np.float32(seed_sd) * _SEED_NODES.astype(np.float32)
        truth.append((special.expit(grid) @ _SEED_WEIGHTS.astype(np.float32)).mean(axis=1))
    return Draw(hits, truth, [population_accuracy(s, seed_sd) for s in shifts], images)


@dataclass
class Paired:
    """A seed-paired comparison of arms i - j at n seeds, vectorised over claims."""

    mean: np.ndarray
    seed_var: np.ndarray
    known: np.ndarray
    test_var: np.ndarray
    n: int
    only_a: np.ndarray  # discordant counts of the first seed pair (McNemar at n = 1)
    only_b: np.ndarray
    images: int
    floor: np.ndarray | None = None  # per-image floor of seed_var

    def noise(self, c: int) -> stats.Noise:
        """Claim c's variance parts as paired_t_with_test_set records them."""
        return stats.Noise(float(self.seed_var[c]), None if self.known[c] else self.n - 1, float(self.test_var[c]),
                           float(self.floor[c]))

    def interval(self, confidence: float, rule: str = NEW_RULE) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) as claim.py gets them from stats (paired_t_with_test_set, or paired_test_set at n=1)."""
        if self.n == 1:
            m = self.images
            est = (self.only_a - self.only_b) / m
            se = np.sqrt(np.maximum(self.only_a + self.only_b - (self.only_a - self.only_b) ** 2 / m, 0.0)) / m
            z = sps.norm.ppf(0.5 + confidence / 2)
            return est - z * se, est + z * se
        half, se, _ = stats.paired_half_width(self.seed_var, self.known, self.test_var, self.n, confidence)
        if rule == OLD_RULE:
            half = sps.t.ppf(0.5 + confidence / 2, self.n - 1) * se
        elif rule == PAIR_ONLY_RULE:
            pair_known = self.seed_var <= self.floor  # the differences' spread alone under the floor
            half, _, _ = stats.paired_half_width(self.seed_var, pair_known, self.test_var, self.n, confidence)
        return self.mean - half, self.mean + half


def paired(d: Draw, i: int, j: int, n: int) -> Paired:
    a, b = d.hits[i][:, :n], d.hits[j][:, :n]
    e = a.astype(np.int8) - b.astype(np.int8)
    diffs = e.mean(axis=2, dtype=np.float64)
    only_a = np.sum(a[:, 0] & ~b[:, 0], axis=1)
    only_b = np.sum(~a[:, 0] & b[:, 0], axis=1)
    if n == 1:
        zeros = np.zeros(len(diffs))
        return Paired(diffs[:, 0], zeros, zeros.astype(bool), zeros, 1, only_a, only_b, d.images)
    per_image_seed_var = e.var(axis=1, ddof=1, dtype=np.float64).mean(axis=1)
    image_mean_var = e.mean(axis=1, dtype=np.float64).var(axis=1, ddof=1)
    arm_spreads = accuracies(d, i, n).var(axis=1, ddof=1) + accuracies(d, j, n).var(axis=1, ddof=1)
    seed_var, known, test_var = stats.paired_parts(diffs.var(axis=1, ddof=1), n, d.images,
                                                   per_image_seed_var, image_mean_var, arm_spreads)
    return Paired(diffs.mean(axis=1), seed_var, known, test_var, n, only_a, only_b, d.images,
                  per_image_seed_var / d.images)


def accuracies(d: Draw, arm: int, n: int) -> np.ndarray:
    """(claims, n) per-seed accuracies of an arm."""
    return d.hits[arm][:, :n].mean(axis=2, dtype=np.float64)


# -- the decisions of stats.decide_*, elementwise -------------------------------------------------

def decide_better(low, high, refute_high, margin) -> np.ndarray:
    return np.where(low > margin, 1, np.where(refute_high <= margin, -1, 0))


def decide_equivalent(tost_low, tost_high, wide_low, wide_high, band) -> np.ndarray:
    return np.where((-band < tost_low) & (tost_high < band), 1,
                    np.where((wide_low > band) | (wide_high < -band), -1, 0))


def decide_at_least(low, high, bound) -> np.ndarray:
    return np.where(low >= bound, 1, np.where(high < bound, -1, 0))


def combine(*outcomes: np.ndarray) -> np.ndarray:
    stack = np.stack(outcomes)
    return np.where((stack == -1).any(axis=0), -1, np.where((stack == 1).all(axis=0), 1, 0))


def one_sided_bounds(values: np.ndarray, hits_first: np.ndarray | None = None,
                     confidence: float = stats.CONFIDENCE,
                     hits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """stats.one_sided_bounds elementwise: over seeds with the runs' per-image correctness `hits` (claims,
    seeds, images) as Claim.check_at_least gives it (the seeds' variance floored at its per-image part, the
    normal quantile where the floor binds), t bounds over seeds without; Clopper-Pearson for one run."""
    n = values.shape[1]
    mean = values.mean(axis=1)
    if n >= 2 and hits is not None:
        k = hits.sum(axis=1, dtype=np.float64)  # per image, the seeds that get it right: variance k(n-k)/(n(n-1))
        per_image = (k * (n - k)).mean(axis=1) / (n * (n - 1))
        seed_var, known = stats.seed_var_floor(values.var(axis=1, ddof=1), per_image, hits.shape[2])
        half, _, _ = stats.paired_half_width(seed_var, known, 0.0, n, 2 * confidence - 1)
        return mean - half, mean + half
    if n >= 2:
        half = sps.t.ppf(confidence, n - 1) * values.std(axis=1, ddof=1) / math.sqrt(n)
        return mean - half, mean + half
    m = hits_first.shape[1]
    k = hits_first.sum(axis=1)
    alpha = 1 - confidence
    low = np.where(k > 0, sps.beta.ppf(alpha, k, m - k + 1), 0.0)
    high = np.where(k < m, sps.beta.ppf(1 - alpha, k + 1, m - k), 1.0)
    return low, high


def within(values: np.ndarray, reported: np.ndarray, allowed: float,
           confidence: float = stats.CONFIDENCE) -> np.ndarray:
    """Claim.within elementwise: the prediction interval over seeds widened by the tolerance (and the
    reported value's rounding: the simulation reports 4 decimals), or the one value +- the tolerance."""
    n = values.shape[1]
    mean = values.mean(axis=1)
    if n < 2:
        return np.where(np.abs(reported - mean) <= allowed + 1e-12, 1, -1)
    half = sps.t.ppf(0.5 + confidence / 2, n - 1) * values.std(axis=1, ddof=1) * math.sqrt(1 + 1 / n)
    slack = allowed + 0.00005 + 1e-12
    return np.where((mean - half - slack <= reported) & (reported <= mean + half + slack), 1, -1)


def rates(outcome: np.ndarray) -> dict[str, float]:
    """Fractions reproduced / not-reproduced / inconclusive of a cell, and its size."""
    return {"reproduced": float(np.mean(outcome == 1)), "not-reproduced": float(np.mean(outcome == -1)),
            "inconclusive": float(np.mean(outcome == 0)), "claims": int(outcome.size)}


def mc_se(p: float, claims: int) -> float:
    """Monte-Carlo standard error of a rate p measured on `claims` claims."""
    return math.sqrt(max(p * (1 - p), 1e-12) / claims)


# -- the calibration table -------------------------------------------------------------------------

CLAIMS, IMAGES, SEED_COUNTS = 2000, 1000, (1, 2, 3, 5)
MARGIN, LEAD, BAND, TOLERANCE = 0.01, 0.035, 0.035, 0.01


def _row(kind: str, test: str, n: int, truth: str, outcome: np.ndarray, images: int = IMAGES,
         rule: str = NEW_RULE, covered: np.ndarray | None = None, seed_sd: float = REALISTIC_SEED_SD) -> dict:
    row = {"kind": kind, "test": test, "n": n, "images": images, "truth": truth, "rule": rule,
           "seed_sd": seed_sd, **rates(outcome)}
    row["coverage"] = None if covered is None else float(np.mean(covered))
    return row


def _paired_rows(kind: str, test: str, null: Draw, effect: Draw, margin: float, n: int, images: int,
                 rules=(NEW_RULE, OLD_RULE, PAIR_ONLY_RULE), seed_sd: float = REALISTIC_SEED_SD) -> list[dict]:
    rows = []
    for truth, d in (("null", null), ("effect", effect)):
        p = paired(d, 0, 1, n)
        true_diff = d.population[0] - d.population[1]
        for rule in rules if n >= 2 else (NEW_RULE,):
            low, high = p.interval(stats.CONFIDENCE, rule)
            rows.append(_row(kind, test, n, truth, decide_better(low, high, high, margin), images, rule,
                             (low <= true_diff) & (true_diff <= high), seed_sd))
    return rows


def measure(seed: int = 20240611, claims: int = CLAIMS) -> list[dict]:
    """Every check kind at 1, 2, 3 and 5 seeds under its null (the claim at its boundary) and under a
    planted effect; the paired kinds under the pre-fix rule too, at 10,000 images, and with a large seed
    effect. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    x0 = draw(rng, claims, IMAGES, [0.0, 0.0, -0.2])  # A = B > C
    x1 = draw(rng, claims, IMAGES, [LEAD, 0.0, -0.2])  # A leads B by 3.5 points
    x2 = draw(rng, claims, IMAGES, [MARGIN, 0.0])  # A - B at the margin
    x3 = draw(rng, claims, IMAGES, [3 * MARGIN, 0.0])  # three times the margin
    rows: list[dict] = []
    for n in SEED_COUNTS:
        rows += _paired_rows("paired better (margin 0)", "better", x0, x1, 0.0, n, IMAGES)
        rows += _paired_rows(f"paired better (margin {MARGIN})", "better", x2, x3, MARGIN, n, IMAGES)
        # an ordering A > B > C: two comparisons, each supported at 95%, refuted at 1 - 5% / 2 (check_ordered,
        # check_ranks_first: the intersection-union test)
        for truth, d in (("null", x0), ("effect", x1)):
            for rule in (NEW_RULE, OLD_RULE) if n >= 2 else (NEW_RULE,):
                parts = []
                for i, j in ((0, 1), (1, 2)):
                    p = paired(d, i, j, n)
                    low, high = p.interval(stats.CONFIDENCE, rule)
                    _, refute_high = p.interval(1 - (1 - stats.CONFIDENCE) / 2, rule)
                    parts.append(decide_better(low, high, refute_high, 0.0))
                rows.append(_row("ordering (2 comparisons)", "better", n, truth, combine(*parts), rule=rule))
        # TOST: the band at the true difference (null) and a true difference of 0 (the claim holds)
        for truth, d in (("null", x1), ("effect", x0)):
            for rule in (NEW_RULE, OLD_RULE) if n >= 2 else (NEW_RULE,):
                p = paired(d, 0, 1, n)
                tl, th = p.interval(1 - 2 * (1 - stats.CONFIDENCE), rule)
                wl, wh = p.interval(stats.CONFIDENCE, rule)
                true_diff = d.population[0] - d.population[1]
                rows.append(_row(f"equivalent (band {BAND})", "equivalent", n, truth,
                                 decide_equivalent(tl, th, wl, wh, BAND), rule=rule,
                                 covered=(wl <= true_diff) & (true_diff <= wh)))
        # paired at-least ("no gain"): one-sided 95% bounds of a - b against the target MARGIN
        for truth, d in (("null", x2), ("effect", x3)):
            for rule in (NEW_RULE, OLD_RULE) if n >= 2 else (NEW_RULE,):
                low, high = paired(d, 0, 1, n).interval(2 * stats.CONFIDENCE - 1, rule)
                rows.append(_row(f"paired at-least (target {MARGIN})", "at-least", n, truth,
                                 decide_at_least(low, high, MARGIN), rule=rule))
        # threshold: one arm's one-sided bounds against its own test set's expected accuracy (null), and
        # against a level 3 points below it (the claim holds); the population accuracy as a second reading
        values = accuracies(x0, 1, n)
        low, high = one_sided_bounds(values, x0.hits[1][:, 0], hits=x0.hits[1][:, :n])
        truth_acc = x0.truth_acc[1]
        rows.append(_row("at-least (threshold)", "at-least", n, "null", decide_at_least(low, high, truth_acc)))
        rows.append(_row("at-least (threshold)", "at-least", n, "effect",
                         decide_at_least(low, high, truth_acc - 3 * MARGIN)))
        rows.append(_row("at-least (threshold, population)", "at-least", n, "null",
                         decide_at_least(low, high, x0.population[1])))
        # table cell: the reported value is one further run of the recipe on the same test set (the claim
        # holds: tolerance 0 at >= 2 seeds, 0.01 at 1 seed) or that run plus 3 tolerances (it does not)
        reported = np.round(x0.hits[0][:, 0].mean(axis=1, dtype=np.float64), 4)
        allowed = 0.0 if n >= 2 else TOLERANCE
        consistent = within(values, reported, allowed)
        rows.append(_row("consistent (table cell)", "consistent", n, "null", consistent,
                         covered=consistent == 1))
        rows.append(_row("consistent (table cell)", "consistent", n, "effect",
                         within(values, reported + 3 * TOLERANCE, TOLERANCE)))
    big = [draw(rng, claims // 8, 10 * IMAGES, [dd, 0.0]) for dd in (0.0, LEAD / 3)]
    for n in (2, 3, 5):
        rows += _paired_rows("paired better (margin 0)", "better", big[0], big[1], 0.0, n, 10 * IMAGES)
    for seed_sd in (STRESS_SEED_SD, LARGE_SEED_SD):
        stress = [draw(rng, claims, IMAGES, [dd, 0.0], seed_sd) for dd in (0.0, LEAD)]
        for n in SEED_COUNTS:
            rows += _paired_rows("paired better (margin 0)", "better", stress[0], stress[1], 0.0, n, IMAGES,
                                 seed_sd=seed_sd)
    return rows


def format_table(rows: list[dict]) -> str:
    """The table as text: one line per cell."""
    head = f"{'kind':<36}{'imgs':>6}{'seedsd':>7}{'n':>3} {'truth':<7}{'rule':<5}{'repro':>7}{'not':>7}{'inc':>7}{'cover':>7}{'N':>6}"
    lines = [head]
    for r in rows:
        cov = "" if r["coverage"] is None else f"{r['coverage']:.3f}"
        lines.append(f"{r['kind']:<36}{r['images']:>6}{r['seed_sd']:>7}{r['n']:>3} {r['truth']:<7}{r['rule']:<5}"
                     f"{r['reproduced']:>7.3f}{r['not-reproduced']:>7.3f}{r['inconclusive']:>7.3f}{cov:>7}"
                     f"{r['claims']:>6}")
    return "\n".join(lines)


if __name__ == "__main__":
    import time
    t = time.process_time()
    table = measure()
    print(format_table(table))
    print(f"CPU {time.process_time() - t:.1f} s")


def error_rates(rows: list[dict]) -> dict[str, dict[int, dict[str, float | None]]]:
    """Per check test and seed count, the worst rate over its kinds of each wrong verdict at the claim's
    boundary (realistic seed effect, 1,000 images, the harness's rule): 'reproduced' when the claim sits
    exactly at its boundary (false), 'not-reproduced' there too (the boundary is where a true claim is
    hardest to keep). A table cell has no level for a false 'reproduced' (None); its 'not-reproduced'
    is one minus the prediction interval's coverage of a further run (at 1 seed: the tolerance's)."""
    out: dict[str, dict[int, dict[str, float | None]]] = {}
    for r in rows:
        if r["truth"] != "null" or r["rule"] != NEW_RULE or r["images"] != IMAGES \
                or r["seed_sd"] != REALISTIC_SEED_SD or "population" in r["kind"]:
            continue
        cell = out.setdefault(r["test"], {}).setdefault(r["n"], {"reproduced": 0.0, "not-reproduced": 0.0})
        if r["test"] == "consistent":
            cell["reproduced"] = None
        else:
            cell["reproduced"] = round(max(cell["reproduced"], r["reproduced"]), 3)
        cell["not-reproduced"] = round(max(cell["not-reproduced"], r["not-reproduced"]), 3)
    return out
