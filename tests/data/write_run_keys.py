"""Rewrite run_keys.json from a --plan of both tiers, after a deliberate change of reference/ or a claim.

    python tests/data/write_run_keys.py

Prints the keys that left and the keys that came, so a review can see that no existing run's key moved
(a key that moves orphans every cached run of every user).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def plan(tier: str, folder: Path) -> dict[str, dict]:
    subprocess.run([sys.executable, "-m", "pytest", "claims", "-m", tier, "--plan", "--plan-dir", str(folder / tier),
                    "--runs", str(folder / "runs"), "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
                   cwd=ROOT, check=True, capture_output=True)
    runs = json.loads((folder / tier / "plan.json").read_text())["runs"]
    return {r["key"]: r["spec"] for r in sorted(runs, key=lambda r: r["key"])}


def main() -> None:
    path = HERE / "run_keys.json"
    old = json.loads(path.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        new = {tier: plan(tier, Path(tmp)) for tier in ("fast", "full")}
    for tier in new:
        print(f"{tier}: {len(set(old[tier]) - set(new[tier]))} keys left, {len(set(new[tier]) - set(old[tier]))} came")
    path.write_text(json.dumps({"about": old["about"], **new}, indent=1) + "\n")


if __name__ == "__main__":
    main()
