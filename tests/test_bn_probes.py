"""The BatchNorm-study probes (harness/catalog/bn_probes.py), band statistics (harness/claim/bands.py) and band figures."""
import math

import pytest
import torch
import torch.nn as nn

import harness.train.loop as train_module
from tests.killed import kill_during_epoch_3
from harness.claim import bands
from harness.catalog.bn_probes import GradChange, LineSearch, last_linear, layer_input_change
from harness.catalog.probes import StepContext, build_probes
from harness.runs.spec import Spec
from harness.train.loop import train

TINY = Spec(model="vgg_a_bn", dataset="synthetic", model_args={"width": 0.0625}, epochs=2, batch_size=64, lr=0.05,
            optimizer_args={"momentum": 0.9}, train_subset=400, test_subset=200, seed=0)
COMPARED_CURVES = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr")


def _train_capturing(spec, monkeypatch):
    """Train `spec` on the CPU; return the result with the final model and optimizer."""
    built = {}
    real_model, real_optimizer = train_module.build_model, train_module.build_optimizer

    def model(s):
        built["model"] = real_model(s)
        return built["model"]

    def optimizer(*args, **kwargs):
        built["optimizer"] = real_optimizer(*args, **kwargs)
        return built["optimizer"]

    monkeypatch.setattr(train_module, "build_model", model)
    monkeypatch.setattr(train_module, "build_optimizer", optimizer)
    result = train(spec, device="cpu", progress=False)
    return result, built["model"], built["optimizer"]


def _same_tensors(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("optimizer,args", [("sgd", (("momentum", 0.9),)), ("adam", ())])  # tuples replace, dicts merge
@pytest.mark.parametrize("probes,probe_args", [
    (("grad_change",), {}),
    (("grad_change",), {"grad_change": {"every": 3}}),
    (("line_search",), {"line_search": {"every": 2}}),
    (("step_loss", "grad_change", "line_search"), {}),
])
@pytest.mark.slow
def test_a_probed_run_ends_bitwise_equal_to_an_unprobed_run(monkeypatch, optimizer, args, probes, probe_args):
    """Curves, final weights, BN running statistics and optimizer state are exactly those of the plain run."""
    spec = TINY.replace(optimizer=optimizer, optimizer_args=args, lr=0.05 if optimizer == "sgd" else 1e-3)
    plain, plain_model, plain_opt = _train_capturing(spec, monkeypatch)
    probed, probed_model, probed_opt = _train_capturing(spec.replace(probes=probes, probe_args=probe_args),
                                                        monkeypatch)
    for name in COMPARED_CURVES:
        assert probed.curves[name] == plain.curves[name], name
    assert probed.final_test_acc == plain.final_test_acc and probed.final_train_acc == plain.final_train_acc
    assert _same_tensors(probed_model.state_dict(), plain_model.state_dict())  # weights and BN buffers
    plain_state, probed_state = plain_opt.state_dict()["state"], probed_opt.state_dict()["state"]
    assert plain_state.keys() == probed_state.keys()
    for k in plain_state:
        assert _same_tensors(plain_state[k], probed_state[k])
    assert set(probed.extra["probes"]) == set(probes)
    assert sum(probed.curves["probe_time"]) > 0


def _linear_ctx(model, x, y, loss_fn, step, lr):
    loss = loss_fn(model(x), y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    return StepContext(model, torch.optim.SGD(model.parameters(), lr=lr), loss_fn, x, y, loss, step, lr)


def test_grad_change_measures_consecutive_last_layer_gradients():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    assert last_linear(model) is model[2]
    probe, grads, weights, lr = GradChange(), [], [], 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for step in range(4):
        x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        ctx = StepContext(model, opt, nn.functional.cross_entropy, x, y, loss, step, lr)
        grads.append(model[2].weight.grad.clone())
        weights.append(model[2].weight.detach().clone())
        probe.before_step(ctx)
        opt.step()
        probe.after_step(ctx)
    out = probe.result()
    assert out["step"] == [0, 1, 2]  # step s pairs s and s+1; the last step has no successor yet
    for s in range(3):
        diff = (grads[s + 1] - grads[s]).norm().item()
        assert out["grad_diff"][s] == pytest.approx(diff, rel=1e-5)
        assert out["beta_lr"][s] == pytest.approx(diff / (lr * grads[s].norm().item()), rel=1e-5)
        assert out["beta_w"][s] == pytest.approx(diff / (weights[s + 1] - weights[s]).norm().item(), rel=1e-5)
        # plain SGD moves the layer by lr * g, so the two beta forms agree
        assert out["beta_w"][s] == pytest.approx(out["beta_lr"][s], rel=1e-4)


def test_probes_record_every_nth_step_only():
    probes = build_probes(("grad_change", "line_search"), {"grad_change": {"every": 2}, "line_search": {"every": 3}})
    model = nn.Sequential(nn.Linear(5, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(7):
        x, y = torch.randn(6, 5), torch.randint(0, 3, (6,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        ctx = StepContext(model, opt, nn.functional.cross_entropy, x, y, loss, step, 0.1)
        for p in probes.values():
            p.before_step(ctx)
        opt.step()
        for p in probes.values():
            p.after_step(ctx)
    assert probes["grad_change"].result()["step"] == [0, 2, 4]
    assert probes["line_search"].result()["step"] == [0, 3, 6]
    with pytest.raises(ValueError, match="every"):
        GradChange(every=0)
    with pytest.raises(ValueError, match="eta_factors"):
        LineSearch(eta_factors=[0.0, 1.0])


def test_line_search_matches_a_quadratic_by_hand():
    """Least squares: grad L(w - eta g) - g = -eta H g, so beta = ||H g|| / ||g|| for every eta."""
    torch.manual_seed(1)
    model = nn.Linear(4, 2, bias=False)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    mse = nn.functional.mse_loss
    factors = (0.5, 1.0, 4.0)
    ctx = _linear_ctx(model, x, y, mse, step=0, lr=0.1)
    probe = LineSearch(eta_factors=factors)
    probe.before_step(ctx)
    out = probe.result()
    w, g = model.weight.detach(), model.weight.grad.detach()
    hessian_g = 2.0 / y.numel() * g @ x.T @ x  # d/dW of mean((xW^T - y)^2) applied along g
    for k, f in enumerate(factors):
        eta = f * 0.1
        assert out["loss"][0][k] == pytest.approx(mse(x @ (w - eta * g).T, y).item(), rel=1e-5)
        assert out["grad_diff"][0][k] == pytest.approx(eta * hessian_g.norm().item(), rel=1e-4)
        assert out["beta"][0][k] == pytest.approx((hessian_g.norm() / g.norm()).item(), rel=1e-4)
    assert out["eta_factors"] == list(factors)


def test_line_search_leaves_weights_buffers_grads_and_rng_untouched():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    ctx = _linear_ctx(model, torch.randn(16, 6), torch.randint(0, 3, (16,)), nn.functional.cross_entropy, 0, 0.5)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    LineSearch().before_step(ctx)
    assert _same_tensors(model.state_dict(), state)  # incl. BN running_mean/var and num_batches_tracked
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.slow
def test_probe_series_survive_a_resume(tmp_path, monkeypatch):
    spec = TINY.replace(epochs=3, probes=("grad_change", "line_search"), probe_args={"line_search": {"every": 2}})
    reference = train(spec, device="cpu", progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    kill_during_epoch_3(monkeypatch, spec, checkpoint)
    resumed = train(spec, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert resumed.extra["probes"] == reference.extra["probes"]


# -- bands -------------------------------------------------------------------------------------

def test_band_is_min_and_max_per_step_and_leaves_out_diverged_runs():
    b = bands.band({"a": [1, 5, 2], "b": [3, 4, 0], "c": [2, float("nan"), 9]}, steps=[10, 11, 12])
    assert b.lo == [1, 4, 0] and b.hi == [3, 5, 2] and b.steps == [10, 11, 12]
    assert b.included == ["a", "b"] and "c" in b.excluded
    assert b.edge("width") == [2, 1, 2] and b.edge("upper") == [3, 5, 2] and b.edge("middle") == [2, 4.5, 1]
    short = bands.band({"a": [1, 2, 3], "b": [1, 2]})
    assert len(short) == 2
    with pytest.raises(ValueError, match="usable runs"):
        bands.band({"a": [1.0], "b": [float("inf")]})
    with pytest.raises(ValueError, match="edge"):
        b.edge("top")


def test_compare_is_the_median_ratio_after_the_warm_up():
    a = [100.0] * 10 + [1.0, 2.0, 3.0] * 10
    b = [1.0] * 10 + [2.0] * 30
    comp = bands.compare(a, b, warmup=0.25)  # drops the first 10 of 40 steps
    assert comp.steps == 30 and comp.ratio == pytest.approx(1.0) and comp.below_one == pytest.approx(1 / 3)
    assert bands.compare(a, b, warmup=0.0).ratio == pytest.approx(1.25)  # the warm-up steps (ratio 100) count
    flat = bands.compare([0.0, 1.0, 1.0], [0.0, 0.0, 0.0], warmup=0)  # no-BN flat, BN not: never "smaller"
    assert flat.ratio > 1e6 and math.isfinite(flat.ratio)
    assert bands.compare([0.0], [0.0], warmup=0).ratio == 1.0
    with pytest.raises(ValueError, match="warmup"):
        bands.compare(a, b, warmup=1.0)


# Two edges at the same level (median 10): one drifts by 0.01 a step, one jumps by 4 every step.
SMOOTH = [10.0 + 0.01 * (t - 50) for t in range(100)]
JAGGED = [8.0 if t % 2 else 12.0 for t in range(100)]


def test_roughness_tells_a_jagged_edge_from_a_smooth_one_at_the_same_level():
    assert bands.roughness(SMOOTH) == pytest.approx(0.001, rel=0.01)  # 0.01 / ~10
    assert bands.roughness(JAGGED) == pytest.approx(0.4)  # 4 / 10
    assert bands.compare(JAGGED, SMOOTH).ratio == pytest.approx(1.0, abs=0.25)  # the level statistic sees no difference
    comp = bands.compare_roughness(SMOOTH, JAGGED)
    assert comp.ratio == pytest.approx(0.001 / 0.4, rel=0.01) and comp.below_one == 1.0
    assert comp.steps == 89  # 90 steps after a 10% warm-up of 100, 89 changes between them


def test_roughness_does_not_depend_on_the_edges_scale():
    assert bands.roughness([1000 * v for v in JAGGED]) == pytest.approx(bands.roughness(JAGGED))
    assert bands.roughness([1e-6 * v for v in SMOOTH]) == pytest.approx(bands.roughness(SMOOTH))
    scaled = bands.compare_roughness([1e-3 * v for v in SMOOTH], [50 * v for v in JAGGED])
    assert scaled.ratio == pytest.approx(bands.compare_roughness(SMOOTH, JAGGED).ratio)


def test_roughness_leaves_out_the_warm_up():
    # wild over the first 60% (more than a median shrugs off), then a ramp
    ramp = [10.0 + 0.01 * t for t in range(-60, 40)]
    edge = [0.0 if t % 2 else 100.0 for t in range(60)] + ramp[60:]
    assert bands.roughness(edge, warmup=0.6) == pytest.approx(0.01 / 10.195)  # steps 60-99 only (median level)
    assert bands.roughness(edge, warmup=0.0) > 1000 * bands.roughness(edge, warmup=0.6)
    assert bands.compare_roughness(edge, ramp, warmup=0.6).ratio == pytest.approx(1.0)
    assert bands.compare_roughness(edge, ramp, warmup=0.0).ratio > 1000
    with pytest.raises(ValueError, match="warmup"):
        bands.roughness(edge, warmup=1.0)
    with pytest.raises(ValueError, match="at least 2 steps"):
        bands.roughness([1.0, 2.0], warmup=0.5)


def test_a_rougher_bn_edge_gives_the_opposite_outcome():
    bn_rough = bands.compare_roughness(JAGGED, SMOOTH)  # BN first, as the claim reads it: smoother when < 1 - margin
    assert bn_rough.ratio > 1 / (1 - 0.1) and bn_rough.below_one == 0.0
    assert bn_rough.ratio == pytest.approx(1 / bands.compare_roughness(SMOOTH, JAGGED).ratio)
    assert "VGG-A+BN 0.4" in bn_rough.describe("VGG-A+BN", "VGG-A")
    assert bands.compare_roughness([3.0] * 5, [7.0] * 5, warmup=0).ratio == 1.0  # both flat: a tie
    flat_b = bands.compare_roughness(JAGGED, [5.0] * 100)  # no-BN flat, BN not: never "smoother"
    assert flat_b.ratio > 1e6 and math.isfinite(flat_b.ratio)


def test_smooth_and_downsample():
    assert bands.smooth([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    assert bands.smooth([1, 2], 1) == [1, 2]
    x, y = bands.downsample(list(range(10)), list(range(10, 20)), points=4)
    assert x == [0, 3, 6, 9] and y == [10, 13, 16, 19]
    assert bands.ranges([[1, 3, 2], [5, 4]]) == ([1, 4], [3, 5])


def test_band_figures_are_drawn_from_the_finding(tmp_path):
    from reports import build

    spec = {"kind": "band", "title": "t", "options": {"ylabel": "loss", "log": True},
            "series": {"VGG-A": {"x": [0, 1, 2], "lo": [1, 2, 1], "hi": [2, 3, 4], "line": [2, 3, 4]},
                       "VGG-A+BN": {"x": [0, 1, 2], "lo": [1, 1, 1], "hi": [1.5, 1.2, 1.1]}}}
    finding = {"claim_id": "000/x", "tier": "fast", "figures": [spec, {**spec, "series": {}}]}
    build._figures([finding], tmp_path)
    assert [f["kind"] for f in finding["drawn_figures"]] == ["band"]
    assert (tmp_path / finding["drawn_figures"][0]["path"]).read_text().lstrip().startswith("<?xml")


def test_layer_input_change_is_zero_after_batchnorm_and_the_scale_without_it():
    # a bias-free conv + ReLU is positively homogeneous: the next layer's input scales with the images (change
    # factor - 1); BatchNorm in training mode normalizes the scale away (change ~0, up to its eps)
    torch.manual_seed(0)
    images = torch.randn(8, 3, 8, 8)
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, bias=False), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 3))
    normed = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.Conv2d(4, 2, 3))
    assert layer_input_change(plain, plain[2], images, 4.0) == pytest.approx(3.0, rel=1e-5)
    assert layer_input_change(normed, normed[3], images, 4.0) < 1e-3
    assert normed.training  # measured as in training; the hook is gone afterwards
    assert not normed[3]._forward_pre_hooks
