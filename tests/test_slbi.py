"""SLBI: prox operators, update equations, Adam forms, sparse recovery, pruning, probes."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.catalog.optim import OPTIMIZERS, build_optimizer
from harness.catalog.probes import PROBES, EpochContext
from harness.catalog.slbi import (SLBI, group_soft_threshold, magnitude_scores, order_scores, percentile, prox,
                                  prune_mask, pruned, soft_threshold)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


# -- prox operators, against hand-computed cases -------------------------------------------------

def test_soft_threshold_by_hand():
    v = torch.tensor([[2.5, -0.5, -3.0], [1.0, 0.0, -1.25]])
    expected = torch.tensor([[1.5, 0.0, -2.0], [0.0, 0.0, -0.25]])
    assert torch.equal(soft_threshold(v), expected)


def test_group_soft_threshold_by_hand():
    v = torch.zeros(3, 1, 2, 2)
    v[0, 0] = torch.tensor([[3.0, 4.0], [0.0, 0.0]])  # norm 5: scaled by 1 - 1/5
    v[1, 0] = torch.tensor([[0.3, 0.4], [0.0, 0.0]])  # norm 0.5 < 1: whole filter zero
    # v[2] is all zero: stays zero, no NaN
    out = group_soft_threshold(v)
    assert torch.allclose(out[0, 0], torch.tensor([[2.4, 3.2], [0.0, 0.0]]))
    assert torch.equal(out[1], torch.zeros(1, 2, 2)) and torch.equal(out[2], torch.zeros(1, 2, 2))
    assert torch.isfinite(out).all()


# -- the update equations --------------------------------------------------------------------------

def _tiny():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    x, y = torch.randn(4, 2, 1, 1), torch.tensor([0, 1, 1, 0])
    return net, x, y


def _grads(net, x, y):
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return {n: p.grad.clone() for n, p in net.named_parameters()}


def test_three_momentum_steps_follow_the_equations():
    net, x, y = _tiny()
    lr, kappa, mu, m = 0.5, 2.0, 0.3, 0.9  # lr/mu large: part of each Gamma leaves zero by step 2
    opt = build_optimizer("slbi", net, lr, kappa=kappa, mu=mu, momentum=m)
    w = {n: p.detach().clone() for n, p in net.named_parameters()}
    z = {n: torch.zeros_like(p) for n, p in w.items() if p.ndim > 1}
    gamma = dict((n, torch.zeros_like(p)) for n, p in z.items())
    buf, partial = {}, []
    for _ in range(3):
        g = _grads(net, x, y)
        opt.step()
        partial.append(all(opt.support(n).any() and not opt.support(n).all() for n in z))
        for n in w:
            buf[n] = g[n] if n not in buf else m * buf[n] + g[n]
            if n in z:
                old = w[n]
                w[n] = old - lr * kappa * buf[n] - lr * kappa / mu * (old - gamma[n])
                z[n] = z[n] + lr / mu * (old - gamma[n])
                shrink = soft_threshold if old.ndim == 2 else group_soft_threshold
                gamma[n] = kappa * shrink(z[n])
            else:
                w[n] = w[n] - lr * kappa * buf[n]
    for n, p in net.named_parameters():
        assert torch.allclose(p, w[n], atol=1e-5), n
    for n in z:
        assert torch.allclose(opt.gamma(n), gamma[n], atol=1e-6)
    assert partial[1], "step 3 should start from a Gamma that is partly zero, partly not (both prox branches)"
    star = opt.sparse_weights()
    assert torch.equal(star["2.weight"], net[2].weight.detach() * (opt.gamma("2.weight") != 0))


def test_plain_parameters_step_like_torch_sgd_and_adam():
    """Biases (1-D) take lr*kappa steps along d: torch's SGD with momentum, or torch's Adam (clean form)."""
    for name, ref, kwargs in (("slbi", torch.optim.SGD, {"momentum": 0.9}), ("slbi_adam", torch.optim.Adam, {})):
        a, b = torch.nn.Parameter(torch.tensor([1.0, -2.0])), torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        opt = build_optimizer(name, [a], 0.05, kappa=2.0, **kwargs)
        ref_opt = ref([b], lr=0.1, **kwargs)
        for _ in range(5):
            for p, o in ((a, opt), (b, ref_opt)):
                o.zero_grad()
                (p ** 3).sum().backward()
                o.step()
        assert torch.allclose(a, b, atol=1e-6), name


def test_course_form_is_an_adam_step_then_a_raw_gradient_step():
    a = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = build_optimizer("slbi_adam", [a], 0.1, form="course")
    (a ** 2).sum().backward()
    g = a.grad.clone()
    opt.step()
    after_adam = torch.tensor([1.0, -2.0]) - 0.1 * g / (g.abs() + 1e-8)  # Adam's first step is lr*sign(g)
    assert torch.allclose(a, after_adam - 0.1 * g, atol=1e-6)


def test_course_and_clean_forms_differ_and_unknown_form_is_rejected():
    outs = {}
    for form in ("clean", "course"):
        net, x, y = _tiny()
        opt = build_optimizer("slbi_adam", net, 0.01, form=form)
        _grads(net, x, y)
        opt.step()
        outs[form] = net[2].weight.detach().clone()
    assert not torch.equal(outs["clean"], outs["course"])
    with pytest.raises(ValueError, match="form"):
        build_optimizer("slbi_adam", _tiny()[0], 0.01, form="fancy")
    with pytest.raises(ValueError, match="rejected"):
        build_optimizer("slbi", _tiny()[0], 0.01, betas=(0.9, 0.99))


def test_slbi_factories_take_the_module():
    assert OPTIMIZERS.get("slbi").takes_module and OPTIMIZERS.get("slbi_adam").takes_module
    net, _, _ = _tiny()
    opt = build_optimizer("slbi", net, 0.1)
    assert [n for n, _ in opt.coupled()] == ["0.weight", "2.weight"]
    only = build_optimizer("slbi", net, 0.1, layers=["2.weight"])
    assert [n for n, _ in only.coupled()] == ["2.weight"]
    with pytest.raises(ValueError, match="not parameters"):
        build_optimizer("slbi", net, 0.1, layers=["conv9.weight"])


def test_state_dict_round_trip_continues_identically():
    net, x, y = _tiny()
    opt = build_optimizer("slbi", net, 0.5, kappa=2.0, mu=4.0)
    for _ in range(3):
        _grads(net, x, y)
        opt.step()
    opt.record_support(0)
    twin, _, _ = _tiny()
    twin.load_state_dict(net.state_dict())
    twin_opt = build_optimizer("slbi", twin, 0.5, kappa=2.0, mu=4.0)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # as from a checkpoint file
    for model, o in ((net, opt), (twin, twin_opt)):
        _grads(model, x, y)
        o.step()
    for (n, p), q in zip(net.named_parameters(), twin.parameters()):
        assert torch.equal(p, q), n
    assert torch.equal(opt.entry_epochs("0.weight"), twin_opt.entry_epochs("0.weight"))


# -- sparse recovery -------------------------------------------------------------------------------

def test_recovers_a_known_sparse_linear_model():
    """Noise-free regression on 3 of 20 features: Gamma's support is exactly those 3, and W* equals the truth."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(200, 20, generator=gen)
    truth = torch.zeros(1, 20)
    truth[0, [2, 7, 11]] = torch.tensor([3.0, -2.0, 1.5])
    y = x @ truth.T
    lin = torch.nn.Linear(20, 1, bias=False)
    opt = SLBI(lin, lr=0.01, kappa=10, mu=1.0, momentum=0.0)
    first_entry = {}
    for t in range(600):
        opt.zero_grad()
        (0.5 * ((lin(x) - y) ** 2).mean()).backward()
        opt.step()
        for i in opt.support("weight")[0].nonzero().flatten().tolist():
            first_entry.setdefault(i, t)
    assert sorted(first_entry) == [2, 7, 11]
    assert first_entry[2] < first_entry[7] < first_entry[11], "strong signals enter the support first"
    assert torch.allclose(opt.sparse_weights()["weight"], truth, atol=1e-3)


def test_recovers_the_active_filters_of_a_conv_layer():
    """Targets that depend on 2 of 6 output filters: the group prox selects exactly those filters."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(256, 4, 1, 1, generator=gen)
    truth = torch.zeros(6, 4, 1, 1)
    truth[1] = torch.tensor([2.0, -1.0, 0.5, 1.0]).view(4, 1, 1)
    truth[4] = torch.tensor([-1.5, 0.0, 2.0, 0.5]).view(4, 1, 1)
    y = torch.nn.functional.conv2d(x, truth)
    conv = torch.nn.Conv2d(4, 6, 1, bias=False)
    opt = SLBI(conv, lr=0.01, kappa=10, mu=1.0, momentum=0.0)
    for _ in range(1000):
        opt.zero_grad()
        (0.5 * ((conv(x) - y) ** 2).sum(dim=1).mean()).backward()
        opt.step()
    kept = opt.support("weight").reshape(6, -1).any(dim=1).nonzero().flatten().tolist()
    assert kept == [1, 4]
    assert torch.allclose(opt.sparse_weights()["weight"], truth, atol=1e-3)


# -- pruning -------------------------------------------------------------------------------------

def test_percentile_matches_numpy_linear_interpolation():
    scores = torch.randn(37, generator=torch.Generator().manual_seed(2))
    for p in (0, 7.5, 10, 33, 50, 80, 100):
        assert percentile(scores, p) == pytest.approx(float(np.percentile(scores.numpy(), p)), rel=1e-6)


@pytest.mark.parametrize("percent", [0, 10, 20, 30, 40, 50, 60, 70, 80])
def test_pruning_zeroes_exactly_p_percent_of_120_filters(percent):
    torch.manual_seed(3)
    conv = torch.nn.Conv2d(16, 120, 5)
    model = torch.nn.Sequential(conv)
    with pruned(model, ["0.weight"], percent) as counts:
        zero_filters = (conv.weight.reshape(120, -1).abs().sum(dim=1) == 0)
        assert counts["0.weight"] == zero_filters.sum().item() == 120 * percent // 100
        assert torch.equal(conv.bias[zero_filters], torch.zeros(int(zero_filters.sum())))
        norms = magnitude_scores(conv.weight)
        assert zero_filters.sum() == 0 or norms[~zero_filters].min() > 0


def test_pruning_restores_bitwise_even_after_an_error():
    torch.manual_seed(4)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 4, 5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pruned(model, ["0.weight", "2.weight"], 60):
        assert (model[2].weight == 0).float().mean() >= 0.59
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    with pytest.raises(RuntimeError):
        with pruned(model, ["0.weight"], 50):
            raise RuntimeError("evaluation failed")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_pruning_by_order_keeps_early_entrants_over_larger_late_ones():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]).view(4, 1, 1, 1))
    opt = SLBI(model, lr=0.1)
    state = opt.state[model[0].weight]
    state["gamma"] = torch.tensor([1.0, 0.0, 0.0, 0.0]).view(4, 1, 1, 1)
    opt.record_support(0)           # filter 0 enters at epoch 0
    state["gamma"] = torch.tensor([1.0, 0.0, 0.0, 1.0]).view(4, 1, 1, 1)
    opt.record_support(3)           # filter 3 enters at epoch 3; 1 and 2 never (2000)
    assert order_scores(opt, "0.weight", model[0].weight).tolist() == [1.0, -2000 + 2.0, -2000 + 3.0, 4.0 - 3.0]
    with pruned(model, ["0.weight"], 50, method="order", optimizer=opt):
        assert model[0].weight.flatten().tolist() == [1.0, 0.0, 0.0, 4.0]
    with pruned(model, ["0.weight"], 50, method="magnitude"):
        assert model[0].weight.flatten().tolist() == [0.0, 0.0, 3.0, 4.0]
    fresh = SLBI(model, lr=0.1)
    with pytest.raises(ValueError, match="slbi_support"):
        with pruned(model, ["0.weight"], 50, method="order", optimizer=fresh):
            pass


def test_prune_mask_rejects_ratios_outside_0_100():
    with pytest.raises(ValueError):
        prune_mask(torch.arange(5.0), 120)


# -- probes in a real (tiny) run ---------------------------------------------------------------------

def test_probes_are_registered():
    assert {"slbi_support", "prune_curve", "conv_weights"} <= set(PROBES)


def test_support_probe_needs_slbi():
    probe = PROBES.get("slbi_support")()
    net, _, _ = _tiny()
    ctx = EpochContext(net, torch.optim.SGD(net.parameters(), lr=0.1), 1, lambda: (0.0, 0.0))
    with pytest.raises(ValueError, match="slbi"):
        probe.after_epoch(ctx)


@pytest.mark.skipif(not (SHARED / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file(), reason="MNIST not found")
def test_slbi_lenet_run_carries_support_record_and_pruning_curves():
    from harness.runs.spec import Spec
    from harness.train.loop import train

    spec = Spec(model="lenet_mnist", dataset="mnist", normalize="none", optimizer="slbi", lr=0.1,
                optimizer_args={"kappa": 1, "mu": 20}, epochs=2, batch_size=64, train_subset=1000, test_subset=200,
                probes=("slbi_support", "prune_curve", "conv_weights"),
                probe_args={"prune_curve": {"sets": {"conv3": ["conv3.weight"], "both": ["conv3.weight", "fc1.weight"]},
                                            "ratios": [0, 50]}})
    result = train(spec, device="cpu", data_root=str(SHARED), download=False, progress=False)
    probes = result.extra["probes"]
    assert probes["slbi_support"]["epochs"] == [1, 2]
    assert len(probes["slbi_support"]["filter_entry_epoch"]["conv3.weight"]) == 120
    curve = probes["prune_curve"]
    assert curve["ratios"] == [0.0, 50.0] and set(curve["accuracy"]) == {"conv3", "both"}
    assert curve["accuracy"]["conv3"][0] == pytest.approx(result.final_test_acc)  # ratio 0 prunes nothing
    assert curve["pruned"]["conv3"][1]["conv3.weight"] == 60
    assert len(probes["conv_weights"]["kernel_norms"]) == 120 and 0 <= probes["conv_weights"]["near_zero_share"] <= 1
    assert math.isfinite(curve["unpruned"])


# -- the foreach implementation against the per-parameter reference form ------------------------

class ReferenceSLBI(SLBI):
    """The per-parameter form of the update (one parameter at a time), which `SLBI.step` batches."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"] and p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                if group["direction"] == "adam" and group["form"] == "course":
                    p.add_(self._ref_adam(p, grad, group), alpha=-group["lr"] * group["kappa"])
                    self._ref_update(p, grad, group)
                    continue
                d = self._ref_adam(p, grad, group) if group["direction"] == "adam" else self._ref_momentum(p, grad, group)
                self._ref_update(p, d, group)

    def _ref_momentum(self, p, grad, group):
        if not group["momentum"]:
            return grad
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = grad.clone()
        else:
            state["momentum_buffer"].mul_(group["momentum"]).add_(grad, alpha=1 - group["dampening"])
        return state["momentum_buffer"]

    def _ref_adam(self, p, grad, group):
        state = self.state[p]
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state["adam_step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["adam_step"] += 1
        t = state["adam_step"]
        state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** t)).add_(group["eps"])
        return state["exp_avg"] / denom / (1 - beta1 ** t)

    def _ref_update(self, p, d, group):
        step = group["lr"] * group["kappa"]
        if not group["coupled"]:
            p.add_(d, alpha=-step)
            return
        state = self.state[p]
        old = p.clone()
        p.add_(d, alpha=-step).add_(old - state["gamma"], alpha=-step / group["mu"])
        state["z"].add_(old - state["gamma"], alpha=group["lr"] / group["mu"])
        state["gamma"] = group["kappa"] * prox(state["z"])


@pytest.mark.parametrize("kwargs", [
    {"momentum": 0.9, "weight_decay": 5e-3}, {"momentum": 0.9, "dampening": 0.1}, {"momentum": 0.0},
    {"direction": "adam", "weight_decay": 1e-3}, {"direction": "adam", "form": "course", "weight_decay": 1e-3},
])
def test_foreach_step_is_bitwise_the_per_parameter_form(kwargs):
    """Conv, fc and 1-D parameters, both prox branches, weight decay: five steps, every tensor bitwise equal."""
    def build(cls):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                  torch.nn.Linear(4 * 4 * 4, 3))
        return net, cls(net, 0.3, kappa=2.0, mu=0.5, **kwargs)

    x, y = torch.randn(8, 2, 6, 6, generator=torch.Generator().manual_seed(1)), torch.arange(8) % 3
    (net, opt), (ref, ref_opt) = build(SLBI), build(ReferenceSLBI)
    for _ in range(5):
        for model, o in ((net, opt), (ref, ref_opt)):
            o.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            o.step()
    for (n, p), q in zip(net.named_parameters(), ref.parameters()):
        assert torch.equal(p, q), n
    for n, _ in opt.coupled():
        assert torch.equal(opt.gamma(n), ref_opt.gamma(n)), n
    assert any(opt.support(n).any() for n, _ in opt.coupled()), "the test should reach a non-zero Gamma"
