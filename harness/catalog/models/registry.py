"""The model registry: families register named constructors here, `create_model(name, **kwargs)` builds one.

Every constructor takes `num_classes` and `in_channels` keywords so the
training loop can build any model for any dataset. The families themselves are
imported by harness/catalog/__init__.py, so this module imports none of them.
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
