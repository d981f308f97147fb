"""The run queue under -n N (harness/plan/run_queue.py): runs first, longest first.

The controller plans the selection in a `--plan` subprocess while the workers start and run their
first tests, then publishes the uncached runs; before its next test each worker trains the next run
nobody took, and a test that waits on a run another worker trains trains queued runs meanwhile
(RunStore.get's `while_waiting`), so no worker sits idle while runs remain. Under --budget the plan
is made before the tests (harness/pytest_plugin/budget.py) and the queue holds the chosen runs.

The queue is on under -n N >= 2 with --run-queue, with --budget, and whenever the mark expression
selects the full tier: full-tier claims share runs (one SLBI run serves accuracy, sparsity and
pruning claims), and their runs take minutes to hours, so a worker left waiting on a lock is costly.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import subprocess
from pathlib import Path

import pytest

from ..plan import run_queue
from ..runs.spec import Spec
from ..train.device import resolve_device
from . import budget
from .config import make_store, settings_of


def selects_full_tier(markexpr: str | None) -> bool:
    """The mark expression (-m) selects full-tier claim tests, and only because they are full-tier."""
    if not markexpr or not markexpr.strip():
        return False
    from _pytest.mark.expression import Expression

    try:
        expression = Expression.compile(markexpr)
        return expression.evaluate(lambda name, **_: name == "full") and not expression.evaluate(lambda name, **_: False)
    except Exception:  # an expression pytest itself will reject
        return False


def queue_wanted(config: pytest.Config) -> bool:
    """Two or more workers, training, and --run-queue (or $REPRO_RUN_QUEUE), --budget or the full tier."""
    workers = getattr(config.option, "numprocesses", None)
    chosen = settings_of(config)
    if not (isinstance(workers, int) and workers >= 2 and not config.option.collectonly
            and chosen.run_mode == "train"):
        return False
    if chosen.run_queue is not None:  # --run-queue, or $REPRO_RUN_QUEUE yes or no: as asked
        return chosen.run_queue
    return chosen.budget is not None or selects_full_tier(config.getoption("markexpr"))


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
        chosen_runs = budget.queue_runs(self.config)
        if chosen_runs is not None:  # --budget planned the selection already: publish its runs at once
            self.queue = run_queue.QueueDir.create(chosen_runs)
            hours = sum(r["est_seconds"] for r in chosen_runs) / 3600
            self._write(f"run queue: {len(chosen_runs)} runs to train within the budget, longest first "
                        f"(about {hours:.2f} device-hours by the plan's estimate)")
            if chosen_runs:
                self._planner = threading.Thread(target=self._report_progress, args=(time.perf_counter(),),
                                                 daemon=True, name="run-queue-progress")
                self._planner.start()
            return
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
    """Worker side: once the controller has published the queue, train its runs before the next test, and
    while a test waits on another worker's run."""

    def __init__(self, config: pytest.Config, path: str) -> None:
        self.config = config
        self.queue = run_queue.QueueDir(path)
        self.drained = False
        self._store = None
        self._here: str | None = None

    def _can_train(self, spec: Spec) -> bool:
        if self._here is None:
            try:
                self._here = resolve_device().type
            except RuntimeError:  # a worker pinned to a GPU it cannot see: its tests record that error themselves
                self._here = "cpu"
        return spec.device in ("cpu", self._here)

    def _train(self, spec: Spec) -> None:
        if self._store is None:
            self._store = make_store(self.config)  # waits on a lock without training more (no nesting)
        self._store.get(spec)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        if self.drained or not self.queue.ready():
            return  # not planned yet: this test trains what it needs, the queue later finds it in the store
        self.drained = True
        run_queue.drain(self.queue, self._train, can_train=self._can_train)

    def while_waiting(self, awaited: Spec) -> None:
        """A test waits on a run another worker trains: train one untaken queued run meanwhile."""
        if not self.drained:
            self.drained = run_queue.train_one(self.queue, self._train, self._can_train, besides=awaited.key) is None \
                and self.queue.ready()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
        value = yield
        if fixturedef.argname == "claim_context":
            value.store.while_waiting = self.while_waiting
        return value


def register_drainer(config: pytest.Config) -> None:
    path = getattr(config, "workerinput", {}).get(run_queue.WORKERINPUT_KEY)
    if path and not config.option.collectonly and Path(path).is_dir():
        config.pluginmanager.register(QueueDrainer(config, path), "cifar-claims-queue-drainer")
