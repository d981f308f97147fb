"""The run queue under -n N (harness/plan/run_queue.py): runs first, longest first.

The controller plans the selection in a `--plan` subprocess while the workers start and run their
first tests, then publishes the uncached runs; before its next test each worker trains the next run
nobody took, so no worker waits on another's lock while runs remain.
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
from ..train.device import resolve_device
from .config import make_store, settings_of


def queue_wanted(config: pytest.Config) -> bool:
    """--run-queue (or $REPRO_RUN_QUEUE) with two or more workers, training."""
    workers = getattr(config.option, "numprocesses", None)
    chosen = settings_of(config)
    return (chosen.run_queue and isinstance(workers, int) and workers >= 2 and not config.option.collectonly
            and chosen.run_mode == "train")


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
        store = make_store(self.config)
        run_queue.drain(self.queue, store.get, can_train=lambda spec: spec.device in ("cpu", here))


def register_drainer(config: pytest.Config) -> None:
    path = getattr(config, "workerinput", {}).get(run_queue.WORKERINPUT_KEY)
    if path and not config.option.collectonly and Path(path).is_dir():
        config.pluginmanager.register(QueueDrainer(config, path), "cifar-claims-queue-drainer")
