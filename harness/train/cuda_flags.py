"""The CUDA numerics and kernel choice a run trains under, set for the run and recorded with it.

- No TF32. cuDNN allows TF32 convolutions by default on Ampere and later, so an "fp32"
  run would silently run with a 10-bit mantissa; the Spec's `precision` says what the
  arithmetic is (fp32, or bf16 autocast with the rest in fp32), so TF32 stays off for
  matrix products and convolutions alike.
- cuDNN autotuning (`cudnn.benchmark`) on: every run has fixed batch shapes, so the tuned
  algorithm is found once and reused. Off when deterministic algorithms are asked for
  (`torch.use_deterministic_algorithms(True)`), because autotuning may pick a different
  algorithm from one run to the next.

The previous settings are restored afterwards, so a process can train runs of different
kinds one after another.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch


def _flags() -> tuple[bool, bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark


def _set(matmul_tf32: bool, cudnn_tf32: bool, benchmark: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
    torch.backends.cudnn.allow_tf32 = cudnn_tf32
    torch.backends.cudnn.benchmark = benchmark


@contextlib.contextmanager
def cuda_flags(device: torch.device, benchmark: bool | None = None) -> Iterator[dict[str, Any]]:
    """Within the block a CUDA run has TF32 off and cuDNN autotuning as chosen (default: on unless
    deterministic algorithms are enabled); yields the settings for the run's environment record.
    A CPU run changes nothing and records nothing."""
    if device.type != "cuda":
        yield {}
        return
    deterministic = torch.are_deterministic_algorithms_enabled()
    tuned = (not deterministic) if benchmark is None else bool(benchmark)
    saved = _flags()
    _set(False, False, tuned)
    try:
        yield {"tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "tf32_cudnn": torch.backends.cudnn.allow_tf32,
               "cudnn_benchmark": torch.backends.cudnn.benchmark, "deterministic_algorithms": deterministic}
    finally:
        _set(*saved)
