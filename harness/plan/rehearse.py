"""Rehearse a run's recipe on the CPU in seconds, so a recipe that would fail at epoch 1 fails now.

A rehearsal builds exactly what training builds (harness/train/loop.py's `build_run`: data split,
augmentation, model with its arguments, loss, optimizer, the schedule for the whole run,
probes, bf16 autocast where the Spec says bf16), trains two steps on the first `images`
images of a real batch, evaluates one batch, runs the probes' epoch and end-of-training
hooks, writes a checkpoint and resumes a freshly built run from it (in a temporary
folder), and steps a fresh optimizer's schedule through every epoch and step without
training to record the planned learning rate per epoch. Nothing goes into a run store.

What a CPU rehearsal cannot show: CUDA-only code paths (fused optimizers, channels_last,
torch.compile, GPU memory).
"""
from __future__ import annotations

import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import cpu
from ..train import data
from ..catalog.probes import EpochContext
from ..runs.spec import Spec
from ..train.timing import PhaseTimer
from ..train.checkpoint import CorruptCheckpointWarning, RunParts, resume, save_checkpoint
from ..train.loop import (Run, cpu_threads,
                          build_optimizer_and_schedule, build_run, evaluate, normalization, train_step)

STEPS = 2
# Images per rehearsed step and in the rehearsed evaluation. On a CPU without native bf16 (AVX2) a bf16
# convolution runs at reference-kernel speed, in proportion to the images: 2 keep the whole full tier
# to minutes on 2 cores (benchmarks/README.md), where 8 took over 20 minutes.
DEFAULT_IMAGES = 2
# What ReduceLROnPlateau is fed while the schedule is stepped without training: a metric that never improves.
FIXED_METRICS = {"train_loss": 1.0, "test_loss": 1.0, "train_acc": 0.5, "test_acc": 0.5}


@dataclass
class Rehearsal:
    """The outcome of one run's rehearsal: ok or the error, the time it took, the planned learning rate."""

    key: str
    spec: dict[str, Any]
    ok: bool
    error: str | None = None
    error_at: str | None = None  # file:line of the failure
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    steps_per_epoch: int | None = None
    planned_lr: list[float] = field(default_factory=list)  # at the start of each epoch, as curves["lr"]
    lr_note: str | None = None
    loss: list[float] = field(default_factory=list)  # the rehearsed steps' training losses
    cpu_kernels: str = "portable"  # harness/cpu.py's kernels in force: no verdict rests on a rehearsal's floats

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rehearse(spec: Spec, *, data_root: str | None = None, download: bool | None = None,
             images: int = DEFAULT_IMAGES) -> Rehearsal:
    """Rehearse `spec` on the CPU; any exception becomes a failed Rehearsal carrying its message."""
    started, cpu_started = time.perf_counter(), time.process_time()
    out = Rehearsal(key=spec.key, spec=spec.to_dict(), ok=False, cpu_kernels=cpu.in_force())
    device = torch.device("cpu")
    try:
        with cpu_threads(device), warnings.catch_warnings():
            warnings.simplefilter("error", CorruptCheckpointWarning)  # a checkpoint that cannot resume is a failure
            _rehearse(spec, device, data_root, download, images, out)
        out.ok = True
    except Exception as exc:  # the point of a rehearsal: every failure is a result, not a crash
        out.error = f"{type(exc).__name__}: {exc}"[:2000]
        out.error_at = _where(exc)
    out.seconds = time.perf_counter() - started
    out.cpu_seconds = time.process_time() - cpu_started
    return out


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def _rehearse(spec: Spec, device: torch.device, data_root: str | None, download: bool | None, images: int,
              out: Rehearsal) -> None:
    run = build_run(spec, device, data_root, download)
    out.steps_per_epoch = len(run.train_loader)
    out.loss = _train_steps(run, images)
    evaluate_now = _small_evaluation(run, images)
    evaluate_now()
    if run.probes:
        ctx = EpochContext(run.model, run.optimizer, 1, evaluate_now)
        for probe in run.probes.values():
            probe.after_epoch(ctx)
            probe.after_training(ctx)
            probe.result()
    fresh = _checkpoint_and_resume(run, data_root, download)
    out.planned_lr, out.lr_note = planned_lr(spec, fresh.model, device, out.steps_per_epoch)


def _train_steps(run: Run, images: int) -> list[float]:
    """STEPS optimizer steps through train.py's own step, each on the first `images` images of a real batch."""
    run.model.train()
    timer = PhaseTimer(run.device)
    batches = iter(run.train_loader)
    losses = []
    for step in range(STEPS):
        x, y = next(batches)
        x, y = x[:images].contiguous(memory_format=run.layout), y[:images]
        loss, _ = train_step(run, run.model, x, y, step, timer)
        losses.append(float(loss.detach()))
    return losses


def _small_evaluation(run: Run, images: int):
    """An evaluation of the first `images` test images through train.py's evaluate, as probes call it."""
    split = run.test_loader.split
    part = split.subset(torch.arange(min(images, len(split)), device=split.images.device))
    mean, std = normalization(run.spec)
    loader = data.BatchLoader(part, images, mean=mean, std=std)

    def evaluate_now(per_image: list | None = None) -> tuple[float, float]:
        return evaluate(run.model, loader, run.loss_fn, run.autocast, run.layout, per_image)

    return evaluate_now


def _checkpoint_and_resume(run: Run, data_root: str | None, download: bool | None) -> Run:
    """Write the run's checkpoint, build the run afresh and resume it from there (a failure raises)."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
        path = Path(tmp) / "checkpoint.pt"
        state = {"epoch": 1, "step": STEPS, "elapsed": 0.0, "cpu_time": 0.0, "resumed": [], "test_correct": {}}
        save_checkpoint(path, _parts(run), state)
        fresh = build_run(run.spec, run.device, data_root, download)
        restored = resume(path, _parts(fresh))
    if restored is None or restored["step"] != STEPS:
        raise RuntimeError(f"the checkpoint did not resume: {restored!r}")
    return fresh


def _parts(run: Run) -> RunParts:
    curves: dict[str, list[float]] = {}
    return RunParts(run.spec, run.device, run.model, run.optimizer, run.schedule, run.gen, curves, run.probes)


def planned_lr(spec: Spec, model: torch.nn.Module, device: torch.device,
               steps_per_epoch: int) -> tuple[list[float], str | None]:
    """The learning rate at the start of every epoch, a fresh optimizer's schedule stepped through the whole run.

    Nothing trains; a schedule on a monitored metric (ReduceLROnPlateau) is fed a fixed
    value, so its curve is the decay it would make if the metric never improved, and the
    note says so.
    """
    optimizer, schedule = build_optimizer_and_schedule(spec, model, device, steps_per_epoch)
    lrs = []
    with warnings.catch_warnings():  # the schedule steps with no optimizer step before it, on purpose
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
        for _ in range(spec.epochs):
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            for _ in range(steps_per_epoch):
                schedule.after_batch()
            schedule.after_epoch(FIXED_METRICS)
    note = None
    if schedule.monitor:
        note = (f"ReduceLROnPlateau fed a fixed {schedule.monitor} of {FIXED_METRICS[schedule.monitor]} every "
                f"epoch: the curve is its decay if {schedule.monitor} never improves")
    return lrs, note
