"""Multiply-accumulates per image, counted by PyTorch's own FLOP counter.

FlopCounterMode counts 2 FLOPs per multiply-add of convs, linears and matmuls
(BN, activations and pooling are not counted), so MACs = FLOPs / 2. The model
is put in eval mode for the count and restored afterwards.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_macs(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """MACs of one forward pass on a zero input of `input_shape`, divided by its batch size."""
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        x = torch.zeros(input_shape, device=param.device if param is not None else "cpu")
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return counter.get_total_flops() // 2 // input_shape[0]
    finally:
        model.train(was_training)
