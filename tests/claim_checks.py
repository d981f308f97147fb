"""Which checks each claim test calls, against its entry's tolerances, over the whole claims/ directory.

Collection checks each collected test (harness/pytest_plugin/collection.py); this covers every entry at once,
including the claims a selection leaves out, and flags a claim whose test calls no check at all.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from harness.pytest_plugin.collection import checks_called, module_functions, unread_tolerance
from harness.reference.entries import all_claims, load_all, runnable

CLAIMS_DIR = Path(__file__).resolve().parents[1] / "claims"


def _claim_pattern(fn: ast.FunctionDef) -> str | None:
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "claim" and deco.args:
            return deco.args[0].value
    return None


def checks_by_claim() -> dict[str, set[str]]:
    """claim id -> names of the checks its test calls; a catch-all pattern ("{cid}") only fills the gaps."""
    ids = list(all_claims(load_all()))
    exact: dict[str, set[str]] = {}
    fallback: dict[str, set[str]] = {}
    for path in sorted(CLAIMS_DIR.glob("test_*.py")):
        helpers = module_functions(path)
        for fn in helpers.values():
            pattern = _claim_pattern(fn)
            if pattern is None:
                continue
            regex = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(pattern)) + "$")
            target = fallback if pattern.startswith("{") else exact
            for cid in ids:
                if (pattern.startswith("{") or regex.match(cid)) and cid not in target:
                    target[cid] = checks_called(fn, helpers)
    return {cid: exact.get(cid, fallback.get(cid, set())) for cid in ids}


def mismatches() -> list[str]:
    """One line per runnable tier whose tolerance key is not the one every check of its test reads."""
    problems = []
    checks = checks_by_claim()
    for cid, entry in all_claims(load_all()).items():
        for tier, plan in entry.tiers.items():
            if not runnable(entry, plan):
                continue
            if not checks[cid]:
                problems.append(f"{entry.source_file} {cid} [{tier}]: no check found in its test")
            elif (why := unread_tolerance(entry, tier, checks[cid])) is not None:
                problems.append(why)
    return problems
