"""What a verdict means for a grader: its basis (full recipe, exact check, proxy), a label that cannot be
misread, and one decisive verdict per claim.

A fast-tier verdict on a training claim is a proxy's (a narrow model, a thousand images, a few epochs):
it is labelled as one everywhere it appears. Exact checks (parameter counts, identities, counts
from the report's own table) are decided in any tier. A claim with a full-tier finding that has
evidence takes the full verdict as its verdict; its proxy is shown beside it, never instead.
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Any

from harness.error_rates import error_rate

FULL, EXACT, PROXY = "full recipe", "exact check", "proxy"
NO_EVIDENCE = ("not-run", "under-specified", "qualitative")
# Scorecard columns, in order.
HELD, FAILED, UNDECIDED, NOT_CHECKABLE, PENDING = "held", "failed", "could not be decided", "not checkable", \
    "pending (needs the full tier)"
CATEGORIES = (HELD, FAILED, UNDECIDED, NOT_CHECKABLE, PENDING)
CATEGORY_OF = {"reproduced": HELD, "not-reproduced": FAILED, "expected-not-reproduced": FAILED,
               "inconclusive": UNDECIDED, "error": UNDECIDED, "under-specified": NOT_CHECKABLE,
               "qualitative": NOT_CHECKABLE, "not-run": PENDING}
COLORS = {HELD: "#2e7d32", FAILED: "#c62828", UNDECIDED: "#b26a00", NOT_CHECKABLE: "#6a1b9a", PENDING: "#616161"}
CHANCE = re.compile(r"at chance", re.IGNORECASE)
CONTRADICTION = "contradiction inside the report"


def basis(f: dict[str, Any]) -> str:
    """How much a finding's verdict says: decided exactly, on the report's recipe, or on a proxy of it."""
    comparisons = f.get("comparisons") or []
    exact = f.get("kind") in ("params", "identity") or (
        comparisons and all(str(c.get("method", "")).startswith("exact") for c in comparisons))
    if exact:
        return EXACT
    return PROXY if f.get("tier") == "fast" else FULL


def label(f: dict[str, Any]) -> str:
    """The verdict as a grader should read it: 'held (full recipe)', 'exact check failed', 'proxy disagrees'."""
    verdict, how = f.get("verdict"), basis(f)
    if verdict in ("not-run", "under-specified", "qualitative", "error"):
        return verdict
    if verdict == "inconclusive":
        return "undecided (proxy)" if how == PROXY else "undecided"
    if verdict == "reproduced":
        return {FULL: "held (full recipe)", EXACT: "held (exact check)", PROXY: "held on the proxy"}[how]
    expected = verdict == "expected-not-reproduced"
    if how == PROXY:
        return "proxy disagrees (expected)" if expected else "proxy disagrees"
    if how == EXACT:
        return "exact check failed" + (" (expected)" if expected else "")
    return "failed (full recipe)" + (" (expected)" if expected else "")


def suite_check(f: dict[str, Any]) -> str | None:
    """Why the suite added this check, if it did: a check on top of the report, never one of its claims."""
    return f.get("suite_check") or None


def contradicts(f: dict[str, Any]) -> str | None:
    """Where the report contradicts itself (its entry's `contradicts`: 'Table 1 vs Sec. 3.2'), if it does: declared
    in the reference, never guessed from the wording of a `why`, which also speaks of a proxy contradicting a claim."""
    return f.get("contradicts") or None


def category(f: dict[str, Any]) -> str:
    return CATEGORY_OF.get(f.get("verdict"), UNDECIDED)


def at_chance(f: dict[str, Any]) -> bool:
    texts = list(f.get("notes") or []) + [str(r.get("detail") or "") for r in f.get("rows") or []] + \
        [str(r.get("note") or "") for r in f.get("rows") or []] + [str(f.get("skip_reason") or "")]
    return any(CHANCE.search(t) for t in texts) or any(r.get("at_chance") for r in f.get("rows") or [])


def budget_text(f: dict[str, Any]) -> str:
    """The proxy's budget in words: '1,000 images, 3 epochs, width 1/16'."""
    b = dict(f.get("budget") or {})
    if f.get("tier") == "fast":
        b = {"train_subset": 2000, "epochs": 3, **b}
    parts = []
    if b.get("train_subset"):
        parts.append(f"{int(b['train_subset']):,} images")
    if b.get("epochs"):
        parts.append(f"{b['epochs']} epochs")
    args = b.get("model_args") or {}
    for key in ("width", "width_mult", "channels_div"):
        if key in args:
            value = args[key]
            parts.append(f"width 1/{round(1 / value)}" if isinstance(value, float) and 0 < value < 1
                         else f"{key} {value}")
    return ", ".join(parts)


def certainty(f: dict[str, Any]) -> list[str]:
    """Labels that qualify a verdict: its basis, and what weakens it."""
    how = basis(f)
    out = [how if how != PROXY else f"proxy: {budget_text(f)}"]
    if how != EXACT and f.get("seeds") is not None and f["seeds"] < 3:
        out.append(f"few seeds ({f['seeds']})")
    if at_chance(f):
        out.append("arm at chance")
    if f.get("tier") != "fast" and how == FULL and {k for k in (f.get("budget") or {}) if k != "precision"}:
        out.append("recipe deviation")
    return out


@dataclass
class ClaimView:
    """One claim: the finding that decides it and the other tier's, if any."""

    claim_id: str
    report: str
    decisive: dict[str, Any]
    others: list[dict[str, Any]] = field(default_factory=list)

    @property
    def category(self) -> str:
        return category(self.decisive)

    @property
    def basis(self) -> str | None:
        f = self.decisive
        return basis(f) if f.get("verdict") not in NO_EVIDENCE else None

    @property
    def suite_check(self) -> str | None:
        return suite_check(self.decisive)

    @property
    def proxy(self) -> dict[str, Any] | None:
        return next((o for o in self.others if o.get("tier") == "fast" and o.get("verdict") not in NO_EVIDENCE), None)


def _rank(f: dict[str, Any]) -> tuple[int, int]:
    evidence = f.get("verdict") not in NO_EVIDENCE
    how = basis(f)
    return (evidence, {FULL: 2, EXACT: 3, PROXY: 1}[how] if evidence else (f.get("verdict") != "not-run"))


def claim_views(findings: list[dict[str, Any]]) -> list[ClaimView]:
    """One view per claim: the full-tier (or exact) finding with evidence decides, else the proxy, else the skip."""
    by_claim: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in findings:
        by_claim[f["claim_id"]].append(f)
    views = []
    for cid, items in sorted(by_claim.items()):
        ordered = sorted(items, key=_rank, reverse=True)
        views.append(ClaimView(cid, ordered[0]["report"], ordered[0], ordered[1:]))
    return views


def scorecard(views: list[ClaimView]) -> dict[str, dict[str, Any]]:
    """Per report: claims per category, decisive (full recipe or exact) and proxy counted apart; checks the suite
    added on top of the report count in `suite_checks` only, never as the report's claims."""
    table: dict[str, dict[str, Any]] = {}
    for v in views:
        row = table.setdefault(v.report, {"claims": 0, **{c: {"decisive": 0, "proxy": 0} for c in CATEGORIES},
                                          "proxies_waiting": 0, "suite_checks": {c: 0 for c in CATEGORIES}})
        if v.suite_check:
            row["suite_checks"][v.category] += 1
            continue
        row["claims"] += 1
        part = "proxy" if v.basis == PROXY else "decisive"
        row[v.category][part] += 1
        if v.basis == PROXY:
            row["proxies_waiting"] += 1
    return dict(sorted(table.items()))


def usable_now(views: list[ClaimView]) -> list[dict[str, Any]]:
    """Findings a grader can use today: exact checks that failed, identities, contradictions inside a report
    (`where`: the two places that disagree, shown with the label)."""
    out = []
    for v in views:
        f = v.decisive
        if f.get("verdict") in NO_EVIDENCE:
            continue
        why, where = "", None
        if contradicts(f) and category(f) == FAILED:
            why, where = CONTRADICTION, contradicts(f)
        elif basis(f) == EXACT and category(f) == FAILED:
            why = "exact check failed"
        elif f.get("kind") == "identity" and f.get("verdict") == "reproduced":
            why = "identity (proved, not an experiment)"
        elif basis(f) == FULL and category(f) == FAILED:
            why = "failed on the full recipe"
        if why and v.suite_check:  # evidence the suite added: shown, never as the report's own claim
            why = f"{why}; a suite check, not a claim of the report"
        if why:
            out.append({"view": v, "why": why, "where": where})
    order = {"exact check failed": 0, CONTRADICTION: 1, "failed on the full recipe": 2}
    return sorted(out, key=lambda u: (order.get(u["why"].split(";")[0], 3), u["view"].claim_id))


def wrong_by_chance(views: list[ClaimView]) -> dict[str, dict[str, float]]:
    """Per report and over all ('all'): the decided verdicts (held or failed, proxies included, the suite's own
    checks left out) and how many of them are expected to be wrong by chance, at the error rates measured on
    simulated claims (harness/error_rates.py). Exact checks never err by chance; a verdict whose comparisons
    have no measured rate is counted in 'uncounted'. The rate of a claim at its margin: an upper figure."""
    table: dict[str, dict[str, float]] = {}
    for v in views:
        f = v.decisive
        if v.suite_check or f.get("verdict") not in ("reproduced", "not-reproduced", "expected-not-reproduced"):
            continue
        outcome = "reproduced" if f["verdict"] == "reproduced" else "not-reproduced"
        rates = [error_rate(c.get("test") or "better", int(c.get("n") or 1), outcome)
                 for c in f.get("comparisons") or [] if c.get("outcome") == outcome]
        known = [r for r in rates if r is not None]
        for key in (v.report, "all"):
            row = table.setdefault(key, {"decided": 0, "expected": 0.0, "uncounted": 0})
            row["decided"] += 1
            if v.basis == EXACT:
                continue  # an exact quantity (a count, an identity) does not err by chance
            if known:
                row["expected"] += max(known)
            else:
                row["uncounted"] += 1
    return table
