"""No claim check is undecidable by construction, in either tier, before anything trains.

A check whose arms have one run each and whose reading keeps no per-image or per-epoch record gives the
interval (-inf, inf) whatever the runs show: it raises UndecidableCheck (harness/claim/claim.py). The claim
bodies run under --plan against placeholder runs, and the plan records why a body stopped; no body may stop
there. The fix is in reference/: more seeds for the tier, a reading one run can carry, or no such tier.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.claim import UndecidableCheck
from harness.pytest_plugin.plan import _stop_reason

ROOT = Path(__file__).resolve().parents[1]


def test_the_plan_records_an_undecidable_check_by_its_name():
    assert _stop_reason(UndecidableCheck("claim 'x' [full] can never decide")).startswith("UndecidableCheck: ")


def test_no_claim_of_either_tier_is_undecidable_by_construction(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "claims", "-m", "fast or full", "--plan", "--plan-dir",
                           str(tmp_path / "plan"), "--runs", str(tmp_path / "runs"), "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    stopped = json.loads((tmp_path / "plan" / "plan.json").read_text())["summary"]["stopped_tests"]
    undecidable = {test: why for test, why in stopped.items() if why.startswith(UndecidableCheck.__name__)}
    assert undecidable == {}, "\n".join(f"{test}: {why}" for test, why in undecidable.items())
