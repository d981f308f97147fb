"""Deep Layer Aggregation (Yu et al. 2018), kuangliu CIFAR versions.

Both share the stem (3 convs to 16, 16, 32 channels) and four aggregation
stages (64, 128, 256, 512 channels; tree levels 1, 2, 2, 1). They differ in the
tree: `dla` aggregates every level of a level-2 tree in one root (4 inputs, plus
a `prev_root` block), `simple_dla` nests binary trees, each with a 2-input root.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model
from .resnet import BasicBlock


class Root(nn.Module):
    """Concatenate the aggregated outputs, then 1x1 conv-BN-ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return F.relu(self.bn(self.conv(torch.cat(xs, 1))))


class Tree(nn.Module):
    """DLA tree: a level-L tree feeds L-1 sub-trees and three blocks into one root."""

    def __init__(self, in_channels: int, out_channels: int, level: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.level = level
        self.prev_root = BasicBlock(in_channels, out_channels, stride) if level > 1 else None
        # Sub-trees run in sequence (levels L-1 .. 1); only the first sees the stage input.
        self.subtrees = nn.ModuleList(
            Tree(in_channels if i == level - 1 else out_channels, out_channels, i, stride if i == level - 1 else 1)
            for i in reversed(range(1, level)))
        first_in = out_channels if level > 1 else in_channels
        self.left = BasicBlock(first_in, out_channels, 1 if level > 1 else stride)
        self.right = BasicBlock(out_channels, out_channels, 1)
        self.root = Root((level + 2 if level > 1 else 2) * out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = [self.prev_root(x)] if self.prev_root is not None else []
        for subtree in self.subtrees:
            x = subtree(x)
            xs.append(x)
        x = self.left(x)
        xs.append(x)
        xs.append(self.right(x))
        return self.root(xs)


class SimpleTree(nn.Module):
    """Binary tree: two children (blocks at level 1, sub-trees above) joined by a 2-input root."""

    def __init__(self, in_channels: int, out_channels: int, level: int = 1, stride: int = 1) -> None:
        super().__init__()
        if level == 1:
            self.left = BasicBlock(in_channels, out_channels, stride)
            self.right = BasicBlock(out_channels, out_channels, 1)
        else:
            self.left = SimpleTree(in_channels, out_channels, level - 1, stride)
            self.right = SimpleTree(out_channels, out_channels, level - 1, 1)
        self.root = Root(2 * out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.left(x)
        return self.root([left, self.right(left)])


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DLA(nn.Module):
    def __init__(self, tree: Callable[..., nn.Module], *, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.base = nn.Sequential(_conv_bn_relu(in_channels, 16), _conv_bn_relu(16, 16), _conv_bn_relu(16, 32))
        self.stages = nn.Sequential(tree(32, 64, level=1, stride=1), tree(64, 128, level=2, stride=2),
                                    tree(128, 256, level=2, stride=2), tree(256, 512, level=1, stride=2))
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.base(x))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


@register_model("dla")
def dla(**kwargs) -> DLA:
    return DLA(Tree, **kwargs)


@register_model("simple_dla")
def simple_dla(**kwargs) -> DLA:
    return DLA(SimpleTree, **kwargs)
