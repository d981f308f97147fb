"""On the controlling process: gather the closed findings, write the session file and the merge, build the report.

Workers attach each closed finding to their test report (and an open one to the setup report), so the
controller keeps the newest per claim and tier, closes the finding of a test whose worker crashed or
whose session was cut short as an error, writes `<report-dir>/sessions/<id>.json` and findings.json
(the merge of every session of the report directory) and builds the HTML/PDF report.
"""
from __future__ import annotations

import collections
import hashlib
import json
import shlex
import signal
import time
from pathlib import Path

import pytest

from ..reference.entries import TIERS
from ..findings import Finding, merge_sessions, session_file, session_info, write_findings
from .config import reference, settings_of

FINDING_KEY = "finding"  # a closed finding, on the report of the test's call (or of the failed phase)
PENDING_KEY = "pending_finding"  # the open finding, on the setup report: a crash mid-test still leaves it
PROGRESS_EVERY = 60.0  # seconds between progress lines on the terminal


def progress_line(done: int, total: int, elapsed: float, recent: tuple[int, float] | None = None) -> str:
    """'tests: 37/120 done, 9 min so far, about 8 min left'. The time left assumes the rest go at the pace of
    `recent` (tests done, seconds) when given, else at the whole session's: unit tests finish in a blink and
    claims take minutes, so the recent pace is the better guess once the claims have started."""
    line = f"tests: {done}/{total} done, {elapsed / 60:.0f} min so far"
    count, seconds = recent if recent and recent[0] > 0 else (done, elapsed)
    if 0 < done < total and count > 0:
        line += f", about {seconds / count * (total - done) / 60:.0f} min left"
    return line


RECENT_S = 300.0  # the window whose pace predicts the time left


def reference_hash(directory: Path) -> str | None:
    """SHA-256 over the reference YAML files (names and bytes, in name order): the reported values checked."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class Controller:
    """The session's findings, kept in the controlling process (the xdist controller, or the only one)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.findings: dict[tuple[str, str], Finding] = {}
        self.pending: dict[str, str] = {}  # nodeid -> open finding (JSON) of a test that has started
        self.started = time.time()
        self.interrupted: str | None = None  # how the session was cut short, if it was
        self.findings_path: Path | None = None
        self.outputs: dict[str, Path] | None = None
        self.report_error: str | None = None
        self.left_out: list[str] = []  # session files of the report directory that findings.json could not merge
        self.reports: dict[str, dict[str, str]] = {}
        self._previous_sigterm = None
        self.total = 0  # tests collected (progress)
        self.done: set[str] = set()
        self.finished_at: list[float] = []  # when each test report arrived, for the recent pace
        self.last_progress = time.time()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # read before any test, not at the end: the header describes the reference the claims ran with
        self.reports = {k: {"title": r.title, "summary": r.summary, "source": r.source}
                        for k, r in reference(self.config).items()}
        self._catch_sigterm()

    def _catch_sigterm(self) -> None:
        """SIGTERM (timeout, systemd, a batch scheduler) ends the session like Ctrl-C: findings are written."""
        try:
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread: leave the default
            self._previous_sigterm = None

    def _on_sigterm(self, signum, frame) -> None:
        self.interrupted = "terminated (SIGTERM)"
        raise KeyboardInterrupt("SIGTERM")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items) or self.total

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.total = max(self.total, len(ids))

    def _progress(self, report: pytest.TestReport) -> None:
        """A line a minute on long sessions: how many tests are done and about how long the rest take."""
        now = time.time()
        if (report.when == "call" or report.outcome != "passed") and report.nodeid not in self.done:
            self.done.add(report.nodeid)
            self.finished_at.append(now)
        if now - self.last_progress < PROGRESS_EVERY or not self.total:
            return
        self.last_progress = now
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            window = min(RECENT_S, now - self.started)
            recent = sum(t >= now - window for t in self.finished_at)
            terminal.write_line(progress_line(len(self.done), self.total, now - self.started, (recent, window)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._progress(report)
        props = dict(report.user_properties)
        if FINDING_KEY in props:
            finding = Finding.from_dict(json.loads(props[FINDING_KEY]))
            self.findings[(finding.claim_id, finding.tier)] = finding
            self.pending.pop(report.nodeid, None)
        elif PENDING_KEY in props:
            self.pending[report.nodeid] = props[PENDING_KEY]
        elif report.failed and report.nodeid in self.pending:  # the worker crashed while running it
            self._close_pending(report.nodeid, f"the test process crashed: {str(report.longrepr)[-1500:]}")

    def _close_pending(self, nodeid: str, message: str) -> None:
        finding = Finding.from_dict(json.loads(self.pending.pop(nodeid)))
        finding.close("error", message=message, nodeid=nodeid, session=settings_of(self.config).session or "")
        self.findings.setdefault((finding.claim_id, finding.tier), finding)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = self.interrupted or "interrupted (Ctrl-C)"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if exitstatus == pytest.ExitCode.INTERRUPTED and not self.interrupted:
            self.interrupted = "interrupted (Ctrl-C)"
        for nodeid in list(self.pending):  # started, never reported: the session was cut short
            self._close_pending(nodeid, f"the session was {self.interrupted} before this test finished"
                                if self.interrupted else "the session ended before this test finished (crashed)")
        if not self.findings:
            return
        config, chosen = self.config, settings_of(self.config)
        out_dir = Path(chosen.report_dir)
        info = session_info(
            id=chosen.session or "", started=self.started, duration=time.time() - self.started,
            args=list(config.invocation_params.args), markexpr=config.getoption("markexpr"),
            run_mode=chosen.run_mode,
            workers=getattr(config.option, "numprocesses", None),
            interrupted=bool(self.interrupted), interruption=self.interrupted, reports=self.reports,
            command="python -m pytest " + shlex.join(config.invocation_params.args),
            data_checksums=_data_checksums(chosen.data_root), reference_hash=reference_hash(_reference_dir()),
        )
        try:  # this session's own file, then findings.json as the merge of every session in the report directory
            write_findings(session_file(out_dir, info), [f.to_dict() for f in self.findings.values()], info)
            self.findings_path, self.left_out = merge_sessions(out_dir)
        except OSError as exc:  # a full disk, say: one clear line and a failed session, not an internal error
            self.report_error = f"findings NOT written: {exc}"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        if chosen.no_report:
            return
        from reports.build import build_report

        try:
            self.outputs = build_report([self.findings_path], out_dir)
        except Exception as exc:  # the report is a product: failing to build it fails the session
            why = str(exc) if isinstance(exc, OSError) else repr(exc)  # StorageError names the file and the fix
            self.report_error = f"report build FAILED (findings are kept in {self.findings_path}): {why}"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if self.report_error and not self.findings_path:
            terminalreporter.write_line(self.report_error, red=True)
        if not self.findings or not self.findings_path:
            return
        counts = collections.Counter((f.report, f.tier, f.verdict) for f in self.findings.values())
        terminalreporter.section("reproducibility verdicts")
        for report in sorted({f.report for f in self.findings.values()}):
            for tier in TIERS:
                row = {v: n for (r, t, v), n in sorted(counts.items()) if r == report and t == tier}
                if row:
                    terminalreporter.write_line(f"{report[:3]} {tier}: " + ", ".join(f"{n} {v}" for v, n in row.items()))
        if self.interrupted:
            terminalreporter.write_line(f"the session was {self.interrupted}: the findings so far are kept",
                                        yellow=True)
        terminalreporter.write_line(f"findings: {self.findings_path} (this session and the earlier ones kept in "
                                    f"{self.findings_path.parent / 'sessions'})")
        for why in self.left_out:
            terminalreporter.write_line(f"left out of the merged findings: {why}", yellow=True)
        if self.outputs:
            terminalreporter.write_line(f"reproducibility report: {self.outputs['html']} and {self.outputs['pdf']}")
        if self.report_error:
            terminalreporter.write_line(self.report_error, red=True)


def _data_checksums(root) -> dict[str, str]:
    """The dataset files' SHA-256 (harness/train/data.py), empty when the data root is unreadable."""
    from ..train.data import checksums

    try:
        return checksums(root)
    except OSError:
        return {}


def _reference_dir() -> Path:
    from .. import settings
    from ..reference.entries import REFERENCE_DIR

    return Path(settings.reference_dir() or REFERENCE_DIR)
