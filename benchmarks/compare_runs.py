"""Are two run stores bitwise the same? The check behind every "runs equal" figure in benchmarks/README.md.

    python benchmarks/compare_runs.py RUNS_A RUNS_B [--findings A/findings.csv B/findings.csv]

Portable CPU results (harness/cpu.py) mean the same Spec gives the same floats on every machine,
under any ISA cap or thread count. This compares every run key two stores share on what a verdict
reads: each curve but the timings, every per-image test result, the best and final accuracies,
the status and the step a run diverged at. The test loss sums per-batch means, so an eval batch
change moves its last bits without touching a logit; `--loss-rtol` admits that. With
`--findings` it also compares two findings.csv files on every column but the session id.
Exits 1 when anything differs, so it can gate a script.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from harness.runs.result import TIME_PHASES
from harness.runs.store import stored_results

TIMING_CURVES = frozenset({"epoch_time", *TIME_PHASES})  # the whole epoch and its parts
LOSS_CURVE = "test_loss"
COMPARED_FIELDS = ("status", "diverged_at_step", "best_test_acc", "final_test_acc", "final_train_acc",
                   "param_count", "test_correct")
SESSION_COLUMNS = ("session",)


def load_store(root: Path) -> dict[str, dict[str, Any]]:
    """Every finished run of the store at `root` that validates, by run key, as its JSON record."""
    return {r.key: r.to_dict() for r in stored_results(root)}


def run_differences(a: dict[str, Any], b: dict[str, Any], loss_rtol: float = 0.0) -> list[str]:
    """The fields in which two records of one run differ (timings aside); empty when they agree."""
    differ = [f for f in COMPARED_FIELDS if a.get(f) != b.get(f)]
    for name in sorted(set(a["curves"]) | set(b["curves"])):
        if name in TIMING_CURVES:
            continue
        x, y = a["curves"].get(name, []), b["curves"].get(name, [])
        if name == LOSS_CURVE and len(x) == len(y):
            if any(abs(u - v) > loss_rtol * max(abs(u), abs(v)) for u, v in zip(x, y)):
                differ.append(name)
        elif x != y:
            differ.append(name)
    return differ


def compare_stores(a: dict[str, dict], b: dict[str, dict], loss_rtol: float = 0.0) -> dict[str, list[str]]:
    """Run key -> differing fields, for the keys both stores hold and that differ."""
    out = {}
    for key in sorted(set(a) & set(b)):
        differ = run_differences(a[key], b[key], loss_rtol)
        if differ:
            out[key] = differ
    return out


def findings_differences(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows in one findings table and not the other, the session id aside (empty when equal)."""
    a, b = (t.drop(columns=[c for c in SESSION_COLUMNS if c in t.columns]) for t in (a, b))
    if list(a.columns) != list(b.columns):
        raise ValueError(f"the findings tables have different columns: {list(a.columns)} vs {list(b.columns)}")
    merged = a.astype(str).merge(b.astype(str), how="outer", indicator=True)
    return merged[merged["_merge"] != "both"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs_a", type=Path)
    parser.add_argument("runs_b", type=Path)
    parser.add_argument("--findings", nargs=2, type=Path, metavar=("A_CSV", "B_CSV"))
    parser.add_argument("--loss-rtol", type=float, default=0.0,
                        help="relative tolerance on the test loss only (default 0: bitwise)")
    args = parser.parse_args(argv)
    for root in (args.runs_a, args.runs_b):
        if not root.is_dir():
            parser.error(f"{root} is not a run store directory (give the --runs folder of a session)")
    a, b = load_store(args.runs_a), load_store(args.runs_b)
    common = set(a) & set(b)
    print(f"{len(a)} runs in {args.runs_a}, {len(b)} in {args.runs_b}, {len(common)} in both")
    differ = compare_stores(a, b, args.loss_rtol)
    for key, fields in differ.items():
        print(f"differs: {key} ({a[key]['spec'].get('model')}): {', '.join(fields)}")
    print(f"{len(common) - len(differ)} of {len(common)} shared runs equal")
    failed = bool(differ) or not common
    if args.findings:
        tables = [pd.read_csv(p) for p in args.findings]
        rows = findings_differences(*tables)
        print(f"findings: {len(tables[0])} and {len(tables[1])} rows, {len(rows)} not in both")
        if len(rows):
            print(rows.to_string(max_rows=40))
        failed = failed or bool(len(rows)) or len(tables[0]) != len(tables[1])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
