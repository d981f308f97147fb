"""Wide ResNet (Zagoruyko & Komodakis 2016), the Cutout paper's WRN-28-10.

Channels [16, 16k, 32k, 64k], (depth-4)/6 pre-activation blocks per group,
dropout between the two convs of a block, final BN-ReLU and global pooling.
`conv_bias=True` reproduces the popular implementation whose convs carry
biases (36,489,290 parameters instead of 36,479,194); report 003 quotes 36.49M,
which both round to.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model


class WideBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, *, dropout: float, conv_bias: bool) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=conv_bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=conv_bias)
        needs_projection = stride != 1 or in_planes != planes
        self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=conv_bias) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.dropout(self.conv1(out))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class WideResNet(nn.Module):
    def __init__(self, depth: int = 28, widen_factor: int = 10, *, num_classes: int = 10, in_channels: int = 3,
                 dropout: float = 0.0, conv_bias: bool = False) -> None:
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WRN depth must be 6n+4, got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=conv_bias)
        blocks, in_planes = [], widths[0]
        for planes, stride in zip(widths[1:], (1, 2, 2)):
            for j in range(n):
                blocks.append(WideBlock(in_planes, planes, stride if j == 0 else 1,
                                        dropout=dropout, conv_bias=conv_bias))
                in_planes = planes
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(in_planes)
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.blocks(self.conv1(x))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


@register_model("wrn28_10")
def wrn28_10(**kwargs) -> WideResNet:
    return WideResNet(28, 10, **kwargs)
