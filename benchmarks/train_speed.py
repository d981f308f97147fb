"""Training throughput: the harness's loop against the plain loop the reports used.

    python benchmarks/train_speed.py [--models resnet18 ...] [--steps 30] [--device auto]

Same model, same batch size, same number of optimizer steps, two ways:
- ours: `harness.train.train` on CIFAR-shaped synthetic uint8 data kept on the device,
  batched crop + flip on the device, bf16 autocast + channels_last on CUDA;
- plain: a torchvision-style Dataset (PIL image per sample, RandomCrop + Flip + ToTensor +
  Normalize), DataLoader with 2 workers, fp32, the kuangliu/pytorch-cifar way.
Prints images/s for both, their ratio, and from the model's MACs the achieved
TFLOP/s (3 x forward MACs x 2 per image) and, on a known GPU, the fraction of its peak.
Synthetic data keeps the benchmark independent of the dataset files; the work per
image is the same as on CIFAR-10.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from harness.env import resolve_device
from harness.models import create_model
from harness.models.complexity import count_macs
from harness.spec import Spec
from harness.train import train

# Dense bf16 tensor-core peaks (TFLOP/s), for the fraction-of-peak column.
BF16_PEAK = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "V100": 125.0, "L4": 121.0}
MODELS = {  # name -> (registry name, kwargs, input channels, image side)
    "resnet18": ("resnet18", {}, 3, 32),
    "resnet18_w16": ("resnet18", {"width": 0.25}, 3, 32),
    "wrn28_10": ("wrn28_10", {}, 3, 32),
    "vgg_a": ("vgg_a", {}, 3, 32),
    "lenet_mnist": ("lenet_mnist", {}, 1, 28),
}


class PilDataset(torch.utils.data.Dataset):
    """What torchvision.datasets.CIFAR10 does per item: uint8 HWC -> PIL -> transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def plain_loop(name: str, steps: int, batch: int, device: torch.device) -> float:
    """Images per second of the reports' style of training loop."""
    import torchvision.transforms as T

    model_name, kwargs, channels, side = MODELS[name]
    n = steps * batch
    rng = np.random.default_rng(0)
    shape = (n, side, side, channels) if channels == 3 else (n, side, side)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    mean, std = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)) if channels == 3 else ((0.1307,), (0.3081,))
    transform = T.Compose([T.RandomCrop(side, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    loader = torch.utils.data.DataLoader(PilDataset(images, labels, transform), batch_size=batch, shuffle=True,
                                         num_workers=2, drop_last=True)
    model = create_model(model_name, in_channels=channels, **kwargs).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    start, seen = None, 0
    for i, (x, y) in enumerate(loader):
        if i == 2:  # skip warm-up steps (worker start, cudnn autotune)
            _sync(device)
            start, seen = time.perf_counter(), 0
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()  # the reports' loops read the loss every step
        seen += len(y)
    _sync(device)
    return seen / (time.perf_counter() - start)


def our_loop(name: str, steps: int, batch: int, device: torch.device) -> float:
    """Images per second of harness.train (epoch time minus evaluation), second epoch."""
    model_name, kwargs, channels, _ = MODELS[name]
    if channels != 3:
        return float("nan")  # the synthetic set is CIFAR-shaped; LeNet needs 1x28x28
    spec = Spec(model=model_name, model_args=kwargs, dataset="synthetic", epochs=2, batch_size=batch, lr=0.01,
                optimizer_args={"momentum": 0.9, "weight_decay": 5e-4}, augment=("crop", "flip"),
                train_subset=min(steps * batch, 5000), test_subset=1000,
                precision="bf16" if device.type == "cuda" else "fp32")
    result = train(spec, device=device, progress=False)
    epoch = result.curves["epoch_time"][-1] - result.curves["eval_time"][-1]
    return spec.train_subset / epoch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet18_w16", "resnet18", "vgg_a", "wrn28_10"],
                        choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per measurement (default 30)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    peak = next((v for k, v in BF16_PEAK.items() if gpu and k in gpu), None)
    print(f"device {gpu or 'cpu'}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch}, {args.steps} steps")
    print(f"{'model':<14}{'MACs/img':>12}{'ours img/s':>12}{'plain img/s':>13}{'ratio':>7}{'TFLOP/s':>9}{'% peak':>8}")
    for name in args.models:
        model_name, kwargs, channels, side = MODELS[name]
        macs = count_macs(create_model(model_name, in_channels=channels, **kwargs), (1, channels, side, side))
        ours = our_loop(name, args.steps, args.batch, device)
        plain = plain_loop(name, args.steps, args.batch, device)
        tflops = 6 * macs * ours / 1e12 if ours == ours else 6 * macs * plain / 1e12
        share = f"{100 * tflops / peak:7.1f}" if peak else "      -"
        print(f"{name:<14}{macs / 1e6:>11.1f}M{ours:>12.0f}{plain:>13.0f}{ours / plain:>7.2f}{tflops:>9.3f}{share:>8}")


if __name__ == "__main__":
    main()
