import pytest
import torch

from harness.losses import LOSSES, get_loss
from harness.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule

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


@pytest.mark.parametrize("name, fused", [("sgd", True), ("adamw", True), ("rmsprop", None)])
def test_fused_is_asked_for_only_where_torch_has_it(name, fused):
    model = torch.nn.Linear(3, 2)
    assert build_optimizer(name, model, 0.01, fused=True).defaults.get("fused") is fused
    assert not build_optimizer(name, model, 0.01).defaults.get("fused")
