"""Findings: one record per claim and tier, with its verdict, written as JSON for reports/."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

VERDICTS = ("reproduced", "not-reproduced", "expected-not-reproduced", "not-run", "under-specified", "qualitative")
FINDINGS_VERSION = 1


def verdict_for(outcome: str, was_xfail: bool, expect: str, skip_reason: str | None) -> str:
    """Map a pytest outcome on a claim test to a reproducibility verdict."""
    if outcome == "skipped" and was_xfail:
        return "expected-not-reproduced"
    if outcome == "skipped":
        if expect == "under-specified":
            return "under-specified"
        if expect == "qualitative":
            return "qualitative"
        return "not-run"
    if outcome == "passed":
        return "reproduced"
    return "not-reproduced"  # failed, including a strict xfail that unexpectedly passed


def session_info(**extra: Any) -> dict[str, Any]:
    return {"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **extra}


def write_findings(path: Path, findings: Iterable[dict[str, Any]], session: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": FINDINGS_VERSION, "session": session,
               "findings": sorted(findings, key=lambda f: (f["claim_id"], f["tier"]))}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    tmp.replace(path)
    return path


def read_findings(paths: Iterable[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Merge findings files; for each (claim, tier) the newest session wins. Returns (findings, sessions)."""
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    sessions = []
    for path in paths:
        try:
            payload = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"findings file {path} cannot be read: {exc}") from None
        if not isinstance(payload, dict) or "findings" not in payload:
            raise ValueError(f"findings file {path} has no 'findings' list")
        session = payload.get("session", {})
        sessions.append(session)
        stamp = str(session.get("finished", ""))
        for finding in payload["findings"]:
            key = (finding["claim_id"], finding["tier"])
            if key not in latest or stamp >= latest[key][0]:
                latest[key] = (stamp, finding)
    return [f for _, f in sorted(latest.values(), key=lambda sf: (sf[1]["claim_id"], sf[1]["tier"]))], sessions
