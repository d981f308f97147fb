"""Training throughput: the harness's loop against the plain loop the reports used, and a tuned plain loop.

    python benchmarks/train_speed.py [--models resnet18 ...] [--images N] [--epochs E] [--device auto] [--compile]

Same model, same batch size, whole epochs of the same images, three ways:
- ours: `harness.train.loop.train` on synthetic uint8 data of the real dataset's shape kept on
  the device, batched crop + flip on the device (CIFAR models), and on CUDA channels_last,
  bf16 autocast, cuDNN autotuning and a fused optimizer; optionally torch.compile;
- plain: a torchvision-style Dataset (PIL image per sample, RandomCrop + Flip + ToTensor +
  Normalize), DataLoader with 2 workers, fp32, `loss.item()` every step: the kuangliu/pytorch-cifar way;
- tuned: the same plain loop with 8 workers, pinned memory and non-blocking copies.
Each figure is the median over epochs 2+ (the first pays for worker start-up, autotuning and
compilation); evaluation is left out. On CUDA an epoch is 50,000 images (CIFAR-10's), timed
with the GPU synchronised at its ends. Prints images/s, the ratios, where our step time goes
(data share), and from the model's MACs the achieved TFLOP/s (3 x forward MACs x 2 per image)
and, on a known GPU, the fraction of its bf16 peak. Synthetic data keeps the benchmark
independent of the dataset files; the work per image is the same as on the real data.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from a checkout

import harness  # noqa: E402,F401  (before torch: the CPU kernel choice of harness/cpu.py)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from harness.train.data import SYNTHETIC_SHAPES, SYNTHETIC_SIZES  # noqa: E402
from harness.train.device import resolve_device  # noqa: E402
from harness.catalog.models import create_model  # noqa: E402
from harness.catalog.models.complexity import count_macs  # noqa: E402
from harness.runs.spec import Spec  # noqa: E402
from harness.train.timing import epoch_seconds  # noqa: E402
from harness.train.loop import train  # noqa: E402

# Dense bf16 tensor-core peaks (TFLOP/s), for the fraction-of-peak column.
BF16_PEAK = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "V100": 125.0, "L4": 121.0}
MODELS = {  # name -> (registry name, kwargs, synthetic dataset, augmentations)
    "resnet18": ("resnet18", {}, "synthetic", ("crop", "flip")),
    "resnet18_w16": ("resnet18", {"width": 0.25}, "synthetic", ("crop", "flip")),
    "resnet18_w4": ("resnet18", {"width": 0.0625}, "synthetic", ("crop", "flip")),  # the smoke test's quick mode
    "wrn28_10": ("wrn28_10", {}, "synthetic", ("crop", "flip")),
    "vgg_a": ("vgg_a", {}, "synthetic", ("crop", "flip")),
    "lenet_mnist": ("lenet_mnist", {}, "synthetic_mnist", ()),
}
CPU_FLOP_PER_EPOCH = 1.5e12  # --images auto on the CPU: about 12 s per epoch at 0.12 TFLOP/s
GPU_IMAGES = 50_000
TUNED_WORKERS = min(8, os.cpu_count() or 1)  # the tuned plain loop's DataLoader processes


def peak_bf16(device: torch.device) -> float | None:
    """The device's dense bf16 peak in TFLOP/s, when it is a GPU we know."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in BF16_PEAK.items() if k in name), None)


def macs_per_image(name: str) -> int:
    model_name, kwargs, dataset, _ = MODELS[name]
    channels, side = SYNTHETIC_SHAPES[dataset]
    return count_macs(create_model(model_name, in_channels=channels, **kwargs), (1, channels, side, side))


def dataset_for(name: str, images: int) -> str:
    """The model's synthetic set, or its CIFAR-sized twin when more images are asked for than it has."""
    dataset = MODELS[name][2]
    return "synthetic_cifar" if dataset == "synthetic" and images > SYNTHETIC_SIZES[dataset][0] else dataset


class PilDataset(torch.utils.data.Dataset):
    """What torchvision.datasets.CIFAR10 does per item: uint8 HWC -> PIL -> transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def plain_loop(name: str, images: int, epochs: int, batch: int, device: torch.device, workers: int = 2,
               pin_memory: bool = False) -> float:
    """Images per second of the reports' style of training loop (median over epochs 2+).

    With one epoch its first two steps are left out (worker start, cuDNN autotuning)."""
    import torchvision.transforms as T

    model_name, kwargs, dataset, augment = MODELS[name]
    channels, side = SYNTHETIC_SHAPES[dataset]
    rng = np.random.default_rng(0)
    shape = (images, side, side, channels) if channels == 3 else (images, side, side)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, 10, images)
    mean, std = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)) if channels == 3 else ((0.1307,), (0.3081,))
    augmentation = [T.RandomCrop(side, padding=4), T.RandomHorizontalFlip()] if augment else []
    transform = T.Compose([*augmentation, T.ToTensor(), T.Normalize(mean, std)])
    loader = torch.utils.data.DataLoader(PilDataset(pixels, labels, transform), batch_size=batch, shuffle=True,
                                         num_workers=workers, pin_memory=pin_memory and device.type == "cuda",
                                         persistent_workers=workers > 0, drop_last=True)
    model = create_model(model_name, in_channels=channels, **kwargs).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()
    rates = []
    for epoch in range(epochs):
        start, seen = None, 0
        for i, (x, y) in enumerate(loader):
            if start is None and (epochs > 1 or i == 2):
                _sync(device)
                start, seen = time.perf_counter(), 0
            x, y = x.to(device, non_blocking=pin_memory), y.to(device, non_blocking=pin_memory)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()  # the reports' loops read the loss every step
            seen += len(y)
        _sync(device)
        if start is not None:
            rates.append(seen / (time.perf_counter() - start))
    return statistics.median(rates[1:] or rates)


def our_loop(name: str, images: int, epochs: int, batch: int, device: torch.device, compile: bool = False,
             cudnn_benchmark: bool | None = None) -> dict[str, float]:
    """harness.train.loop on `images` training images: images/s and seconds per epoch (median over epochs 2+,
    evaluation excluded), the data share of that time, the compile time and graphs (nan when not compiling)."""
    model_name, kwargs, _, augment = MODELS[name]
    dataset = dataset_for(name, images)
    spec = Spec(model=model_name, model_args=kwargs, dataset=dataset, epochs=epochs, batch_size=batch, lr=0.01,
                optimizer_args={"momentum": 0.9, "weight_decay": 5e-4}, augment=augment,
                train_subset=images if images < SYNTHETIC_SIZES[dataset][0] else None, test_subset=100,
                precision="bf16" if device.type == "cuda" else "fp32", device=device.type)
    result = train(spec, device=device, progress=False, compile=compile, cudnn_benchmark=cudnn_benchmark)
    seconds = epoch_seconds(result, minus=("eval",))
    data = statistics.median(result.curves["data_time"][1:] or result.curves["data_time"])
    env = result.environment
    return {"img_s": images / seconds, "epoch_s": seconds, "data_share": data / seconds,
            "compile_time": env.get("compile_time", float("nan")), "compile_graphs": env.get("compile_graphs", 0)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["resnet18_w16", "resnet18", "vgg_a", "wrn28_10"],
                        choices=sorted(MODELS))
    parser.add_argument("--images", type=int, default=None,
                        help=f"training images per epoch (default: {GPU_IMAGES} on a GPU; on the CPU about "
                             "1.5 TFLOP of work per epoch, 256 to 5,000 images)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per loop; the median of epochs 2+ is shown")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument("--compile", action="store_true", help="torch.compile our loop's model (time reported)")
    parser.add_argument("--no-tuned", action="store_true", help="leave out the tuned plain loop (8 workers, pinned memory)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's, all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    peak = peak_bf16(device)
    print(f"device {gpu or 'cpu'}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch}, epochs {args.epochs} (median of 2+), compile {'on' if args.compile else 'off'}")
    print(f"{'model':<14}{'MACs/img':>10}{'images':>8}{'epoch s':>9}{'ours img/s':>11}{'plain':>8}{'tuned':>8}"
          f"{'x plain':>8}{'x tuned':>8}{'data %':>7}{'TFLOP/s':>9}{'% peak':>8}{'compile s':>10}")
    for name in args.models:
        macs = macs_per_image(name)
        images = args.images or (GPU_IMAGES if device.type == "cuda" else
                                 max(256, min(5000, int(CPU_FLOP_PER_EPOCH / (6 * macs)))))
        ours = our_loop(name, images, args.epochs, args.batch, device, args.compile)
        plain = plain_loop(name, images, args.epochs, args.batch, device)
        tuned = float("nan") if args.no_tuned else plain_loop(name, images, args.epochs, args.batch, device,
                                                               workers=TUNED_WORKERS, pin_memory=True)
        tflops = 6 * macs * ours["img_s"] / 1e12
        share = f"{100 * tflops / peak:8.1f}" if peak else "       -"
        compiled = f"{ours['compile_time']:10.1f}" if args.compile else "         -"
        print(f"{name:<14}{macs / 1e6:>9.1f}M{images:>8}{ours['epoch_s']:>9.2f}{ours['img_s']:>11.0f}{plain:>8.0f}"
              f"{tuned:>8.0f}{ours['img_s'] / plain:>8.2f}{ours['img_s'] / tuned:>8.2f}"
              f"{100 * ours['data_share']:>7.1f}{tflops:>9.3f}{share}{compiled}", flush=True)


if __name__ == "__main__":
    main()
