"""Which checks a claim test calls, read from its source without running it, against its entry's tolerance.

A check reads one tolerance key (harness.reference.entries.CHECK_TOLERANCES). A runnable tier that gives
another key (a `margin` for `check_at_least`, which reads `abs`) would fail only when the claim
has already trained its runs, so collection compares the two first. A test's checks are the
`claim.check_*` / `claim.within` calls in its body and in the module's helper functions it calls.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

from ..reference.entries import CHECK_TOLERANCES, ClaimEntry, runnable


@functools.lru_cache(maxsize=None)
def module_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """The top-level functions of a claims module, parsed once per session."""
    return {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}


def checks_called(fn: ast.FunctionDef, helpers: dict[str, ast.FunctionDef],
                  seen: frozenset[str] = frozenset()) -> set[str]:
    """The names of the checks `fn` calls, directly or through the helpers it calls."""
    found = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in CHECK_TOLERANCES:
            found.add(name)
        elif name in helpers and name not in seen:
            found |= checks_called(helpers[name], helpers, seen | {name})
    return found


def checks_of_test(path: Path, function: str) -> set[str]:
    """The checks the test function `function` of the module at `path` calls (empty when not found)."""
    helpers = module_functions(Path(path))
    return checks_called(helpers[function], helpers) if function in helpers else set()


def unread_tolerance(entry: ClaimEntry, tier: str, checks: set[str]) -> str | None:
    """Why the tier's tolerance is not what the checks read, or None when it is (or the tier runs no check)."""
    plan = entry.tiers.get(tier)
    if plan is None or not runnable(entry, plan) or not checks:
        return None
    keys = sorted(k for k in plan.tolerance if k != "why")
    unread = {c: CHECK_TOLERANCES[c] for c in sorted(checks) if not set(keys) & set(CHECK_TOLERANCES[c])}
    if not unread:
        return None
    reads = "; ".join(f"{c} reads {' or '.join(k)}" for c, k in unread.items())
    return (f"reference/{entry.source_file}: claim {entry.id!r}, field 'tiers.{tier}.tolerance' gives "
            f"{', '.join(keys) or 'no key'}, but its test's {reads}")
