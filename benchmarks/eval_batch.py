"""Test-set batch size on the CPU: seconds per evaluation, and whether each image's logits stay the same.

    python benchmarks/eval_batch.py                      # the fast tier's models, 1 thread, portable kernels
    python benchmarks/eval_batch.py --sizes 1000 200 100 50 --threads 2

A fast-tier run evaluates its test subset after every epoch, about a fifth of its time. The batch
size may change only speed: each image's logits must be bitwise those of one batch holding the
whole test set (the reference column), or the test accuracy and per-image correctness of a run
would depend on it. Random weights and random images suffice: which kernel runs, and how it
blocks the batch, depends on the shapes, not the values. Prints one row per model: seconds per
evaluation at each size, '!' where the logits differ from the reference.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness  # noqa: E402,F401  (puts the portable CPU kernels in force before torch loads)
import torch  # noqa: E402

from harness.catalog.models import create_model  # noqa: E402

# The fast tier's models and model arguments (reference/*.yaml fast budgets).
FAST_MODELS = [
    ("resnet18", {"width": 0.0625}), ("resnet18", {"width": 0.0625, "activation_fn": "gelu"}),
    ("resnet18", {"width": 0.0625, "activation_fn": "elu"}), ("resnet18", {"width": 0.0625, "shortcut": False}),
    ("resnet18", {"width": 0.0625, "batchnorm": False}), ("mynet", {"channels": [16, 32]}),
    ("mynet", {"channels": [16, 32], "hidden": 300}),
    ("modified_resnet", {"blocks": [2, 2, 2, 2, 3], "channels": [4, 8, 16, 16, 32]}),
    ("myresnet9", {"width": 8}), ("vgg_a", {"width": 0.0625}), ("vgg_a_bn", {"width": 0.0625}), ("lenet_mnist", {}),
]


def logits_in_batches(model: torch.nn.Module, images: torch.Tensor, size: int) -> tuple[float, torch.Tensor]:
    """Seconds for one pass over `images` in batches of `size` (after a warm-up batch), and the logits."""
    with torch.no_grad():
        model(images[:size])
        start = time.perf_counter()
        logits = torch.cat([model(images[i:i + size]) for i in range(0, len(images), size)])
    return time.perf_counter() - start, logits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 500, 200, 100, 50])
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (1: as each fast-tier run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("model | " + " | ".join(f"batch {s}" for s in args.sizes))
    for name, model_args in FAST_MODELS:
        mnist = name.endswith("mnist")
        torch.manual_seed(0)
        model = create_model(name, num_classes=10, in_channels=1 if mnist else 3, **model_args).eval()
        images = torch.rand(2000 if mnist else 1000, 1 if mnist else 3, 28 if mnist else 32, 28 if mnist else 32) * 4 - 2
        _, reference = logits_in_batches(model, images, len(images))
        cells = []
        for size in args.sizes:
            seconds, logits = logits_in_batches(model, images, size)
            cells.append(f"{seconds:.3f}{'' if torch.equal(logits, reference) else '!'}")
        print(f"{name} {model_args} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
