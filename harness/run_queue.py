"""Runs, not tests, as the unit of work under `-n N --run-queue`: train the selection's missing runs first, longest first.

Without a queue each worker trains the runs of its own tests one after another, and waits on
another worker's lock whenever two tests share a run; the wall time then depends on the order
tests happen to be handed out, and one long run at the end leaves the other workers idle.
With it, the controller plans the selection once (`--plan` in a subprocess: the same claim
bodies against a RecordingStore, nothing trained), and every worker, before its first test,
takes the longest run no worker has taken yet (an O_EXCL marker file per run key) and trains it
into the run store, until none is left. The tests then read their runs from the store.

The queue only orders training; it decides nothing. A run that fails in the queue is left to
the claims that need it: their tests meet the same error and record it as an error finding.
A run the plan did not foresee (a claim whose later requests depend on measured values) is
trained by its test as before.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from .spec import Spec

QUEUE_ENV = "REPRO_RUN_QUEUE"  # "on" enables the queue (as --run-queue does)
WORKERINPUT_KEY = "cifar_claims_run_queue"
PLAN_TIMEOUT_S = 900


class RunQueueWarning(UserWarning):
    """The queue could not be planned or a queued run failed; the tests train (or fail) as without it."""


def plan_queue(args: list[str], cwd: str | os.PathLike, out_dir: Path) -> tuple[list[dict[str, Any]], float]:
    """The uncached runs of a selection, longest first, from a `--plan` session over the same arguments.

    Returns (runs, seconds the planning took). Each run is {"key", "spec", "est_seconds"}.
    """
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", *args, "--plan", "--plan-dir", str(out_dir),
               "-n", "0", "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, QUEUE_ENV: "off"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=PLAN_TIMEOUT_S)
    plan_path = out_dir / "plan.json"
    if done.returncode not in (0, 5) or not plan_path.exists():  # 5: nothing selected
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"planning the selection wrote no plan (exit {done.returncode}): " + " | ".join(tail))
    runs = [r for r in json.loads(plan_path.read_text())["runs"] if not r["cached"]]
    runs.sort(key=lambda r: (-float(r["est_seconds"]), r["key"]))
    return [{"key": r["key"], "spec": r["spec"], "est_seconds": r["est_seconds"]} for r in runs], \
        time.perf_counter() - started


class QueueDir:
    """Where one session's queue lives: the run list and one marker per run taken."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs: list[dict[str, Any]]) -> "QueueDir":
        queue = cls(tempfile.mkdtemp(prefix="cifar-claims-queue-"))
        (queue.path / "runs.json").write_text(json.dumps(runs))
        return queue

    def runs(self) -> list[dict[str, Any]]:
        return json.loads((self.path / "runs.json").read_text())

    def take(self, key: str) -> bool:
        """True for exactly one caller per key across processes (O_EXCL on a shared local folder)."""
        try:
            os.close(os.open(self.path / f"{key}.taken", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def drain(queue: QueueDir, train: Callable[[Spec], Any], can_train: Callable[[Spec], bool],
          log: Callable[[str], None] = lambda line: None) -> dict[str, int]:
    """Take and train runs from the queue until none is left untaken; returns counts by outcome."""
    counts = {"trained": 0, "taken_elsewhere": 0, "failed": 0, "not_here": 0}
    for run in queue.runs():
        spec = Spec.from_dict(run["spec"])
        if spec.key != run["key"] or not can_train(spec):
            counts["not_here"] += 1
            continue
        if not queue.take(run["key"]):
            counts["taken_elsewhere"] += 1
            continue
        started = time.perf_counter()
        try:
            train(spec)
        except Exception as exc:  # the claims that need it meet the error again and record it
            counts["failed"] += 1
            warnings.warn(RunQueueWarning(f"queued run {spec.key} ({spec.model}, seed {spec.seed}) failed; "
                                          f"its claims will report the error: {type(exc).__name__}: {exc}"))
            continue
        counts["trained"] += 1
        log(f"run queue: {spec.key} ({spec.model}, seed {spec.seed}) in {time.perf_counter() - started:.0f} s")
    return counts
