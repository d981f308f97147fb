"""Findings files: one JSON per session (version, session header, findings), and their merging.

Merging keeps, per claim and tier, the newest finding that has evidence: a finding with no
runs, rows or comparisons (a skip, a cached-only session on an empty store) never displaces
one that measured something. Each kept finding names the session it came from.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

from .finding import FINDING_VERSION, VERDICTS, Finding
from .atomic import atomic_write_text

__all__ = ["VERDICTS", "session_info", "write_findings", "read_findings"]


def session_info(**extra: Any) -> dict[str, Any]:
    return {"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **extra}


def write_findings(path: Path, findings: Iterable[dict[str, Any]], session: dict[str, Any]) -> Path:
    payload = {"version": FINDING_VERSION, "session": session,
               "findings": sorted(findings, key=lambda f: (f["claim_id"], f["tier"]))}
    return atomic_write_text(Path(path), json.dumps(payload, indent=1, default=str), what="the findings",
                             fix="free some space or choose another report directory (--report-dir / "
                                 "$REPRO_REPORT_DIR); the test outcomes are in the pytest output above")


def read_findings(paths: Iterable[Path]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Merge findings files into (findings, sessions); see the module docstring for the rule."""
    latest: dict[tuple[str, str], tuple[tuple[bool, str], Finding]] = {}
    sessions = []
    for path in paths:
        try:
            payload = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"findings file {path} cannot be read: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("findings"), list):
            raise ValueError(f"findings file {path} has no 'findings' list")
        if payload.get("version") != FINDING_VERSION:
            raise ValueError(f"findings file {path} has format version {payload.get('version')!r}; this build-report "
                             f"reads version {FINDING_VERSION}: re-run the session that wrote it")
        session = payload.get("session") or {}
        sessions.append(session)
        stamp = str(session.get("finished", ""))
        for raw in payload["findings"]:
            try:
                if not isinstance(raw, dict):
                    raise ValueError("a finding is not an object")
                finding = Finding.from_dict(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"findings file {path}: {exc}") from None
            finding.session = finding.session or str(session.get("id", stamp))
            rank = (finding.has_evidence, stamp)
            key = (finding.claim_id, finding.tier)
            if key not in latest or rank >= latest[key][0]:
                latest[key] = (rank, finding)
    return sorted((f for _, f in latest.values()), key=lambda f: (f.claim_id, f.tier)), sessions
