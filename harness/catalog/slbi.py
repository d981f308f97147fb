"""DessiLBI / SLBI (Fu et al., ICML 2020): sparse training, its Adam variants, and pruning.

Per conv/fc weight W the optimizer keeps an auxiliary V and a sparse structure
Gamma. With d the update direction of the loss gradient (heavy-ball momentum,
or Adam's direction in `slbi_adam`), one step is

    W     <- W - lr*kappa*d - (lr*kappa/mu) * (W - Gamma)        (old Gamma)
    V     <- V + (lr/mu) * (W_old - Gamma_old)
    Gamma <- kappa * prox(V)

with prox the elementwise soft threshold (fc, 2-D weights) or the group soft
threshold per output filter (conv, 4-D weights). Biases, BN and other 1-D
parameters take a plain step of size lr*kappa along d. The sparse model W*
is W masked by the support of Gamma. Every equation follows the official code
(DessiLBI2020/DessiLBI, `slbi_opt.py` / `slbi_toolbox.py`); facts in
../shared/notes/algorithms.md section 5.

Adam variants (not in the official code):
- form "clean" (default): Adam's bias-corrected direction m/(sqrt(v)+eps) is d.
- form "course": the course appendix code. A full Adam step (step size
  lr*kappa) on every parameter, then the SLBI step with the *raw* gradient
  (no momentum) on W, V, Gamma, and a raw-gradient SGD step on the other
  parameters; Adam's moments never touch V or Gamma.

Pruning: the support-entry record (`record_support`, called at every epoch end
by the `slbi_support` probe) gives each weight the first epoch it entered the
support of Gamma (2000 if never). Pruning by order scores a conv filter by
||W_f||_2 - (its earliest entry epoch) and an fc weight by |W_ij| - entry
epoch; pruning by magnitude (the SGD baseline) drops the entry term. Pruning
p% zeroes every filter/weight whose score is strictly below the p-th
percentile (linear interpolation, numpy's default), and a pruned filter's
bias too; `pruned(...)` restores the weights bitwise afterwards.
"""
from __future__ import annotations

import contextlib
import math
import random
from typing import Any, Iterable, Iterator, Mapping, Sequence

import torch

from .optim import OPTIMIZERS
from .probes import PROBES, EpochContext, PlannedRun, Probe

NEVER = 2000.0  # the official toolbox's "never entered the support" epoch


# ----------------------------------------------------------------------------------------------
# Proximal maps
# ----------------------------------------------------------------------------------------------

def soft_threshold(v: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Elementwise prox of lam*|.|_1: sign(v) * max(|v| - lam, 0)."""
    return v.sign() * (v.abs() - lam).clamp_min(0.0)


def group_soft_threshold(v: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Prox of lam * sum_f ||v_f||_2 over output filters f (dim 0): v_f * max(0, 1 - lam/||v_f||)."""
    norms = v.reshape(len(v), -1).norm(dim=1)
    scale = (1.0 - lam / norms.clamp_min(1e-30)).clamp_min(0.0)
    return v * scale.view(-1, *([1] * (v.ndim - 1)))


def prox(v: torch.Tensor) -> torch.Tensor:
    """The prox SLBI uses for a weight of this shape (fc: elementwise, conv: per filter)."""
    if v.ndim == 2:
        return soft_threshold(v)
    if v.ndim == 4:
        return group_soft_threshold(v)
    raise ValueError(f"SLBI has a prox for 2-D (fc) and 4-D (conv) weights, not shape {tuple(v.shape)}")


# ----------------------------------------------------------------------------------------------
# The optimizer
# ----------------------------------------------------------------------------------------------

DIRECTIONS = ("momentum", "adam")
ADAM_FORMS = ("clean", "course")


class SLBI(torch.optim.Optimizer):
    """SLBI with a momentum (default) or Adam direction.

    Built from an nn.Module (parameter names are kept, so layers can be named
    `conv3.weight`) or from plain parameters (named `param<i>`). `layers`
    limits the (W, V, Gamma) coupling to those weight names; by default every
    2-D and 4-D weight is coupled. Weight decay, if any, is added to the
    gradient of non-1-D parameters (the official code exempts 1-D and BN).
    """

    def __init__(self, model: torch.nn.Module | Iterable[torch.nn.Parameter], lr: float, *, kappa: float = 1.0,
                 mu: float = 20.0, momentum: float = 0.9, dampening: float = 0.0, weight_decay: float = 0.0,
                 direction: str = "momentum", form: str = "clean", betas: Sequence[float] = (0.9, 0.999),
                 eps: float = 1e-8, layers: Sequence[str] | None = None) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown SLBI direction {direction!r}; known: {', '.join(DIRECTIONS)}")
        if form not in ADAM_FORMS:
            raise ValueError(f"unknown SLBI-Adam form {form!r}; known: {', '.join(ADAM_FORMS)}")
        if lr <= 0 or kappa <= 0 or mu <= 0:
            raise ValueError(f"lr, kappa and mu must be positive, got {lr}, {kappa}, {mu}")
        if isinstance(model, torch.nn.Module):
            named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        else:
            named = [(f"param{i}", p) for i, p in enumerate(model)]
        if not named:
            raise ValueError("SLBI got no parameters")
        wanted = set(layers) if layers is not None else None
        if wanted is not None:
            unknown = wanted - {n for n, _ in named}
            if unknown:
                raise ValueError(f"SLBI layers {sorted(unknown)} are not parameters of the model; "
                                 f"known: {', '.join(n for n, _ in named)}")
        coupled = [(n, p) for n, p in named if p.ndim in (2, 4) and (wanted is None or n in wanted)]
        plain = [(n, p) for n, p in named if not any(p is q for _, q in coupled)]
        defaults = dict(lr=lr, kappa=kappa, mu=mu, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, direction=direction, form=form, betas=tuple(betas), eps=eps)
        groups = [{"params": [p for _, p in g], "names": [n for n, _ in g], "coupled": c}
                  for g, c in ((coupled, True), (plain, False)) if g]
        super().__init__(groups, defaults)
        for group in self.param_groups:
            if group["coupled"]:
                for p in group["params"]:
                    self.state[p]["z"] = torch.zeros_like(p)
                    self.state[p]["gamma"] = torch.zeros_like(p)

    # -- stepping -------------------------------------------------------------------------------
    # One group's parameters are updated together with torch._foreach_* ops (a few kernel launches
    # per group instead of a dozen per parameter) and in place. Each op is the one the per-parameter
    # form applies, in the same order, so the result is bitwise the same (tests/test_slbi.py).
    @torch.no_grad()
    def step(self, closure=None):  # noqa: D401 - torch API
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = self._decayed_grads(params, group)
            if group["direction"] == "adam" and group["form"] == "course":
                # the course appendix: an Adam step of size lr*kappa, then the SLBI/SGD step with the raw gradient
                torch._foreach_add_(params, self._adam_directions(params, grads, group),
                                    alpha=-group["lr"] * group["kappa"])
                self._update(params, grads, group)
                continue
            directions = self._adam_directions(params, grads, group) if group["direction"] == "adam" \
                else self._momentum_directions(params, grads, group)
            self._update(params, directions, group)
        return loss

    @staticmethod
    def _decayed_grads(params: list[torch.Tensor], group: dict) -> list[torch.Tensor]:
        """The gradients, with weight decay added to those of non-1-D parameters."""
        grads = [p.grad for p in params]
        decayed = [i for i, p in enumerate(params) if p.ndim > 1]
        if group["weight_decay"] and decayed:
            new = torch._foreach_add([grads[i] for i in decayed], [params[i] for i in decayed],
                                     alpha=group["weight_decay"])
            for i, g in zip(decayed, new):
                grads[i] = g
        return grads

    def _momentum_directions(self, params: list[torch.Tensor], grads: list[torch.Tensor],
                             group: dict) -> list[torch.Tensor]:
        """PyTorch's classic heavy-ball buffer: buf = m*buf + (1-dampening)*g, the first step buf = g."""
        if not group["momentum"]:
            return grads
        old = [i for i, p in enumerate(params) if "momentum_buffer" in self.state[p]]
        for i, (p, g) in enumerate(zip(params, grads)):
            if "momentum_buffer" not in self.state[p]:
                self.state[p]["momentum_buffer"] = g.clone()
        if old:
            buffers = [self.state[params[i]]["momentum_buffer"] for i in old]
            torch._foreach_mul_(buffers, group["momentum"])
            torch._foreach_add_(buffers, [grads[i] for i in old], alpha=1 - group["dampening"])
        return [self.state[p]["momentum_buffer"] for p in params]

    def _adam_directions(self, params: list[torch.Tensor], grads: list[torch.Tensor],
                         group: dict) -> list[torch.Tensor]:
        """Bias-corrected m_hat / (sqrt(v_hat) + eps), as torch.optim.Adam computes it."""
        beta1, beta2 = group["betas"]
        by_step: dict[int, list[int]] = {}
        for i, p in enumerate(params):
            state = self.state[p]
            if "exp_avg" not in state:
                state["adam_step"] = 0
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
            state["adam_step"] += 1
            by_step.setdefault(state["adam_step"], []).append(i)
        out: list[torch.Tensor] = [grads[0]] * len(params)
        for t, index in by_step.items():  # one list unless some parameter skipped steps
            m = [self.state[params[i]]["exp_avg"] for i in index]
            v = [self.state[params[i]]["exp_avg_sq"] for i in index]
            g = [grads[i] for i in index]
            torch._foreach_mul_(m, beta1)
            torch._foreach_add_(m, g, alpha=1 - beta1)
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, g, g, value=1 - beta2)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, math.sqrt(1 - beta2 ** t))
            torch._foreach_add_(denom, group["eps"])
            d = torch._foreach_div(m, denom)
            torch._foreach_div_(d, 1 - beta1 ** t)
            for i, di in zip(index, d):
                out[i] = di
        return out

    def _update(self, params: list[torch.Tensor], directions: list[torch.Tensor], group: dict) -> None:
        step = group["lr"] * group["kappa"]
        if not group["coupled"]:
            torch._foreach_add_(params, directions, alpha=-step)
            return
        gammas = [self.state[p]["gamma"] for p in params]
        zs = [self.state[p]["z"] for p in params]
        diffs = torch._foreach_sub(params, gammas)  # W_old - Gamma_old
        torch._foreach_add_(params, directions, alpha=-step)
        torch._foreach_add_(params, diffs, alpha=-step / group["mu"])
        torch._foreach_add_(zs, diffs, alpha=group["lr"] / group["mu"])
        for z, gamma in zip(zs, gammas):
            torch.mul(prox(z), group["kappa"], out=gamma)

    # -- the sparse structure -----------------------------------------------------------------------
    def coupled(self) -> Iterator[tuple[str, torch.Tensor]]:
        """(name, weight) of every weight with a Gamma."""
        for group in self.param_groups:
            if group["coupled"]:
                yield from zip(group["names"], group["params"])

    def gamma(self, name: str) -> torch.Tensor:
        return self.state[self._coupled_param(name)]["gamma"]

    def support(self, name: str) -> torch.Tensor:
        """Boolean mask of the support of Gamma (per weight; a conv filter enters as a whole)."""
        return self.gamma(name) != 0

    def sparse_weights(self) -> dict[str, torch.Tensor]:
        """W* = W masked by the support of Gamma, per coupled weight."""
        return {n: p.detach() * self.support(n) for n, p in self.coupled()}

    def support_fraction(self, name: str) -> float:
        """Share of filters (conv) or weights (fc) in the support of Gamma."""
        mask = self.support(name)
        if mask.ndim == 4:
            mask = mask.reshape(len(mask), -1).any(dim=1)
        return mask.float().mean().item()

    def record_support(self, epoch: int) -> None:
        """Remember, per weight, the first epoch at which it was in the support (official update_prune_order)."""
        for name, p in self.coupled():
            state = self.state[p]
            if "entry_epoch" not in state:
                state["entry_epoch"] = torch.full_like(p, NEVER)
            now = torch.where(state["gamma"] != 0, torch.full_like(p, float(epoch)), torch.full_like(p, NEVER))
            torch.minimum(state["entry_epoch"], now, out=state["entry_epoch"])

    def entry_epochs(self, name: str) -> torch.Tensor | None:
        """Per weight (fc) or per filter (conv, its earliest entry) the recorded entry epoch; None before any record."""
        record = self.state[self._coupled_param(name)].get("entry_epoch")
        if record is None:
            return None
        return record.reshape(len(record), -1).amin(dim=1) if record.ndim == 4 else record

    def _coupled_param(self, name: str) -> torch.Tensor:
        for n, p in self.coupled():
            if n == name:
                return p
        raise KeyError(f"{name!r} is not an SLBI-coupled weight; coupled: {', '.join(n for n, _ in self.coupled())}")


def _slbi_factory(direction: str, default_form: str = "clean"):
    def factory(model, lr: float, form: str = default_form, **kwargs: Any) -> SLBI:
        if direction == "momentum" and ("betas" in kwargs or "eps" in kwargs or form != "clean"):
            raise TypeError("betas, eps and form belong to slbi_adam, not slbi")
        return SLBI(model, lr, direction=direction, form=form, **kwargs)

    factory.takes_module = True
    factory.__doc__ = f"SLBI with the {direction} direction (needs the module for layer names)."
    return factory


OPTIMIZERS.add("slbi", _slbi_factory("momentum"))
OPTIMIZERS.add("slbi_adam", _slbi_factory("adam"))


# ----------------------------------------------------------------------------------------------
# Pruning
# ----------------------------------------------------------------------------------------------

def magnitude_scores(weight: torch.Tensor) -> torch.Tensor:
    """Per conv filter ||W_f||_2, per fc weight |W_ij| (float64)."""
    w = weight.detach().double()  # float64: scores sit near -2000 after the entry term, where float32 ties
    return w.reshape(len(w), -1).norm(dim=1) if w.ndim == 4 else w.abs()


def order_scores(optimizer: SLBI, name: str, weight: torch.Tensor) -> torch.Tensor:
    """Magnitude minus the epoch of entry into Gamma's support (official prune order)."""
    entry = optimizer.entry_epochs(name)
    if entry is None:
        raise ValueError(f"pruning by order needs the support-entry record of {name}: "
                         f"add the 'slbi_support' probe (it records at every epoch end)")
    return magnitude_scores(weight) - entry.double()


def percentile(scores: torch.Tensor, percent: float) -> float:
    """numpy.percentile with linear interpolation."""
    flat = scores.detach().flatten().double().sort().values
    pos = (len(flat) - 1) * percent / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return (flat[lo] + (flat[hi] - flat[lo]) * (pos - lo)).item()


def prune_mask(scores: torch.Tensor, percent: float) -> torch.Tensor:
    """True where the score is strictly below the percent-th percentile (pruned)."""
    if not 0 <= percent <= 100:
        raise ValueError(f"pruning ratio must be in [0, 100] percent, got {percent}")
    return scores.double() < percentile(scores, percent)


@contextlib.contextmanager
def pruned(model: torch.nn.Module, layers: Sequence[str], percent: float, *, method: str = "magnitude",
           optimizer: SLBI | None = None, prune_bias: bool = True) -> Iterator[dict[str, int]]:
    """Zero the lowest-scoring percent of filters/weights of each layer; restore bitwise on exit.

    Yields {layer: number of filters (conv) or weights (fc) pruned}.
    """
    params = dict(model.named_parameters())
    missing = [n for n in layers if n not in params]
    if missing:
        raise KeyError(f"layers {missing} are not parameters of the model; known: {', '.join(params)}")
    if method == "order" and not isinstance(optimizer, SLBI):
        raise ValueError("pruning by order needs the SLBI optimizer that trained the model")
    if method not in ("order", "magnitude"):
        raise ValueError(f"unknown pruning method {method!r}; known: order, magnitude")
    saved: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    try:
        with torch.no_grad():
            for name in layers:
                weight = params[name]
                scores = order_scores(optimizer, name, weight) if method == "order" else magnitude_scores(weight)
                mask = prune_mask(scores, percent)
                counts[name] = int(mask.sum())
                saved[name] = weight.detach().clone()
                weight[mask] = 0.0  # a conv mask is per filter: indexing dim 0 zeroes whole filters
                bias_name = name.rsplit(".", 1)[0] + ".bias"
                if prune_bias and weight.ndim == 4 and bias_name in params:
                    saved[bias_name] = params[bias_name].detach().clone()
                    params[bias_name][mask] = 0.0
        yield counts
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)


# ----------------------------------------------------------------------------------------------
# Probes
# ----------------------------------------------------------------------------------------------

def _slbi_of(ctx: EpochContext) -> SLBI:
    if not isinstance(ctx.optimizer, SLBI):
        raise ValueError(f"this probe needs the slbi or slbi_adam optimizer, got {type(ctx.optimizer).__name__}")
    return ctx.optimizer


@PROBES.register("slbi_support")
class SupportRecord(Probe):
    """At every epoch end: record support entries in the optimizer (for pruning by order) and log,
    per coupled layer, the share of filters/weights in the support of Gamma."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.share: dict[str, list[float]] = {}

    def after_epoch(self, ctx: EpochContext) -> None:
        opt = _slbi_of(ctx)
        opt.record_support(ctx.epoch - 1)  # 0-based epoch index, as the official train script passes it
        self.epochs.append(ctx.epoch)
        for name, _ in opt.coupled():
            self.share.setdefault(name, []).append(opt.support_fraction(name))

    def after_training(self, ctx: EpochContext) -> None:
        opt = _slbi_of(ctx)
        self.entry = {n: opt.entry_epochs(n).tolist() for n, p in opt.coupled() if p.ndim == 4
                      and opt.entry_epochs(n) is not None}

    def result(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "support_share": self.share, "filter_entry_epoch": getattr(self, "entry", {})}

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.epochs), "share": {k: list(v) for k, v in self.share.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = list(state["epochs"])
        self.share = {k: list(v) for k, v in state["share"].items()}

    def placeholder(self, run: PlannedRun, rng: random.Random) -> dict[str, Any]:
        epochs = list(range(1, run.epochs + 1))
        return {"epochs": epochs, "support_share": {"placeholder.weight": [rng.random() for _ in epochs]},
                "filter_entry_epoch": {"placeholder.weight": [rng.randint(0, run.epochs - 1)]}}


DEFAULT_RATIOS = (0, 10, 20, 30, 40, 50, 60, 70, 80)


@PROBES.register("prune_curve")
class PruneCurve(Probe):
    """After training: test accuracy with p% of each layer set pruned, for every ratio; weights restored.

    `sets` maps a label to the weight names pruned together (the official
    prune_layer_by_order_by_list prunes each listed layer at the same percent);
    `method` is "order" (SLBI) or "magnitude" (the baseline).
    """

    def __init__(self, sets: Mapping[str, Sequence[str]] | None = None, ratios: Sequence[float] = DEFAULT_RATIOS,
                 method: str = "order", prune_bias: bool = True) -> None:
        if method not in ("order", "magnitude"):
            raise ValueError(f"unknown pruning method {method!r}; known: order, magnitude")
        self.sets = {k: list(v) for k, v in (sets or {"conv3": ["conv3.weight"]}).items()}
        self.ratios = [float(r) for r in ratios]
        self.method, self.prune_bias = method, prune_bias
        self.curves: dict[str, list[float]] = {}
        self.pruned: dict[str, list[dict[str, int]]] = {}
        self.unpruned: float | None = None

    def after_training(self, ctx: EpochContext) -> None:
        opt = ctx.optimizer if self.method == "order" else None
        if self.method == "order":
            _slbi_of(ctx)
        self.unpruned = ctx.evaluate()[1]
        for label, layers in self.sets.items():
            self.curves[label], self.pruned[label] = [], []
            for ratio in self.ratios:
                with pruned(ctx.model, layers, ratio, method=self.method, optimizer=opt,
                            prune_bias=self.prune_bias) as counts:
                    self.curves[label].append(ctx.evaluate()[1])
                self.pruned[label].append(counts)

    def result(self) -> dict[str, Any]:
        return {"method": self.method, "ratios": self.ratios, "unpruned": self.unpruned,
                "accuracy": self.curves, "pruned": self.pruned}

    def placeholder(self, run: PlannedRun, rng: random.Random) -> dict[str, Any]:
        unpruned = rng.uniform(0.9, 0.99)
        return {"method": self.method, "ratios": list(self.ratios), "unpruned": unpruned,
                "accuracy": {label: [unpruned - 0.001 * r * rng.random() for r in self.ratios] for label in self.sets},
                "pruned": {label: [{layer: 0 for layer in layers} for _ in self.ratios]
                           for label, layers in self.sets.items()}}


@PROBES.register("conv_weights")
class ConvWeights(Probe):
    """After training: how sparse a conv layer's weights are, and its 5x5-kernel norms for the figure.

    near_zero_share: share of the layer's weights with |w| < `threshold`;
    kernel_norms: L2 norm of each (output filter, input channel) kernel;
    support_share (SLBI only): share of filters in the support of Gamma,
    i.e. the filters the sparse model W* keeps.
    """

    def __init__(self, layer: str = "conv3.weight", threshold: float = 0.01) -> None:
        self.layer, self.threshold = layer, threshold
        self.summary: dict[str, Any] = {}

    def after_training(self, ctx: EpochContext) -> None:
        w = dict(ctx.model.named_parameters())[self.layer].detach().float().cpu()
        kernels = w.reshape(w.shape[0], w.shape[1], -1).norm(dim=2)
        self.summary = {
            "layer": self.layer, "threshold": self.threshold,
            "near_zero_share": (w.abs() < self.threshold).float().mean().item(),
            "mean_abs": w.abs().mean().item(),
            "kernel_norms": [[round(v, 6) for v in row] for row in kernels.tolist()],
        }
        if isinstance(ctx.optimizer, SLBI) and any(n == self.layer for n, _ in ctx.optimizer.coupled()):
            self.summary["support_share"] = ctx.optimizer.support_fraction(self.layer)

    def result(self) -> dict[str, Any]:
        return self.summary

    def placeholder(self, run: PlannedRun, rng: random.Random) -> dict[str, Any]:
        out_channels, in_channels = dict(run.meta_model().named_parameters())[self.layer].shape[:2]
        out = {"layer": self.layer, "threshold": self.threshold, "near_zero_share": rng.random(),
               "mean_abs": rng.random(), "kernel_norms": [[rng.random() for _ in range(in_channels)]
                                                          for _ in range(out_channels)]}
        if run.optimizer.startswith("slbi"):
            out["support_share"] = rng.random()
        return out
