"""Datasets as whole uint8 tensors on the run's device, and a batched loader.

Arrays are taken once from torchvision's own dataset classes (so its on-disk
layouts and download logic are reused) and cached per process. No per-image
PIL transform ever runs in the training loop: batching, augmentation and
normalization are tensor operations on the device (see augment.py).
"""
from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from filelock import FileLock

from . import augment as aug
from .. import settings

DATA_ROOT_FIX = f"--data-root or ${settings.env_name('data_root')}"
DOWNLOAD_FIX = f"unset {settings.env_name('download')}=0 / drop --no-download"

# Files torchvision reads, per dataset, relative to the data root.
REQUIRED_FILES = {
    "cifar10": [f"cifar-10-batches-py/{n}" for n in
                ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")],
    "mnist": [f"MNIST/raw/{n}" for n in
              ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")],
}
NUM_CLASSES = {"cifar10": 10, "mnist": 10, "synthetic": 10, "synthetic_mnist": 10, "synthetic_cifar": 10}
CHANNELS = {"cifar10": 3, "mnist": 1, "synthetic": 3, "synthetic_mnist": 1, "synthetic_cifar": 3}
# File-free stand-ins with the real datasets' shapes: (channels, side), and sizes (train, test).
# synthetic_cifar has CIFAR-10's sizes too, for speed measurements of whole 50,000-image epochs.
SYNTHETIC_SHAPES = {"synthetic": (3, 32), "synthetic_mnist": (1, 28), "synthetic_cifar": (3, 32)}
SYNTHETIC_SIZES = {"synthetic": (5000, 1000), "synthetic_mnist": (5000, 1000), "synthetic_cifar": (50000, 10000)}
DOWNLOAD_LOCK = ".{name}.download.lock"

# Test-set batch sizes. Evaluation is per image, so the size changes speed and the last bits of the
# summed test loss, not the images' logits: under the portable CPU kernels a batch of any multiple
# of 4 images gives each image the floats one batch of the whole test set gives it
# (tests/test_train.py), and 200 images keep a narrow net's activations in cache, 1.2-1.5x faster
# than 1,000 (benchmarks/README.md). On a GPU, four batches for CIFAR-10's test set.
CPU_EVAL_BATCH = 200
CUDA_EVAL_BATCH = 2500


def eval_batch_size(device_type: str) -> int:
    """Test-set batch size on a device of this type ('cpu', 'cuda')."""
    return CUDA_EVAL_BATCH if device_type == "cuda" else CPU_EVAL_BATCH

# Per-channel statistics, by normalization name.
NORMALIZATIONS = {
    # kuangliu/pytorch-cifar's values (what the reports' code used); the std is not CIFAR-10's true std
    ("cifar10", "dataset"): ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    ("cifar10", "true"): ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ("cifar10", "half"): ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ("mnist", "dataset"): ((0.1307,), (0.3081,)),
    ("mnist", "half"): ((0.5,), (0.5,)),
    ("synthetic", "dataset"): ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    ("synthetic_mnist", "dataset"): ((0.5,), (0.25,)),
}


class DatasetMissingError(FileNotFoundError):
    """The dataset is not under the data root and could not (or may not) be downloaded."""


@dataclass(frozen=True)
class Split:
    """One split of a dataset: images (N, C, H, W) uint8 and labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.images.to(device), self.labels.to(device))

    def subset(self, indices: torch.Tensor) -> "Split":
        return Split(self.images[indices], self.labels[indices])


def ensure_files(name: str, root: str | os.PathLike | None = None, download: bool | None = None) -> None:
    """Make sure `name`'s files are under the data root (downloading them if allowed), else raise
    DatasetMissingError naming the root and the options: cheap when the files are there."""
    resolved = settings.data_root(root)
    if all((resolved / f).is_file() for f in REQUIRED_FILES[name]):
        return
    load_arrays(name, root, download)


def load_arrays(name: str, root: str | os.PathLike | None = None, download: bool | None = None) -> dict[str, Split]:
    """Both official splits of `name` on the CPU, as uint8 NCHW tensors."""
    if name in SYNTHETIC_SHAPES:
        return synthetic_arrays(*SYNTHETIC_SHAPES[name], *SYNTHETIC_SIZES[name])
    if name not in REQUIRED_FILES:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(NUM_CLASSES)}")
    return _load_arrays_cached(name, settings.data_root(root), settings.download_allowed(download))


def _missing(name: str, root: Path) -> list[str]:
    return [f for f in REQUIRED_FILES[name] if not (root / f).is_file()]


@functools.lru_cache(maxsize=4)
def _load_arrays_cached(name: str, root: Path, download: bool) -> dict[str, Split]:
    missing = _missing(name, root)
    if missing and not download:
        raise DatasetMissingError(
            f"{name}: looked under data root {root} and did not find {', '.join(missing)}. "
            f"Point the data root at a folder holding torchvision's layout "
            f"({DATA_ROOT_FIX}), or allow downloading ({DOWNLOAD_FIX})."
        )
    if not missing:
        return _read(name, root, download=False)
    # several workers may find the files missing at once: one downloads and extracts, the rest wait
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / DOWNLOAD_LOCK.format(name=name))):
        return _read(name, root, download=bool(_missing(name, root)))


def _read(name: str, root: Path, download: bool) -> dict[str, Split]:
    import torchvision  # deferred: only needed when data is read

    cls = {"cifar10": torchvision.datasets.CIFAR10, "mnist": torchvision.datasets.MNIST}[name]
    splits = {}
    for split, train in (("train", True), ("test", False)):
        try:
            ds = cls(root=str(root), train=train, download=download)
        except Exception as exc:  # torchvision's own errors do not say where it looked
            raise DatasetMissingError(
                f"{name}: could not load the {split} split from {root} ({exc}). "
                f"Check the files under {root} or point {DATA_ROOT_FIX} elsewhere."
            ) from exc
        try:
            splits[split] = _to_split(name, ds.data, ds.targets)
        except (DatasetMissingError, TypeError, ValueError, RuntimeError) as exc:
            raise DatasetMissingError(
                f"{name}: the {split} split under {root} is damaged ({exc}). "
                f"Replace the files under {root} (delete them to download again) or point {DATA_ROOT_FIX} elsewhere."
            ) from exc
    return splits


@functools.lru_cache(maxsize=2)
def synthetic_arrays(channels: int = 3, side: int = 32, train: int = 5000, test: int = 1000,
                     seed: int = 0) -> dict[str, Split]:
    """uint8 images (CIFAR-shaped by default) whose class shifts the colour: learnable, needs no files.

    For the harness's own tests and for speed measurements away from the real data.
    """
    gen = torch.Generator().manual_seed(seed)
    palette = torch.randint(40, 216, (10, channels, 1, 1), generator=gen)
    chunk = 5000  # int64 noise in slices: a 50,000-image set stays a few hundred MB

    def make(n: int) -> Split:
        labels = torch.arange(n) % 10
        images = torch.empty((n, channels, side, side), dtype=torch.uint8)
        for start in range(0, n, chunk):
            part = labels[start:start + chunk]
            noise = torch.randint(-40, 41, (len(part), channels, side, side), generator=gen)
            images[start:start + chunk] = (palette[part] + noise).clamp(0, 255).to(torch.uint8)
        return Split(images, labels)

    return {"train": make(train), "test": make(test)}


def _to_split(name: str, data, targets) -> Split:
    images = torch.as_tensor(data)
    if name == "cifar10":  # numpy (N, 32, 32, 3) -> (N, 3, 32, 32)
        images = images.permute(0, 3, 1, 2)
    else:  # MNIST tensor (N, 28, 28) -> (N, 1, 28, 28)
        images = images.unsqueeze(1)
    labels = torch.as_tensor(targets, dtype=torch.int64)
    if images.dtype != torch.uint8 or images.ndim != 4 or len(images) != len(labels) or labels.ndim != 1:
        raise DatasetMissingError(f"{name}: unexpected array layout: images {tuple(images.shape)} {images.dtype}, "
                                  f"labels {tuple(labels.shape)}")
    if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < NUM_CLASSES[name]):
        raise DatasetMissingError(f"{name}: labels {int(labels.min())}..{int(labels.max())} outside the "
                                  f"{NUM_CLASSES[name]} classes 0..{NUM_CLASSES[name] - 1}")
    return Split(images.contiguous(), labels)


def balanced_subset(split: Split, size: int, num_classes: int, seed: int = 0) -> Split:
    """The same `size` images for every caller: `size // num_classes` per class, seeded order."""
    per_class = size // num_classes
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(split), generator=gen)
    chosen = []
    for c in range(num_classes):
        of_class = order[split.labels[order] == c]
        if len(of_class) < per_class:
            raise ValueError(f"subset of {size} needs {per_class} per class, class {c} has {len(of_class)}")
        chosen.append(of_class[:per_class])
    indices = torch.cat(chosen).sort().values
    return split.subset(indices)


def pooled_split(splits: dict[str, Split], ratios: tuple[int, ...], seed: int = 0) -> dict[str, Split]:
    """Pool every image and split by ratios (report 004: train:val:test = 10:1:1 of 60k)."""
    pool = Split(torch.cat([splits["train"].images, splits["test"].images]),
                 torch.cat([splits["train"].labels, splits["test"].labels]))
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    sizes = _pool_sizes(len(pool), ratios)
    parts = torch.split(order, sizes)
    names = ("train", "val", "test")[: len(ratios)]
    return {n: pool.subset(p.sort().values) for n, p in zip(names, parts)}


SPLITS = ("official", "pool-10:1:1")


# Images per official split, for planning without reading the files (tests/test_plan.py checks them).
OFFICIAL_SIZES = {"cifar10": (50000, 10000), "mnist": (60000, 10000)}
POOL_RATIOS = {"pool-10:1:1": (10, 1, 1)}


def _pool_sizes(total: int, ratios: tuple[int, ...]) -> list[int]:
    sizes = [total * r // sum(ratios) for r in ratios]
    sizes[0] += total - sum(sizes)
    return sizes


def split_sizes(name: str, split: str = "official", train_subset: int | None = None,
                test_subset: int | None = None) -> tuple[int, int]:
    """(train, test) images `prepare` would return, computed without loading anything."""
    if name in SYNTHETIC_SHAPES:
        defaults = inspect.signature(synthetic_arrays).parameters
        train, test = defaults["train"].default, defaults["test"].default
    elif name in OFFICIAL_SIZES:
        train, test = OFFICIAL_SIZES[name]
    else:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(NUM_CLASSES)}")
    if split in POOL_RATIOS:
        train, _, test = _pool_sizes(train + test, POOL_RATIOS[split])
    elif split != "official":
        raise ValueError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
    n = NUM_CLASSES[name]
    if train_subset:
        train = train_subset // n * n
    if test_subset:
        test = min(test_subset, test) // n * n
    return train, test


def prepare(name: str, split: str = "official", train_subset: int | None = None,
            test_subset: int | None = None, root: str | os.PathLike | None = None,
            download: bool | None = None) -> dict[str, Split]:
    """Train/test (and val, for pooled splits) on the CPU, subsets applied."""
    arrays = load_arrays(name, root, download)
    if split == "official":
        splits = dict(arrays)
    elif split in POOL_RATIOS:
        splits = pooled_split(arrays, POOL_RATIOS[split])
    else:
        raise ValueError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
    n = NUM_CLASSES[name]
    if train_subset:
        splits["train"] = balanced_subset(splits["train"], train_subset, n)
    if test_subset:
        for part in ("test", "val"):
            if part in splits:
                splits[part] = balanced_subset(splits[part], min(test_subset, len(splits[part])), n)
    return splits


class BatchLoader:
    """Batches from an on-device Split: shuffled by a seeded generator, augmented and normalized on device."""

    def __init__(self, split: Split, batch_size: int, *, mean: tuple[float, ...], std: tuple[float, ...],
                 augment: tuple[str, ...] = (), shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_last: bool = False) -> None:
        aug.validate(augment)
        self.split = split
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last
        device = split.images.device
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)

    def __len__(self) -> int:
        n = len(self.split)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.split)
        device = self.split.images.device
        if self.shuffle:
            order = torch.randperm(n, device=device, generator=self.generator)
        else:
            order = torch.arange(n, device=device)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            images = self.split.images[idx]
            yield self._transform(images), self.split.labels[idx]

    def _transform(self, images: torch.Tensor) -> torch.Tensor:
        g = self.generator
        if "crop" in self.augment:
            images = aug.random_crop(images, padding=4, generator=g)
        if "flip" in self.augment:
            images = aug.random_flip(images, generator=g)
        x = images.float().div_(255)
        if "rotate" in self.augment:  # report 001's RandomRotation(5), on the cropped and flipped batch
            x = aug.random_rotation(x, 5.0, generator=g)
        if "jitter" in self.augment:  # report 001's ColorJitter(0.2, 0.2, 0.2), on pixel values in [0, 1]
            x = aug.color_jitter(x, 0.2, 0.2, 0.2, generator=g)
        if "rrc" in self.augment:
            x = aug.random_resized_crop(x, generator=g)
        x = (x - self.mean) / self.std
        if "cutout" in self.augment:
            x = aug.cutout(x, size=16, generator=g)
        return x


def checksums(root: str | os.PathLike | None) -> dict[str, str]:
    """SHA-256 of every dataset file present under `root` (relative path -> hex digest), so a report
    names the exact bytes its runs read; files that are absent are left out."""
    import hashlib

    out: dict[str, str] = {}
    if root is None:
        return out
    for files in REQUIRED_FILES.values():
        for name in files:
            path = Path(root) / name
            if not path.is_file():
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            out[name] = digest.hexdigest()
    return out
