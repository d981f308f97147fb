"""The one place where a claim's full recipe becomes the run a tier can afford.

Claims are written against the report's own recipe (the full tier). The fast
tier keeps the comparison and shrinks the budget: a class-balanced subset, a
few epochs, and whatever per-claim overrides reference/ gives (for example a
narrower model). Schedules expressed in epochs are rescaled with the budget.
The full tier keeps the recipe and trains it in bf16 on a GPU, in fp32 on the CPU (see `full_precision`).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..reference.entries import TIERS  # the tier names belong to the reference
from ..runs.spec import Spec


# Laptop-CPU budget: enough to order configurations, far from convergence.
FAST_DEFAULTS: dict[str, Any] = {"train_subset": 2000, "test_subset": 1000, "epochs": 3}


# The device kind each tier trains on unless --device names one. The fast tier's expectations
# were made on CPUs, and its CPU kernels are machine-independent (harness/cpu.py): that is what
# makes a fast verdict portable, so a GPU machine runs the fast tier on its CPU too.
TIER_DEVICES = {"fast": "cpu", "full": "cuda"}


def device_kind(tier: str, requested: str | None = None) -> str:
    """The device kind a tier's runs train on: the kind of `requested` (--device), else the tier's own."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; known tiers: {', '.join(TIERS)}")
    if requested is None or str(requested) == "auto":
        return TIER_DEVICES[tier]
    import torch

    return torch.device(requested).type


def full_precision(spec: Spec, kind: str = "cuda") -> str:
    """The precision a full-tier run of `spec` trains at on device kind `kind`.

    On a GPU, bf16 autocast (fp32 weights, optimizer state and BatchNorm statistics): same
    recipe, several times the fp32 speed on tensor cores. Runs with a per-step probe that
    compares losses or gradients at a finer grain than bf16's 8-bit mantissa resolves
    (`Probe.needs_fp32`) stay fp32; epoch-end probes do not change the precision, so a probed
    arm and its unprobed comparison arm train alike. On the CPU, fp32: CPUs without bf16
    units emulate it, and a LeNet step then takes 13 times its fp32 time, so bf16 would buy
    nothing and cost hours.
    """
    if kind == "cpu":
        return "fp32"
    from ..catalog.probes import needs_fp32  # the catalog registers every probe when any of it is imported

    return "fp32" if needs_fp32(spec.probes) else "bf16"


def scale(spec: Spec, tier: str, overrides: Mapping[str, Any] | None = None, device: str | None = None) -> Spec:
    """Return the Spec that actually runs for `tier`.

    `overrides` come from the claim's reference entry (`budget.<tier>`) and win
    over the tier defaults; dict-valued fields (model_args, ...) are merged.
    `device` is the --device option (None or "auto": the tier's own device kind).
    """
    kind = device_kind(tier, device)
    changes: dict[str, Any] = dict(FAST_DEFAULTS) if tier == "fast" else {"precision": full_precision(spec, kind)}
    if kind != spec.device:
        changes["device"] = kind
    changes.update(overrides or {})
    if tier == "fast":
        for name in ("train_subset", "test_subset"):
            full_value = getattr(spec, name)
            if full_value is not None and changes.get(name) is not None:
                changes[name] = min(full_value, changes[name])
        changes["epochs"] = min(spec.epochs, int(changes.get("epochs", spec.epochs)))
    if not changes:
        return spec
    scaled = spec.replace(**changes)
    return _rescale_schedule(scaled, spec.epochs)


def _rescale_schedule(spec: Spec, full_epochs: int) -> Spec:
    """Keep epoch-based milestones at the same fraction of training."""
    if spec.epochs == full_epochs:
        return spec
    args = spec.kwargs("schedule_args")
    ratio = spec.epochs / full_epochs
    if "milestones" in args:
        args["milestones"] = sorted({max(1, round(m * ratio)) for m in args["milestones"]})
    if "step_size" in args:
        args["step_size"] = max(1, round(args["step_size"] * ratio))
    return spec.replace(schedule_args=args) if args != spec.kwargs("schedule_args") else spec
