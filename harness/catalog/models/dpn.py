"""Dual Path Networks (Chen et al. 2017), kuangliu CIFAR configurations.

Each block's output splits into a residual part (added to the shortcut's first
`out_planes` channels) and a dense part (concatenated), so the channel count
grows by `dense_depth` per block; the first block of a stage projects the input
to out_planes + dense_depth channels.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model


class DualPathBlock(nn.Module):
    def __init__(self, last_planes: int, in_planes: int, out_planes: int, dense_depth: int, stride: int,
                 first: bool, groups: int = 32) -> None:
        super().__init__()
        self.out_planes = out_planes
        self.conv1 = nn.Conv2d(last_planes, in_planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv2 = nn.Conv2d(in_planes, in_planes, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(in_planes)
        self.conv3 = nn.Conv2d(in_planes, out_planes + dense_depth, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes + dense_depth)
        self.shortcut = nn.Identity()
        if first:
            self.shortcut = nn.Sequential(nn.Conv2d(last_planes, out_planes + dense_depth, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_planes + dense_depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        x = self.shortcut(x)
        d = self.out_planes
        return F.relu(torch.cat([x[:, :d] + out[:, :d], x[:, d:], out[:, d:]], 1))


class DPN(nn.Module):
    def __init__(self, in_planes: tuple[int, ...], out_planes: tuple[int, ...], num_blocks: tuple[int, ...],
                 dense_depth: tuple[int, ...], *, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, last = [], 64
        for i, (mid, out, n, dense) in enumerate(zip(in_planes, out_planes, num_blocks, dense_depth)):
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(DualPathBlock(last, mid, out, dense, stride, first=j == 0))
                last = out + (j + 2) * dense
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


_MID, _OUT, _DENSE = (96, 192, 384, 768), (256, 512, 1024, 2048), (16, 32, 24, 128)


@register_model("dpn26")
def dpn26(**kwargs) -> DPN:
    return DPN(_MID, _OUT, (2, 2, 2, 2), _DENSE, **kwargs)


@register_model("dpn92")
def dpn92(**kwargs) -> DPN:
    return DPN(_MID, _OUT, (3, 4, 20, 3), _DENSE, **kwargs)
