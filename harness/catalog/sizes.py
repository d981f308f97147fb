"""Model size: trainable parameters and multiply-accumulates per image, for size claims and the plan's cost.

The one place a size is counted: the model is built on the meta device (shapes
only, nothing computed), which gives the same counts as on the CPU
(tests/test_plan.py) in milliseconds, even for a DPN-92.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

from .models.complexity import count_macs
from .models.registry import count_parameters, create_model


def count_size(name: str, kwargs: dict[str, Any], input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(parameters, MACs per image) of registry model `name` built with `kwargs`; not cached."""
    with torch.device("meta"):
        model = create_model(name, **kwargs)
    return count_parameters(model), count_macs(model, tuple(input_shape))


@lru_cache(maxsize=None)
def _size(name: str, frozen_kwargs: tuple[tuple[str, Any], ...], input_shape: tuple[int, ...]) -> tuple[int, int]:
    return count_size(name, dict(frozen_kwargs), input_shape)


def model_size(name: str, kwargs: dict[str, Any] | None = None,
               input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> tuple[int, int]:
    """(parameters, MACs per image) of a registry model; cached per process (`kwargs` values hashable)."""
    frozen = tuple(sorted((kwargs or {}).items()))
    return _size(name, frozen, tuple(input_shape))
