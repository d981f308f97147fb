"""The claims' own plans, both tiers, before anything trains: the runs they ask for, and whether they can decide.

- Run keys: a key that moves orphans every cached run of every user, so the plans must ask for exactly
  the keys in tests/data/run_keys.json (after a deliberate change of reference/ or a claim,
  tests/data/write_run_keys.py rewrites it and prints which keys left and came).
- Decidability: a check whose arms have one run each and whose reading keeps no per-image or
  per-epoch record gives the interval (-inf, inf) whatever the runs show: it raises UndecidableCheck
  (harness/claim/claim.py). The claim bodies run under --plan against placeholder runs, and the plan
  records why a body stopped; no body may stop there. The fix is in reference/: more seeds for the
  tier, a reading one run can carry, or no such tier.
One --plan per tier serves both checks.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.claim import UndecidableCheck
from harness.pytest_plugin.plan import _stop_reason
from harness.runs.spec import Spec

ROOT = Path(__file__).resolve().parents[1]
KEYS = json.loads((ROOT / "tests" / "data" / "run_keys.json").read_text())


def test_the_plan_records_an_undecidable_check_by_its_name():
    assert _stop_reason(UndecidableCheck("claim 'x' [full] can never decide")).startswith("UndecidableCheck: ")


@pytest.mark.parametrize("tier", ["fast", "full"])
def test_stored_specs_hash_to_their_keys(tier):
    moved = {key: Spec.from_dict(spec).key for key, spec in KEYS[tier].items() if Spec.from_dict(spec).key != key}
    assert moved == {}


@pytest.mark.parametrize("tier", ["fast", "full"])
def test_the_plan_asks_for_the_same_runs_and_no_check_is_undecidable(tier, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "claims", "-m", tier, "--plan", "--plan-dir",
                           str(tmp_path / "plan"), "--runs", str(tmp_path / "runs"), "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    planned = {run["key"] for run in plan["runs"]}
    assert sorted(planned - set(KEYS[tier])) == [], "keys that came: run tests/data/write_run_keys.py if intended"
    assert sorted(set(KEYS[tier]) - planned) == [], "keys that left"
    stopped = plan["summary"]["stopped_tests"]
    undecidable = {test: why for test, why in stopped.items() if why.startswith(UndecidableCheck.__name__)}
    assert undecidable == {}, "\n".join(f"{test}: {why}" for test, why in undecidable.items())
