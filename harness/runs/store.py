"""RunStore: a directory of finished runs keyed by Spec hash, safe under parallel workers.

Layout: <root>/<key>/result.json (+ spec.json, checkpoint.pt while training).
Writes are atomic (harness/files.py: temporary file + rename, files as the umask
allows, so a group can share a store); one file lock per key makes two processes
asking for the same run train it once, the second loading the first one's result.
A corrupt or older-format entry is reported and redone (in cached-only mode:
reported and skipped); an entry this user may not read is an error naming it.

This module is the one reader of stored results (`parse_result`, `stored_results`): the store itself,
`run-store import`, the planner's measured rates and the benchmark scripts all trust an entry only
when it validates, its key matches its folder and its spec hashes to that key. The store trains
through the `trainer` it is given (harness/train/loop.py's `train` in a session); it never imports
training itself.
"""
from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock, Timeout

from .. import settings
from ..files import atomic_write_text
from .result import RunResult
from .spec import Spec

MODES = settings.RUN_MODES
RUNS_FIX = f"--runs / ${settings.env_name('runs')}"
# Runs of native CPU kernels have keys of their own (harness/cpu.py), so their results look mis-keyed elsewhere.
NATIVE_KEYS = "a store of native-kernel CPU runs reads under REPRO_CPU_KERNELS=native"
TRAINING_LOG = "trainings.log"
RESULT_FILE = "result.json"  # present once a run has finished
READ_ONLY_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)

Trainer = Callable[..., RunResult]
WhileWaiting = Callable[[Spec], Any]  # called with the awaited spec between tries of its lock
WAIT_POLL_S = 2.0  # how long one try of a run's lock waits before `while_waiting` is called


class RunNotCachedError(LookupError):
    """cached-only mode and the run is not in the store."""


class CorruptRunWarning(UserWarning):
    """A stored result could not be read and will be redone."""


class UnreadableRunError(OSError):
    """A stored result exists but this process may not read it (permissions, not a file)."""


class ReadOnlyStoreError(OSError):
    """A run is missing from a store this process may not write to (no lock, no result can be written)."""


class NoTrainerError(RuntimeError):
    """The store was asked to train a run but was given no trainer."""


def result_files(root: str | os.PathLike) -> list[Path]:
    """The result file of every finished run in the store at `root`, in key order (a run still training has none)."""
    return sorted(d / RESULT_FILE for d in Path(root).iterdir() if (d / RESULT_FILE).is_file())


def parse_result(key: str, result_text: str | bytes, spec_text: str | bytes | None = None) -> RunResult:
    """The stored run `key` from its result.json (and spec.json, when given), or ValueError saying why it
    cannot be trusted: not a valid result, another run's, or a spec that does not hash to the key."""
    try:
        result = RunResult.from_dict(json.loads(result_text))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"result.json is not a valid result ({exc})") from None
    if result.key != key:
        raise ValueError(f"result.json holds run {result.key}, not {key}")
    try:
        stored = Spec.from_dict(result.spec)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"its spec is not a Spec ({exc})") from None
    if stored.key != key:
        raise ValueError(f"its spec hashes to {stored.key}, not to its key {key} (edited by hand, or written "
                         f"under other CPU kernels: {NATIVE_KEYS})")
    if spec_text is not None:
        try:
            spec = Spec.from_dict(json.loads(spec_text))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"spec.json is not a Spec ({exc})") from None
        if spec != stored:
            raise ValueError("result.json's spec differs from spec.json")
    return result


def stored_results(root: str | os.PathLike) -> list[RunResult]:
    """Every finished run in the store at `root` that validates, in key order; the others are left out."""
    results = []
    for path in result_files(root):
        try:
            results.append(parse_result(path.parent.name, path.read_bytes()))
        except (ValueError, OSError):
            continue
    return results


class RunStore:
    """Load a finished run, or train it (once, even across processes)."""

    def __init__(self, root: str | os.PathLike | None = None, mode: str | None = None,
                 trainer: Trainer | None = None, train_kwargs: dict[str, Any] | None = None,
                 session: str | None = None, keep_checkpoints: bool = False) -> None:
        self.root = settings.runs_dir(root)
        self.mode = settings.run_mode(mode)
        self.trainer = trainer
        self.train_kwargs = dict(train_kwargs or {})
        # retrain redoes each run once per session, then shares it between claims
        self.session = session or settings.session_id() or "local"
        self.trained: list[str] = []
        self.keep_checkpoints = keep_checkpoints
        self.while_waiting: WhileWaiting | None = None  # see `get`
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"run directory {self.root} cannot be created ({exc}); "
                          f"choose another with {RUNS_FIX}") from exc

    def run_dir(self, spec: Spec) -> Path:
        return self.root / spec.key

    def result_path(self, spec: Spec) -> Path:
        return self.run_dir(spec) / RESULT_FILE

    def load(self, spec: Spec) -> RunResult | None:
        """The stored result, or None (missing, corrupt or older format: warned, then redone)."""
        return self._read(spec)[0]

    def _read(self, spec: Spec) -> tuple[RunResult | None, str | None]:
        """(result, None), (None, None) when absent, or (None, problem) for an entry that cannot be used."""
        path = self.result_path(spec)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise UnreadableRunError(
                f"run store entry {path} cannot be read ({exc.strerror or exc}); a store shared by a group needs "
                f"group-readable files (its writers' umask 002, or chmod -R g+rX {self.root}), or choose another "
                f"run directory ({RUNS_FIX})") from exc
        try:
            return parse_result(spec.key, raw), None
        except ValueError as exc:
            problem = f"run store entry {path} is corrupt ({exc})"
            consequence = ("cached-only mode does not redo it" if self.mode == "cached-only"
                           else "the run will be redone")
            warnings.warn(f"{problem}; {consequence}", CorruptRunWarning, stacklevel=3)
            return None, problem

    def _fresh_enough(self, result: RunResult) -> bool:
        return self.mode != "retrain" or result.extra.get("session") == self.session

    def get(self, spec: Spec, while_waiting: WhileWaiting | None = None) -> RunResult:
        """Return the run for `spec` according to the store's mode.

        While another process trains it, `while_waiting` (else the store's own `while_waiting`, if
        set) is called every WAIT_POLL_S with the awaited spec: the run queue trains an untaken run
        there, so a worker whose test waits on another's run is not idle."""
        while_waiting = while_waiting or self.while_waiting
        result, problem = self._read(spec)
        if self.mode == "cached-only":
            if problem is not None:
                raise RunNotCachedError(f"{problem}, and cached-only mode never redoes a run "
                                        f"(--run-mode train redoes it)")
            if result is None:
                raise RunNotCachedError(f"run {spec.key} ({spec.model}, seed {spec.seed}) is not in {self.root}")
            return result
        if result is not None and self._fresh_enough(result):
            return result
        lock = FileLock(str(self.root / f"{spec.key}.lock"))
        try:
            held = self._acquire(lock, spec, while_waiting)
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            raise ReadOnlyStoreError(
                f"run store {self.root} is read-only ({exc.strerror or exc}): run {spec.key} ({spec.model}, seed "
                f"{spec.seed}) is not in it and cannot be trained there; use the runs it has with --run-mode "
                f"cached-only, or choose a writable store ({RUNS_FIX})") from exc
        with held:
            result = self.load(spec)  # another worker may have finished it while we waited
            if result is not None and self._fresh_enough(result):
                return result
            return self._train_and_store(spec)

    @staticmethod
    def _acquire(lock: FileLock, spec: Spec, while_waiting: WhileWaiting | None):
        """Take the run's lock; while another process holds it, call `while_waiting(spec)` between tries of
        WAIT_POLL_S (it may train another run meanwhile), or, without one, simply wait."""
        if while_waiting is None:
            return lock.acquire()
        while True:
            try:
                return lock.acquire(timeout=WAIT_POLL_S)
            except Timeout:
                while_waiting(spec)

    def _train_and_store(self, spec: Spec) -> RunResult:
        trainer = self.trainer
        if trainer is None:
            raise NoTrainerError(f"run {spec.key} is not in {self.root} and this RunStore was given no trainer: "
                                 f"pass trainer=harness.train.loop.train, or use mode='cached-only'")
        run_dir = self.run_dir(spec)
        self._store_text(run_dir / "spec.json", json.dumps(spec.to_dict(), indent=2, sort_keys=True), spec)
        checkpoint = run_dir / "checkpoint.pt"
        if self.mode == "retrain":
            checkpoint.unlink(missing_ok=True)
        result = trainer(spec, checkpoint_path=checkpoint, **self.train_kwargs)
        result.extra["session"] = self.session
        self._store_text(self.result_path(spec), json.dumps(result.to_dict(), indent=1), spec)
        if not self.keep_checkpoints:
            checkpoint.unlink(missing_ok=True)
        self.trained.append(spec.key)
        try:
            with (self.root / TRAINING_LOG).open("a") as log:  # one line per training, for audits
                log.write(f"{result.created} {spec.key} pid={os.getpid()} status={result.status} "
                          f"wall={result.wall_time:.1f}s\n")
        except OSError as exc:  # the result is stored; a full disk must not lose it for the audit line
            warnings.warn(f"could not append to {self.root / TRAINING_LOG} ({exc.strerror or exc})", stacklevel=3)
        return result

    def _store_text(self, path: Path, text: str, spec: Spec) -> None:
        """Atomic write; a failure (full disk, permissions) names the file and the fix."""
        atomic_write_text(path, text, what=f"run {spec.key}",
                          fix=f"free space or choose another run directory ({RUNS_FIX}); "
                              f"results already stored are untouched")
