"""Optimizers and learning-rate schedules by name, with the arguments a Spec carries.

A Schedule hides the three stepping conventions (per batch, per epoch, per
epoch on a monitored metric) behind two calls the training loop makes.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from .registry import Registry

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")
for _name, _cls in {
    "sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax, "rmsprop": torch.optim.RMSprop,
}.items():
    OPTIMIZERS.add(_name, _cls)


# torch optimizers with a fused CUDA implementation (since torch 2.3): one kernel for the whole update.
FUSED_CAPABLE = frozenset({"sgd", "adam", "adamw"})


def build_optimizer(name: str, model: torch.nn.Module | Iterable[torch.nn.Parameter], lr: float,
                    fused: bool = False, **kwargs: Any) -> torch.optim.Optimizer:
    """A registered optimizer for `model` (optimizers that need layer structure, like SLBI,
    are registered as factories taking the module itself; the rest get its parameters).

    `fused` asks for torch's fused update where the optimizer has one; the update is the
    same computation, so it is a speed setting, not part of the recipe.
    """
    factory = OPTIMIZERS.get(name)
    if fused and name in FUSED_CAPABLE:
        kwargs.setdefault("fused", True)
    needs_module = getattr(factory, "takes_module", False)
    if isinstance(model, torch.nn.Module) and not needs_module:
        model = model.parameters()
    try:
        return factory(model, lr=lr, **kwargs)
    except TypeError as exc:
        raise ValueError(f"optimizer {name!r} rejected its arguments {kwargs}: {exc}") from None


class Schedule:
    """Uniform stepping: `after_batch()` every step, `after_epoch(metrics)` every epoch."""

    per_batch = False
    monitor: str | None = None

    def __init__(self, scheduler: Any | None) -> None:
        self.scheduler = scheduler

    def after_batch(self) -> None:
        if self.per_batch:
            self.scheduler.step()

    def after_epoch(self, metrics: dict[str, float]) -> None:
        if self.scheduler is None or self.per_batch:
            return
        if self.monitor:
            self.scheduler.step(metrics[self.monitor])
        else:
            self.scheduler.step()

    def state_dict(self) -> dict:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)


SCHEDULES: Registry[Callable[..., Schedule]] = Registry("schedule")


@SCHEDULES.register("constant")
def constant(optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int) -> Schedule:
    return Schedule(None)


@SCHEDULES.register("step")
def step(optimizer, epochs, steps_per_epoch, step_size: int = 30, gamma: float = 0.1) -> Schedule:
    return Schedule(torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma))


@SCHEDULES.register("multistep")
def multistep(optimizer, epochs, steps_per_epoch, milestones=(), gamma: float = 0.1) -> Schedule:
    return Schedule(torch.optim.lr_scheduler.MultiStepLR(optimizer, list(milestones), gamma))


@SCHEDULES.register("cosine")
def cosine(optimizer, epochs, steps_per_epoch, eta_min: float = 0.0) -> Schedule:
    """Cosine annealing over the whole run (T_max = epochs), stepped per epoch."""
    return Schedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=eta_min))


@SCHEDULES.register("cosine_steps")
def cosine_steps(optimizer, epochs, steps_per_epoch, t_max: int = 200, eta_min: float = 0.0) -> Schedule:
    """torch's CosineAnnealingLR stepped after every batch, `t_max` counted in steps.

    Past `t_max` steps the rate climbs back along the same cosine (torch's closed form has
    period 2 * t_max), so a run longer than t_max steps cycles between lr and eta_min.
    """
    if t_max < 1:
        raise ValueError(f"t_max must be a positive number of steps, got {t_max}")
    sched = Schedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min))
    sched.per_batch = True
    return sched


@SCHEDULES.register("plateau")
def plateau(optimizer, epochs, steps_per_epoch, monitor: str = "test_loss", factor: float = 0.1,
            patience: int = 10, min_lr: float = 0.0, mode: str | None = None) -> Schedule:
    """ReduceLROnPlateau on a per-epoch metric (`monitor`: test_loss, test_acc, train_loss, ...)."""
    mode = mode or ("max" if monitor.endswith("acc") else "min")
    sched = Schedule(torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=mode, factor=factor, patience=patience, min_lr=min_lr))
    sched.monitor = monitor
    return sched


@SCHEDULES.register("cyclic")
def cyclic(optimizer, epochs, steps_per_epoch, base_lr: float = 1e-4, max_lr: float = 0.1,
           step_size_up_epochs: float = 2.0, mode: str = "triangular") -> Schedule:
    """CyclicLR stepped per batch; half-cycle length given in epochs."""
    up = max(1, int(step_size_up_epochs * steps_per_epoch))
    momentum = "momentum" in optimizer.defaults and optimizer.defaults.get("momentum", 0) > 0
    sched = Schedule(torch.optim.lr_scheduler.CyclicLR(
        optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=up, mode=mode, cycle_momentum=momentum))
    sched.per_batch = True
    return sched


def build_schedule(name: str, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                   **kwargs: Any) -> Schedule:
    factory = SCHEDULES.get(name)
    try:
        return factory(optimizer, epochs, steps_per_epoch, **kwargs)
    except TypeError as exc:
        raise ValueError(f"schedule {name!r} rejected its arguments {kwargs}: {exc}") from None
