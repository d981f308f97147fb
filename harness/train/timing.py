"""Where an epoch's time goes (data, training step, evaluation, probes), without a host sync per step,
and which recorded times are fit to compare.

On CUDA each phase is bracketed by timing events on the run's device and the elapsed
times are read once, when the epoch's totals are asked for; on the CPU the work is
synchronous and a wall clock around each phase is exact.

A timing claim compares epoch times. Two things spoil them: the first epoch (it pays for
torch.compile, cuDNN autotuning and cold caches), hence the median of the epochs after it;
and a GPU that several pytest-xdist workers train on at once, hence a skip with that reason.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from collections import defaultdict
from typing import Any, Iterable, Iterator, Protocol, Sequence

import torch


class PhaseTimer:
    """Accumulates seconds per named phase; `totals()` returns them and starts over."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self._seconds: dict[str, float] = defaultdict(float)
        self._events: list[tuple[str, torch.cuda.Event, torch.cuda.Event]] = []

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            try:
                yield
            finally:
                end.record()
                self._events.append((name, start, end))
        else:
            started = time.perf_counter()
            try:
                yield
            finally:
                self._seconds[name] += time.perf_counter() - started

    def elapsed(self) -> dict[str, float]:
        """Seconds per phase so far, without starting over (one device sync on CUDA)."""
        if self._events:
            torch.cuda.synchronize(self.device)
            for name, start, end in self._events:
                self._seconds[name] += start.elapsed_time(end) / 1000
            self._events.clear()
        return dict(self._seconds)

    def totals(self) -> dict[str, float]:
        """Seconds per phase since the last call (one device sync on CUDA)."""
        out = self.elapsed()
        self._seconds.clear()
        return out


class _Run(Protocol):
    curves: dict[str, list[float]]
    environment: dict[str, Any]


def epoch_seconds(run: _Run, minus: Sequence[str] = ()) -> float:
    """A run's typical epoch time: the median over epochs 2+ (epoch 1 alone if there is no other).

    `minus` names phases taken out of each epoch, e.g. ("eval",) for training time only or
    ("eval", "probe") for training without the probes' cost.
    """
    curves = run.curves
    per_epoch = [total - sum(curves[f"{name}_time"][i] for name in minus)
                 for i, total in enumerate(curves["epoch_time"])]
    if not per_epoch:
        raise ValueError("the run has no completed epoch to time")
    return statistics.median(per_epoch[1:] or per_epoch)


def unfit_for_timing(runs: Iterable[_Run]) -> str | None:
    """Why these runs' epoch times cannot be compared (a skip reason), or None when they can."""
    runs = list(runs)
    shared = sorted({int(r.environment.get("gpu_workers", 1)) for r in runs
                     if str(r.environment.get("device", "")).startswith("cuda")} - {1})
    if shared:
        return (f"timing needs a GPU to itself: these runs trained on a GPU shared by {shared[-1]} pytest-xdist "
                f"workers; train them again with one worker per GPU (-n up to the number of GPUs)")
    compiled = {bool(r.environment.get("compiled")) for r in runs}
    if len(compiled) > 1:
        return "some of these runs were compiled (torch.compile) and others not: their epoch times do not compare"
    return None
