"""Verdict stability: the fast tier at several base seeds, and which claims keep one outcome.

    python benchmarks/verdict_stability.py --base-seeds 0 1 2 --runs=/tmp/stab/runs --out /tmp/stab
    python benchmarks/verdict_stability.py --base-seeds 0 1 2 --out /tmp/stab --analyse-only

A fast-tier verdict should not depend on which seeds a session drew. Each base seed B trains the
seeds B, B+1, ... of every claim (`--base-seed`), so consecutive base seeds share all but one seed
of a claim and agree partly by construction; base seeds at least the largest seed count apart
(0, 5, 10 for 5 seeds) share none. One run store serves every base seed, so a run two base seeds
share is trained once. A claim counts when it has a fast verdict at some base seed (not only
not-run, qualitative or under-specified); it is stable when its verdict is the same at all of them.
Prints the counts per base seed, the stable share, every claim that moved, and any move between
reproduced and not-reproduced (the one the verdicts must never make).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_VERDICT = frozenset({"not-run", "qualitative", "under-specified"})
# pytest's exit codes for a finished session: 0 all passed, 1 some test failed (a claim not reproduced).
FINISHED = (0, 1)


@dataclass
class Stability:
    """Fast-tier verdicts per claim over base seeds, and what kept one outcome."""
    base_seeds: list[int]
    verdicts: dict[str, dict[int, str]]
    counts: dict[int, collections.Counter] = field(default_factory=dict)

    @property
    def decided(self) -> list[str]:
        return sorted(c for c, v in self.verdicts.items() if set(v.values()) - NO_VERDICT)

    @property
    def stable(self) -> list[str]:
        return [c for c in self.decided
                if len(self.verdicts[c]) == len(self.base_seeds) and len(set(self.verdicts[c].values())) == 1]

    @property
    def moved(self) -> list[str]:
        return [c for c in self.decided if c not in self.stable]

    @property
    def flips(self) -> list[str]:
        """Claims that were reproduced at one base seed and not-reproduced at another."""
        return [c for c in self.decided if {"reproduced", "not-reproduced"} <= set(self.verdicts[c].values())]


def read_stability(findings_by_seed: dict[int, Path]) -> Stability:
    """The fast verdicts of each base seed's findings.json."""
    verdicts: dict[str, dict[int, str]] = collections.defaultdict(dict)
    counts = {}
    for seed, path in findings_by_seed.items():
        findings = json.loads(Path(path).read_text())["findings"]
        fast = [f for f in findings if f["tier"] == "fast"]
        for f in fast:
            verdicts[f["claim_id"]][seed] = f["verdict"]
        counts[seed] = collections.Counter(f["verdict"] for f in fast if f["verdict"] not in NO_VERDICT)
    return Stability(sorted(findings_by_seed), dict(verdicts), counts)


def report(s: Stability) -> str:
    """Markdown: counts per base seed, the stable share, the claims that moved."""
    kinds = sorted({k for c in s.counts.values() for k in c})
    lines = ["| base seed | " + " | ".join(kinds) + " |", "|---:|" + "---:|" * len(kinds)]
    lines += [f"| {b} | " + " | ".join(str(s.counts[b][k]) for k in kinds) + " |" for b in s.base_seeds]
    n, k = len(s.decided), len(s.stable)
    lines += ["", f"keep one outcome at base seeds {', '.join(map(str, s.base_seeds))}: "
              f"**{k} of {n} ({100 * k / max(n, 1):.1f}%)**",
              f"reproduced <-> not-reproduced: {', '.join(s.flips) or 'none'}", ""]
    lines += [f"- {c}: " + " / ".join(s.verdicts[c].get(b, "-") for b in s.base_seeds) for c in s.moved]
    return "\n".join(lines)


def run_fast_tier(base_seed: int, runs: Path, out: Path, workers: int) -> Path:
    """One fast-tier session at `base_seed` on the shared store; returns its findings.json."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", "claims/", "-m", "fast", "-q", "-p", "no:cacheprovider",
           f"--runs={runs}", f"--report-dir={out}", "--no-report", "--base-seed", str(base_seed)]
    if workers > 1:
        cmd += ["-n", str(workers)]
    start = time.monotonic()
    with open(out / "session.log", "w") as log:
        done = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    findings = out / "findings.json"
    if done.returncode not in FINISHED or not findings.is_file():
        raise SystemExit(f"base seed {base_seed}: pytest exited with {done.returncode} and "
                         f"{'no ' if not findings.is_file() else ''}findings; see {out / 'session.log'}")
    print(f"base seed {base_seed}: {time.monotonic() - start:.0f} s (pytest exit {done.returncode})", flush=True)
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-seeds", type=int, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True, help="one folder per base seed (base<B>/findings.json)")
    parser.add_argument("--runs", type=Path, help="the shared run store (default: OUT/runs)")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per session (default 2)")
    parser.add_argument("--analyse-only", action="store_true", help="read OUT/base<B>/findings.json, train nothing")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    runs = (args.runs or out / "runs").resolve()
    found = {}
    for b in args.base_seeds:
        path = out / f"base{b}" / "findings.json"
        if args.analyse_only:
            if not path.is_file():
                parser.error(f"{path} does not exist: run without --analyse-only first")
            found[b] = path
        else:
            found[b] = run_fast_tier(b, runs, out / f"base{b}", args.workers)
    print(report(read_stability(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
