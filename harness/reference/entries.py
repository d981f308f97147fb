"""reference/<report>.yaml: the reported numbers, tolerances and recipes, validated loudly.

A malformed file is an error naming the file, the claim id and the field, so a
typo never silently drops a claim.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import settings
from ..files import conforms, describe, is_number
from ..runs.spec import ARG_FIELDS, Spec

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference"
KINDS = ("params", "ordering", "threshold", "metric", "mechanism", "sparsity", "identity", "qualitative")
EXPECTS = ("reproduced", "not-reproduced", "under-specified", "qualitative")
TIERS = ("fast", "full")  # the tier names, owned here: a reference entry plans each tier it names
TOLERANCE_KEYS = ("abs", "rel", "margin")
# The tolerance key each check of harness/claim/claim.py reads: one per check, never a default.
CHECK_TOLERANCES = {"check_within": ("abs", "rel"), "within": ("abs", "rel"), "check_at_least": ("abs",),
                    "check_paired_at_least": ("abs",),
                    "check_ranks_first": ("margin",), "check_paired_better": ("margin",), "check_ordered": ("margin",),
                    "check_equivalent": ("abs", "margin"), "check_all_similar": ("abs", "margin")}
# The keys a kind's claims may give, from the checks their tests call (harness/pytest_plugin/collection.py checks it at collection):
# sizes and metrics sit within abs or rel of the number; orderings and mechanisms win by a margin, except
# "no gain" orderings, which bound a paired difference with abs; thresholds are a headline (abs) or a
# comparison (margin). Qualitative claims are not checked.
KIND_TOLERANCES = {"params": ("abs", "rel"), "metric": ("abs", "rel"), "identity": ("abs", "rel"),
                   "threshold": ("abs", "margin"), "ordering": ("margin", "abs"), "mechanism": ("margin",),
                   "sparsity": ("margin",), "qualitative": ()}
# Kinds whose checks compute with the reported value: a number, or a mapping label -> number.
NUMERIC_KINDS = ("params", "metric", "threshold", "identity")
SPEC_TYPES = typing.get_type_hints(Spec)
POSITIVE_FIELDS = ("epochs", "batch_size", "train_subset", "test_subset")


class ReferenceError(ValueError):
    """A reference file does not follow the schema."""


@dataclass(frozen=True)
class TierPlan:
    """How a claim runs in one tier: budget overrides, seeds, tolerance, or why it does not run."""

    budget: dict[str, Any] = field(default_factory=dict)
    seeds: int = 1
    tolerance: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None
    expect: str | None = None  # overrides the claim's expect in this tier (a fast-proxy-only finding, say)
    why: str | None = None
    underpowered: str | None = None  # too few seeds for the reported gap, and why (shown with the finding)


@dataclass(frozen=True)
class ClaimEntry:
    id: str
    report: str
    statement: str
    location: str
    kind: str
    reported: Any
    tiers: dict[str, TierPlan]
    recipe: dict[str, Any]
    expect: str
    why: str | None
    source_file: str
    conflicts_with: tuple[str, ...] = ()
    agrees_with: tuple[str, ...] = ()  # claims of other reports that say the same (the report's consensus chapter)
    suite_check: str | None = None  # a check the suite adds on top of the report (why): counted apart from its claims
    contradicts: str | None = None  # the report contradicts itself: the two places that disagree ('Table 1 vs Sec. 3.2')

    def plan(self, tier: str) -> TierPlan | None:
        return self.tiers.get(tier)


@dataclass(frozen=True)
class ReportEntry:
    report: str
    title: str
    source: str
    summary: str
    claims: dict[str, ClaimEntry]


def _fail(path: Path, claim: str | None, field_name: str, problem: str) -> ReferenceError:
    where = f"{path.name}" + (f", claim {claim!r}" if claim else "") + f", field {field_name!r}"
    return ReferenceError(f"reference error in {where}: {problem} (see the schema in reference/README.md)")


def _require(data: dict, key: str, kind: type | tuple, path: Path, claim: str | None, prefix: str = "") -> Any:
    name = f"{prefix}{key}"
    if key not in data:
        raise _fail(path, claim, name, "missing")
    value = data[key]
    if not isinstance(value, kind):
        wanted = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, claim, name, f"expected {wanted}, got {type(value).__name__} {value!r}")
    return value


def _budget(raw: Any, path: Path, cid: str, prefix: str) -> dict[str, Any]:
    """Spec overrides: known fields of the right type, so a typo fails here and not mid-run."""
    budget = raw or {}
    if not isinstance(budget, dict):
        raise _fail(path, cid, prefix, "expected a mapping of Spec fields")
    for key, value in budget.items():
        name = f"{prefix}.{key}"
        if key == "seed":
            raise _fail(path, cid, name, "seeds come from the tier's `seeds` and --base-seed, not the budget")
        if key not in SPEC_TYPES:
            close = difflib.get_close_matches(str(key), SPEC_TYPES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _fail(path, cid, name, f"not a Spec field; {hint}known: {', '.join(SPEC_TYPES)}")
        wanted = "a mapping" if key in ARG_FIELDS else describe(SPEC_TYPES[key])
        ok = isinstance(value, dict) if key in ARG_FIELDS else conforms(value, SPEC_TYPES[key])
        if ok and key in POSITIVE_FIELDS and value is not None and value < 1:
            ok, wanted = False, "a positive integer"
        if ok and not _finite(value):  # lr: .nan would diverge every run at its first step
            ok, wanted = False, "finite numbers (not .nan or .inf)"
        if ok and key == "lr" and value < 0:
            ok, wanted = False, "a non-negative number"
        if not ok:
            raise _fail(path, cid, name, f"expected {wanted}, got {type(value).__name__} {value!r}")
    return budget


def _finite(value: Any) -> bool:
    """No nan or inf anywhere in a value read from YAML (.nan, .inf): a number, or one inside lists and mappings."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


def _tolerance(raw: Any, path: Path, cid: str, prefix: str, kind: str) -> dict[str, Any]:
    """abs | rel | margin with its why; the key must be one this kind's checks read, and only one."""
    tolerance = raw or {}
    if not tolerance:
        return {}
    if not isinstance(tolerance, dict):
        raise _fail(path, cid, prefix, "expected a mapping")
    if not isinstance(tolerance.get("why"), str) or not tolerance["why"].strip():
        raise _fail(path, cid, prefix + ".why", "every tolerance needs a one-line rationale")
    allowed = KIND_TOLERANCES[kind]
    for key, value in tolerance.items():
        if key == "why":
            continue
        if key not in TOLERANCE_KEYS:
            raise _fail(path, cid, f"{prefix}.{key}", f"unknown; allowed: {', '.join(TOLERANCE_KEYS)}, why")
        if key not in allowed:
            reads = f"read {' or '.join(allowed)}" if allowed else "read no tolerance"
            raise _fail(path, cid, f"{prefix}.{key}", f"the checks of a {kind} claim {reads}; {key} would be ignored")
        if not is_number(value) or not math.isfinite(value) or value < 0:
            raise _fail(path, cid, f"{prefix}.{key}", f"expected a finite non-negative number, got {value!r}")
    keys = [k for k in tolerance if k != "why"]
    if len(keys) != 1:
        raise _fail(path, cid, prefix, f"give exactly one of {', '.join(allowed)} (a check reads one), got {keys}")
    return tolerance


def runnable(entry: "ClaimEntry", plan: TierPlan) -> bool:
    """The tier runs a check (it is not skipped, under-specified or qualitative), so it needs a tolerance."""
    return not plan.skip and (plan.expect or entry.expect) not in ("under-specified", "qualitative")


def _reported(raw: dict, path: Path, cid: str, kind: str) -> Any:
    if kind == "qualitative":
        return raw.get("reported")
    if "reported" not in raw:
        raise _fail(path, cid, "reported", "missing (the report's own numbers or ordering)")
    value = raw["reported"]
    text_ok = kind not in NUMERIC_KINDS  # an ordering may quote words ("not stable") next to numbers
    if not _finite(value):  # a .nan reported value fails every check; a .inf one passes "at least" checks
        raise _fail(path, cid, "reported", f"expected finite numbers (not .nan or .inf), got {value!r}")
    if is_number(value):
        return value
    if isinstance(value, dict) and value and all(is_number(v) or (text_ok and isinstance(v, str))
                                                 for v in value.values()):
        return value
    wanted = "a number or a mapping label -> number" + (" or text" if text_ok else "")
    raise _fail(path, cid, "reported", f"expected {wanted}, got {type(value).__name__} {value!r}"
                + ("; write numbers without thousands separators or quotes" if not text_ok else ""))


def _tier_plan(raw: Any, path: Path, cid: str, tier: str, kind: str) -> TierPlan:
    prefix = f"tiers.{tier}."
    if not isinstance(raw, dict):
        raise _fail(path, cid, f"tiers.{tier}", f"expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - {"budget", "seeds", "tolerance", "skip", "expect", "why", "underpowered"}
    if unknown:
        raise _fail(path, cid, f"tiers.{tier}", f"unknown keys {sorted(unknown)}; allowed: budget, seeds, "
                                               f"tolerance, skip, expect, why, underpowered")
    expect = raw.get("expect")
    if expect is not None and expect not in EXPECTS:
        raise _fail(path, cid, prefix + "expect", f"{expect!r} is not one of {', '.join(EXPECTS)}")
    why = raw.get("why")
    if expect not in (None, "reproduced") and not (isinstance(why, str) and why.strip()):
        raise _fail(path, cid, prefix + "why", f"expect: {expect} needs the reason")
    seeds = raw.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise _fail(path, cid, prefix + "seeds", f"expected a positive integer, got {seeds!r}")
    budget = _budget(raw.get("budget"), path, cid, prefix + "budget")
    tolerance = _tolerance(raw.get("tolerance"), path, cid, prefix + "tolerance", kind)
    skip = raw.get("skip")
    if skip is not None and not isinstance(skip, str):
        raise _fail(path, cid, prefix + "skip", "expected the reason as text")
    underpowered = raw.get("underpowered")
    if underpowered is not None and not (isinstance(underpowered, str) and underpowered.strip()):
        raise _fail(path, cid, prefix + "underpowered", "expected the reason as text")
    return TierPlan(budget=budget, seeds=seeds, tolerance=tolerance, skip=skip, expect=expect,
                    why=why.strip() if isinstance(why, str) else None, underpowered=underpowered)


def _claim(raw: Any, path: Path, report: str, index: int) -> ClaimEntry:
    if not isinstance(raw, dict):
        raise _fail(path, f"#{index}", "claims", "each claim must be a mapping")
    cid = raw.get("id") if isinstance(raw.get("id"), str) else None
    if cid is None:
        raise _fail(path, f"#{index}", "id", "missing or not text")
    short = report.split("_")[0]
    if not cid.startswith(short + "/"):
        raise _fail(path, cid, "id", f"must start with {short + '/'!r} (the report's number)")
    known = {"id", "statement", "location", "kind", "reported", "tiers", "recipe", "expect", "why", "conflicts_with",
             "agrees_with", "expect_tiers", "suite_check", "contradicts"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, cid, sorted(unknown)[0], f"unknown field; allowed: {', '.join(sorted(known))}")
    statement = _require(raw, "statement", str, path, cid)
    location = _require(raw, "location", str, path, cid)
    kind = _require(raw, "kind", str, path, cid)
    if kind not in KINDS:
        raise _fail(path, cid, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    expect = raw.get("expect", "reproduced")
    if expect not in EXPECTS:
        raise _fail(path, cid, "expect", f"{expect!r} is not one of {', '.join(EXPECTS)}")
    why = raw.get("why")
    if expect != "reproduced" and not (isinstance(why, str) and why.strip()):
        raise _fail(path, cid, "why", f"expect: {expect} needs the reason")
    reported = _reported(raw, path, cid, kind)
    tiers_raw = raw.get("tiers", {}) or {}
    if not isinstance(tiers_raw, dict):
        raise _fail(path, cid, "tiers", "expected a mapping of tier name to plan")
    for tier in tiers_raw:
        if tier not in TIERS:
            raise _fail(path, cid, f"tiers.{tier}", f"unknown tier; known: {', '.join(TIERS)}")
    tiers = {t: _tier_plan(tiers_raw.get(t) or {}, path, cid, t, kind) for t in TIERS if t in tiers_raw}
    expect_tiers = raw.get("expect_tiers")
    if expect_tiers is not None:  # the claim-level expect holds only in these tiers (e.g. a fast-proxy finding)
        if not isinstance(expect_tiers, list) or not set(expect_tiers) <= set(TIERS):
            raise _fail(path, cid, "expect_tiers", f"expected a list of tiers from {', '.join(TIERS)}")
        tiers = {t: (dataclasses.replace(plan, expect=plan.expect or expect, why=plan.why or why)
                     if t in expect_tiers else plan) for t, plan in tiers.items()}
        expect, why = "reproduced", None
    recipe = raw.get("recipe", {}) or {}
    if not isinstance(recipe, dict):
        raise _fail(path, cid, "recipe", "expected a mapping with 'said' and 'assumed'")
    links = {}
    for name in ("conflicts_with", "agrees_with"):
        links[name] = raw.get(name, []) or []
        if not isinstance(links[name], list) or not all(isinstance(c, str) for c in links[name]):
            raise _fail(path, cid, name, "expected a list of claim ids")
        if cid in links[name]:
            raise _fail(path, cid, name, "a claim cannot name itself")
    conflicts = links["conflicts_with"]
    suite_check = raw.get("suite_check")
    if suite_check is not None and not (isinstance(suite_check, str) and suite_check.strip()):
        raise _fail(path, cid, "suite_check", "expected why the suite adds this check (the report does not claim it), as text")
    contradicts = raw.get("contradicts")
    if contradicts is not None and not (isinstance(contradicts, str) and contradicts.strip()):
        raise _fail(path, cid, "contradicts", "expected the two places of the report that disagree, as text "
                                              "(e.g. 'Table 1 vs Sec. 3.2')")
    entry = ClaimEntry(id=cid, report=report, statement=statement.strip(), location=location, kind=kind,
                       reported=reported, tiers=tiers, recipe=recipe, expect=expect,
                       why=why.strip() if isinstance(why, str) else None, source_file=path.name,
                       conflicts_with=tuple(conflicts), agrees_with=tuple(links["agrees_with"]),
                       suite_check=suite_check.strip() if suite_check else None,
                       contradicts=contradicts.strip() if contradicts else None)
    for tier, plan in tiers.items():
        if runnable(entry, plan) and not plan.tolerance:
            reads = " or ".join(KIND_TOLERANCES[kind])
            fix = f"give {reads}, or a skip: reason" if reads else "set expect: qualitative, or a skip: reason"
            raise _fail(path, cid, f"tiers.{tier}.tolerance", f"missing, but the tier runs a check; {fix}")
    return entry


def load_report(path: Path) -> ReportEntry:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ReferenceError(f"reference error in {path.name}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ReferenceError(f"reference error in {path.name}: not UTF-8 text ({exc}); save it as UTF-8") from None
    except OSError as exc:  # a folder named *.yaml, an unreadable file
        raise ReferenceError(f"reference error in {path}: cannot be read ({exc.strerror or exc}); it must be a "
                             f"readable YAML file (or choose another folder with ${settings.env_name('reference')})") \
            from None
    if not isinstance(data, dict):
        raise _fail(path, None, "(top level)", "expected a mapping with report, title, claims")
    report = _require(data, "report", str, path, None)
    stray = [k for k in data if k not in ("report", "title", "source", "summary", "claims") and not str(k).startswith("x-")]
    if stray:
        raise _fail(path, None, str(stray[0]), "unknown top-level field; allowed: report, title, source, summary, "
                                               "claims, and x-* blocks for YAML anchors")
    if report != path.stem:
        raise _fail(path, None, "report", f"{report!r} must equal the file name {path.stem!r}")
    claims_raw = _require(data, "claims", list, path, None)
    claims: dict[str, ClaimEntry] = {}
    for i, raw in enumerate(claims_raw):
        entry = _claim(raw, path, report, i)
        if entry.id in claims:
            raise _fail(path, entry.id, "id", "duplicate claim id")
        claims[entry.id] = entry
    return ReportEntry(report=report, title=_require(data, "title", str, path, None),
                       source=str(data.get("source", "")), summary=str(data.get("summary", "")).strip(),
                       claims=claims)


def load_all(directory: Path | None = None) -> dict[str, ReportEntry]:
    """Every reference/*.yaml (or $REPRO_REFERENCE/*.yaml), keyed by report name."""
    directory = Path(directory or settings.reference_dir() or REFERENCE_DIR)
    if not directory.is_dir():
        raise ReferenceError(f"reference directory {directory} does not exist")
    reports = {p.stem: load_report(p) for p in sorted(directory.glob("*.yaml"))}
    known = all_claims(reports)
    for entry in known.values():
        for name in ("conflicts_with", "agrees_with"):
            for other in getattr(entry, name):
                if other not in known:
                    raise ReferenceError(f"reference error in {entry.source_file}, claim {entry.id!r}, field "
                                         f"'{name}': unknown claim id {other!r}")
    return reports


def all_claims(reports: dict[str, ReportEntry]) -> dict[str, ClaimEntry]:
    return {cid: entry for rep in reports.values() for cid, entry in rep.claims.items()}
