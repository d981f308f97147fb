"""Which checks each claim test calls, read from claims/ without running it, against its entry's tolerances.

A check reads one tolerance key (harness.reference.CHECK_TOLERANCES); an entry whose runnable tier gives
another key would get a silent zero slack (or an error) only when the claim runs. The claim tests are
parsed, not imported: each test's checks are the `claim.check_*` / `claim.within` calls in its body and in
the helper functions of its module that it calls.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from harness.reference import CHECK_TOLERANCES, all_claims, load_all, runnable

CLAIMS_DIR = Path(__file__).resolve().parents[1] / "claims"


def _checks(fn: ast.FunctionDef, helpers: dict[str, ast.FunctionDef], seen: frozenset = frozenset()) -> set[str]:
    found = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in CHECK_TOLERANCES:
            found.add(name)
        elif name in helpers and name not in seen:
            found |= _checks(helpers[name], helpers, seen | {name})
    return found


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
        helpers = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
        for fn in helpers.values():
            pattern = _claim_pattern(fn)
            if pattern is None:
                continue
            regex = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(pattern)) + "$")
            target = fallback if pattern.startswith("{") else exact
            for cid in ids:
                if (pattern.startswith("{") or regex.match(cid)) and cid not in target:
                    target[cid] = _checks(fn, helpers)
    return {cid: exact.get(cid, fallback.get(cid, set())) for cid in ids}


def mismatches() -> list[str]:
    """One line per runnable tier whose tolerance key is not the one every check of its test reads."""
    problems = []
    checks = checks_by_claim()
    for cid, entry in all_claims(load_all()).items():
        for tier, plan in entry.tiers.items():
            if not runnable(entry, plan):
                continue
            keys = {k for k in plan.tolerance if k != "why"}
            unread = [c for c in sorted(checks[cid]) if not keys & set(CHECK_TOLERANCES[c])]
            if unread or not checks[cid]:
                problems.append(f"{entry.source_file} {cid} [{tier}]: tolerance {sorted(keys)}, checks "
                                f"{sorted(checks[cid]) or 'none found'}")
    return problems
