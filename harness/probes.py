"""Probes: per-step measurements taken inside the training loop without changing it.

A probe sees the step twice: `before_step` (gradients of the current batch are
in place, weights not yet updated) and `after_step` (weights updated). It
must leave weights, BN statistics, optimizer state and RNG as it found them;
what it records comes back in `RunResult.extra["probes"][name]`.
"""
from __future__ import annotations

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


class Probe:
    """Base class: override the hooks you need and `result()`."""

    def before_step(self, ctx: StepContext) -> None:
        pass

    def after_step(self, ctx: StepContext) -> None:
        pass

    def result(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Enough to continue after a resume from checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


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


def build_probes(names: tuple[str, ...]) -> dict[str, Probe]:
    return {name: PROBES.get(name)() for name in names}
