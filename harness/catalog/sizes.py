"""Model size: trainable parameters and multiply-accumulates per image, for size claims."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

from .models import count_parameters, create_model
from .models.complexity import count_macs


@lru_cache(maxsize=None)
def _size(name: str, frozen_kwargs: tuple[tuple[str, Any], ...], input_shape: tuple[int, ...]) -> tuple[int, int]:
    with torch.device("meta"):  # shapes only: the same counts as on the CPU (tests/test_plan.py), in milliseconds
        model = create_model(name, **dict(frozen_kwargs))
    return count_parameters(model), count_macs(model, input_shape)


def model_size(name: str, kwargs: dict[str, Any] | None = None,
               input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> tuple[int, int]:
    """(parameters, MACs per image) of a registry model, built on the meta device; cached per process."""
    frozen = tuple(sorted((kwargs or {}).items()))
    return _size(name, frozen, tuple(input_shape))
