"""Report 002's MyNet: two 5x5 conv-BN-ReLU(-max-pool)-dropout(0.3) stages, a
100-unit hidden layer and 10 outputs (the report trains with NLL; this returns
logits and the loop's cross-entropy adds the log-softmax).

No reading of the text reaches the quoted 1,757,258 parameters with natural
channel counts, so the layout is parametrized; the default, channels (128, 256)
with the first conv padded and both stages pooled (flatten 256x6x6 = 9216), is the
closest natural candidate at 1,752,662 (SIZES.md lists the others).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .registry import register_model
from .layers import activation


class ConvStage(nn.Module):
    """conv -> BN -> activation -> optional max-pool -> dropout."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int, pool: int,
                 dropout: float, batchnorm: bool, activation_fn: str = "relu") -> None:
        super().__init__()
        self.act = activation(activation_fn)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, 1, padding)
        self.bn = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()
        self.pool = nn.MaxPool2d(pool) if pool > 1 else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.pool(self.act(self.bn(self.conv(x)))))


class MyNet(nn.Module):
    def __init__(self, channels: Sequence[int] = (128, 256), kernel_sizes: Sequence[int] = (5, 5),
                 paddings: Sequence[int] = (2, 0), pools: Sequence[int] = (2, 2), hidden: int = 100,
                 dropout: float = 0.3, batchnorm: bool = True, activation_fn: str = "relu", *, image_size: int = 32,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        stages, size = [], image_size
        for c, k, p, pool in zip(channels, kernel_sizes, paddings, pools):
            stages.append(ConvStage(in_channels, c, k, p, pool, dropout, batchnorm, activation_fn))
            size = (size + 2 * p - k + 1) // pool
            in_channels = c
        if size < 1:
            raise ValueError(f"MyNet config shrinks a {image_size}px image to nothing")
        self.features = nn.Sequential(*stages)
        self.fc1 = nn.Linear(in_channels * size * size, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.act = activation(activation_fn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(torch.flatten(self.features(x), 1))))


@register_model("mynet")
def mynet(**kwargs) -> MyNet:
    return MyNet(**kwargs)
