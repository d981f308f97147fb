"""Probes of "How does BatchNorm help optimization?" (Santurkar et al. 2018) and the course's version of it.

Two families, both recorded per training step without changing the trajectory:

* `grad_change` -- the course definitions (reports 000/002/003), trajectory based, on the
  weight gradient g_s of the model's LAST Linear layer at step s:
    grad_diff[s] = ||g_(s+1) - g_s||                     (gradient predictiveness; "d_(s+1)")
    beta_lr[s]   = ||g_(s+1) - g_s|| / (lr_s ||g_s||)    (the reports' effective beta, SGD form)
    beta_w[s]    = ||g_(s+1) - g_s|| / ||w_(s+1) - w_s|| (the form report 003 gives for Adam;
                                                         w is the same layer's weight)
  Only reads gradients and weights, so it cannot perturb training.
* `line_search` -- the paper definitions: at step s, with w the weights and g the full-model
  gradient of the current mini-batch, for eta = f * lr over the factors f (default 0.5..4):
    loss[s][k]      = L(w - eta_k g)
    grad_diff[s][k] = ||grad L(w - eta_k g) - g||
    beta[s][k]      = ||grad L(w - eta_k g) - g|| / ||eta_k g||
  (all parameters, the same mini-batch, training mode so BN uses batch statistics). The
  perturbed forward/backward runs through `torch.func.functional_call` on new parameter
  tensors and *cloned* buffers, with `autograd.grad` (no `.grad` is touched), and the RNG
  state is restored afterwards: weights, BN running statistics, gradients, optimizer state
  and RNG are exactly as before.

Both take `every` (record one step in `every`, default 1). Values stay on the device until
`result()`/`state_dict()` (no host sync per step). Band statistics over learning rates are in
`harness/claim/bands.py`.
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import torch
from torch.func import functional_call

from .probes import PROBES, PlannedRun, Probe, StepContext, placeholder_curve

DEFAULT_ETA_FACTORS = (0.5, 1.0, 2.0, 3.0, 4.0)


def last_linear(model: torch.nn.Module) -> torch.nn.Linear:
    """The last nn.Linear in module order (VGG-A: classifier's 512->10, 'the last linear layer')."""
    found = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not found:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer for the gradient probes")
    return found[-1]


def layer_input_change(model: torch.nn.Module, layer: torch.nn.Module, images: torch.Tensor, factor: float) -> float:
    """Relative L2 change of `layer`'s input when the images are scaled by `factor`: what BatchNorm's
    normalization is said to fix (reports 003 and 004 cite it). Training mode, so BN normalizes with the
    batch's own statistics, as it does while training; no gradient, nothing trained."""
    seen: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda _module, args: seen.append(args[0].detach()))
    model.train()
    try:
        with torch.no_grad():
            model(images)
            model(images * factor)
    finally:
        hook.remove()
    before, after = seen
    return float((after - before).norm() / before.norm())


def _check_every(every: Any) -> int:
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"probe argument every must be a positive integer, got {every!r}")
    return every


class _Series:
    """Per-step scalars kept on the device, moved to the host in one go."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.pending: dict[str, list[torch.Tensor]] = {n: [] for n in self.names}
        self.done: dict[str, list[Any]] = {n: [] for n in self.names}
        self.steps: list[int] = []

    def add(self, step: int, **values: torch.Tensor) -> None:
        self.steps.append(step)
        for name in self.names:
            self.pending[name].append(values[name].detach().float())

    def flush(self) -> None:
        for name, items in self.pending.items():
            if items:
                self.done[name].extend(torch.stack(items).cpu().tolist())
                self.pending[name] = []

    def result(self) -> dict[str, list[Any]]:
        self.flush()
        return {"step": list(self.steps), **{n: list(v) for n, v in self.done.items()}}

    def load(self, state: dict[str, list[Any]]) -> None:
        self.steps = list(state["step"])
        self.done = {n: list(state[n]) for n in self.names}
        self.pending = {n: [] for n in self.names}


@PROBES.register("grad_change")
class GradChange(Probe):
    """Course definitions: change of the last Linear layer's weight gradient between consecutive steps."""

    needs_fp32 = True  # differences of consecutive steps' gradients

    def __init__(self, every: int = 1) -> None:
        self.every = _check_every(every)
        self.series = _Series(("grad_diff", "beta_lr", "beta_w", "grad_norm"))
        self.layer: torch.nn.Linear | None = None
        self.prev: dict[str, Any] | None = None  # g_s, lr_s, ||w_(s+1) - w_s|| of the step before
        self.w_before: torch.Tensor | None = None

    def before_step(self, ctx: StepContext) -> None:
        if self.layer is None:
            self.layer = last_linear(ctx.model)
        g = self.layer.weight.grad.detach().float().clone()
        prev = self.prev
        if prev is not None and prev["grad"].device != g.device:  # resumed from a checkpoint (saved on the CPU)
            prev = self.prev = {k: (v.to(g.device) if torch.is_tensor(v) else v) for k, v in prev.items()}
        if prev is not None and prev["step"] == ctx.step - 1 and prev["step"] % self.every == 0:
            diff = torch.linalg.vector_norm(g - prev["grad"])
            self.series.add(prev["step"], grad_diff=diff, beta_lr=diff / (prev["lr"] * prev["grad_norm"]),
                            beta_w=diff / prev["dw_norm"], grad_norm=prev["grad_norm"])
        self.prev = {"step": ctx.step, "grad": g, "lr": ctx.lr, "grad_norm": torch.linalg.vector_norm(g)}
        self.w_before = self.layer.weight.detach().float().clone()

    def after_step(self, ctx: StepContext) -> None:
        self.prev["dw_norm"] = torch.linalg.vector_norm(self.layer.weight.detach().float() - self.w_before)
        self.w_before = None

    def result(self) -> dict[str, Any]:
        return {"definition": "last Linear weight gradient; index s pairs steps s and s+1", "every": self.every,
                **self.series.result()}

    def state_dict(self) -> dict[str, Any]:
        prev = None if self.prev is None else {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in self.prev.items()}
        return {"series": self.series.result(), "prev": prev}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.series.load(state["series"])
        self.prev = state["prev"]

    def placeholder(self, run: PlannedRun, rng: random.Random) -> dict[str, Any]:
        steps = [s for s in range(run.steps_per_epoch * run.epochs - 1) if s % self.every == 0]
        return {"definition": "placeholder", "every": self.every, "step": steps,
                **{name: [abs(v) for v in placeholder_curve(rng, len(steps), 1.0, 0.1, noise=0.05)]
                   for name in self.series.names}}


@PROBES.register("line_search")
class LineSearch(Probe):
    """Paper definitions: loss and gradient along the current full-model gradient, eta in factors x lr."""

    needs_fp32 = True  # loss and gradient differences along a line search

    def __init__(self, every: int = 1, eta_factors: Sequence[float] = DEFAULT_ETA_FACTORS) -> None:
        self.every = _check_every(every)
        self.eta_factors = tuple(float(f) for f in eta_factors)
        if not self.eta_factors or any(f <= 0 for f in self.eta_factors):
            raise ValueError(f"eta_factors must be positive multiples of the lr, got {eta_factors!r}")
        self.series = _Series(("loss", "grad_diff", "beta", "grad_norm"))

    def before_step(self, ctx: StepContext) -> None:
        if ctx.step % self.every:
            return
        model = ctx.model
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.grad is not None]
        grads = [p.grad.detach() for _, p in named]
        g_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        losses, diffs, betas = [], [], []
        try:
            for factor in self.eta_factors:
                eta = factor * ctx.lr
                moved = {n: (p.detach() - eta * g).requires_grad_(True) for (n, p), g in zip(named, grads)}
                buffers = {n: b.detach().clone() for n, b in model.named_buffers()}  # BN updates go to the copies
                out = functional_call(model, {**moved, **buffers}, (ctx.inputs,))
                loss = ctx.loss_fn(out.float(), ctx.labels)
                new_grads = torch.autograd.grad(loss, list(moved.values()))
                diff = torch.linalg.vector_norm(torch.stack(
                    [torch.linalg.vector_norm((a - b).float()) for a, b in zip(new_grads, grads)]))
                losses.append(loss.detach())
                diffs.append(diff)
                betas.append(diff / (eta * g_norm))
        finally:
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        self.series.add(ctx.step, loss=torch.stack(losses), grad_diff=torch.stack(diffs), beta=torch.stack(betas),
                        grad_norm=g_norm)

    def result(self) -> dict[str, Any]:
        return {"definition": "Santurkar et al. 2018 line search along the full-model gradient",
                "every": self.every, "eta_factors": list(self.eta_factors), **self.series.result()}

    def state_dict(self) -> dict[str, Any]:
        return {"series": self.series.result()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.series.load(state["series"])

    def placeholder(self, run: PlannedRun, rng: random.Random) -> dict[str, Any]:
        factors = list(self.eta_factors)
        steps = list(range(0, run.steps_per_epoch * run.epochs, self.every))

        def rows(base: float) -> list[list[float]]:
            return [[base * (1 + f) * rng.uniform(0.5, 1.5) for f in factors] for _ in steps]

        return {"definition": "placeholder", "every": self.every, "eta_factors": factors, "step": steps,
                "loss": rows(1.0), "grad_diff": rows(0.5), "beta": rows(2.0),
                "grad_norm": [rng.uniform(0.5, 1.5) for _ in steps]}
