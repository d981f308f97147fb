"""Spec: everything that determines a run; its canonical JSON hashes into the run key."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .. import cpu

# Bump when the meaning or layout of a stored RunResult changes: old entries
# then hash to other keys and are never mistaken for current ones.
# 2: timing breakdown in the curves; channels_last on every device.
# 3: CPU runs in the default memory layout with machine-independent kernels, one thread;
#    per-image test correctness (best and final epoch) for paired test-set statistics.
RESULT_FORMAT_VERSION = 3

Args = tuple[tuple[str, Any], ...]
DEVICE_KINDS = ("cpu", "cuda")
ARG_FIELDS = ("model_args", "optimizer_args", "schedule_args", "probe_args")


def freeze_args(args: Mapping[str, Any] | Args | None) -> Args:
    """Turn a mapping of keyword arguments into a sorted, hashable tuple of pairs."""
    if args is None:
        return ()
    items = args.items() if isinstance(args, Mapping) else args
    return tuple(sorted((str(k), _freeze_value(v)) for k, v in items))


def _freeze_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze_value(v) for v in value)
    if isinstance(value, Mapping):
        return freeze_args(value)
    return value


@dataclass(frozen=True)
class Spec:
    """A training run, fully determined. Dict arguments are frozen on construction."""

    model: str
    dataset: str = "cifar10"
    model_args: Args = ()
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.1
    optimizer_args: Args = ()
    schedule: str = "constant"
    schedule_args: Args = ()
    epochs: int = 1
    batch_size: int = 128
    augment: tuple[str, ...] = ()
    normalize: str = "dataset"
    split: str = "official"
    train_subset: int | None = None
    test_subset: int | None = None
    seed: int = 0
    precision: str = "fp32"
    probes: tuple[str, ...] = ()
    probe_args: Args = ()
    # The device kind ("cpu" or "cuda") a run trains on: its floats differ between the two, so
    # it is part of the key. The fast tier trains on the CPU, the full tier on CUDA (tiers.py).
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ARG_FIELDS:
            object.__setattr__(self, name, freeze_args(getattr(self, name)))
        object.__setattr__(self, "augment", tuple(self.augment))
        object.__setattr__(self, "probes", tuple(self.probes))
        if self.device not in DEVICE_KINDS:
            raise ValueError(f"device must be a device kind, one of {', '.join(DEVICE_KINDS)}; got {self.device!r} "
                             f"(the index of cuda:N is chosen when training, it is not part of the run)")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, got {self.epochs}, {self.batch_size}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) \
                or self.lr < 0:
            raise ValueError(f"lr must be a finite non-negative number, got {self.lr!r} (a nan or inf learning "
                             f"rate diverges at the first step)")
        for name in ARG_FIELDS:
            bad = [k for k, v in getattr(self, name) if not _finite(v)]
            if bad:
                raise ValueError(f"{name} {', '.join(bad)} must be finite numbers, got "
                                 f"{', '.join(repr(self.kwargs(name)[k]) for k in bad)}")

    def replace(self, **changes: Any) -> "Spec":
        """A copy with some fields changed; dict-valued *_args are merged, not replaced."""
        for name in ARG_FIELDS:
            if name in changes and isinstance(changes[name], Mapping):
                merged = dict(getattr(self, name))
                merged.update(changes[name])
                changes[name] = merged
        return dataclasses.replace(self, **changes)

    def kwargs(self, name: str) -> dict[str, Any]:
        """A frozen *_args field back as keyword arguments."""
        return {k: _thaw(v) for k, v in getattr(self, name)}

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for name in ARG_FIELDS:
            out[name] = self.kwargs(name)
        out["augment"] = list(self.augment)
        out["probes"] = list(self.probes)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Spec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Spec fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def canonical_json(self) -> str:
        spec = self.to_dict()
        del spec["device"]  # CPU keys stay what they were before the field existed
        payload: dict[str, Any] = {"format": RESULT_FORMAT_VERSION, "spec": spec}
        if self.device != "cpu":  # a CUDA run never shares a key with a CPU run
            payload["device"] = self.device
        if self.device == "cpu" and cpu.mode() != "portable":  # machine-dependent CPU numerics: their own key
            payload["cpu_kernels"] = cpu.mode()
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))

    @property
    def key(self) -> str:
        """Run key: a short hash of the canonical JSON (format version included)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]


def _finite(value: Any) -> bool:
    """No nan or inf in a (frozen) argument value."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, tuple):
        return all(_finite(v) for v in value)
    return True


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _thaw(v) for k, v in value}
        return [_thaw(v) for v in value]
    return value
