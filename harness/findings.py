"""Findings: one record per claim and tier, with its verdict, written as JSON for reports/."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

from .atomic import atomic_write_text

VERDICTS = ("reproduced", "not-reproduced", "expected-not-reproduced", "not-run", "under-specified", "qualitative")
FINDINGS_VERSION = 1
# The fields reports/ reads from every finding (the rest are optional there).
REQUIRED_FIELDS = ("claim_id", "tier", "report", "kind", "verdict", "statement", "location")


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
    payload = {"version": FINDINGS_VERSION, "session": session,
               "findings": sorted(findings, key=lambda f: (f["claim_id"], f["tier"]))}
    return atomic_write_text(path, json.dumps(payload, indent=1, default=str), what="the findings",
                             fix="free some space or choose another report directory (--report-dir / "
                                 "$REPRO_REPORT_DIR); the test outcomes are in the pytest output above")


def read_findings(paths: Iterable[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Merge findings files; for each (claim, tier) the newest session wins. Returns (findings, sessions)."""
    latest: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    sessions = []
    for path in paths:
        try:
            payload = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"findings file {path} cannot be read: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("findings"), list):
            raise ValueError(f"findings file {path} has no 'findings' list")
        if payload.get("version") != FINDINGS_VERSION:
            raise ValueError(f"findings file {path} has version {payload.get('version')!r}; this build-report reads "
                             f"version {FINDINGS_VERSION} (rerun pytest claims/ with this checkout, or build the "
                             f"report with the checkout that wrote it)")
        session = payload.get("session", {})
        if not isinstance(session, dict):
            raise ValueError(f"findings file {path}: 'session' is not an object")
        sessions.append(session)
        stamp = str(session.get("finished", ""))
        for i, finding in enumerate(payload["findings"]):
            _check_finding(finding, path, i)
            key = (finding["claim_id"], finding["tier"])
            if key not in latest or stamp >= latest[key][0]:
                latest[key] = (stamp, finding)
    return [f for _, f in sorted(latest.values(), key=lambda sf: (sf[1]["claim_id"], sf[1]["tier"]))], sessions


def _check_finding(finding: Any, path: Path, index: int) -> None:
    """A finding lacking a field the report reads is an error naming the file and the claim."""
    if not isinstance(finding, dict):
        raise ValueError(f"findings file {path}: finding #{index} is not an object")
    missing = [name for name in REQUIRED_FIELDS if name not in finding]
    if missing:
        claim = finding.get("claim_id", f"#{index}")
        raise ValueError(f"findings file {path}: finding {claim!r} lacks {', '.join(missing)} "
                         f"(written by another version? rerun pytest claims/ with this checkout)")
