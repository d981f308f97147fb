"""Probes: per-step measurements taken inside the training loop without changing it.

A probe sees the step twice: `before_step` (gradients of the current batch are
in place, weights not yet updated) and `after_step` (weights updated). It
must leave weights, BN statistics, optimizer state and RNG as it found them;
what it records comes back in `RunResult.extra["probes"][name]`.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable

import torch

from .registry import Registry


@dataclass
class StepContext:
    """What a probe may look at during one training step."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    inputs: torch.Tensor
    labels: torch.Tensor
    loss: torch.Tensor
    step: int
    lr: float


@dataclass
class EpochContext:
    """End of an epoch (after evaluation) or of training: the model as it stands.

    `evaluate()` returns (test loss, test accuracy) of the model as it is now,
    so a probe can measure a modified model (pruned, say) and then restore it.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    epoch: int
    evaluate: Callable[[], tuple[float, float]]


@dataclass(frozen=True)
class PlannedRun:
    """What a probe's placeholder may know of a run that is planned, not trained (harness/plan/recording.py)."""

    epochs: int
    steps_per_epoch: int
    optimizer: str
    meta_model: Callable[[], torch.nn.Module]  # the run's model on the meta device: shapes, no weights


def placeholder_curve(rng: random.Random, n: int, start: float, end: float, rate: float = 3.0,
                      noise: float = 0.01) -> list[float]:
    """`n` values easing from `start` to `end` with a little noise: a plausible training curve."""
    return [end + (start - end) * math.exp(-rate * (i + 1) / n) + rng.uniform(-noise, noise) for i in range(n)]


class Probe:
    """Base class: override the hooks you need and `result()`.

    Constructed with the keyword arguments in `Spec.probe_args[name]`.

    `needs_fp32`: the probe compares per-step losses or gradients at a finer grain than bf16's
    8-bit mantissa resolves, so a full-tier run carrying it trains in fp32 (tiers.full_precision).
    Epoch-end probes (support records, pruning curves) read the model as it stands and do not.

    `placeholder()`: what `result()` would return after a planned run, with the same keys and
    series lengths and values drawn from `rng`; planning (--plan) answers claims with it.
    """

    needs_fp32 = False

    def before_step(self, ctx: StepContext) -> None:
        pass

    def after_step(self, ctx: StepContext) -> None:
        pass

    def after_epoch(self, ctx: EpochContext) -> None:
        pass

    def after_training(self, ctx: EpochContext) -> None:
        pass

    def result(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Enough to continue after a resume from checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def placeholder(self, run: PlannedRun, rng: random.Random) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no placeholder()")


PROBES: Registry[Callable[[], Probe]] = Registry("probe")


@PROBES.register("step_loss")
class StepLoss(Probe):
    """The training loss of every step (the course's loss-landscape band is built from these)."""

    def __init__(self) -> None:
        self.values: list[torch.Tensor] = []
        self.done: list[float] = []

    def after_step(self, ctx: StepContext) -> None:
        self.values.append(ctx.loss.detach().float())  # stays on the device: no sync per step

    def _flush(self) -> None:
        if self.values:
            self.done.extend(torch.stack(self.values).tolist())
            self.values = []

    def result(self) -> list[float]:
        self._flush()
        return self.done

    def state_dict(self) -> dict[str, Any]:
        self._flush()
        return {"done": list(self.done)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done = list(state["done"])

    def placeholder(self, run: PlannedRun, rng: random.Random) -> list[float]:
        return placeholder_curve(rng, run.steps_per_epoch * run.epochs, 2.3, 0.3, noise=0.2)


def needs_fp32(names: tuple[str, ...]) -> bool:
    """Whether any of these probes needs its run trained in fp32."""
    return any(PROBES.get(name).needs_fp32 for name in names)


def build_probes(names: tuple[str, ...], args: dict[str, dict[str, Any]] | None = None) -> dict[str, Probe]:
    args = args or {}
    unknown = set(args) - set(names)
    if unknown:
        raise ValueError(f"probe_args given for probes that are not requested: {sorted(unknown)}")
    return {name: PROBES.get(name)(**args.get(name, {})) for name in names}


class MissingPlaceholderError(NotImplementedError):
    """A probe without a placeholder: planning cannot answer for runs that carry it."""


def has_placeholder(name: str) -> bool:
    return getattr(PROBES.get(name), "placeholder", Probe.placeholder) is not Probe.placeholder


def placeholder_results(names: tuple[str, ...], args: dict[str, dict[str, Any]] | None, run: PlannedRun,
                        rng: random.Random) -> dict[str, Any]:
    """Each probe's placeholder result for `run`, drawn from `rng` in the order of `names`."""
    missing = [name for name in names if not has_placeholder(name)]
    if missing:
        raise MissingPlaceholderError(
            f"probe(s) {', '.join(map(repr, missing))} define no placeholder(): add one returning what result() "
            f"returns, so --plan can follow claims that read it")
    return {name: probe.placeholder(run, rng) for name, probe in build_probes(names, args).items()}
