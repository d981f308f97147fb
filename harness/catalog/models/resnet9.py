"""Report 002's MyResNet9, built as the DAWNBench/Myrtle ResNet-9 it is based on:
prep conv, three conv-BN-ReLU-pool stages with a residual pair of convs after the
first and the third, global max-pool, linear. 3x3 convs, stride 1, padding 1, as
in the report's final model; `width` is the prep conv's channel count.

The quoted 2,143,808 parameters are reached by no ResNet-9 reading found; the
original width 64 gives 6,573,130 and width 32 gives 1,646,122 (SIZES.md).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register_model


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, 1, kernel_size // 2, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + two conv-BN-ReLU layers at constant width."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(channels, channels, kernel_size), _conv_bn(channels, channels, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNet9(nn.Module):
    def __init__(self, width: int = 64, kernel_size: int = 3, *, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            _conv_bn(in_channels, w, kernel_size),
            _conv_bn(w, 2 * w, kernel_size), nn.MaxPool2d(2), Residual(2 * w, kernel_size),
            _conv_bn(2 * w, 4 * w, kernel_size), nn.MaxPool2d(2),
            _conv_bn(4 * w, 8 * w, kernel_size), nn.MaxPool2d(2), Residual(8 * w, kernel_size),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.linear = nn.Linear(8 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.net(x))


@register_model("myresnet9")
def myresnet9(**kwargs) -> ResNet9:
    return ResNet9(**kwargs)
