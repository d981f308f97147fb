"""Runs, not tests, as the unit of work under `-n N --run-queue`: train the selection's missing runs longest first.

Without a queue each worker trains the runs of its own tests one after another, and waits on
another worker's lock whenever two tests share a run; the wall time then depends on the order
tests happen to be handed out, and one long run at the end leaves the other workers idle.
With it, the controller plans the selection once (`--plan` in a subprocess: the same claim
bodies against a RecordingStore, nothing trained) while the workers start and run their first
tests; as soon as the plan is published, every worker, before its next test, takes the longest
run no worker has taken yet (an O_EXCL marker file per run key) and trains it into the run
store, until none is left. The tests then read their runs from the store. Planning alongside
the first tests rather than before them keeps its cost (seconds of one core) from idling every
worker.

The queue only orders training; it decides nothing. A run that fails in the queue is left to
the claims that need it: their tests meet the same error and record it as an error finding.
A run the plan did not foresee (a claim whose later requests depend on measured values) is
trained by its test as before, and so is a run a test asked for before the plan was ready (the
queue then finds it in the store). Each finished run leaves a `.done` marker with its seconds,
from which the controller prints the queue's progress and the time left (`progress_line`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable

from .. import settings
from ..files import atomic_write_text
from .markers import TakenKeys
from ..runs.spec import Spec

WORKERINPUT_KEY = "cifar_claims_run_queue"
PLAN_TIMEOUT_S = 900


class RunQueueWarning(UserWarning):
    """The queue could not be planned or a queued run failed; the tests train (or fail) as without it."""


def start_plan(args: list[str], cwd: str | os.PathLike, out_dir: Path,
               plan_device: str | None = None) -> subprocess.Popen:
    """Start a `--plan` session over the same arguments; `read_plan` collects its result.

    `plan_device` ("cpu" for a session that trains on the CPU) stands in for $REPRO_PLAN_DEVICE, so
    that the estimate is for the device the runs train on; a --plan-device among `args` still wins."""
    command = [sys.executable, "-m", "pytest", *reference_looks_only(args), "--plan", "--plan-dir", str(out_dir),
               "-n", "0", "-q", "-p", "no:cacheprovider"]
    env = settings.set_for_child_processes("run_queue", "off", dict(os.environ))
    settings.set_for_child_processes("seeds_until_decided", "0", env)
    if plan_device:
        settings.set_for_child_processes("plan_device", plan_device, env)
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def reference_looks_only(args: list[str]) -> list[str]:
    """The session's arguments less `--seeds-until-decided`: the queue trains the runs of each claim's first look
    (its reference seeds); a later look is only needed when the first does not decide, and its claim's test trains
    it then. Queuing every look would train the worst case up front."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--seeds-until-decided":
            skip = True
        elif not arg.startswith("--seeds-until-decided="):
            out.append(arg)
    return out


def read_plan(process: subprocess.Popen, out_dir: Path) -> list[dict[str, Any]]:
    """The uncached runs of a finished `start_plan` session, longest first: each {"key", "spec", "est_seconds"}."""
    return queued(read_plan_rows(process, out_dir))


def queued(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uncached runs among plan rows, longest first, as the queue holds them."""
    runs = sorted((r for r in rows if not r["cached"]), key=lambda r: (-float(r["est_seconds"]), r["key"]))
    return [{"key": r["key"], "spec": r["spec"], "est_seconds": r["est_seconds"]} for r in runs]


def read_plan_rows(process: subprocess.Popen, out_dir: Path) -> list[dict[str, Any]]:
    """Every run of a finished `start_plan` session, as plan.json lists them (claims, cached, est_seconds, spec)."""
    try:
        output, _ = process.communicate(timeout=PLAN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise RuntimeError(f"planning the selection took over {PLAN_TIMEOUT_S} s") from None
    plan_path = out_dir / "plan.json"
    if process.returncode not in (0, 5) or not plan_path.exists():  # 5: nothing selected
        tail = (output or "").strip().splitlines()[-5:]
        raise RuntimeError(f"planning the selection wrote no plan (exit {process.returncode}): " + " | ".join(tail))
    return json.loads(plan_path.read_text())["runs"]


class QueueDir(TakenKeys):
    """Where one session's queue lives: the run list once the plan is published, and one marker per run taken."""

    @classmethod
    def create(cls, runs: list[dict[str, Any]] | None = None) -> "QueueDir":
        """A queue folder; with `runs` it is published at once, otherwise it waits for `publish`."""
        queue = super().create(prefix="cifar-claims-queue-")
        if runs is not None:
            queue.publish(runs)
        return queue

    def publish(self, runs: list[dict[str, Any]]) -> None:
        """Hand the planned runs to the workers (whole or not at all: they poll for the file)."""
        atomic_write_text(self.path / "runs.json", json.dumps(runs))

    def ready(self) -> bool:
        return (self.path / "runs.json").exists()

    def runs(self) -> list[dict[str, Any]]:
        return json.loads((self.path / "runs.json").read_text())

    def finish(self, key: str, seconds: float, ok: bool) -> None:
        """Mark a taken run as trained (or failed) after `seconds`, for the progress line."""
        atomic_write_text(self.path / f"{key}.done", json.dumps({"seconds": seconds, "ok": ok}))

    def progress(self) -> "QueueProgress":
        """How far the workers are: runs finished and failed, and estimated vs. measured seconds."""
        done = failed = 0
        measured = est_done = est_left = 0.0
        runs = self.runs()
        for run in runs:
            marker = self.path / f"{run['key']}.done"
            try:
                record = json.loads(marker.read_text())
            except (OSError, ValueError):
                est_left += float(run["est_seconds"])
                continue
            done += 1
            failed += not record.get("ok", False)
            measured += float(record.get("seconds", 0.0))
            est_done += float(run["est_seconds"])
        return QueueProgress(done, failed, len(runs), measured, est_done, est_left)


@dataclass(frozen=True)
class QueueProgress:
    """A snapshot of the queue: the plan's estimate of the runs left, scaled by the pace measured so far."""

    done: int
    failed: int
    total: int
    measured_seconds: float  # training time of the finished runs
    estimated_done: float  # the plan's estimate for those same runs
    estimated_left: float  # the plan's estimate for the runs not finished yet

    def seconds_left(self, workers: int) -> float | None:
        """Wall seconds until the queue is empty, or None before any run has finished."""
        if not self.done or self.estimated_done <= 0:
            return None
        return self.estimated_left * (self.measured_seconds / self.estimated_done) / max(1, workers)


def progress_line(progress: QueueProgress, workers: int, elapsed: float) -> str:
    """One terminal line: "run queue: 37/104 runs trained (1 failed), 9 min so far, about 8 min left"."""
    failed = f" ({progress.failed} failed)" if progress.failed else ""
    head = f"run queue: {progress.done}/{progress.total} runs trained{failed}, {_minutes(elapsed)} so far"
    if progress.done >= progress.total:
        return f"run queue: all {progress.total} runs trained{failed} in {_minutes(elapsed)}"
    left = progress.seconds_left(workers)
    return head + ("" if left is None else f", about {_minutes(left)} left")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _train_taken(queue: QueueDir, spec: Spec, train: Callable[[Spec], Any]) -> bool:
    """Train a run this worker took; a failure is a warning (its claims meet the error again and record it)."""
    started = time.perf_counter()
    try:
        train(spec)
    except Exception as exc:
        queue.finish(spec.key, time.perf_counter() - started, ok=False)
        warnings.warn(RunQueueWarning(f"queued run {spec.key} ({spec.model}, seed {spec.seed}) failed; "
                                      f"its claims will report the error: {type(exc).__name__}: {exc}"))
        return False
    queue.finish(spec.key, time.perf_counter() - started, ok=True)
    return True


def drain(queue: QueueDir, train: Callable[[Spec], Any], can_train: Callable[[Spec], bool]) -> dict[str, int]:
    """Take and train runs from the queue until none is left untaken; returns counts by outcome."""
    counts = {"trained": 0, "taken_elsewhere": 0, "failed": 0, "not_here": 0}
    for run in queue.runs():
        spec = Spec.from_dict(run["spec"])
        if spec.key != run["key"] or not can_train(spec):
            counts["not_here"] += 1
        elif not queue.take(run["key"]):
            counts["taken_elsewhere"] += 1
        else:
            counts["trained" if _train_taken(queue, spec, train) else "failed"] += 1
    return counts


def train_one(queue: QueueDir, train: Callable[[Spec], Any], can_train: Callable[[Spec], bool],
              besides: str | None = None) -> str | None:
    """Take and train the next untaken run other than `besides` (the run a test waits for); its key, or None
    when the queue is not published yet or holds nothing more for this worker."""
    if not queue.ready():
        return None
    for run in queue.runs():
        spec = Spec.from_dict(run["spec"])
        if run["key"] == besides or spec.key != run["key"] or not can_train(spec) or not queue.take(run["key"]):
            continue
        _train_taken(queue, spec, train)
        return run["key"]
    return None
