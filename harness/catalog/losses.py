"""Loss functions the reports compare, all as f(logits, labels) -> scalar.

Losses that need a target vector (BCE, MSE, Huber, soft-margin) get the
one-hot encoding of the label; the reports do not say otherwise, and this is
how kuangliu-style training code adapts them (assumption recorded in reference/).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .registry import Registry

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: Registry[LossFn] = Registry("loss")


def _one_hot(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, logits.shape[1]).to(logits.dtype)


@LOSSES.register("cross_entropy")
def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, labels)


@LOSSES.register("nll")
def nll_on_log_softmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """NLL on log-softmax: mathematically the same function as cross-entropy."""
    return F.nll_loss(F.log_softmax(logits, dim=1), labels)


@LOSSES.register("bce")
def bce_with_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, _one_hot(logits, labels))


@LOSSES.register("mse")
def mse(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(logits, _one_hot(logits, labels))


@LOSSES.register("huber")
def huber(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.huber_loss(logits, _one_hot(logits, labels))


@LOSSES.register("soft_margin")
def soft_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """SoftMarginLoss with +-1 targets; equal to BCE-with-logits on one-hot targets."""
    return F.soft_margin_loss(logits, 2 * _one_hot(logits, labels) - 1)


@LOSSES.register("multi_margin")
def multi_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.multi_margin_loss(logits, labels)


def get_loss(name: str) -> LossFn:
    return LOSSES.get(name)
