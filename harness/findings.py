"""Findings: what claim tests leave behind, and the files the report is built from.

The record -- Finding: what one claim test leaves behind for one tier, typed and versioned.

A Finding is created once, from the reference entry and the tier (which fix its expected
verdict), filled by the Claim while the test runs (runs, table rows, comparisons with their
intervals, figures with their data, notes), and closed once from the test's outcome. It
carries everything the report shows, so the report is built from findings files alone.

The files -- Findings files: one JSON per session (version, session header, findings), and their merging.

Merging keeps, per claim and tier, the newest finding that has evidence: a finding with no
runs, rows or comparisons (a skip, a cached-only session on an empty store) never displaces
one that measured something. Each kept finding names the session it came from.

A report directory accumulates: every session leaves its own file in `sessions/`, and
`findings.json` is the merge of them all (with every session's header under "sessions"), so a
run of a few claims updates those claims and keeps the others' findings from earlier sessions.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .files import StorageError, atomic_write_text

if TYPE_CHECKING:
    from .reference.entries import ClaimEntry


FINDING_VERSION = 2
# Verdicts, in the order the report lists them. "inconclusive": the interval neither supports nor
# rules out the claim. "error": the machinery failed (a crash, missing data, a bug): no verdict.
VERDICTS = ("reproduced", "not-reproduced", "inconclusive", "expected-not-reproduced", "error", "not-run",
            "under-specified", "qualitative")
# What a closed test can say: the check's own outcome, or why no check ran.
OUTCOMES = ("reproduced", "not-reproduced", "inconclusive", "error", "skipped")


@dataclass
class RunRecord:
    """One training run a claim used (provenance; the curves travel with the figures)."""

    key: str
    label: str
    seed: int
    status: str
    diverged_at_step: int | None = None
    device: str | None = None
    hardware: str | None = None
    torch: str | None = None
    wall_time: float | None = None
    cpu_time: float | None = None
    created: str = ""
    time_split: dict[str, float] = field(default_factory=dict)
    cpu_kernels: str | None = None


@dataclass
class Comparison:
    """One statistical comparison: estimate, interval, seeds, method, the margin and its outcome."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str
    margin: float | None
    outcome: str
    confidence: float = 0.95
    p_value: float | None = None
    test: str = "better"  # better | equivalent | at-least | consistent
    mde: float | None = None  # smallest distance from the margin decided with 80% power at these seeds
    seeds_needed: int | None = None  # inconclusive: about the seeds per arm that would decide it (None: > 1000)


@dataclass
class Figure:
    """A figure request with the data to draw it (see harness/figure_kinds.py for the kinds)."""

    kind: str
    title: str
    metric: str = "test_acc"
    series: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


# What one look of adaptive seeding records (harness/pytest_plugin/adaptive.py): the next look starts without it.
LOOK_EVIDENCE = ("rows", "comparisons", "runs", "figures", "notes", "skip_reason", "seeds")


@dataclass
class Finding:
    claim_id: str
    report: str
    kind: str
    tier: str
    statement: str
    location: str
    expect: str
    why: str | None
    seeds: int | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    report_title: str = ""
    conflicts_with: list[str] = field(default_factory=list)
    agrees_with: list[str] = field(default_factory=list)
    suite_check: str | None = None  # a check the suite adds on top of the report (why): counted apart
    contradicts: str | None = None  # the report contradicts itself: the two places that disagree
    rows: list[dict[str, Any]] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcome: str | None = None
    verdict: str | None = None
    skip_reason: str | None = None
    error: str | None = None
    failure: str | None = None
    duration: float | None = None
    nodeid: str = ""
    command: str = ""
    session: str = ""
    # Adaptive seeding (harness/claim/sequential.py): each look's seeds per arm, level and outcome, and the rule.
    looks: list[dict[str, Any]] = field(default_factory=list)
    stopping_rule: str | None = None

    @classmethod
    def open(cls, entry: "ClaimEntry", tier: str, report_title: str = "") -> "Finding":
        """A finding for `entry` in `tier`, its expectation fixed by the reference entry."""
        plan = entry.plan(tier)
        expect = (plan.expect if plan else None) or entry.expect
        why = (plan.why if plan else None) or entry.why
        return cls(claim_id=entry.id, report=entry.report, kind=entry.kind, tier=tier, statement=entry.statement,
                   location=entry.location, expect=expect, why=why, seeds=plan.seeds if plan else None,
                   budget=dict(plan.budget) if plan else {}, recipe=dict(entry.recipe), report_title=report_title,
                   conflicts_with=list(entry.conflicts_with), agrees_with=list(entry.agrees_with),
                   suite_check=entry.suite_check, contradicts=entry.contradicts)

    def close(self, outcome: str, *, message: str | None = None, duration: float | None = None,
              nodeid: str = "", session: str = "") -> "Finding":
        """Set the verdict from the test's outcome, once, and say which test and session gave it.

        The one way a finding is closed: by the process that ran its test, or by the controller
        for a test whose process crashed or whose session was cut short.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
        self.outcome = outcome
        self.duration = duration
        if nodeid:
            self.nodeid, self.command = nodeid, f"pytest '{nodeid}'"
        self.session = session
        if outcome == "error":
            self.error = message
        elif outcome == "not-reproduced":
            self.failure = message
        elif outcome in ("skipped", "inconclusive") and message and not self.skip_reason:
            self.skip_reason = message
        self.verdict = verdict_for(outcome, self.expect)
        return self

    def take_evidence(self) -> dict[str, Any]:
        """Hand over the evidence of a look that did not decide and start the next look empty; the notes the claim
        had before any evidence (an `underpowered:` declaration) stay. `put_back` restores what this returns."""
        kept = {name: getattr(self, name) for name in LOOK_EVIDENCE}
        self.rows, self.comparisons, self.runs, self.figures = [], [], [], []
        self.notes = [n for n in self.notes if n.startswith("underpowered:")]
        self.skip_reason = None
        return kept

    def put_back(self, kept: dict[str, Any]) -> None:
        """The evidence `take_evidence` handed over, back in place (a later look that could not run)."""
        for name, value in kept.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Finding":
        """Rebuild a finding; a missing required field or an unknown one is a ValueError naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = required - set(data)
        if missing:
            raise ValueError(f"finding {data.get('claim_id', '?')!r} lacks fields {sorted(missing)}")
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"finding {data.get('claim_id', '?')!r} has unknown fields {sorted(unknown)}")
        values = dict(data)
        values["comparisons"] = [Comparison(**c) for c in data.get("comparisons", [])]
        values["runs"] = [RunRecord(**r) for r in data.get("runs", [])]
        values["figures"] = [Figure(**f) for f in data.get("figures", [])]
        return cls(**values)

    @property
    def has_evidence(self) -> bool:
        """Whether anything was measured (a not-run finding must not displace one that was)."""
        return bool(self.runs or self.rows or self.comparisons)


def verdict_for(outcome: str, expect: str) -> str:
    """The verdict of a closed test: the check's outcome read against the entry's expectation."""
    if outcome == "error":
        return "error"
    if outcome == "skipped":
        return expect if expect in ("under-specified", "qualitative") else "not-run"
    if outcome == "not-reproduced" and expect == "not-reproduced":
        return "expected-not-reproduced"
    return outcome  # reproduced (even where not-reproduced was expected: the entry gets revisited), inconclusive


# -- findings files ---------------------------------------------------------------
SESSIONS_DIR = "sessions"
FINDINGS_FIX = ("free some space or choose another report directory (--report-dir / $REPRO_REPORT_DIR); "
                "the test outcomes are in the pytest output above")


def session_info(**extra: Any) -> dict[str, Any]:
    """A session header: when it finished, the code (commit), the packages and Python it ran with, then `extra`
    (the controller adds the data checksums, the reference hash and the command), so the report can say how to
    reproduce it."""
    return {"finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": _commit(),
            "packages": _packages(), **extra}


def _commit() -> str | None:
    """The project's git commit, '+dirty' when the work tree differs from it; None outside a git checkout."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def _packages() -> dict[str, str]:
    """Versions of Python and of the packages a run's numbers depend on (those installed)."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("torch", "torchvision", "numpy", "scipy", "pandas", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_findings(path: Path, findings: Iterable[dict[str, Any]], session: dict[str, Any],
                   sessions: list[dict[str, Any]] | None = None) -> Path:
    """One findings file; `sessions` (a merge's) lists the header of every session its findings came from.
    A write that fails removes the file if it was only reserved (empty), so a full disk leaves nothing behind."""
    payload = {"version": FINDING_VERSION, "session": session, **({"sessions": sessions} if sessions else {}),
               "findings": sorted(findings, key=lambda f: (f["claim_id"], f["tier"]))}
    try:
        return atomic_write_text(Path(path), json.dumps(payload, indent=1, default=str), what="the findings",
                                 fix=FINDINGS_FIX)
    except OSError:
        with contextlib.suppress(OSError):
            if Path(path).stat().st_size == 0:
                Path(path).unlink()
        raise


def read_findings(paths: Iterable[Path]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Merge findings files into (findings, sessions); see the module docstring for the rule."""
    latest: dict[tuple[str, str], tuple[tuple[bool, str], Finding]] = {}
    sessions = []
    for path in paths:
        try:
            payload = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"findings file {path} cannot be read: {exc}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("findings"), list):
            raise ValueError(f"findings file {path} has no 'findings' list")
        if payload.get("version") != FINDING_VERSION:
            raise ValueError(f"findings file {path} has format version {payload.get('version')!r}; this build-report "
                             f"reads version {FINDING_VERSION}: re-run the session that wrote it")
        session = payload.get("session") or {}
        headers = payload.get("sessions") or [session]  # a merged file carries the header of each of its sessions
        if not isinstance(session, dict) or not isinstance(headers, list) or \
                not all(isinstance(h, dict) for h in headers):
            raise ValueError(f"findings file {path}: its 'session' is not an object or its 'sessions' not a list of "
                             f"objects; re-run the session that wrote it")
        sessions += [h for h in headers if h not in sessions]
        finished = {str(h.get("id")): str(h.get("finished", "")) for h in headers if h.get("id")}
        for raw in payload["findings"]:
            try:
                if not isinstance(raw, dict):
                    raise ValueError("a finding is not an object")
                finding = Finding.from_dict(raw)
                if not all(isinstance(getattr(finding, name), str) for name in ("claim_id", "tier")):
                    raise ValueError(f"finding {finding.claim_id!r}: its claim_id and tier must be text")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"findings file {path}: {exc}") from None
            stamp = finished.get(finding.session or "", str(session.get("finished", "")))
            finding.session = finding.session or str(session.get("id", stamp))
            rank = (finding.has_evidence, stamp)
            key = (finding.claim_id, finding.tier)
            if key not in latest or rank >= latest[key][0]:
                latest[key] = (rank, finding)
    return sorted((f for _, f in latest.values()), key=lambda f: (f.claim_id, f.tier)), sessions


def session_file(report_dir: Path, session: dict[str, Any], reserve: bool = True) -> Path:
    """Where a session's own findings go: sessions/<start time>-<id>.json, so names sort oldest first.

    `reserve` creates the file empty (O_EXCL) under a name no other session holds: a session id given twice
    (REPRO_SESSION), even by two sessions started in the same second, gets <start>-<id>-2.json and so on, so no
    session overwrites another's file. The merge skips a reserved file that is still empty.
    """
    started = dt.datetime.fromtimestamp(float(session.get("started") or 0), dt.timezone.utc)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(session.get("id") or "session"))
    folder = Path(report_dir) / SESSIONS_DIR
    first = folder / f"{started:%Y%m%dT%H%M%S}-{name}.json"
    if not reserve:
        return first
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, a read-only report directory
        raise StorageError(f"could not make the folder {folder} for the findings ({exc.strerror or exc}); "
                           f"{FINDINGS_FIX}") from exc
    for count in range(1, 10_000):
        path = first if count == 1 else first.with_name(f"{first.stem}-{count}.json")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"could not write the findings to {path} ({exc.strerror or exc}); {FINDINGS_FIX}") \
                from exc
    raise FileExistsError(f"{folder} already holds 10,000 session files named {first.name}; "
                          "give another session id (REPRO_SESSION)")


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
        if _still_reserved(path):  # another session is writing its findings right now
            continue
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
    header = payload.get("session") or {}
    if session_file(path.parent, header, reserve=False).exists():
        return
    target = session_file(path.parent, header)
    atomic_write_text(target, json.dumps(payload, indent=1, default=str), what="the findings")


def _still_reserved(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
