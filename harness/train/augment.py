"""Batched, seeded augmentations on the data's own device (no per-image Python).

Each op draws its randomness from the generator it is given, so a run's
augmentation stream is fixed by its seed.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("crop", "flip", "cutout", "rrc", "rotate", "jitter")


def validate(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {', '.join(AUGMENTATIONS)}")


def _rand(n: int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, device=like.device, generator=generator)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by `padding` and take a random crop of the original size per image."""
    n, c, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    span = 2 * padding + 1
    oy = (_rand(n, images, generator) * span).long().clamp_(max=span - 1)
    ox = (_rand(n, images, generator) * span).long().clamp_(max=span - 1)
    rows = (oy[:, None] + torch.arange(h, device=images.device))[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w, device=images.device))[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    chan = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Horizontal flip with probability 1/2 per image."""
    flip = (_rand(len(images), images, generator) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flip, images.flip(-1), images)


def cutout(x: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one size x size square per image, centre uniform over all pixels, clipped at the border."""
    n, _, h, w = x.shape
    cy = (_rand(n, x, generator) * h).long().clamp_(max=h - 1)
    cx = (_rand(n, x, generator) * w).long().clamp_(max=w - 1)
    ys = torch.arange(h, device=x.device)
    xs = torch.arange(w, device=x.device)
    in_y = (ys[None, :] >= (cy - size // 2)[:, None]) & (ys[None, :] < (cy + size - size // 2)[:, None])
    in_x = (xs[None, :] >= (cx - size // 2)[:, None]) & (xs[None, :] < (cx + size - size // 2)[:, None])
    hole = (in_y[:, :, None] & in_x[:, None, :]).unsqueeze(1)
    return x.masked_fill(hole, 0.0)


def random_resized_crop(x: torch.Tensor, scale: tuple[float, float] = (0.08, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3), attempts: int = 10,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's RandomResizedCrop (defaults) for a float batch, resized back bilinearly.

    As in torchvision: up to `attempts` draws of (area, log-ratio) per image,
    the first that fits wins; images with none fall back to the whole image.
    """
    n, _, h, w = x.shape
    area = h * w
    draws = torch.rand(n, attempts, 4, device=x.device, generator=generator)
    target = area * (scale[0] + (scale[1] - scale[0]) * draws[..., 0])
    log_r = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * draws[..., 1]
    aspect = torch.exp(log_r)
    cw = torch.sqrt(target * aspect).round()
    ch = torch.sqrt(target / aspect).round()
    fits = (cw > 0) & (cw <= w) & (ch > 0) & (ch <= h)
    first = torch.where(fits.any(1), fits.float().argmax(1), torch.full((n,), -1, device=x.device))
    pick = first.clamp(min=0)[:, None]
    cw = torch.where(first >= 0, cw.gather(1, pick).squeeze(1), torch.full((n,), float(w), device=x.device))
    ch = torch.where(first >= 0, ch.gather(1, pick).squeeze(1), torch.full((n,), float(h), device=x.device))
    top = (draws[:, 0, 2] * (h - ch + 1)).floor()
    left = (draws[:, 0, 3] * (w - cw + 1)).floor()
    # Affine grid in normalized coordinates mapping the output onto the crop box.
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = cw / w
    theta[:, 1, 1] = ch / h
    theta[:, 0, 2] = (2 * left + cw) / w - 1
    theta[:, 1, 2] = (2 * top + ch) / h - 1
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each image of a float batch by its angle (degrees, counter-clockwise) about the image centre:
    nearest-neighbour sampling and zero fill outside, as torchvision's RandomRotation defaults."""
    n = len(x)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    rad = degrees.to(x.dtype) * (math.pi / 180)
    cos, sin = torch.cos(rad), torch.sin(rad)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin  # output -> input coordinates (x right, y down)
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_rotation(x: torch.Tensor, degrees: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's RandomRotation(degrees): an angle uniform in [-degrees, degrees] per image."""
    angles = (_rand(len(x), x, generator) * 2 - 1) * degrees
    return rotate(x, angles)


def _grayscale(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma (torchvision's rgb_to_grayscale), one channel."""
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * other).clamp_(0.0, 1.0)


def color_jitter(x: torch.Tensor, brightness: float, contrast: float, saturation: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's ColorJitter(brightness, contrast, saturation) on a float batch in [0, 1]: per image one
    factor of each uniform in [1 - s, 1 + s], applied in a random order of the three, as torchvision does."""
    n = len(x)
    strengths = torch.tensor([brightness, contrast, saturation], device=x.device, dtype=x.dtype)
    factors = 1 + (torch.rand(n, 3, device=x.device, generator=generator, dtype=x.dtype) * 2 - 1) * strengths
    order = torch.rand(n, 3, device=x.device, generator=generator).argsort(dim=1)  # a random permutation per image
    for position in range(3):
        op = order[:, position].view(-1, 1, 1, 1)
        bright = _blend(x, torch.zeros_like(x), factors[:, 0])
        contr = _blend(x, _grayscale(x).mean(dim=(1, 2, 3), keepdim=True), factors[:, 1])
        satur = _blend(x, _grayscale(x), factors[:, 2])
        x = torch.where(op == 0, bright, torch.where(op == 1, contr, satur))
    return x
