"""Model registry: one family per module, small named constructors, `create_model(name, **kwargs)`.

Every constructor takes `num_classes` and `in_channels` keywords so the
training loop can build any model for any dataset.
"""
from __future__ import annotations

from typing import Any, Callable

import torch.nn as nn

from ..registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
register_model = MODELS.register


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model; unknown names list the known ones."""
    return MODELS.get(name)(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    return MODELS.names(pattern)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, the quantity the reports' tables quote."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# Families register themselves on import.
from . import resnet  # noqa: E402,F401
from . import preact_resnet  # noqa: E402,F401
from . import wide_resnet  # noqa: E402,F401
from . import resnext  # noqa: E402,F401
from . import densenet  # noqa: E402,F401
from . import dpn  # noqa: E402,F401
from . import dla  # noqa: E402,F401
from . import vgg  # noqa: E402,F401
from . import lenet  # noqa: E402,F401
from . import modified_resnet  # noqa: E402,F401
from . import mynet  # noqa: E402,F401
from . import resnet9  # noqa: E402,F401
