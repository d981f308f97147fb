"""Device choice, CPU thread split and the environment recorded with every run."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, MutableMapping

import torch

from .. import cpu, settings

WORKER_GPU_ENV = "REPRO_WORKER_GPU"  # set when an xdist worker pinned itself to one GPU
GPU_WORKERS_ENV = "REPRO_GPU_WORKERS"  # how many workers of the session share that GPU
# `nvidia-smi -L`: "GPU 0: NVIDIA H100 (UUID: GPU-...)" and, under a MIG-enabled GPU,
# "  MIG 3g.40gb     Device  0: (UUID: MIG-...)". Anything else (warnings, banners) is ignored.
_GPU_LINE = re.compile(r"^GPU (\d+):")
_MIG_LINE = re.compile(r"^\s+MIG\b.*\(UUID: (MIG-[^)\s]+)\)")


class WorkerDeviceError(RuntimeError):
    """A worker pinned to a GPU cannot see it: training on the CPU instead would be silently wrong."""


def resolve_device(name: str | None = None) -> torch.device:
    """'auto' (default): CUDA when available, else CPU. Also accepts 'cpu', 'cuda', 'cuda:1'.

    A pytest-xdist worker pinned to a GPU never falls back to the CPU: that would skip its
    full-tier claims as "needs a GPU" although the machine has one.
    """
    name = settings.device_name(name)
    if name == "auto":
        return torch.device("cuda" if _cuda_or_pinned_error(name) else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not _cuda_or_pinned_error(name):
        raise RuntimeError(f"device {name!r} requested but CUDA is not available; use --device cpu or auto")
    return device


def run_device(kind: str, requested: str | torch.device | None = None) -> torch.device:
    """The device a run of device kind `kind` (its Spec's `device`) trains on.

    `requested` (or $REPRO_DEVICE) picks the device when it is of that kind (so `cuda:1` is
    kept); an explicit request of another kind is an error, because the device kind is part
    of the run key. A CUDA run on a machine without CUDA is an error too.
    """
    if requested is not None and str(requested) != "auto":
        device = torch.device(requested)
        if device.type != kind:
            raise ValueError(f"a run of device kind {kind!r} cannot train on {device}: build its Spec with "
                             f"device={device.type!r} (the device kind is part of the run key)")
    else:
        env = settings.device_name()
        device = torch.device(env) if env != "auto" and torch.device(env).type == kind else torch.device(kind)
    return resolve_device(str(device)) if device.type == "cuda" else device


def _cuda_or_pinned_error(name: str) -> bool:
    if torch.cuda.is_available():
        return True
    pinned = os.environ.get(WORKER_GPU_ENV)
    if pinned:
        raise WorkerDeviceError(
            f"this worker was pinned to GPU {pinned!r} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}) "
            f"but CUDA sees no device (device {name!r}). Check the GPU list (nvidia-smi -L; MIG instances are "
            f"named by their MIG-... UUID), set CUDA_VISIBLE_DEVICES yourself, or pass --device cpu")
    return False


def assign_worker_gpu(worker_index: int, env: MutableMapping[str, str] | None = None,
                      worker_count: int = 1) -> str | None:
    """Pin an xdist worker to one GPU of the caller's CUDA_VISIBLE_DEVICES, before CUDA starts.

    Returns the chosen device id, or None when no GPU list is known. Uses nvidia-smi
    (not torch) to list GPUs so CUDA is not initialised here; a MIG-enabled GPU
    contributes its MIG instances (by UUID) instead of itself. Also records how many
    of the `worker_count` workers share the chosen GPU (timing claims need a GPU alone).
    """
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible is not None else _nvidia_smi_ids()
    if not ids:
        return None
    chosen = ids[worker_index % len(ids)]
    env["CUDA_VISIBLE_DEVICES"] = chosen
    env[WORKER_GPU_ENV] = chosen
    env[GPU_WORKERS_ENV] = str(workers_sharing(worker_index, max(worker_count, worker_index + 1), len(ids)))
    return chosen


def workers_sharing(worker_index: int, worker_count: int, gpu_count: int) -> int:
    """Number of workers (this one included) given the same GPU by round-robin assignment."""
    return sum(1 for i in range(worker_count) if i % gpu_count == worker_index % gpu_count)


def parse_nvidia_smi(text: str) -> list[str]:
    """CUDA_VISIBLE_DEVICES ids from `nvidia-smi -L` output: each GPU's own index (not its line
    number), or the UUIDs of its MIG instances when it has any (CUDA sees only those then)."""
    gpus: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        gpu = _GPU_LINE.match(line)
        if gpu:
            gpus.append((gpu.group(1), []))
            continue
        mig = _MIG_LINE.match(line)
        if mig and gpus:
            gpus[-1][1].append(mig.group(1))
    return [uuid for index, migs in gpus for uuid in (migs or [index])]


def _nvidia_smi_ids() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def split_cpu_threads(worker_count: int) -> int:
    """Give each of `worker_count` processes an equal share of the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // max(1, worker_count))
    torch.set_num_threads(threads)
    return threads


@lru_cache(maxsize=1)
def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: torch.device) -> dict[str, Any]:
    """What a reader needs to judge where a number came from."""
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": platform.node(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "commit": _git_commit(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
        # workers of this session training on the same GPU at once: timing claims need 1
        info["gpu_workers"] = int(os.environ.get(GPU_WORKERS_ENV, "1"))
    else:
        info["cpu"] = f"{cpu_model()}, {os.cpu_count()} cores"
        info.update(cpu.describe())
    return info


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's marketing name where Linux tells it, else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
