"""CIFAR ResNets (kuangliu/pytorch-cifar layout: 3x3 stem, no max-pool, global average pool).

Options cover the reports' ablations: width multiplier (report 000's
filter_multiplier), dropout before the classifier, no shortcuts, no BatchNorm,
and the activation function.

Report 000's doubled-filter ResNet-18 (44.60M) is `width=2, stem_channels=64`:
the residual stages are doubled but the stem conv keeps 64 filters (what
scaling only the stage widths of the kuangliu code gives), so the first block
needs a projection shortcut: 44,595,786 parameters. Doubling the stem too gives
44,662,922 (44.66M).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model
from .layers import activation, norm2d


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, *, act: str = "relu",
                 batchnorm: bool = True, shortcut: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm2d(planes, batchnorm)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = norm2d(planes, batchnorm)
        self.act1, self.act2 = activation(act), activation(act)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride, batchnorm) if shortcut else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.act2(out)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, *, act: str = "relu",
                 batchnorm: bool = True, shortcut: bool = True) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = norm2d(planes, batchnorm)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = norm2d(planes, batchnorm)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = norm2d(out_planes, batchnorm)
        self.act1, self.act2, self.act3 = activation(act), activation(act), activation(act)
        self.shortcut = _shortcut(in_planes, out_planes, stride, batchnorm) if shortcut else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.act3(out)


def _shortcut(in_planes: int, out_planes: int, stride: int, batchnorm: bool) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), norm2d(out_planes, batchnorm))


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock] | type[Bottleneck], num_blocks: list[int], *,
                 num_classes: int = 10, in_channels: int = 3, width: float = 1.0, dropout: float = 0.0,
                 activation_fn: str = "relu", batchnorm: bool = True, shortcut: bool = True,
                 stem_channels: int | None = None) -> None:
        super().__init__()
        widths = [max(1, int(round(c * width))) for c in (64, 128, 256, 512)]
        stem = widths[0] if stem_channels is None else stem_channels
        opts = dict(act=activation_fn, batchnorm=batchnorm, shortcut=shortcut)
        self.conv1 = nn.Conv2d(in_channels, stem, 3, 1, 1, bias=False)
        self.bn1 = norm2d(stem, batchnorm)
        self.act = activation(activation_fn)
        layers, in_planes = [], stem
        for i, (planes, n) in enumerate(zip(widths, num_blocks)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(in_planes, planes, stride, **opts))
                in_planes = planes * block.expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)
        return self.linear(self.dropout(out))


@register_model("resnet18")
def resnet18(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


@register_model("resnet34")
def resnet34(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


@register_model("resnet50")
def resnet50(**kwargs) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)
