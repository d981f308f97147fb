"""Calibration with real training: how often the checks err on claims whose truth is known by design.

    nice -n 10 python benchmarks/calibration_real.py --replicates 30 --seeds 2 3        # LeNet, MNIST, small
    python benchmarks/calibration_real.py --model resnet18 --dataset cifar10 --train-subset 1000 --epochs 4 \\
        --width 0.0625 --augment rrc flip --replicates 100 --seeds 1 2 3 5 --cache runs/  # the fast tier's ResNet-18

Not part of CI (hundreds of training runs). One recipe trains a pool of seeds from 1000 up; each
replicate claim takes its own disjoint seeds. A/A claims (two arms of the same recipe) are true nulls:
"A better than B" at margin 0 may be reproduced at most 2.5% of the time, its 95% interval should
cover 0, and "A and B equivalent within the band" should be reproduced often (the claim holds). The
planted effect is an arm with lr = 0 (it never learns): "A better than it" should be reproduced. A
threshold claim reads the pool's mean accuracy on the same test images as its truth; a table cell
reads one further run of the recipe as the reported value. Every decision goes through harness/claim/stats.py
as claim.py calls it. Prints one line per check kind, seed count and truth, and the CPU time.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.claim import stats  # noqa: E402
from harness.claim.tiers import scale  # noqa: E402
from harness.runs.spec import Spec  # noqa: E402
from harness.train.loop import train  # noqa: E402

FIRST_SEED = 1000
FLAT_FIRST_SEED = 2000  # the planted-effect arm's seeds, apart from the recipe's (up to 1,000 of them)


def pool(spec: Spec, count: int, first: int = FIRST_SEED, cache: Path | None = None,
         cached_only: bool = False) -> list[np.ndarray]:
    """Per-image correctness (final epoch) of `count` runs with seeds first, first + 1, ...

    With `cache`, each run's correctness is kept in a file named by the recipe and seed, so that an
    interrupted measurement resumes where it stopped (hundreds of runs, hours of CPU). `cached_only`
    stops at the first run the cache lacks (the table then has fewer replicates, and says how many)."""
    out = []
    for seed in range(first, first + count):
        run = spec.replace(seed=seed)
        path = cache / f"{run.key}.npy" if cache is not None else None
        if path is not None and path.exists():
            out.append(np.load(path))
            continue
        if cached_only:
            break
        correct = np.asarray(train(run, progress=False).correctness("final"), dtype=bool)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path.with_suffix(".tmp.npy"), correct)
            path.with_suffix(".tmp.npy").replace(path)
        out.append(correct)
        if (seed - first + 1) % 25 == 0:
            print(f"  {seed - first + 1}/{count} runs of lr={spec.lr}", file=sys.stderr, flush=True)
    return out


RULES = ("new", "pair", "old")  # the harness's rule, and two former ones kept for comparison


def paired_interval(a: list[np.ndarray], b: list[np.ndarray], confidence: float = stats.CONFIDENCE,
                    rule: str = "new") -> stats.Interval:
    """The interval claim.py's _difference gives for test accuracies ("new"), or a former rule: "pair" trusts
    the per-image floor on the differences' spread alone (whatever the arms' own spreads show), "old" gives
    the whole standard error t on n - 1 df."""
    if len(a) == 1:
        return stats.paired_test_set(a[0], b[0], confidence)
    iv = stats.paired_t_with_test_set([float(x.mean()) for x in a], [float(y.mean()) for y in b], a, b, confidence)
    n, noise = len(a), iv.noise
    if rule == "old" and noise is not None:
        half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(noise.seed_var / n + noise.fixed_var)
        iv = stats.Interval(iv.estimate, iv.estimate - half, iv.estimate + half, n, "old rule", confidence)
    elif rule == "pair" and noise is not None:
        diffs = [float(x.mean()) - float(y.mean()) for x, y in zip(a, b)]
        known = float(np.var(diffs, ddof=1)) <= noise.floor
        half = float(stats.paired_half_width(noise.seed_var, known, noise.fixed_var, n, confidence)[0])
        iv = stats.Interval(iv.estimate, iv.estimate - half, iv.estimate + half, n, "pair-only rule", confidence)
    return iv


def measure(runs: list[np.ndarray], flat: list[np.ndarray], seed_counts: list[int], replicates: int,
            band: float) -> list[dict]:
    rows = []
    truth = float(np.mean([r.mean() for r in runs]))  # the recipe's expected accuracy on these test images
    for n in seed_counts:
        reps = min(replicates, len(runs) // (2 * n))
        for rule in RULES if n >= 2 else ("new",):
            null, covered, equiv, power = [], [], [], []
            for r in range(reps):
                a, b = runs[2 * n * r:2 * n * r + n], runs[2 * n * r + n:2 * n * (r + 1)]
                iv = paired_interval(a, b, rule=rule)
                null.append(stats.decide_better(iv, margin=0.0))
                covered.append(iv.low <= 0.0 <= iv.high)
                tost = paired_interval(a, b, 1 - 2 * (1 - stats.CONFIDENCE), rule=rule)
                equiv.append(stats.decide_equivalent(tost, iv, band))
                if len(flat) >= n * (r + 1):
                    power.append(stats.decide_better(paired_interval(a, flat[n * r:n * (r + 1)], rule=rule),
                                                     margin=0.0))
            rows.append(_row(f"paired better (A/A), {rule} rule", n, "null", null, covered))
            rows.append(_row(f"equivalent band {band} (A/A), {rule} rule", n, "claim holds", equiv))
            if power:
                rows.append(_row(f"paired better (vs lr=0), {rule} rule", n, "claim holds", power))
        reps = min(replicates, len(runs) // (n + 1))
        at_least, cells = [], []
        for r in range(reps):
            block = runs[(n + 1) * r:(n + 1) * (r + 1)]
            values = [float(x.mean()) for x in block[:n]]
            iv = stats.one_sided_bounds(values, correct=block[0] if n == 1 else None,
                                        records=block[:n] if n >= 2 else None)  # as Claim.check_at_least
            at_least.append(stats.decide_at_least(iv, truth))
            if n >= 2:
                pi = stats.prediction_interval(values)
                reported = round(float(block[n].mean()), 4)
                slack = stats.rounding_half_unit(reported)
                cells.append(stats.REPRODUCED if pi.low - slack <= reported <= pi.high + slack
                             else stats.NOT_REPRODUCED)
        rows.append(_row("at-least (threshold = pool mean)", n, "null", at_least))
        if cells:
            rows.append(_row("consistent (further run, tol 0)", n, "claim holds", cells))
    return rows


def _row(kind: str, n: int, truth: str, outcomes: list[str], covered: list[bool] | None = None) -> dict:
    k = len(outcomes)
    return {"kind": kind, "n": n, "truth": truth, "replicates": k,
            "reproduced": sum(o == stats.REPRODUCED for o in outcomes) / k if k else None,
            "not-reproduced": sum(o == stats.NOT_REPRODUCED for o in outcomes) / k if k else None,
            "coverage": (sum(covered) / len(covered)) if covered else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lenet_mnist")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--train-subset", type=int, default=2000)
    ap.add_argument("--test-subset", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--width", type=float, help="the model's width multiplier (the fast tier's ResNet-18: 0.0625)")
    ap.add_argument("--augment", nargs="*", default=[], help="augmentations, as a reference budget names them")
    ap.add_argument("--fast-tier", action="store_true", help="scale the recipe as the fast tier does (tiers.scale)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--replicates", type=int, default=30)
    ap.add_argument("--band", type=float, default=0.02, help="equivalence band of the A/A equivalence claims")
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    ap.add_argument("--cache", type=Path, help="keep each run's per-image correctness here and resume from it")
    ap.add_argument("--cached-only", action="store_true",
                    help="train nothing: measure on the runs --cache holds (fewer replicates where it holds fewer)")
    args = ap.parse_args(argv)
    spec = Spec(model=args.model, dataset=args.dataset, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                train_subset=args.train_subset, test_subset=args.test_subset, augment=list(args.augment),
                model_args={"width": args.width} if args.width else {})
    if args.fast_tier:
        spec = scale(spec, "fast")
    start = time.process_time()
    need = max(max(2 * n * args.replicates, (n + 1) * args.replicates) for n in args.seeds)
    if args.cached_only and args.cache is None:
        ap.error("--cached-only reads the runs of --cache DIR: name the folder")
    runs = pool(spec, need, cache=args.cache, cached_only=args.cached_only)
    if FIRST_SEED + need > FLAT_FIRST_SEED:
        ap.error(f"{need} runs of the recipe would reach the planted-effect arm's seeds ({FLAT_FIRST_SEED} up): "
                 f"ask for fewer replicates or seeds")
    flat = pool(spec.replace(lr=0.0), max(args.seeds) * args.replicates, FLAT_FIRST_SEED, cache=args.cache,
                cached_only=args.cached_only)
    rows = measure(runs, flat, args.seeds, args.replicates, args.band)
    cpu = time.process_time() - start
    accs = [float(r.mean()) for r in runs]
    print(f"{spec.model} on {spec.dataset}: {len(runs)} + {len(flat)} runs, accuracy {np.mean(accs):.3f} "
          f"(seed sd {np.std(accs, ddof=1):.4f}), CPU {cpu:.0f} s")
    print(f"{'kind':<44}{'n':>3}  {'truth':<12}{'reps':>5}{'repro':>7}{'not':>7}{'cover':>7}")
    for r in rows:
        fmt = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{r['kind']:<44}{r['n']:>3}  {r['truth']:<12}{r['replicates']:>5}{fmt(r['reproduced']):>7}"
              f"{fmt(r['not-reproduced']):>7}{fmt(r['coverage']):>7}")
    if args.out:
        args.out.write_text(json.dumps({"spec": spec.to_dict(), "cpu_s": cpu, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
