"""Error rates under optional stopping: `--seeds-until-decided N` on simulated claims of known truth.

    nice -n 10 python benchmarks/calibration_sequential.py                  # 20,000 claims per cell, about 3 minutes
    nice -n 10 python benchmarks/calibration_sequential.py --claims 2000 --most 8

Every check kind of tests/calibration_sim.py (paired better at margin 0 and 0.01, an ordering, equivalence,
paired at-least, a threshold; paired better at margin 0 also with the stress seed effect) under its null and
its planted effect, under: the group-sequential rule of harness/claim/sequential.py (looks at 2, 3, 5, 8, ...
seeds per arm up to N; O'Brien-Fleming-type spending, the default, and Pocock-type), the naive rule (a look
after every added seed at the fixed 95%), and the fixed rule at 2 and at N seeds. Prints one line per cell
(reproduced, not-reproduced, inconclusive, mean seeds per arm at stopping), the markdown summary
benchmarks/README.md shows, and the CPU time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import calibration_sim as sim  # noqa: E402
from tests import sequential_sim as seq  # noqa: E402

RULES = (("sequential pocock", "Pocock"), ("sequential obrien-fleming", "O'Brien-Fleming"), ("naive", "naive"))


def _cells(rows: list[dict], kind: seq.Kind, rule: str, most: int) -> tuple[dict, dict]:
    match = {"kind": kind.name, "seed_sd": kind.seed_sd, "rule": rule, "most": most}
    return seq.find(rows, truth="null", **match), seq.find(rows, truth="effect", **match)


def markdown(rows: list[dict], most: tuple[int, ...]) -> str:
    """Per kind and rule: false reproduced under the null, reproduced under the effect, and the mean seeds per
    arm used under the effect, at each N (fixed 2 seeds once)."""
    each = " / ".join(f"N = {n}" for n in most)
    lines = [f"| check | rule | null: reproduced ({each}) | effect: reproduced ({each}) | "
             f"effect: mean seeds per arm ({each}) |", "|---|---|---:|---:|---:|"]
    for kind in list(seq.KINDS) + [seq.STRESS]:
        label = kind.name + (", stress seed effect" if kind.seed_sd == sim.STRESS_SEED_SD else "")
        options = [(rule, name, most) for rule, name in RULES] + [
            (seq.FIXED, f"fixed {seq.START}", (seq.START,)), (seq.FIXED, "fixed N", most)]
        for rule, name, ns in options:
            cells = [_cells(rows, kind, rule, n) for n in ns]
            null = " / ".join(f"{c[0]['reproduced']:.3f}" for c in cells)
            power = " / ".join(f"{c[1]['reproduced']:.3f}" for c in cells)
            seeds = " / ".join(f"{c[1]['seeds']:.1f}" for c in cells)
            lines.append(f"| {label} | {name} | {null} | {power} | {seeds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000, help="claims per kind, truth and rule")
    parser.add_argument("--most", type=int, nargs="+", default=list(seq.MOST), help="N: the most seeds per arm")
    parser.add_argument("--seed", type=int, default=20241206)
    args = parser.parse_args(argv)
    start = time.process_time()
    rows = seq.measure(args.seed, args.claims, tuple(args.most))
    cpu = time.process_time() - start
    print(seq.format_table(rows))
    print()
    print(markdown(rows, tuple(args.most)))
    print(f"\nCPU {cpu:.1f} s ({args.claims} claims per cell)")


if __name__ == "__main__":
    main()
