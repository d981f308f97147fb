"""Model zoo: every registered model builds and trains one step, and every
parameter count the reports or the algorithm notes quote is reproduced exactly."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from harness.catalog.models import count_parameters, create_model, list_models
from harness.catalog.models.complexity import count_macs

MNIST_MODELS = {"lenet_mnist"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Batches of 2 gain nothing from intra-op threads, and extra threads fighting
    other processes (or xdist workers) for the cores made this file 10x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _input(name: str, batch: int = 2, in_channels: int | None = None) -> torch.Tensor:
    if name in MNIST_MODELS:
        return torch.randn(batch, in_channels or 1, 28, 28)
    return torch.randn(batch, in_channels or 3, 32, 32)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_forward_backward(name: str) -> None:
    """One training step on a batch of 2, built the way the training loop builds models."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, in_channels=1 if name in MNIST_MODELS else 3)
    out = model(_input(name))
    assert out.shape == (2, 10)
    nn.functional.cross_entropy(out, torch.tensor([0, 1])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", list_models())
def test_num_classes_and_in_channels(name: str) -> None:
    """Other datasets: the first conv reads `in_channels`, the last linear writes `num_classes`."""
    in_channels = 3 if name in MNIST_MODELS else 1
    model = create_model(name, num_classes=7, in_channels=in_channels)
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    last_linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    assert (first_conv.in_channels, last_linear.out_features) == (in_channels, 7)


# (registry name, kwargs, exact count, where it is quoted)
COUNTS = [
    ("resnet18", {}, 11_173_962, "notes; 000 T5 11.17M; 003 T1/T2 11.17M"),
    ("resnet18", {"dropout": 0.5}, 11_173_962, "000 T5 ResNet18_dropout 11.17M"),
    ("resnet18", {"width": 2, "stem_channels": 64}, 44_595_786, "000 T5 ResNet18_filtermul 44.60M"),
    ("resnet34", {}, 21_282_122, "notes; 000 T5 21.28M"),
    ("resnet50", {}, 23_520_842, "notes; 003 T2 23.52M"),
    ("preact_resnet18", {}, 11_171_146, "notes; 003 T1 11.17M"),
    ("wrn28_10", {}, 36_479_194, "notes"),
    ("wrn28_10", {"conv_bias": True, "dropout": 0.3}, 36_489_290, "notes; 003 T1 36.49M"),
    ("resnext29_2x32d", {}, 2_297_418, "notes; 003 T2 2.30M"),
    ("resnext29_2x64d", {}, 9_128_778, "notes; 003 T2 9.13M"),
    ("resnext29_32x4d", {}, 4_774_218, "notes; 003 T1 4.77M"),
    ("resnext29_4x64d", {}, 27_104_586, "notes"),
    ("resnext29_8x64d", {}, 89_598_282, "notes; 003 T2 89.60M"),
    ("resnext50_2x40d", {}, 17_296_650, "003 T2 17.30M"),
    ("resnext50_8x14d", {}, 20_864_362, "003 T2 20.86M"),
    ("resnext50_32x4d", {}, 22_991_178, "003 T2 22.98M (closest reading: 22.99M)"),
    ("densenet121", {}, 6_956_298, "notes; 003 T1 6.96M"),
    ("dpn26", {}, 11_574_842, "notes; 003 T1 11.57M"),
    ("dpn92", {}, 34_236_634, "notes"),
    ("dla", {}, 16_291_386, "notes; 003 T1 16.29M"),
    ("simple_dla", {}, 15_142_970, "notes"),
    ("vgg11", {}, 9_231_114, "notes"),
    ("vgg16", {}, 14_728_266, "notes"),
    ("vgg_a", {}, 9_750_922, "notes"),
    ("vgg_a_bn", {}, 9_756_426, "notes"),
    ("lenet_mnist", {}, 61_706, "notes"),
    ("modified_resnet", {}, 2_799_146, "001 T1 model 5"),
    ("modified_resnet", {"blocks": (3, 3, 3, 3)}, 4_367_786, "001 T1 model 8"),
    ("modified_resnet", {"channels": (32, 64, 128, 128, 256), "blocks": (2, 2, 2, 2, 3)}, 4_587_306,
     "001 T1 models 0-4, 6, 7"),
]


@pytest.mark.parametrize("name,kwargs,expected,where", COUNTS, ids=[f"{c[0]}-{c[2]}" for c in COUNTS])
def test_parameter_count(name: str, kwargs: dict, expected: int, where: str) -> None:
    assert count_parameters(create_model(name, **kwargs)) == expected, where


def test_width_option_defaults_unchanged() -> None:
    assert count_parameters(create_model("resnet18", width=2)) == 44_662_922  # stem doubled too: 44.66M


def test_resnext50_imagenet_layout() -> None:
    counts = [count_parameters(create_model(f"resnext50_{v}", layout="imagenet")) for v in ("2x40d", "8x14d", "32x4d")]
    assert counts == [23_388_810, 23_566_826, 22_992_714]


def test_report002_candidates() -> None:
    """No reading reproduces report 002's MyNet (1,757,258) or MyResNet9 (2,143,808);
    these are the documented closest candidates (SIZES.md)."""
    assert count_parameters(create_model("mynet")) == 1_752_662
    assert count_parameters(create_model("mynet", channels=(64, 64), paddings=(2, 2), pools=(2, 1))) == 1_747_094
    assert count_parameters(create_model("myresnet9")) == 6_573_130
    assert count_parameters(create_model("myresnet9", width=32)) == 1_646_122


def test_vgg_a_init_zero_biases() -> None:
    model = create_model("vgg_a")
    biases = [m.bias for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert biases and all(torch.count_nonzero(b) == 0 for b in biases)


def test_lenet_returns_logits() -> None:
    torch.manual_seed(0)
    out = create_model("lenet_mnist").eval()(torch.rand(4, 1, 28, 28))
    assert not torch.allclose(out.exp().sum(1), torch.ones(4))


def test_count_macs_linear_and_conv() -> None:
    assert count_macs(nn.Linear(10, 5), (1, 10)) == 50
    conv = nn.Conv2d(3, 8, 3, padding=1)  # 8 x 32 x 32 outputs, 27 MACs each
    assert count_macs(conv, (2, 3, 32, 32)) == 8 * 32 * 32 * 27


def test_count_macs_resnet18_restores_mode() -> None:
    model = create_model("resnet18").train()
    assert count_macs(model) == 555_422_720
    assert model.training
