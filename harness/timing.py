"""Where an epoch's time goes (data, training step, evaluation, probes), without a host sync per step.

On CUDA each phase is bracketed by timing events and the elapsed times are read
once, when the epoch's totals are asked for; on the CPU the work is synchronous
and a wall clock around each phase is exact.
"""
from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Iterator

import torch


class PhaseTimer:
    """Accumulates seconds per named phase; `totals()` returns them and starts over."""

    def __init__(self, device: torch.device) -> None:
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

    def totals(self) -> dict[str, float]:
        """Seconds per phase since the last call (one device sync on CUDA)."""
        if self._events:
            torch.cuda.synchronize()
            for name, start, end in self._events:
                self._seconds[name] += start.elapsed_time(end) / 1000
            self._events.clear()
        out = dict(self._seconds)
        self._seconds.clear()
        return out
