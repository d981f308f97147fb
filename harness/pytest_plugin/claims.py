"""pytest plugin (entry point `cifar_claims`): tier markers, options, the `claim` fixture, verdicts.

Claim tests carry `@pytest.mark.claim("<report>/<slug>")` and are parametrized over the
tiers (`fast`, `full`). Each test's Claim fills one typed Finding; the outcome of the test
closes it (harness/finding.py): the check's own failure is not-reproduced, an inconclusive
interval a skip with verdict inconclusive, any other exception (a crash, missing data, a
bug) an error. Workers attach the closed finding to their test report; the controller keeps
the newest per claim and tier, turns a crashed worker's test into an error finding, writes
findings.json at the end and builds the report.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from _pytest.outcomes import Skipped

from ..plan import run_queue
from ..claim.claim import Claim, ClaimCheckFailed, ClaimContext, ClaimInconclusive
from .collection import checks_of_test, unread_tolerance
from ..train.data import REQUIRED_FILES, DatasetMissingError, ensure_files
from ..train.device import assign_worker_gpu, resolve_device, split_cpu_threads
from ..findings import Finding
from ..findings import merge_sessions, session_file, session_info, write_findings
from ..settings import OPTIONS, Settings, validate as validate_options
from .plan import recording as _planning  # --plan or --rehearse: claim bodies only record their runs
from ..reference.entries import ReferenceError, all_claims, load_all
from ..runs.store import MODES, RUN_MODE_ENV, RUNS_ENV, SESSION_ENV, RunStore
from ..claim.tiers import TIERS

REPORT_DIR_ENV = "REPRO_REPORT_DIR"
BASE_SEED_ENV = "REPRO_BASE_SEED"
FINDING_KEY = "finding"
STATE = pytest.StashKey[dict]()
SETTINGS = pytest.StashKey[Settings]()
CLAIM = pytest.StashKey[Claim]()
# Kinds whose claims never read a dataset (a parameter count, a statement).
DATA_FREE_KINDS = ("params", "qualitative", "identity")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reproducibility", "reproducibility claims")
    group.addoption("--data-root", metavar="DIR", default=None,
                    help="folder with cifar-10-batches-py/ and MNIST/raw/ (env REPRO_DATA; "
                         "default ~/.cache/cifar-claims/data)")
    group.addoption("--no-download", action="store_true", default=False,
                    help="never download missing datasets (env REPRO_DOWNLOAD=0)")
    group.addoption("--runs", metavar="DIR", default=None,
                    help=f"run store directory (env {RUNS_ENV}; default .runs)")
    group.addoption("--run-mode", choices=MODES, default=None,
                    help=f"train missing runs (default), use cached runs only, or retrain (env {RUN_MODE_ENV})")
    group.addoption("--checkpoint-every", metavar="N", type=int, default=None,
                    help="save a resumable checkpoint every N epochs (env REPRO_CHECKPOINT_EVERY; default 1)")
    group.addoption("--checkpoint-minutes", metavar="M", type=float, default=None,
                    help="at most one checkpoint per M minutes of training (env REPRO_CHECKPOINT_MINUTES; "
                         "default 5; 0: at every --checkpoint-every epoch)")
    group.addoption("--keep-checkpoints", action="store_true", default=False,
                    help="keep each run's last checkpoint after it completes (default: removed)")
    group.addoption("--device", metavar="DEV", default=None,
                    help="auto (default), cpu, cuda or cuda:N (env REPRO_DEVICE); naming cpu lets full-tier "
                         "claims train on the CPU")
    group.addoption("--compile", action="store_true", default=None,
                    help="torch.compile each model before training (env REPRO_COMPILE=1; default off); the "
                         "compile time is recorded with each run")
    group.addoption("--report-dir", metavar="DIR", default=None,
                    help=f"where findings.json and the HTML/PDF report go (env {REPORT_DIR_ENV}; default report)")
    group.addoption("--no-report", action="store_true", default=False,
                    help="write findings.json but do not build the HTML/PDF report")
    group.addoption("--base-seed", metavar="N", type=int, default=None,
                    help=f"first seed of every claim's seed list (env {BASE_SEED_ENV}; default 0)")
    group.addoption("--run-queue", action="store_true", default=False,
                    help=f"under -n N: plan the selection first and train its missing runs longest first from a "
                         f"queue shared by the workers, before the tests (env {run_queue.QUEUE_ENV}=on)")


def _option(config: pytest.Config, name: str, env: str | None = None, default=None):
    value = config.getoption(name)
    if value is None and env:
        value = os.environ.get(env)
    return default if value is None else value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fast: laptop-CPU tier, tiny budgets")
    config.addinivalue_line("markers", "full: the reports' own recipes (GPU)")
    config.addinivalue_line("markers", "claim(id): the reference/ claim id this test checks")
    config.addinivalue_line("markers", "synthetic_data: the claim trains on synthetic data only (no dataset check)")
    # an xdist worker knows it from its config (an environment variable would also be inherited by a
    # pytest that a test starts in a subprocess, which is a session of its own)
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:  # before anything touches CUDA: one GPU per worker, a share of the cores
        count = int(config.workerinput.get("workercount", 1))
        assign_worker_gpu(int(worker.removeprefix("gw")), worker_count=count)
        split_cpu_threads(count)
    else:
        os.environ.setdefault(SESSION_ENV, uuid.uuid4().hex[:12])
    config.stash[STATE] = {"reference": None}
    config.pluginmanager.register(DatasetGate(), "cifar-claims-dataset-gate")
    if not worker and not _planning(config):  # a --plan or --rehearse session (harness/plan_plugin.py) records runs only
        config.pluginmanager.register(Controller(config), "cifar-claims-controller")
    if not config.getoption("help"):  # bad option values: one usage error now, not one per test (after pinning)
        config.stash[SETTINGS] = validate_options({name: config.getoption(name) for name in OPTIONS})
        if not worker and not _planning(config) and _queue_wanted(config):
            config.pluginmanager.register(QueuePlanner(config), "cifar-claims-run-queue")
        if worker:
            _register_queue_drainer(config)


def _reference(config: pytest.Config):
    state = config.stash[STATE]
    if state["reference"] is None:
        try:
            state["reference"] = load_all()
        except ReferenceError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state["reference"]


# -- collection: tiers, the test <-> reference check, the data a session needs ------------

def _claim_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("claim")
    if marker is None:
        return None
    params = {k: v for k, v in getattr(getattr(item, "callspec", None), "params", {}).items() if k != "claim_tier"}
    return marker.args[0].format(**params)


def _tier(item: pytest.Item) -> str | None:
    return getattr(getattr(item, "callspec", None), "params", {}).get("claim_tier")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "claim_tier" in metafunc.fixturenames:
        metafunc.parametrize("claim_tier", [pytest.param(t, marks=getattr(pytest.mark, t), id=t) for t in TIERS],
                             indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    claim_items = [i for i in items if "claim_tier" in getattr(i, "fixturenames", ())]
    if not claim_items:
        return
    entries = all_claims(_reference(config))
    problems, seen = [], set()
    for item in claim_items:
        cid = _claim_id(item)
        if cid is None:
            problems.append(f"{item.nodeid}: uses the claim fixture but has no @pytest.mark.claim(id)")
        elif cid not in entries:
            problems.append(f"{item.nodeid}: claim {cid!r} has no entry in reference/")
        else:
            seen.add(cid)
            # `-k params`, `-k 000/losses` etc. select by claim id and kind
            item.extra_keyword_matches.update({cid, entries[cid].kind, entries[cid].report})
            unread = unread_tolerance(entries[cid], _tier(item), checks_of_test(item.path, item.originalname))
            if unread and unread not in problems:
                problems.append(unread)
    if _whole_claims_dir_collected(config, claim_items):  # a partial run cannot tell which entries lack tests
        for cid, entry in entries.items():
            if cid not in seen:
                problems.append(f"reference/{entry.source_file}: claim {cid!r} has no test in claims/")
    if problems:
        raise pytest.UsageError("claims and reference/ disagree:\n  " + "\n  ".join(problems))


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
        _gate_on_datasets(session, config, items)


def _gate_on_datasets(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[SETTINGS].run_mode == "cached-only" or _planning(config):
        return
    entries = None
    for item in items:
        if "claim_tier" not in getattr(item, "fixturenames", ()) or item.get_closest_marker("synthetic_data"):
            continue
        entries = entries or all_claims(_reference(config))
        entry = entries.get(_claim_id(item) or "")
        plan = entry.plan(_tier(item)) if entry else None
        if entry is None or plan is None or plan.skip or entry.kind in DATA_FREE_KINDS \
                or entry.expect in ("under-specified", "qualitative"):
            continue
        if _tier(item) == "full" and not _can_train_full(config):
            continue
        for name in REQUIRED_FILES:
            try:
                ensure_files(name, config.getoption("data_root"), config.stash[SETTINGS].download)
            except DatasetMissingError as exc:
                claims = [i for i in items if "claim_tier" in getattr(i, "fixturenames", ())]
                config.hook.pytest_deselected(items=claims)
                items[:] = [i for i in items if i not in claims]
                items.append(DatasetCheck.from_parent(session, name="dataset-check", problem=str(exc)))
                return
        return


def _whole_claims_dir_collected(config: pytest.Config, claim_items: list[pytest.Item]) -> bool:
    if any("::" in str(a) for a in config.args):
        return False
    claims_dir = Path(str(config.rootpath)) / "claims"
    modules = {Path(str(i.path)).resolve() for i in claim_items}
    expected = {p.resolve() for p in claims_dir.glob("test_*.py")}
    return bool(expected) and expected <= modules


def _can_train_full(config: pytest.Config) -> bool:
    device = config.stash[SETTINGS].device
    return device == "cpu" or resolve_device(device).type == "cuda"


# -- fixtures ------------------------------------------------------------------

@pytest.fixture
def claim_tier(request: pytest.FixtureRequest) -> str:
    return request.param


def _make_store(pytestconfig: pytest.Config) -> RunStore:
    settings = pytestconfig.stash[SETTINGS]
    train_kwargs = {
        "device": settings.device,  # each run trains on its Spec's device kind (fast: CPU, full: CUDA by default)
        "data_root": pytestconfig.getoption("data_root"),
        "download": settings.download,
        "checkpoint_every": settings.checkpoint_every,
        "checkpoint_minutes": settings.checkpoint_minutes,
        "compile": settings.compile,  # None: train() reads $REPRO_COMPILE
    }
    return RunStore(pytestconfig.getoption("runs"), settings.run_mode, train_kwargs=train_kwargs,
                    keep_checkpoints=pytestconfig.getoption("keep_checkpoints"))


@pytest.fixture(scope="session")
def claim_context(pytestconfig: pytest.Config) -> ClaimContext:
    settings = pytestconfig.stash[SETTINGS]
    device = resolve_device(settings.device)  # a pinned worker without CUDA stops here (WorkerDeviceError)
    store = _make_store(pytestconfig)
    return ClaimContext(store=store, base_seed=settings.base_seed, can_train_full=device.type == "cuda"
                        or settings.device == "cpu", device=settings.device)


@pytest.fixture
def claim(request: pytest.FixtureRequest, claim_tier: str, claim_context: ClaimContext) -> Claim:
    """The claim under test: its reference entry, tier, runs and checks."""
    reference = _reference(request.config)
    entry = all_claims(reference)[_claim_id(request.node)]
    current = Claim(entry=entry, tier=claim_tier, context=claim_context, report_title=reference[entry.report].title)
    request.node.stash[CLAIM] = current
    plan = entry.plan(claim_tier)
    if plan is None:
        current.skip(f"no {claim_tier}-tier plan in reference/{entry.source_file}")
    if plan.skip:
        current.skip(plan.skip)
    finding = current.finding
    if finding.expect in ("under-specified", "qualitative"):
        current.skip(f"{finding.expect}: {finding.why}")
    if finding.expect == "not-reproduced":  # only the check's own failure counts as the expected outcome
        request.node.add_marker(pytest.mark.xfail(reason=f"expected not to reproduce: {finding.why}", strict=True,
                                                  raises=ClaimCheckFailed))
    return current


# -- closing a finding from the test's outcome (in the process that ran the test) -----------

def _outcome(call: pytest.CallInfo) -> tuple[str, str | None]:
    if call.excinfo is None:
        return "reproduced", None
    exc = call.excinfo.value
    if isinstance(exc, ClaimInconclusive):
        return "inconclusive", str(exc.msg)
    if isinstance(exc, Skipped):
        return "skipped", str(exc.msg)
    if isinstance(exc, ClaimCheckFailed):
        return "not-reproduced", str(exc)[-2000:]
    return "error", f"{type(exc).__name__}: {exc}"[-2000:]


# A claim test that returns having checked nothing would read as "reproduced": it is an error instead, so a
# test body that is only a docstring (a qualitative or under-specified entry) cannot pass if its entry changes.
NO_CHECK = ("the test returned without making a check; a claim test ends in one of the Claim's checks, and a "
            "qualitative or under-specified entry is skipped by the claim fixture before its body runs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    claim = None if _planning(item.config) else item.stash.get(CLAIM, None)
    unchecked = False
    if claim is not None and claim.finding.verdict is None and (call.when == "call" or call.excinfo is not None):
        outcome, message = _outcome(call)
        if outcome == "reproduced" and not (claim.finding.rows or claim.finding.comparisons):
            outcome, message, unchecked = "error", NO_CHECK, True
        finding = claim.finding.close(outcome, message=message, duration=call.duration)
        finding.nodeid, finding.command = item.nodeid, f"pytest '{item.nodeid}'"
        finding.session = os.environ.get(SESSION_ENV, "")
        item.user_properties.append((FINDING_KEY, json.dumps(finding.to_dict(), default=str)))
    elif claim is not None and call.when == "setup" and call.excinfo is None:
        # an open finding travels with the setup report, so a worker that dies mid-test still leaves its claim
        item.user_properties.append(("pending_" + FINDING_KEY, json.dumps(claim.finding.to_dict(), default=str)))
    result = yield
    if unchecked:
        report = result.get_result()
        report.outcome, report.longrepr = "failed", NO_CHECK


# -- findings: collected on the controller, written at the end -------------------

class Controller:
    """The session's findings, kept in the controlling process (the xdist controller, or the only one)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.findings: dict[tuple[str, str], Finding] = {}
        self.pending: dict[str, str] = {}  # nodeid -> open finding (JSON) of a test that has started
        self.started = time.time()
        self.interrupted = False
        self.findings_path: Path | None = None
        self.outputs: dict[str, Path] | None = None
        self.report_error: str | None = None
        self.left_out: list[str] = []  # session files of the report directory that findings.json could not merge
        self.reports: dict[str, dict[str, str]] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # read before any test, not at the end: the header describes the reference the claims ran with
        self.reports = {k: {"title": r.title, "summary": r.summary, "source": r.source}
                        for k, r in _reference(self.config).items()}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if FINDING_KEY in props:
            finding = Finding.from_dict(json.loads(props[FINDING_KEY]))
            self.findings[(finding.claim_id, finding.tier)] = finding
            self.pending.pop(report.nodeid, None)
        elif "pending_" + FINDING_KEY in props:
            self.pending[report.nodeid] = props["pending_" + FINDING_KEY]
        elif report.failed and report.nodeid in self.pending:  # the worker crashed while running it
            self._close_pending(report.nodeid, f"the test process crashed: {str(report.longrepr)[-1500:]}")

    def _close_pending(self, nodeid: str, message: str) -> None:
        finding = Finding.from_dict(json.loads(self.pending.pop(nodeid)))
        finding.close("error", message=message)
        finding.nodeid, finding.command = nodeid, f"pytest '{nodeid}'"
        finding.session = os.environ.get(SESSION_ENV, "")
        self.findings.setdefault((finding.claim_id, finding.tier), finding)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        interrupted = self.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        for nodeid in list(self.pending):  # started, never reported: the session was cut short
            self._close_pending(nodeid, "the session was interrupted (Ctrl-C) before this test finished"
                                if interrupted else "the session ended before this test finished (crashed)")
        if not self.findings:
            return
        config = self.config
        out_dir = Path(_option(config, "report_dir", REPORT_DIR_ENV, "report"))
        info = session_info(
            id=os.environ.get(SESSION_ENV, ""), started=self.started, duration=time.time() - self.started,
            args=list(config.invocation_params.args), markexpr=config.getoption("markexpr"),
            run_mode=config.stash[SETTINGS].run_mode,
            workers=os.environ.get("PYTEST_XDIST_WORKER_COUNT") or getattr(config.option, "numprocesses", None),
            interrupted=interrupted, reports=self.reports,
        )
        try:  # this session's own file, then findings.json as the merge of every session in the report directory
            write_findings(session_file(out_dir, info), [f.to_dict() for f in self.findings.values()], info)
            self.findings_path, self.left_out = merge_sessions(out_dir)
        except OSError as exc:  # a full disk, say: one clear line and a failed session, not an internal error
            self.report_error = f"findings NOT written: {exc}"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        if config.getoption("no_report"):
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
        counts = collections.Counter((f.tier, f.verdict) for f in self.findings.values())
        terminalreporter.section("reproducibility verdicts")
        for tier in TIERS:
            row = {v: n for (t, v), n in sorted(counts.items()) if t == tier}
            if row:
                terminalreporter.write_line(f"{tier}: " + ", ".join(f"{n} {v}" for v, n in row.items()))
        if self.findings_path:
            terminalreporter.write_line(f"findings: {self.findings_path} (this session and the earlier ones kept in "
                                        f"{self.findings_path.parent / 'sessions'})")
        for why in self.left_out:
            terminalreporter.write_line(f"left out of the merged findings: {why}", yellow=True)
        if self.outputs:
            terminalreporter.write_line(f"reproducibility report: {self.outputs['html']} and {self.outputs['pdf']}")
        if self.report_error:
            terminalreporter.write_line(self.report_error, red=True)


# -- the run queue (harness/run_queue.py): under -n N, runs first, longest first ---------------------

def _queue_wanted(config: pytest.Config) -> bool:
    workers = getattr(config.option, "numprocesses", None)
    wanted = config.getoption("run_queue") or os.environ.get(run_queue.QUEUE_ENV, "").lower() == "on"
    return (wanted and isinstance(workers, int) and workers >= 2 and not config.option.collectonly
            and config.stash[SETTINGS].run_mode == "train")


PROGRESS_EVERY_S = 60.0  # how often the controller prints the queue's progress line


class QueuePlanner:
    """Controller side: plan the selection's runs while the workers start, publish the queue, report progress."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.queue: run_queue.QueueDir | None = None
        self._stop = threading.Event()
        self._planner: threading.Thread | None = None
        self._process: subprocess.Popen | None = None

    @pytest.hookimpl(tryfirst=True)  # before xdist starts the workers (its sessionstart is trylast)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        params = self.config.invocation_params
        plan_dir = Path(tempfile.mkdtemp(prefix="cifar-claims-plan-"))
        try:
            self._process = run_queue.start_plan(list(params.args), params.dir, plan_dir)
        except OSError as exc:
            shutil.rmtree(plan_dir, ignore_errors=True)
            self._write(f"run queue: off ({exc}); each test trains its own runs")
            return
        self.queue = run_queue.QueueDir.create()
        self._planner = threading.Thread(target=self._plan_then_report, args=(plan_dir,), daemon=True,
                                         name="run-queue-planner")
        self._planner.start()

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(line)

    def _plan_then_report(self, plan_dir: Path) -> None:
        """Wait for the plan, publish it to the workers, then print the queue's progress until it is empty."""
        started = time.perf_counter()
        try:
            runs = run_queue.read_plan(self._process, plan_dir)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            if not self._stop.is_set():
                self._write(f"run queue: off ({exc}); each test trains its own runs")
            return
        finally:
            shutil.rmtree(plan_dir, ignore_errors=True)
        self.queue.publish(runs)
        hours = sum(r["est_seconds"] for r in runs) / 3600
        self._write(f"run queue: {len(runs)} runs to train, longest first (planned in "
                    f"{time.perf_counter() - started:.0f} s while the first tests ran; "
                    f"about {hours:.2f} device-hours by the plan's estimate)")
        if runs:
            self._report_progress(started)

    def _report_progress(self, started: float) -> None:
        """Every PROGRESS_EVERY_S: runs trained so far and the time left, until the queue is empty."""
        last = None
        workers = int(self.config.option.numprocesses)
        while not self._stop.wait(PROGRESS_EVERY_S):
            progress = self.queue.progress()
            if progress.done != last:
                self._write(run_queue.progress_line(progress, workers, time.perf_counter() - started))
                last = progress.done
            if progress.done >= progress.total:
                return

    def pytest_configure_node(self, node) -> None:
        if self.queue is not None:
            node.workerinput[run_queue.WORKERINPUT_KEY] = str(self.queue.path)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._stop.set()
        if self._process is not None and self._process.poll() is None and exitstatus == pytest.ExitCode.INTERRUPTED:
            self._process.kill()  # Ctrl-C: nothing will read the plan
        if self._planner is not None:
            self._planner.join(timeout=run_queue.PLAN_TIMEOUT_S)
        if self.queue is not None:
            self.queue.remove()


class QueueDrainer:
    """Worker side: once the controller has published the queue, train its runs before the next test."""

    def __init__(self, config: pytest.Config, path: str) -> None:
        self.config = config
        self.queue = run_queue.QueueDir(path)
        self.drained = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        if self.drained or not self.queue.ready():
            return  # not planned yet: this test trains what it needs, the queue later finds it in the store
        self.drained = True
        try:
            here = resolve_device().type
        except RuntimeError:  # a worker pinned to a GPU it cannot see: its tests record that error themselves
            here = "cpu"
        store = _make_store(self.config)
        run_queue.drain(self.queue, store.get, can_train=lambda spec: spec.device in ("cpu", here))


def _register_queue_drainer(config: pytest.Config) -> None:
    path = getattr(config, "workerinput", {}).get(run_queue.WORKERINPUT_KEY)
    if path and not config.option.collectonly and Path(path).is_dir():
        config.pluginmanager.register(QueueDrainer(config, path), "cifar-claims-queue-drainer")
