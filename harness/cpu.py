"""CPU numerics that do not depend on the machine.

The same seeded run gives different floats on CPUs with different instruction sets,
because oneDNN (convolutions), ATen (element-wise ops and reductions) and MKL (matrix
products) each pick vectorised kernels for the CPU at hand, and reductions split
differently over threads. On a narrow net those last-bit differences grow within a few
dozen steps into differences of a point or more of accuracy, which decides fast-tier
comparisons that sit near their margin. So unless told otherwise (`REPRO_CPU_KERNELS=native`)
every CPU run uses the kernels every x86-64 machine of this project has:

- oneDNN capped at AVX (`ONEDNN_MAX_CPU_ISA=AVX`): this also never runs the AVX2 1x1
  backward-weights convolution that corrupts the heap on NHWC input with fewer than 8
  input channels and stride 2 (a known oneDNN defect);
- ATen's portable kernels (`ATEN_CPU_CAPABILITY=default`);
- MKL's conditional numerical reproducibility (`MKL_CBWR=COMPATIBLE`);
- one intra-op thread per training run (parallelism comes from pytest-xdist workers).

These variables are read when the libraries initialise, so `apply()` runs when the
`harness` package is imported, before torch; `describe()` records what was in force.
"""
from __future__ import annotations

import os

KERNELS_ENV = "REPRO_CPU_KERNELS"
KERNEL_MODES = ("portable", "native")
PORTABLE_KERNELS = {"ONEDNN_MAX_CPU_ISA": "AVX", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
# Each CPU training run uses this many threads in portable mode, whatever the machine.
PORTABLE_THREADS = 1


class CpuKernelError(RuntimeError):
    """The portable kernels could not be put in force (torch initialised too early)."""


def mode() -> str:
    """'portable' (default) or 'native' ($REPRO_CPU_KERNELS)."""
    value = os.environ.get(KERNELS_ENV, "portable").strip().lower() or "portable"
    if value not in KERNEL_MODES:
        raise CpuKernelError(f"{KERNELS_ENV}={value!r} is not one of {', '.join(KERNEL_MODES)}")
    return value


# What the environment held before apply() replaced it, so that child processes can be given it back.
_BEFORE_APPLY: dict[str, str | None] = {}
_IN_FORCE: str | None = None  # the mode this process's libraries initialised with
_PROBLEM: str | None = None  # a bad $REPRO_CPU_KERNELS seen by apply(): reported as a usage error, not at import


def problem() -> str | None:
    """Why $REPRO_CPU_KERNELS could not be used when the package was imported, or None."""
    return _PROBLEM


def in_force() -> str:
    """The kernel mode this process initialised with (apply()), whatever its children were given since."""
    return _IN_FORCE or mode()


def apply() -> None:
    """Put the portable kernel choice into the environment (before torch initialises)."""
    global _IN_FORCE, _PROBLEM
    try:
        _IN_FORCE = mode()
    except CpuKernelError as exc:  # importing the package must not fail: the settings report it (harness/settings.py)
        _IN_FORCE, _PROBLEM = "portable", str(exc)
    if _IN_FORCE == "portable":
        for name in PORTABLE_KERNELS:
            _BEFORE_APPLY.setdefault(name, os.environ.get(name))
        os.environ.update(PORTABLE_KERNELS)


def native_for_child_processes() -> str:
    """Let processes started from now on (pytest-xdist workers) use the machine's own kernels; returns their mode.

    For work that gives no verdict (a rehearsal checks that recipes run), where the floats do not
    matter and the portable kernels cost up to 7 times the time of bf16 convolutions. An explicit
    $REPRO_CPU_KERNELS is kept. This process keeps the kernels it initialised with.
    """
    if KERNELS_ENV in os.environ:
        return mode()
    os.environ[KERNELS_ENV] = "native"
    for name, value in _BEFORE_APPLY.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return "native"


def training_threads(default: int) -> int:
    """Intra-op threads for one CPU training run: fixed in portable mode, else `default`."""
    return PORTABLE_THREADS if mode() == "portable" else default


def check() -> None:
    """Fail loudly if torch chose other kernels than the ones promised (imported too early)."""
    if _PROBLEM:
        raise CpuKernelError(_PROBLEM)
    if mode() != "portable":
        return
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in ("DEFAULT", "NO AVX"):
        raise CpuKernelError(
            f"torch picked its {capability} CPU kernels although {KERNELS_ENV}=portable asks for the "
            f"default ones: torch was imported before the harness. Import harness first, or set "
            f"{' '.join(f'{k}={v}' for k, v in PORTABLE_KERNELS.items())} in the environment, "
            f"or {KERNELS_ENV}=native to accept machine-dependent CPU results")


def describe() -> dict[str, str]:
    """The kernel choice in force, for a run's recorded environment."""
    import torch

    info = {"cpu_kernels": mode(), "aten_capability": torch.backends.cpu.get_cpu_capability()}
    info.update({k.lower(): os.environ.get(k, "") for k in PORTABLE_KERNELS})
    return info
