"""A faster ReLU backward for the portable CPU kernels, with the same floats.

Under `ATEN_CPU_CAPABILITY=default` (harness/cpu.py) ATen's element-wise kernels run without
vector code, and ReLU's backward (`threshold_backward`, a select) becomes the slowest of them:
3.7 ms on a 128x4x32x32 batch against 0.4 ms for the forward, 15-20% of a training step of every
ReLU net of the fast tier (benchmarks/README.md). The same gradient is the incoming one times
the 0/1 mask of the kept positions; a compare into floats, a negate, an add and a multiply stay
fast without vector code (0.8 ms). A product with 1.0 or 0.0 needs no rounding, so the kept
gradients are bitwise the ones ATen computes. The only differences are at masked positions: -0.0 instead of +0.0 where the
incoming gradient is negative, and NaN instead of 0 where it is not finite (a run that is
diverging anyway). A zero's sign does not change a sum that has any nonzero term, nor a weight
it updates, and training runs are bitwise equal with and without this kernel
(tests/test_portable_ops.py; all 135 fast-tier runs, benchmarks/README.md).

Installed for CPU runs under the portable kernels only: the machine's own (vectorised) kernels
need no stand-in. The registration is process-wide and stays until `remove()`.
"""
from __future__ import annotations

import torch

_library: torch.library.Library | None = None


def _threshold_backward(grad_output: torch.Tensor, self: torch.Tensor, threshold) -> torch.Tensor:
    # ATen's rule is `self <= threshold ? 0 : grad`; keep = 1 - (self <= threshold) matches it for NaN too.
    # The compare writes floats directly: casting a bool tensor is itself a slow scalar kernel here.
    keep = torch.le(self, threshold, out=torch.empty_like(grad_output))
    return keep.neg_().add_(1).mul_(grad_output)


def install() -> None:
    """Route CPU `threshold_backward` (ReLU's backward) through the mask multiply; idempotent."""
    global _library
    if _library is not None:
        return
    library = torch.library.Library("aten", "IMPL")
    library.impl("threshold_backward", _threshold_backward, "CPU")
    _library = library


def remove() -> None:
    """Give `threshold_backward` back to ATen's own kernel (for comparisons)."""
    global _library
    if _library is not None:
        _library._destroy()
        _library = None


def installed() -> bool:
    """Whether the stand-in is in force in this process."""
    return _library is not None
