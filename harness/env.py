"""Device choice, CPU thread split and the environment recorded with every run."""
from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from . import cpu

DEVICE_ENV = "REPRO_DEVICE"


def resolve_device(name: str | None = None) -> torch.device:
    """'auto' (default): CUDA when available, else CPU. Also accepts 'cpu', 'cuda', 'cuda:1'."""
    name = name or os.environ.get(DEVICE_ENV) or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available; use --device cpu or auto")
    return device


def assign_worker_gpu(worker_index: int, env: dict[str, str] | None = None) -> str | None:
    """Pin an xdist worker to one GPU of the caller's CUDA_VISIBLE_DEVICES, before CUDA starts.

    Returns the chosen device id, or None when no GPU list is known. Uses
    nvidia-smi (not torch) to count GPUs so CUDA is not initialised here.
    """
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible is not None else _nvidia_smi_ids()
    if not ids:
        return None
    chosen = ids[worker_index % len(ids)]
    env["CUDA_VISIBLE_DEVICES"] = chosen
    return chosen


def _nvidia_smi_ids() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


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
