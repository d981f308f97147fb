"""Findings files: one JSON per session (version, session header, findings), and their merging.

Merging keeps, per claim and tier, the newest finding that has evidence: a finding with no
runs, rows or comparisons (a skip, a cached-only session on an empty store) never displaces
one that measured something. Each kept finding names the session it came from.

A report directory accumulates: every session leaves its own file in `sessions/`, and
`findings.json` is the merge of them all (with every session's header under "sessions"), so a
run of a few claims updates those claims and keeps the others' findings from earlier sessions.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Iterable

from .finding import FINDING_VERSION, VERDICTS, Finding
from .atomic import atomic_write_text

__all__ = ["VERDICTS", "SESSIONS_DIR", "session_info", "write_findings", "read_findings", "session_file",
           "merge_sessions"]

SESSIONS_DIR = "sessions"


def session_info(**extra: Any) -> dict[str, Any]:
    return {"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **extra}


def write_findings(path: Path, findings: Iterable[dict[str, Any]], session: dict[str, Any],
                   sessions: list[dict[str, Any]] | None = None) -> Path:
    """One findings file; `sessions` (a merge's) lists the header of every session its findings came from."""
    payload = {"version": FINDING_VERSION, "session": session, **({"sessions": sessions} if sessions else {}),
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
        headers = payload.get("sessions") or [session]  # a merged file carries the header of each of its sessions
        sessions += [h for h in headers if h not in sessions]
        finished = {str(h.get("id")): str(h.get("finished", "")) for h in headers if h.get("id")}
        for raw in payload["findings"]:
            try:
                if not isinstance(raw, dict):
                    raise ValueError("a finding is not an object")
                finding = Finding.from_dict(raw)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"findings file {path}: {exc}") from None
            stamp = finished.get(finding.session or "", str(session.get("finished", "")))
            finding.session = finding.session or str(session.get("id", stamp))
            rank = (finding.has_evidence, stamp)
            key = (finding.claim_id, finding.tier)
            if key not in latest or rank >= latest[key][0]:
                latest[key] = (rank, finding)
    return sorted((f for _, f in latest.values()), key=lambda f: (f.claim_id, f.tier)), sessions


def session_file(report_dir: Path, session: dict[str, Any]) -> Path:
    """Where a session's own findings go: sessions/<start time>-<id>.json, so names sort oldest first and a
    session id given twice (REPRO_SESSION) never overwrites an earlier session's file."""
    started = dt.datetime.fromtimestamp(float(session.get("started") or 0), dt.timezone.utc)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(session.get("id") or "session"))
    return Path(report_dir) / SESSIONS_DIR / f"{started:%Y%m%dT%H%M%S}-{name}.json"


def merge_sessions(report_dir: Path) -> tuple[Path, list[str]]:
    """Write report_dir/findings.json as the merge of every session file in report_dir/sessions/.

    Returns its path and the files left out (another format version, or unreadable), each with why:
    an old file must not stop the newest session from reaching the report. A findings.json written
    before sessions were kept (no "sessions" header list) is first kept as a session file of its own.
    """
    report_dir = Path(report_dir)
    merged = report_dir / "findings.json"
    _keep_single_session_file(merged)
    usable, left_out = [], []
    for path in sorted((report_dir / SESSIONS_DIR).glob("*.json")):
        try:
            read_findings([path])
            usable.append(path)
        except ValueError as exc:
            left_out.append(str(exc))
    findings, sessions = read_findings(usable)
    newest = max(sessions, key=lambda s: str(s.get("finished", "")), default={})
    write_findings(merged, [f.to_dict() for f in findings], newest, sessions)
    return merged, left_out


def _keep_single_session_file(path: Path) -> None:
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return
    if not isinstance(payload, dict) or "sessions" in payload or payload.get("version") != FINDING_VERSION:
        return
    target = session_file(path.parent, payload.get("session") or {})
    if not target.exists():
        atomic_write_text(target, json.dumps(payload, indent=1, default=str), what="the findings")
