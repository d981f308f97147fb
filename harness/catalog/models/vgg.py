"""VGG networks: the course starter's VGG-A (report 000/002/003 BatchNorm studies)
and kuangliu's CIFAR VGG11/VGG16.

VGG-A: convs 3x3 with bias, one max-pool per stage (32x32 -> 1x1), a
512-512-10 classifier whose last Linear is the one the gradient metrics watch,
Xavier-normal weights and zero biases as in the starter code.
kuangliu VGG: conv-BN-ReLU with bias, pools per config, a single Linear(512, 10).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .registry import register_model

# Output channels per conv; "M" is a 2x2 max-pool.
VGG_A_STAGES = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
KUANGLIU_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def make_features(cfg: Sequence[int | str], in_channels: int, batchnorm: bool, width: float = 1.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        out = _scaled(int(v), width)
        layers.append(nn.Conv2d(in_channels, out, 3, padding=1))
        if batchnorm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, cfg: Sequence[int | str], classifier_hidden: Sequence[int] = (), *, batchnorm: bool = False,
                 xavier_init: bool = False, num_classes: int = 10, in_channels: int = 3, width: float = 1.0) -> None:
        super().__init__()
        # `width` scales every conv and hidden Linear (the fast tier's narrow VGG-A); 1.0 is the paper's network.
        self.features = make_features(cfg, in_channels, batchnorm, width)
        widths = [_scaled(512, width), *(_scaled(h, width) for h in classifier_hidden)]
        head: list[nn.Module] = []
        for a, b in zip(widths, widths[1:]):
            head += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        head.append(nn.Linear(widths[-1], num_classes))
        self.classifier = nn.Sequential(*head)
        if xavier_init:
            self._init_xavier()

    def _init_xavier(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@register_model("vgg_a")
def vgg_a(**kwargs) -> VGG:
    return VGG(VGG_A_STAGES, (512, 512), batchnorm=False, xavier_init=True, **kwargs)


@register_model("vgg_a_bn")
def vgg_a_bn(**kwargs) -> VGG:
    return VGG(VGG_A_STAGES, (512, 512), batchnorm=True, xavier_init=True, **kwargs)


@register_model("vgg11")
def vgg11(**kwargs) -> VGG:
    return VGG(KUANGLIU_CFG["vgg11"], batchnorm=True, **kwargs)


@register_model("vgg16")
def vgg16(**kwargs) -> VGG:
    return VGG(KUANGLIU_CFG["vgg16"], batchnorm=True, **kwargs)
