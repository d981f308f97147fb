"""Collection: the tier parameter, the check of claim tests against reference/, and the datasets a session needs.

Every claim test is parametrized over the tiers; each must name a reference entry, each entry must have
a test (when the whole claims/ folder is collected), and each test's checks must read the tolerance
key its entry gives: a check reads one key (harness.reference.entries.CHECK_TOLERANCES), read from the
test's source without running it (the `claim.check_*` / `claim.within` calls in its body and in the
module's helper functions it calls), so a mismatch is a usage error before anything trains. After
-k/-m, a selection whose datasets are missing runs no claim: one item fails instead, naming the fix.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from ..reference.entries import TIERS
from ..reference.entries import CHECK_TOLERANCES, ClaimEntry, all_claims, runnable
from ..train.data import REQUIRED_FILES, DatasetMissingError, ensure_files
from .config import can_train_full, recording, reference, settings_of

# Kinds whose claims never read a dataset (a parameter count, a statement).
DATA_FREE_KINDS = ("params", "qualitative", "identity")


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


# -- claim ids and tiers of collected items --------------------------------------------------------------

def claim_id(item: pytest.Item) -> str | None:
    """The reference id a claim test checks: its marker's id, formatted with the test's parameters."""
    marker = item.get_closest_marker("claim")
    if marker is None:
        return None
    params = {k: v for k, v in getattr(getattr(item, "callspec", None), "params", {}).items() if k != "claim_tier"}
    return marker.args[0].format(**params)


def tier_of(item: pytest.Item) -> str | None:
    return getattr(getattr(item, "callspec", None), "params", {}).get("claim_tier")


def is_claim_test(item: pytest.Item) -> bool:
    return "claim_tier" in getattr(item, "fixturenames", ())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "claim_tier" in metafunc.fixturenames:
        metafunc.parametrize("claim_tier", [pytest.param(t, marks=getattr(pytest.mark, t), id=t) for t in TIERS],
                             indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    claim_items = [i for i in items if is_claim_test(i)]
    if not claim_items:
        return
    entries = all_claims(reference(config))
    problems, seen = [], set()
    for item in claim_items:
        cid = claim_id(item)
        if cid is None:
            problems.append(f"{item.nodeid}: uses the claim fixture but has no @pytest.mark.claim(id)")
        elif cid not in entries:
            problems.append(f"{item.nodeid}: claim {cid!r} has no entry in reference/")
        else:
            seen.add(cid)
            # `-k params`, `-k 000/losses` etc. select by claim id and kind
            item.extra_keyword_matches.update({cid, entries[cid].kind, entries[cid].report})
            unread = unread_tolerance(entries[cid], tier_of(item), checks_of_test(item.path, item.originalname))
            if unread and unread not in problems:
                problems.append(unread)
    if _whole_claims_dir_collected(config, claim_items):  # a partial run cannot tell which entries lack tests
        for cid, entry in entries.items():
            if cid not in seen:
                problems.append(f"reference/{entry.source_file}: claim {cid!r} has no test in claims/")
    if problems:
        raise pytest.UsageError("claims and reference/ disagree:\n  " + "\n  ".join(problems))


def _whole_claims_dir_collected(config: pytest.Config, claim_items: list[pytest.Item]) -> bool:
    if any("::" in str(a) for a in config.args):
        return False
    claims_dir = Path(str(config.rootpath)) / "claims"
    modules = {Path(str(i.path)).resolve() for i in claim_items}
    expected = {p.resolve() for p in claims_dir.glob("test_*.py")}
    return bool(expected) and expected <= modules


# -- the datasets a session needs ---------------------------------------------------------------------------

class DatasetCheck(pytest.Item):
    """Stands in for every claim of a session whose datasets are missing: one clear failure, no claim run."""

    def __init__(self, *, problem: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.problem = problem

    def runtest(self) -> None:
        raise DatasetMissingError(self.problem)

    def repr_failure(self, excinfo, style=None) -> str:
        return f"the selected claims need datasets, and none ran: {self.problem}"

    def reportinfo(self):
        return self.path, None, "dataset check"


class DatasetGate:
    """After -k/-m (trylast): when a selected claim would read a dataset that is not there (and cannot
    be downloaded), no claim runs; one item fails instead, naming the data root and the options."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        if settings_of(config).run_mode == "cached-only" or recording(config) or not _reads_a_dataset(config, items):
            return
        chosen = settings_of(config)
        for name in REQUIRED_FILES:
            try:
                ensure_files(name, chosen.data_root, chosen.download)
            except DatasetMissingError as exc:
                claims = [i for i in items if is_claim_test(i)]
                config.hook.pytest_deselected(items=claims)
                items[:] = [i for i in items if i not in claims]
                items.append(DatasetCheck.from_parent(session, name="dataset-check", problem=str(exc)))
                return


def _reads_a_dataset(config: pytest.Config, items: list[pytest.Item]) -> bool:
    """Whether any selected claim would train on a real dataset in this session."""
    entries = None
    for item in items:
        if not is_claim_test(item) or item.get_closest_marker("synthetic_data"):
            continue
        entries = entries or all_claims(reference(config))
        entry = entries.get(claim_id(item) or "")
        plan = entry.plan(tier_of(item)) if entry else None
        if entry is None or plan is None or plan.skip or entry.kind in DATA_FREE_KINDS \
                or entry.expect in ("under-specified", "qualitative"):
            continue
        if tier_of(item) == "full" and not can_train_full(config):
            continue
        return True
    return False
