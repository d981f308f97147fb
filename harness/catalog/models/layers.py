"""Building blocks shared by the model families."""
from __future__ import annotations

import torch.nn as nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
    "gelu": lambda: nn.GELU(),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
}


def activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None


def norm2d(channels: int, enabled: bool = True) -> nn.Module:
    """BatchNorm2d, or identity for the 'without BN' ablations."""
    return nn.BatchNorm2d(channels) if enabled else nn.Identity()
