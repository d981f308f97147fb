"""The portable ReLU backward gives ATen's floats, alone and through a whole training run."""
from __future__ import annotations

import pytest
import torch

from harness import cpu
from harness.train import portable_ops
from harness.runs.spec import Spec
from harness.train.loop import train


@pytest.fixture
def aten_kernel():
    """ATen's own threshold_backward for the test; the stand-in comes back afterwards if it was in force."""
    was_installed = portable_ops.installed()
    portable_ops.remove()
    yield
    if was_installed:
        portable_ops.install()


def _aten_then_stand_in(grad: torch.Tensor, value: torch.Tensor, threshold: float):
    reference = torch.ops.aten.threshold_backward(grad, value, threshold)
    portable_ops.install()
    try:
        return reference, torch.ops.aten.threshold_backward(grad, value, threshold)
    finally:
        portable_ops.remove()


@pytest.mark.parametrize("threshold", [0.0, 0.5, -1.0])
def test_the_stand_in_matches_atens_threshold_backward(aten_kernel, threshold):
    generator = torch.Generator().manual_seed(7)
    value = torch.randn(64, 4, 9, 9, generator=generator)
    value[0, 0, 0, :4] = torch.tensor([float("nan"), threshold, float("inf"), -float("inf")])
    grad = torch.randn(value.shape, generator=generator)
    reference, ours = _aten_then_stand_in(grad, value, threshold)
    # Equal as floats (a masked zero may carry the incoming gradient's sign), NaN where ATen has NaN.
    assert torch.equal(torch.isnan(reference), torch.isnan(ours))
    assert torch.equal(torch.nan_to_num(reference), torch.nan_to_num(ours))
    assert torch.equal(ours[0, 0, 0, 0], grad[0, 0, 0, 0]), "a NaN input keeps its gradient, as in ATen"
    assert ours[0, 0, 0, 1] == 0, "a value equal to the threshold is masked, as in ATen"


def test_relu_autograd_uses_the_stand_in_once_installed(aten_kernel):
    portable_ops.install()
    try:
        assert portable_ops.installed()
        x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        torch.relu(x).backward(torch.tensor([-5.0, 6.0, 7.0]))
        assert x.grad.tolist() == [0.0, 0.0, 7.0]
        # Only the stand-in gives a masked negative gradient the sign of its incoming one.
        assert torch.signbit(x.grad[0]), "ReLU's backward did not go through the stand-in"
    finally:
        portable_ops.remove()
    assert not portable_ops.installed()
    x = torch.tensor([-1.0], requires_grad=True)
    torch.relu(x).backward(torch.tensor([-5.0]))
    assert not torch.signbit(x.grad[0]), "removed, ATen's kernel is back"


def test_a_training_run_is_bitwise_the_same_with_either_kernel(aten_kernel, monkeypatch):
    # The fast tier's narrowest ReLU net; its curves and per-image test results expose any changed bit.
    spec = Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=2, batch_size=64,
                lr=0.05, optimizer_args={"momentum": 0.9, "weight_decay": 5e-4}, train_subset=384,
                test_subset=128, augment=("crop", "flip"), seed=5)
    monkeypatch.setattr(portable_ops, "install", lambda: None)  # train() would put the stand-in in force
    with_aten = train(spec, device="cpu", progress=False)
    monkeypatch.undo()
    portable_ops.install()
    try:
        with_stand_in = train(spec, device="cpu", progress=False)
    finally:
        portable_ops.remove()
    assert with_stand_in.curves["train_loss"] == with_aten.curves["train_loss"]
    assert with_stand_in.curves["test_loss"] == with_aten.curves["test_loss"]
    assert with_stand_in.test_correct == with_aten.test_correct


def test_a_portable_cpu_run_puts_the_stand_in_in_force(aten_kernel):
    if cpu.in_force() != "portable":
        pytest.skip("this process runs the machine's own kernels: no stand-in")
    spec = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, batch_size=32, lr=0.01,
                train_subset=64, test_subset=32, seed=1)
    assert not portable_ops.installed()
    train(spec, device="cpu", progress=False)
    assert portable_ops.installed()
