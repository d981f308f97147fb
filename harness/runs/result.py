"""RunResult: what one finished (or diverged) run leaves behind, as plain JSON."""
from __future__ import annotations

import base64
import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..files import conforms, describe
from .spec import RESULT_FORMAT_VERSION

# epoch_time covers the whole epoch; its parts are data_time (batching and augmentation), step_time
# (forward, backward, optimizer), eval_time (the test set) and probe_time (probes).
CURVE_FIELDS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "epoch_time", "data_time",
                "step_time", "eval_time", "probe_time")
TIME_PHASES = ("data_time", "step_time", "eval_time", "probe_time")
STATUSES = ("completed", "diverged")


@dataclass
class RunResult:
    key: str
    spec: dict[str, Any]
    status: str  # "completed" | "diverged"
    curves: dict[str, list[float]]
    final_test_acc: float
    best_test_acc: float
    final_train_acc: float
    param_count: int
    wall_time: float
    environment: dict[str, Any]
    diverged_at_step: int | None = None
    cpu_time: float = 0.0  # process CPU seconds (all threads): a load-independent budget measure
    created: str = ""
    format: int = RESULT_FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    # per-image correctness on the test set at the best and the final epoch (pack_bits), in test-set order
    test_correct: dict[str, str] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def time_split(self) -> dict[str, float]:
        """Seconds per phase over the whole run: data, step, eval, probe (see CURVE_FIELDS)."""
        return {name.removesuffix("_time"): sum(self.curves.get(name, [])) for name in TIME_PHASES}

    def correctness(self, epoch: str) -> np.ndarray | None:
        """Per-image correctness at the "best" or "final" epoch (None for runs that never evaluated)."""
        packed = self.test_correct.get(epoch)
        return None if packed is None else unpack_bits(packed)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "RunResult":
        """A stored result back, or ValueError naming what is wrong (so the store redoes the run)."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__} {str(data)[:40]}")
        if data.get("format") != RESULT_FORMAT_VERSION:
            raise ValueError(f"result format {data.get('format')!r}, expected {RESULT_FORMAT_VERSION}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        missing = {f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING} - set(data)
        if missing:
            raise ValueError(f"result is missing fields {sorted(missing)}")
        wrong = [f"{name} is {type(value).__name__} {str(value)[:40]}, expected {describe(hints[name])}"
                 for name, value in data.items() if name in names and not conforms(value, hints[name])]
        if wrong:
            raise ValueError("wrong field types: " + "; ".join(wrong))
        if data["status"] not in STATUSES:
            raise ValueError(f"status {data['status']!r} is not one of {', '.join(STATUSES)}")
        impossible = _impossible_numbers(data)
        if impossible:
            raise ValueError("impossible values: " + "; ".join(impossible))
        return cls(**{k: v for k, v in data.items() if k in names})


def _impossible_numbers(data: dict[str, Any]) -> list[str]:
    """Numbers no run produces: a completed run's accuracy outside [0, 1] or nan (a diverged one may be nan),
    any infinity, a negative count or time, per-image correctness that is not base64."""
    wrong = []
    completed = data["status"] == "completed"
    for name in ("final_test_acc", "best_test_acc", "final_train_acc"):
        value = data[name]
        if not (0.0 <= value <= 1.0 or (math.isnan(value) and not completed)):
            wrong.append(f"{name} {value!r} is not an accuracy in [0, 1]")
    for name in ("param_count", "wall_time", "cpu_time", "diverged_at_step"):
        value = data.get(name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            wrong.append(f"{name} {value!r} is not a finite non-negative number")
    for epoch, packed in data.get("test_correct", {}).items():
        try:
            base64.b64decode(packed, validate=True)
        except (ValueError, TypeError):
            wrong.append(f"test_correct[{epoch!r}] is not base64")
    return wrong


def pack_bits(correct: Any) -> str:
    """Boolean vector -> base64 text (1 bit per test image: 10,000 images take 1.7 kB)."""
    flags = np.asarray(correct.cpu() if hasattr(correct, "cpu") else correct, dtype=bool)
    header = len(flags).to_bytes(4, "little")
    return base64.b64encode(header + np.packbits(flags).tobytes()).decode("ascii")


def unpack_bits(text: str) -> np.ndarray:
    raw = base64.b64decode(text)
    n = int.from_bytes(raw[:4], "little")
    return np.unpackbits(np.frombuffer(raw[4:], dtype=np.uint8))[:n].astype(bool)
