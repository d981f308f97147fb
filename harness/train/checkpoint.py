"""What a checkpoint saves and restores, and a clean start when one cannot be used.

Training (harness/train/loop.py) and the rehearsal (harness/plan/rehearse.py) share it: a killed
run resumes from its last checkpoint, bitwise, and an unusable checkpoint warns, naming the
file, and the run starts over with its parts exactly as they were built.

A checkpoint holds tensors and plain data only (dicts, lists, tuples, numbers, strings, None) and is
read with `weights_only=True`: a run store is shared, and unpickling a file someone else could
have written would run their code. A file that is not such data is refused like a corrupt one.
"""
from __future__ import annotations

import copy
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..files import atomic_write
from ..runs.spec import Spec


@dataclass
class RunParts:
    """Everything a checkpoint saves and restores."""

    spec: Spec
    device: torch.device
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Any
    gen: torch.Generator
    curves: dict[str, list[float]]
    probes: dict[str, Any]


def checkpoint_payload(parts: RunParts, state: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's content. RNG states are the run's device's only: a process pinned to one GPU
    and an unpinned one see different device lists, and CPU and CUDA generators differ in kind."""
    cuda = parts.device.type == "cuda"
    return {
        "key": parts.spec.key, "device_kind": parts.device.type, "state": dict(state), "curves": parts.curves,
        "model": parts.model.state_dict(), "optimizer": parts.optimizer.state_dict(),
        "schedule": plain_items(parts.schedule.state_dict()), "generator": parts.gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "probes": {name: probe.state_dict() for name, probe in parts.probes.items()},
        "cuda_rng": torch.cuda.get_rng_state(parts.device) if cuda else None,
    }


PLAIN_SCALARS = (bool, int, float, str, type(None))


def is_plain(value: Any) -> bool:
    """Whether `torch.load(..., weights_only=True)` reads `value` back: tensors and plain data."""
    if isinstance(value, (torch.Tensor, *PLAIN_SCALARS)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (int, str)) and is_plain(v) for k, v in value.items())
    return False


def plain_items(state: dict[str, Any]) -> dict[str, Any]:
    """A scheduler's state without what is not plain data (a scale function, an optimizer reference):
    those are rebuilt from the Spec with the run, and `apply_checkpoint` keeps the rebuilt ones."""
    return {k: v for k, v in state.items() if is_plain(v)}


def _first_non_plain(value: Any, where: str) -> str | None:
    if is_plain(value):
        return None
    if isinstance(value, (list, tuple, dict)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if not isinstance(k, (int, str)):
                return f"{where}: key {k!r}"
            found = _first_non_plain(v, f"{where}.{k}")
            if found:
                return found
    return f"{where}: {type(value).__qualname__}"


def save_checkpoint(path: Path, parts: RunParts, state: dict[str, Any]) -> None:
    """Write the checkpoint; TypeError if a part's state holds more than plain data (it could not be resumed)."""
    payload = checkpoint_payload(parts, state)
    bad = _first_non_plain(payload, "checkpoint")
    if bad:
        raise TypeError(f"the checkpoint of run {parts.spec.key} would hold an object that weights_only loading "
                        f"refuses ({bad}); a probe's or schedule's state_dict must return tensors and plain data")
    atomic_write(path, lambda handle: torch.save(payload, handle), what=f"the checkpoint of run {parts.spec.key}",
                 fix="free some space or choose another run directory (--runs / $REPRO_RUNS), or checkpoint "
                     "less often (--checkpoint-every / --checkpoint-minutes)")


class CorruptCheckpointWarning(UserWarning):
    """A checkpoint could not be used; the run starts from scratch."""


CHECKPOINT_FIELDS = ("key", "device_kind", "state", "curves", "model", "optimizer", "schedule", "generator",
                     "torch_rng", "probes", "cuda_rng")


def resume(path: Path, parts: RunParts) -> dict[str, Any] | None:
    """Restore a checkpoint, or warn (naming the file) and return None to start over.

    Whatever goes wrong, reading or applying it, the run's parts are put back as they were,
    so starting over is a clean start.
    """
    spec = parts.spec
    pristine = copy.deepcopy(checkpoint_payload(parts, {}))
    try:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise ValueError("it holds objects other than tensors and plain data; it was not unpickled, "
                             "as that could run code") from None
        if not isinstance(payload, dict):
            raise ValueError(f"it holds a {type(payload).__name__}, not a checkpoint")
        missing = [f for f in CHECKPOINT_FIELDS if f not in payload]
        if missing:
            raise ValueError(f"fields {missing} missing (written by an older harness)")
        if payload["key"] != spec.key:
            raise ValueError(f"it belongs to run {payload['key']}, not {spec.key}")
        if payload["device_kind"] != parts.device.type:
            raise ValueError(f"it was written on a {payload['device_kind']} device, this run trains on "
                             f"{parts.device.type}")
        if set(payload["probes"]) != set(parts.probes):
            raise ValueError("it was written with other probes")
        return apply_checkpoint(payload, parts)
    except Exception as exc:  # any unusable checkpoint means: start over, never crash the session
        apply_checkpoint(pristine, parts)
        warnings.warn(f"checkpoint {path} cannot be used ({exc}); training run {spec.key} from the start",
                      CorruptCheckpointWarning, stacklevel=3)
        return None


def apply_checkpoint(payload: dict[str, Any], parts: RunParts) -> dict[str, Any]:
    parts.model.load_state_dict(payload["model"])
    parts.optimizer.load_state_dict(payload["optimizer"])
    parts.schedule.load_state_dict({**parts.schedule.state_dict(), **payload["schedule"]})
    parts.gen.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] is not None:
        torch.cuda.set_rng_state(payload["cuda_rng"], parts.device)
    for name, values in payload["curves"].items():
        parts.curves[name][:] = values
    for name, probe in parts.probes.items():
        probe.load_state_dict(payload["probes"][name])
    return dict(payload["state"])
