import math

import pytest
import torch

from harness.catalog.losses import LOSSES, get_loss
from harness.catalog.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule

LOGITS = torch.randn(16, 10, generator=torch.Generator().manual_seed(0), requires_grad=True)
LABELS = torch.arange(16) % 10


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_a_differentiable_scalar(name):
    loss = get_loss(name)(LOGITS, LABELS)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss) and LOGITS.grad is not None


def test_nll_on_log_softmax_is_cross_entropy():
    assert torch.equal(get_loss("nll")(LOGITS, LABELS), get_loss("cross_entropy")(LOGITS, LABELS))


def test_soft_margin_on_pm_one_targets_is_bce_on_one_hot():
    assert torch.allclose(get_loss("soft_margin")(LOGITS, LABELS), get_loss("bce")(LOGITS, LABELS), atol=1e-6)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_steps(name):
    w = torch.nn.Parameter(torch.ones(3))
    opt = build_optimizer(name, [w], lr=0.1)
    (w ** 2).sum().backward()
    opt.step()
    assert not torch.equal(w.detach(), torch.ones(3))


def test_bad_optimizer_argument_names_the_optimizer():
    with pytest.raises(ValueError, match="'adam' rejected"):
        build_optimizer("adam", [torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_steps_through_a_run(name):
    w = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    kwargs = {"multistep": {"milestones": [2]}, "step": {"step_size": 2}}.get(name, {})
    sched = build_schedule(name, opt, epochs=4, steps_per_epoch=3, **kwargs)
    for _ in range(4):
        for _ in range(3):
            opt.step()
            sched.after_batch()
        sched.after_epoch({"test_loss": 1.0, "test_acc": 0.5, "train_loss": 1.0})
    assert 0 <= opt.param_groups[0]["lr"] <= 0.1


def test_cosine_reaches_eta_min_at_the_end():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched = build_schedule("cosine", opt, epochs=5, steps_per_epoch=1)
    for _ in range(5):
        opt.step()
        sched.after_epoch({})
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def _lrs_per_batch(sched_name, epochs, steps_per_epoch, **kwargs):
    """The lr of every step (before its update) of a run driven by a harness schedule."""
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(1))], lr=0.01)
    sched = build_schedule(sched_name, opt, epochs=epochs, steps_per_epoch=steps_per_epoch, **kwargs)
    lrs = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.after_batch()
        sched.after_epoch({"test_loss": 1.0})
    return lrs


def test_cosine_steps_matches_torch_cosine_annealing_stepped_per_batch():
    """Report 001's schedule: CosineAnnealingLR(T_max in steps) with scheduler.step() after every batch;
    past T_max the rate climbs back along the cosine (period 2 * T_max), and epoch ends do not step it."""
    epochs, steps, t_max, eta_min = 3, 10, 7, 1e-4
    ours = _lrs_per_batch("cosine_steps", epochs, steps, t_max=t_max, eta_min=eta_min)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(1))], lr=0.01)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    expected = []
    for _ in range(epochs * steps):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-15)
    closed = [eta_min + (0.01 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(epochs * steps)]
    assert ours == pytest.approx(closed, rel=1e-9, abs=1e-12)
    assert ours[0] == 0.01 and ours[t_max] == pytest.approx(eta_min) and ours[2 * t_max] == pytest.approx(0.01)


def test_cosine_steps_resumes_from_its_state():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched = build_schedule("cosine_steps", opt, epochs=1, steps_per_epoch=5, t_max=4)
    for _ in range(5):
        opt.step()
        sched.after_batch()
    state, lr = sched.state_dict(), opt.param_groups[0]["lr"]
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched2 = build_schedule("cosine_steps", opt2, epochs=1, steps_per_epoch=5, t_max=4)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(state)
    opt.step(), sched.after_batch(), opt2.step(), sched2.after_batch()
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert opt.param_groups[0]["lr"] != pytest.approx(lr)


def test_cosine_steps_rejects_a_non_positive_period():
    with pytest.raises(ValueError, match="t_max"):
        build_schedule("cosine_steps", torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1),
                       epochs=1, steps_per_epoch=1, t_max=0)


@pytest.mark.parametrize("name, fused", [("sgd", True), ("adamw", True), ("rmsprop", None)])
def test_fused_is_asked_for_only_where_torch_has_it(name, fused):
    model = torch.nn.Linear(3, 2)
    assert build_optimizer(name, model, 0.01, fused=True).defaults.get("fused") is fused
    assert not build_optimizer(name, model, 0.01).defaults.get("fused")
