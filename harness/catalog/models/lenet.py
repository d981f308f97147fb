"""The DessiLBI LeNet for MNIST (1x28x28): three 5x5 convs (6, 16, 120 maps) and a
120-84-10 head, 61,706 parameters. `conv3` is the layer the pruning studies prune.

The official code ends in log-softmax + NLL; here the network returns logits and
the training loop's cross-entropy supplies the log-softmax, which is the same loss.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register_model


class LeNet(nn.Module):
    def __init__(self, *, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.conv3 = nn.Conv2d(16, 120, 5)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(F.relu(self.conv1(x)), 2)
        out = F.max_pool2d(F.relu(self.conv2(out)), 2)
        out = F.relu(self.conv3(out))
        return self.fc2(F.relu(self.fc1(torch.flatten(out, 1))))


@register_model("lenet_mnist")
def lenet_mnist(**kwargs) -> LeNet:
    return LeNet(**kwargs)
