"""How well proxies predict: fast-tier verdicts against full-recipe verdicts of the same claims.

A proxy's verdict (a narrow model, a thousand images, a few epochs) is only as useful as its record of
agreeing with the report's own recipe. The pairs come from the findings being reported (claims with a
proxy and a full-recipe verdict) and from the pairs measured before (`proxy_agreement.json` beside this
module: which machine, which commands, when); a claim in both counts once, from the findings at hand.
Every proxy verdict in the report carries the rate and the number of pairs it rests on.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .verdicts import FAILED, FULL, HELD, PROXY, UNDECIDED, ClaimView, category

MEASURED = Path(__file__).resolve().parent / "proxy_agreement.json"
AGREE, PROXY_UNDECIDED, PROXY_DISAGREES, FULL_UNDECIDED = ("agree", "proxy inconclusive", "proxy disagrees",
                                                          "full recipe inconclusive")
OUTCOMES = (AGREE, PROXY_UNDECIDED, PROXY_DISAGREES, FULL_UNDECIDED)


def classify(proxy: str, full: str) -> str | None:
    """The pair's outcome from the two verdicts' categories (held, failed, could not be decided); None when
    either side has no verdict to compare."""
    decided = (HELD, FAILED)
    if full not in decided + (UNDECIDED,) or proxy not in decided + (UNDECIDED,):
        return None
    if full == UNDECIDED:
        return FULL_UNDECIDED
    if proxy == UNDECIDED:
        return PROXY_UNDECIDED
    return AGREE if proxy == full else PROXY_DISAGREES


def live_pairs(views: list[ClaimView]) -> list[dict[str, str]]:
    """The claims of these findings with both a full-recipe verdict and a proxy verdict."""
    out = []
    for v in views:
        proxy = v.proxy
        if v.basis != FULL or proxy is None:
            continue
        outcome = classify(category(proxy), v.category)
        if outcome:
            out.append({"claim_id": v.claim_id, "fast": proxy["verdict"], "full": v.decisive["verdict"],
                        "outcome": outcome})
    return out


def load_measured(path: Path = MEASURED) -> dict[str, Any]:
    """The pairs measured before ({"source": ..., "pairs": [...]}); none when the file is absent. A malformed
    file is a ValueError naming it."""
    if not path.is_file():
        return {"source": "", "pairs": []}
    try:
        doc = json.loads(path.read_text())
        pairs = doc["pairs"]
        if not isinstance(doc.get("source"), str) or not all(
                isinstance(p, dict) and p.get("outcome") in OUTCOMES and isinstance(p.get("claim_id"), str)
                for p in pairs):
            raise ValueError("each pair needs a claim_id and an outcome of " + ", ".join(OUTCOMES))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a proxy-agreement file ({exc})") from None
    return doc


def agreement(views: list[ClaimView], measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pairs (live first, then measured) and their counts; `rate` is agree / decided pairs (None: none)."""
    measured = load_measured() if measured is None else measured
    live = live_pairs(views)
    seen = {p["claim_id"] for p in live}
    pairs = live + [p for p in measured["pairs"] if p["claim_id"] not in seen]
    counts = {o: sum(p["outcome"] == o for p in pairs) for o in OUTCOMES}
    decided = counts[AGREE] + counts[PROXY_DISAGREES]
    return {"pairs": pairs, "counts": counts, "decided": decided,
            "rate": counts[AGREE] / decided if decided else None,
            "live": len(live), "source": measured.get("source", "")}


def tag(summary: dict[str, Any]) -> str | None:
    """The short label every proxy verdict carries, 'proxies vs full recipe: 9/12 agreed (15 pairs)': short, since it
    repeats on every proxy row (page 1 spells the measurement out)."""
    if not summary["pairs"]:
        return None
    return (f"proxies vs full recipe: {summary['counts'][AGREE]}/{summary['decided']} agreed "
            f"({len(summary['pairs'])} pairs)")


def is_proxy(view: ClaimView) -> bool:
    return view.basis == PROXY
