"""Training throughput: the harness's loop against the plain loop the reports used.

    python benchmarks/train_speed.py [--models resnet18 ...] [--steps N] [--device auto] [--compile]

Same model, same batch size, same number of optimizer steps, two ways:
- ours: `harness.train.train` on synthetic uint8 data of the real dataset's shape kept on
  the device, batched crop + flip on the device (CIFAR models), channels_last, and on CUDA
  bf16 autocast and a fused optimizer; optionally torch.compile;
- plain: a torchvision-style Dataset (PIL image per sample, RandomCrop + Flip + ToTensor +
  Normalize), DataLoader with 2 workers, fp32, the kuangliu/pytorch-cifar way.
Prints images/s for both, their ratio, where our step time goes (data share), and from the
model's MACs the achieved TFLOP/s (3 x forward MACs x 2 per image) and, on a known GPU,
the fraction of its bf16 peak. Synthetic data keeps the benchmark independent of the
dataset files; the work per image is the same as on the real data.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from harness.data import SYNTHETIC_SHAPES
from harness.env import resolve_device
from harness.models import create_model
from harness.models.complexity import count_macs
from harness.spec import Spec
from harness.train import train

# Dense bf16 tensor-core peaks (TFLOP/s), for the fraction-of-peak column.
BF16_PEAK = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "V100": 125.0, "L4": 121.0}
MODELS = {  # name -> (registry name, kwargs, synthetic dataset, augmentations)
    "resnet18": ("resnet18", {}, "synthetic", ("crop", "flip")),
    "resnet18_w16": ("resnet18", {"width": 0.25}, "synthetic", ("crop", "flip")),
    "wrn28_10": ("wrn28_10", {}, "synthetic", ("crop", "flip")),
    "vgg_a": ("vgg_a", {}, "synthetic", ("crop", "flip")),
    "lenet_mnist": ("lenet_mnist", {}, "synthetic_mnist", ()),
}
CPU_FLOP_PER_MEASUREMENT = 3e12  # --steps auto on the CPU: about 25 s per loop at 0.12 TFLOP/s
GPU_STEPS = 100


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

    model_name, kwargs, dataset, augment = MODELS[name]
    channels, side = SYNTHETIC_SHAPES[dataset]
    n = (steps + 2) * batch  # two warm-up steps
    rng = np.random.default_rng(0)
    shape = (n, side, side, channels) if channels == 3 else (n, side, side)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    mean, std = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)) if channels == 3 else ((0.1307,), (0.3081,))
    augmentation = [T.RandomCrop(side, padding=4), T.RandomHorizontalFlip()] if augment else []
    transform = T.Compose([*augmentation, T.ToTensor(), T.Normalize(mean, std)])
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


def our_loop(name: str, steps: int, batch: int, device: torch.device, compile: bool) -> tuple[float, float, float]:
    """Images/s of harness.train in its second epoch (evaluation excluded), the data share of
    that time, and the compile time (nan when not compiling)."""
    model_name, kwargs, dataset, augment = MODELS[name]
    spec = Spec(model=model_name, model_args=kwargs, dataset=dataset, epochs=2, batch_size=batch, lr=0.01,
                optimizer_args={"momentum": 0.9, "weight_decay": 5e-4}, augment=augment,
                train_subset=min(steps * batch, 5000), test_subset=100,
                precision="bf16" if device.type == "cuda" else "fp32")
    result = train(spec, device=device, progress=False, compile=compile)
    curves = result.curves
    training = curves["epoch_time"][-1] - curves["eval_time"][-1]
    return (spec.train_subset / training, curves["data_time"][-1] / training,
            result.environment.get("compile_time", float("nan")))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet18_w16", "resnet18", "vgg_a", "wrn28_10"],
                        choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=None,
                        help=f"optimizer steps per measurement (default: {GPU_STEPS} on a GPU; on the CPU 3 to 30, "
                             "about 3 TFLOP of work per model)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument("--compile", action="store_true", help="torch.compile our loop's model (time reported)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's, all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    peak = next((v for k, v in BF16_PEAK.items() if gpu and k in gpu), None)
    print(f"device {gpu or 'cpu'}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch}, compile {'on' if args.compile else 'off'}")
    print(f"{'model':<14}{'MACs/img':>10}{'steps':>6}{'ours img/s':>11}{'plain img/s':>12}{'ratio':>7}"
          f"{'data %':>7}{'TFLOP/s':>9}{'% peak':>8}{'compile s':>10}")
    for name in args.models:
        model_name, kwargs, dataset, _ = MODELS[name]
        channels, side = SYNTHETIC_SHAPES[dataset]
        macs = count_macs(create_model(model_name, in_channels=channels, **kwargs), (1, channels, side, side))
        steps = args.steps or (GPU_STEPS if device.type == "cuda" else
                               max(3, min(30, int(CPU_FLOP_PER_MEASUREMENT / (6 * macs * args.batch)))))
        ours, data_share, compile_time = our_loop(name, steps, args.batch, device, args.compile)
        plain = plain_loop(name, steps, args.batch, device)
        tflops = 6 * macs * ours / 1e12
        share = f"{100 * tflops / peak:8.1f}" if peak else "       -"
        compiled = f"{compile_time:10.1f}" if compile_time == compile_time else "         -"
        print(f"{name:<14}{macs / 1e6:>9.1f}M{steps:>6}{ours:>11.0f}{plain:>12.0f}{ours / plain:>7.2f}"
              f"{100 * data_share:>7.1f}{tflops:>9.3f}{share}{compiled}", flush=True)


if __name__ == "__main__":
    main()
