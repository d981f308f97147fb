"""Fast-tier (proxy) verdicts against full-recipe verdicts of the same claims: the pairs the report's proxy
labels rest on.

    python benchmarks/proxy_agreement.py FAST_FINDINGS FULL_FINDINGS [--source TEXT] [--out reports/proxy_agreement.json]

FAST_FINDINGS and FULL_FINDINGS are findings.json files of `pytest claims/ -m fast` and of
`pytest claims/ -m full` (on any device); each claim with a proxy verdict and a full-recipe verdict is one
pair, classified as reports/agreement.py does (agree, proxy inconclusive, proxy disagrees, full recipe
inconclusive). The table is printed; with --out it is written as the report's measured pairs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import agreement, verdicts  # noqa: E402
from reports.build import read_checked  # noqa: E402


def pairs(fast: Path, full: Path) -> list[dict[str, str]]:
    findings, _ = read_checked([fast, full])
    return agreement.live_pairs(verdicts.claim_views(findings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fast", type=Path)
    parser.add_argument("full", type=Path)
    parser.add_argument("--source", default="", help="which machine, commands and date the pairs come from")
    parser.add_argument("--out", type=Path, help="write {source, pairs} here (e.g. reports/proxy_agreement.json)")
    args = parser.parse_args(argv)
    found = pairs(args.fast, args.full)
    width = max((len(p["claim_id"]) for p in found), default=10)
    print(f"{'claim':<{width}}  {'fast (proxy)':<24}{'full recipe':<24}outcome")
    for p in found:
        print(f"{p['claim_id']:<{width}}  {p['fast']:<24}{p['full']:<24}{p['outcome']}")
    counts = {o: sum(p["outcome"] == o for p in found) for o in agreement.OUTCOMES}
    print("; ".join(f"{o}: {n}" for o, n in counts.items()) + f" ({len(found)} pairs)")
    if args.out:
        args.out.write_text(json.dumps({"source": args.source, "pairs": found}, indent=1) + "\n")
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
