"""Send a plan's missing runs to Slurm as one job array, and wait for them with progress.

`run-slurm submit plan/plan.json --runs /shared/runs ...` reads the plan
(harness/plan/cost.py), keeps the runs the store does not hold yet, and submits one
submitit job array: each task trains one run into the store on the shared
filesystem (`RunStore.get`, so a run is trained once even if two tasks meet). A
task is Checkpointable: on USR2 (Slurm's warning before a time limit, or a
preemption) submitit requeues it, and the requeued task resumes from the run's
last epoch checkpoint (<store>/<key>/checkpoint.pt). `run-slurm wait FOLDER`
follows a submitted array again. When the array is done,
`pytest claims/ -m full --run-mode cached-only --runs=...` builds the report.

submitit's folder holds pickles that run as the submitter on the nodes, so it is kept
out of the shared store and private (mode 0700, refused if others may write it): by
default ~/.cache/cifar-claims/slurm/<hash of the store's path>, or --folder (on a
filesystem the nodes see). Waiting never unpickles: a run is done when the store holds
its validated result, and a task that failed says why in a JSON file
(<folder>/outcomes/<key>.json).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .cost import load_plan
from ..files import atomic_write_text
from ..runs.result import RunResult
from ..runs.store import RunStore
from ..runs.spec import Spec

JOBS_FILE = "jobs.json"
OUTCOMES = "outcomes"  # <folder>/outcomes/<key>.json: how each task ended, as JSON
MAX_OUTCOME_BYTES = 1 << 20


class SubmitError(RuntimeError):
    """sbatch refused the array; nothing was submitted."""


def private_folder(runs: str | Path) -> Path:
    """The default submitit folder of a store: outside it, per user, one per store path."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cifar-claims" / "slurm" / hashlib.sha256(str(Path(runs).resolve()).encode()).hexdigest()[:16]


def make_private(folder: Path) -> Path:
    """Create `folder` (mode 0700); PermissionError if it exists and someone else may write it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    status = folder.stat()
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        raise PermissionError(f"submitit's folder {folder} may be written by others (mode "
                              f"{oct(status.st_mode & 0o777)}): the pickles in it run as you on the nodes; "
                              f"chmod go-w it or choose your own with --folder")
    return folder


def task_summary(result: RunResult) -> dict[str, Any]:
    """What `wait` reports of a finished run."""
    return {"key": result.key, "status": result.status, "wall_time": result.wall_time,
            "hardware": result.environment.get("gpu") or result.environment.get("cpu"),
            "resumed_at_epoch": result.extra.get("resumed_at_epoch", [])}


def _error_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ImportError("Slurm submission needs submitit: pip install -e '.[slurm]'") from None
    return submitit


@dataclass(frozen=True)
class SlurmOptions:
    """What each array task asks Slurm for."""

    partition: str | None = None
    time_min: int = 240
    gpus_per_task: int = 1
    cpus_per_task: int = 8
    mem_gb: int | None = None
    array_parallelism: int = 16
    signal_delay_s: int = 120  # USR2 this long before the time limit: time to leave cleanly
    max_requeues: int = 20  # time-outs and preemptions a task may live through
    job_name: str = "repro-runs"

    def executor_parameters(self) -> dict[str, Any]:
        """submitit.SlurmExecutor.update_parameters arguments."""
        params: dict[str, Any] = {
            "time": self.time_min, "cpus_per_task": self.cpus_per_task, "ntasks_per_node": 1, "nodes": 1,
            "array_parallelism": self.array_parallelism, "signal_delay_s": self.signal_delay_s,
            "job_name": self.job_name,
        }
        if self.gpus_per_task:
            params["gpus_per_node"] = self.gpus_per_task
        if self.partition:
            params["partition"] = self.partition
        if self.mem_gb:
            params["mem"] = f"{self.mem_gb}GB"
        return params


class TrainRun:
    """One array task: train one run into the shared store and return a short summary.

    Checkpointable through submitit (see `checkpoint`): requeued after USR2, the
    next start finds the run's checkpoint and train() resumes from it.
    """

    def __init__(self, runs: str, train_kwargs: dict[str, Any] | None = None, outcomes: str | None = None) -> None:
        self.runs = runs
        self.train_kwargs = dict(train_kwargs or {})
        self.outcomes = outcomes

    def __call__(self, spec: dict[str, Any], key: str) -> dict[str, Any]:
        from ..train.loop import train  # on the node: the task trains

        try:
            parsed = Spec.from_dict(spec)
            if parsed.key != key:
                raise ValueError(f"the plan's spec hashes to {parsed.key} on this node, not to {key}: "
                                 f"different harness versions or REPRO_CPU_KERNELS; write the plan again here")
            summary = task_summary(RunStore(self.runs, "train", trainer=train,
                                            train_kwargs=self.train_kwargs).get(parsed))
        except Exception as exc:  # said in JSON for `wait`, then raised for Slurm and the log
            self._record(key, {"key": key, "status": "failed", "error": _error_line(exc)})
            raise
        self._record(key, summary)
        return summary

    def _record(self, key: str, outcome: dict[str, Any]) -> None:
        if self.outcomes:
            atomic_write_text(Path(self.outcomes) / f"{key}.json", json.dumps(outcome))

    def checkpoint(self, spec: dict[str, Any], key: str):
        """Called by submitit on USR2: the same call again; the run's own checkpoint carries the state."""
        return _submitit().helpers.DelayedSubmission(self, spec, key)


def pending_runs(plan: dict[str, Any], runs: str | Path) -> list[dict[str, Any]]:
    """The plan's runs the store does not hold now (the plan's `cached` may be stale)."""
    store = RunStore(runs, "cached-only")
    return [r for r in plan["runs"] if store.load(Spec.from_dict(r["spec"])) is None]


@dataclass
class Submission:
    """A submitted array: submitit's folder, the store, and per task its job id and run."""

    base: str  # submitit writes each task's pickles and logs under <base>/<job id>/
    runs: str
    tasks: list[dict[str, Any]] = field(default_factory=list)  # {job_id, key, spec, model, est_seconds}

    @property
    def folder(self) -> str:
        return f"{self.base}/%j"

    def save(self) -> Path:
        path = Path(self.base) / JOBS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, base: str | Path) -> "Submission":
        path = Path(base) / JOBS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no {JOBS_FILE} in {base}: name the folder run-slurm submit printed")
        return cls(**json.loads(path.read_text()))

    def outcome_path(self, key: str) -> Path:
        return Path(self.base) / OUTCOMES / f"{key}.json"

    def log_path(self, job_id: str) -> Path:
        """Where submitit sends the task's stderr."""
        return Path(self.base) / job_id / f"{job_id}_0_log.err"


def submit(plan_path: str | Path, runs: str | Path, options: SlurmOptions, folder: str | Path | None = None,
           train_kwargs: dict[str, Any] | None = None) -> tuple[Submission, list]:
    """Submit the plan's missing runs as one array; returns the Submission (saved) and its submitit jobs.

    SubmitError, with sbatch's message, when sbatch refuses the array; the files submitit wrote
    for it are removed.
    """
    plan = load_plan(plan_path)
    runs = str(Path(runs).resolve())
    todo = pending_runs(plan, runs)
    base = Path(folder).resolve() if folder else private_folder(runs)
    submission = Submission(base=str(base), runs=runs)
    if not todo:
        return submission, []
    submitit = _submitit()
    outcomes = make_private(base) / OUTCOMES
    outcomes.mkdir(exist_ok=True)
    for r in todo:  # a failure recorded by an earlier array is not this one's
        submission.outcome_path(r["key"]).unlink(missing_ok=True)
    executor = submitit.SlurmExecutor(folder=submission.folder, max_num_timeout=options.max_requeues)
    executor.update_parameters(**options.executor_parameters())
    kwargs = {"progress": False, **(train_kwargs or {})}
    before, said = set(base.iterdir()), io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # submitit prints sbatch's complaint: it goes into the one message
            jobs = executor.map_array(TrainRun(runs, kwargs, str(outcomes)), [r["spec"] for r in todo],
                                      [r["key"] for r in todo])
    except Exception as exc:
        for path in set(base.iterdir()) - before:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
        lines = [line.strip() for line in (str(exc) or said.getvalue()).splitlines() if line.strip()]
        raise SubmitError(f"sbatch refused the array: {'; '.join(lines)[:1000] or type(exc).__name__}; "
                          f"nothing was submitted") from None
    submission.tasks = [{"job_id": j.job_id, "key": r["key"], "spec": r["spec"], "model": r["model"],
                         "est_seconds": r["est_seconds"]} for j, r in zip(jobs, todo)]
    submission.save()
    return submission, jobs


@dataclass
class Outcome:
    """Where each task of an array ended."""

    done: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> TrainRun's summary
    failed: dict[str, str] = field(default_factory=dict)  # key -> error message


# Slurm job states in which a task may still write (or rewrite) its result: a requeued task is PENDING again.
ACTIVE_STATES = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
                 "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "PREEMPTED")


def _active(job_ids: Iterable[str]) -> set[str] | None:
    """Task ids Slurm lists in an active state, or None when squeue cannot be asked."""
    ids = sorted({j.split("_")[0] for j in job_ids})
    if not ids:
        return set()
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(ids), "-t", ",".join(ACTIVE_STATES),
                              "-o", "%i"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(out.stdout.split()) if out.returncode == 0 else None


def _failure(submission: Submission, task: dict[str, Any]) -> str | None:
    """The error a failed task wrote to its outcome file (plain JSON, never a pickle), with its log."""
    path = submission.outcome_path(task["key"])
    try:
        with path.open("rb") as handle:
            recorded = json.loads(handle.read(MAX_OUTCOME_BYTES))
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("status") != "failed":
        return None
    return f"{str(recorded.get('error'))[:2000]} (log: {submission.log_path(task['job_id'])})"


def wait(submission: Submission, *, poll_s: float = 5.0, progress: bool | None = None,
         lost_after_s: float = 60.0, timeout_s: float | None = None) -> Outcome:
    """Poll until every task is over; progress (done / to go, ETA) on the terminal.

    A task is over once Slurm no longer lists it as active and either the store holds its
    validated result (done) or its outcome file says it failed (a task requeued after a
    preemption may end otherwise on its next start). A task gone with neither for
    `lost_after_s` (killed before it could say) counts as failed, so waiting never blocks
    forever. Nothing submitit pickled is read.
    """
    from ..settings import progress_enabled

    store = RunStore(submission.runs, "cached-only")
    tasks = {t["job_id"]: t for t in submission.tasks}
    outcome, pending, missing_since = Outcome(), dict(tasks), {}
    bar = _bar(len(tasks), progress_enabled(progress))
    started = time.monotonic()
    while pending:
        active = _active(pending)
        for job_id, task in list(pending.items()):
            key = task["key"]
            if active is not None and job_id in active:  # running, or requeued after writing a result
                missing_since.pop(job_id, None)
                continue
            result = store.load(Spec.from_dict(task["spec"]))
            failure = None if result is not None else _failure(submission, task)
            if result is not None:
                outcome.done[key] = task_summary(result)
            elif failure is not None:
                outcome.failed[key] = failure
            elif active is None or time.monotonic() - missing_since.setdefault(job_id, time.monotonic()) \
                    < lost_after_s:
                continue
            else:
                outcome.failed[key] = (f"job {job_id} left the queue without a result; "
                                       f"see {submission.log_path(job_id)}")
            del pending[job_id]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=len(outcome.failed))
        if pending:
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{len(pending)} task(s) still running after {timeout_s:.0f} s: "
                                   f"{', '.join(sorted(pending))}")
            time.sleep(poll_s)
    if bar is not None:
        bar.close()
    return outcome


def _bar(total: int, enabled: bool):
    if not enabled or not total:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="runs", unit="run", file=sys.__stderr__)


def summary_lines(submission: Submission, outcome: Outcome) -> list[str]:
    lines = [f"slurm: {len(outcome.done)} run(s) trained, {len(outcome.failed)} failed, into {submission.runs}"]
    lines += [f"slurm: FAILED {key}: {why}" for key, why in sorted(outcome.failed.items())]
    lines.append(f"slurm: report: pytest claims/ -m full --run-mode cached-only --runs={submission.runs}")
    return lines


def _at_least(least: int):
    """An argparse type: an integer of at least `least`, so a bad count is a usage error before anything is sent."""
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if number < least:
            raise argparse.ArgumentTypeError(f"{number} must be at least {least}")
        return number
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-slurm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", help="submit the plan's missing runs as one job array")
    s.add_argument("plan", help="plan.json written by pytest ... --plan")
    s.add_argument("--runs", required=True, help="the run store on the shared filesystem")
    s.add_argument("--folder", help="submitit's logs and pickles, private to you and seen by the nodes "
                                    "(default ~/.cache/cifar-claims/slurm/<hash of the store's path>)")
    s.add_argument("--partition")
    s.add_argument("--time", type=_at_least(1), default=SlurmOptions.time_min, metavar="MIN", help="time limit per task")
    s.add_argument("--gpus-per-task", type=_at_least(0), default=SlurmOptions.gpus_per_task)
    s.add_argument("--cpus-per-task", type=_at_least(1), default=SlurmOptions.cpus_per_task)
    s.add_argument("--mem-gb", type=_at_least(1))
    s.add_argument("--array-parallelism", type=_at_least(1), default=SlurmOptions.array_parallelism, metavar="N",
                   help="tasks running at once")
    s.add_argument("--max-requeues", type=_at_least(0), default=SlurmOptions.max_requeues)
    s.add_argument("--data-root", help="datasets on the shared filesystem (else $REPRO_DATA on the nodes)")
    s.add_argument("--checkpoint-every", type=_at_least(1), default=1, metavar="N", help="epochs between checkpoints")
    s.add_argument("--device", default="auto", help="device inside each task (default auto: its GPU)")
    s.add_argument("--wait", action="store_true", help="wait for the array, with progress, and report")
    w = sub.add_parser("wait", help="follow a submitted array until it is done, and report")
    w.add_argument("folder", help=f"the folder holding {JOBS_FILE}, as run-slurm submit printed it")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError, ImportError, SubmitError) as exc:
        print(f"run-slurm {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "submit":
        options = SlurmOptions(partition=args.partition, time_min=args.time, gpus_per_task=args.gpus_per_task,
                               cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb,
                               array_parallelism=args.array_parallelism, max_requeues=args.max_requeues)
        kwargs = {"device": args.device, "data_root": args.data_root, "checkpoint_every": args.checkpoint_every}
        submission, jobs = submit(args.plan, args.runs, options, args.folder, kwargs)
        print(f"slurm: submitted {len(jobs)} run(s) as one array"
              + (f" (job {jobs[0].job_id.split('_')[0]}); follow with: run-slurm wait "
                 f"{submission.base}" if jobs else "; every run of the plan is in the store"))
        if not args.wait or not jobs:
            return 0
    else:
        submission = Submission.load(args.folder)
    outcome = wait(submission)
    print("\n".join(summary_lines(submission, outcome)))
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
