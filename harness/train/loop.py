"""The one training loop every experiment runs through.

Seeds everything from the Spec, keeps data and metrics on the device (one host
sync per epoch), records per-epoch curves and a timing breakdown (data, step,
evaluation, probes), turns a non-finite loss into a `diverged` outcome, and
checkpoints so a killed run resumes.

Speed without changing a recipe: channels_last activations, fused optimizers,
cuDNN autotuning and bf16 autocast (when the Spec says so) on CUDA, and optionally
torch.compile (static shapes), which changes kernels but not the computation. TF32
stays off (harness/train/cuda_flags.py). CPU runs keep the default memory layout and the
machine-independent kernels of harness/cpu.py (see ARCHITECTURE.md).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import cpu, settings
from . import data, portable_ops
from .checkpoint import RunParts, resume, save_checkpoint
from .cuda_flags import cuda_flags
from .device import environment, run_device
from ..catalog.losses import get_loss
from ..catalog.models import count_parameters, create_model
from ..catalog.optim import build_optimizer, build_schedule
from ..catalog.probes import EpochContext, StepContext, build_probes
from ..runs.result import CURVE_FIELDS, RunResult, pack_bits
from ..runs.spec import Spec
from .timing import PhaseTimer

PRECISIONS = ("fp32", "bf16")


def normalization(spec: Spec) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if spec.normalize == "none":
        return (0.0,) * data.CHANNELS[spec.dataset], (1.0,) * data.CHANNELS[spec.dataset]
    try:
        return data.NORMALIZATIONS[(spec.dataset, spec.normalize)]
    except KeyError:
        known = sorted({n for d, n in data.NORMALIZATIONS if d == spec.dataset} | {"none"})
        raise ValueError(f"unknown normalization {spec.normalize!r} for {spec.dataset}; known: {known}") from None


def build_model(spec: Spec) -> torch.nn.Module:
    return create_model(spec.model, num_classes=data.NUM_CLASSES[spec.dataset], in_channels=data.CHANNELS[spec.dataset],
                        **spec.kwargs("model_args"))


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: data.BatchLoader, loss_fn, autocast,
             layout: torch.memory_format = torch.contiguous_format,
             per_example: list | None = None) -> tuple[float, float]:
    """Mean loss and accuracy over a loader, accumulated on the device, batches in the model's `layout`.

    `per_example`, when given, receives the boolean correctness of every test image in
    loader order: the paired test-set noise of two runs (harness/claim/stats.py) needs it.
    """
    model.eval()
    loss_sum = torch.zeros((), device=loader.mean.device)
    hits = []
    for x, y in loader:
        x = x.contiguous(memory_format=layout)
        with autocast():
            out = model(x)
        loss_sum += loss_fn(out.float(), y) * len(y)
        hits.append(out.argmax(1) == y)
    correct = torch.cat(hits)
    if per_example is not None:
        per_example[:] = [correct]
    n = len(loader.split)
    return (loss_sum / n).item(), (correct.sum().float() / n).item()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA (tensor-core convolutions want it); the default layout on the CPU.

    On the CPU channels_last bought nothing on AVX2 machines (benchmarks/README.md) and feeds
    oneDNN's AVX2 1x1 stride-2 backward-weights kernel the NHWC input that corrupts its heap.
    """
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


@contextlib.contextmanager
def cpu_threads(device: torch.device):
    """A CPU run trains with harness/cpu.py's thread count (and portable_ops' ReLU backward), then restores the caller's threads."""
    if device.type != "cpu":
        yield
        return
    cpu.check()
    if cpu.in_force() == "portable":
        portable_ops.install()  # ReLU's backward without the slow scalar select
    previous = torch.get_num_threads()
    torch.set_num_threads(cpu.training_threads(previous))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def _current_device(device: torch.device):
    """A CUDA run makes its GPU the current one: timing events, synchronize() and new tensors
    otherwise go to cuda:0 whatever `cuda:N` the run was given."""
    if device.type != "cuda":
        yield
        return
    with torch.cuda.device(device):
        yield


@dataclass
class Run:
    """What the training loop trains with, built from a Spec in one place: training and the
    rehearsal of a recipe (harness/plan/rehearse.py) build it through the same code."""

    spec: Spec
    device: torch.device
    train_loader: data.BatchLoader
    test_loader: data.BatchLoader
    model: torch.nn.Module
    loss_fn: Any
    optimizer: torch.optim.Optimizer
    schedule: Any
    gen: torch.Generator
    layout: torch.memory_format
    probes: dict[str, Any]

    def autocast(self):
        """bf16 autocast on the run's device when the Spec says bf16, else nothing."""
        if self.spec.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)


def build_optimizer_and_schedule(spec: Spec, model: torch.nn.Module, device: torch.device,
                                 steps_per_epoch: int) -> tuple[torch.optim.Optimizer, Any]:
    """The Spec's optimizer over `model` and its schedule for the whole run (epochs x steps per epoch)."""
    optimizer = build_optimizer(spec.optimizer, model, spec.lr, fused=device.type == "cuda",
                                **spec.kwargs("optimizer_args"))
    schedule = build_schedule(spec.schedule, optimizer, spec.epochs, steps_per_epoch, **spec.kwargs("schedule_args"))
    return optimizer, schedule


def build_run(spec: Spec, device: torch.device, data_root: str | None = None, download: bool | None = None) -> Run:
    """Seed, data split and loaders (augmentation included), model, loss, optimizer, schedule and probes of `spec`."""
    if spec.precision not in PRECISIONS:
        raise ValueError(f"unknown precision {spec.precision!r}; known: {', '.join(PRECISIONS)}")
    torch.manual_seed(spec.seed)
    splits = {k: v.to(device) for k, v in data.prepare(
        spec.dataset, spec.split, spec.train_subset, spec.test_subset, data_root, download).items()}
    mean, std = normalization(spec)
    gen = torch.Generator(device=device).manual_seed(spec.seed)
    train_loader = data.BatchLoader(splits["train"], spec.batch_size, mean=mean, std=std,
                                    augment=spec.augment, shuffle=True, generator=gen)
    test_loader = data.BatchLoader(splits["test"], data.eval_batch_size(device.type), mean=mean, std=std)
    layout = memory_format(device)
    model = build_model(spec).to(device=device, memory_format=layout)
    loss_fn = get_loss(spec.loss)
    optimizer, schedule = build_optimizer_and_schedule(spec, model, device, len(train_loader))
    probes = build_probes(spec.probes, spec.kwargs("probe_args"))
    return Run(spec, device, train_loader, test_loader, model, loss_fn, optimizer, schedule, gen, layout, probes)


def train_step(run: Run, forward: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, step: int,
               timer: PhaseTimer) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on (x, y), probes and per-batch schedule included; returns (loss, outputs)."""
    with timer.phase("step"):
        with run.autocast():
            out = forward(x)
        loss = run.loss_fn(out.float(), y)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
    if run.probes:
        with timer.phase("probe"):
            ctx = StepContext(run.model, run.optimizer, run.loss_fn, x, y, loss, step,
                              run.optimizer.param_groups[0]["lr"])
            for probe in run.probes.values():
                probe.before_step(ctx)
    with timer.phase("step"):
        run.optimizer.step()
    if run.probes:
        with timer.phase("probe"):
            for probe in run.probes.values():
                probe.after_step(ctx)
    run.schedule.after_batch()
    return loss, out


def train(spec: Spec, *, device: str | torch.device | None = None, data_root: str | None = None,
          download: bool | None = None, progress: bool | None = None,
          checkpoint_path: Path | None = None, checkpoint_every: int = 1, checkpoint_minutes: float = 0.0,
          compile: bool | None = None, cudnn_benchmark: bool | None = None) -> RunResult:
    """Train `spec` to completion (or divergence) and return its result.

    The run trains on its Spec's device kind; `device` (or $REPRO_DEVICE) may name the device
    of that kind (`cuda:1`). A checkpoint is written at every `checkpoint_every`-th epoch end
    once `checkpoint_minutes` have passed since the last one (0: at every such epoch end).
    """
    device = run_device(spec.device, device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    options = {"checkpoint_path": checkpoint_path, "checkpoint_every": checkpoint_every,
               "checkpoint_seconds": 60 * checkpoint_minutes, "compile": settings.compile_enabled(compile)}
    with cpu_threads(device), _current_device(device), cuda_flags(device, cudnn_benchmark) as flags:
        return _train(spec, device, data_root, download, progress, flags=flags, **options)



def _compile(model: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, int]]:
    """torch.compile with static shapes, from a clean cache.

    Without the reset, every model variant trained in one process adds guards to the same
    forward code until dynamo's recompile limit is hit, after which it silently runs eager;
    static shapes compile the short last batch once instead of a dynamic-shape graph.
    """
    import torch._dynamo
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    before = {"graphs": counters["stats"]["unique_graphs"]}
    return torch.compile(model, dynamic=False), before


def _compiled_graphs(before: dict[str, int]) -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"] - before["graphs"]


def _train(spec: Spec, device: torch.device, data_root: str | None, download: bool | None, progress: bool | None,
           *, checkpoint_path: Path | None, checkpoint_every: int, checkpoint_seconds: float, compile: bool,
           flags: dict[str, Any]) -> RunResult:
    compiled = compile
    started = time.perf_counter()
    cpu_started = time.process_time()
    run = build_run(spec, device, data_root, download)
    model, optimizer, schedule, gen = run.model, run.optimizer, run.schedule, run.gen
    train_loader, test_loader, loss_fn, layout, autocast = (run.train_loader, run.test_loader, run.loss_fn,
                                                            run.layout, run.autocast)
    forward, compile_counts = _compile(model) if compiled else (model, {})

    curves: dict[str, list[float]] = {name: [] for name in CURVE_FIELDS}
    test_correct: dict[str, str] = {}  # "best" / "final" epoch -> packed per-image correctness
    per_example: list = []
    probes = run.probes
    state: dict[str, Any] = {"epoch": 0, "step": 0, "elapsed": 0.0, "cpu_time": 0.0,  # before this process
                             "resumed": []}
    parts = RunParts(spec, device, model, optimizer, schedule, gen, curves, probes)
    if checkpoint_path is not None and checkpoint_path.exists():
        restored = resume(checkpoint_path, parts)
        if restored is not None:  # remember where: a resumed run says so in its result
            state = {"resumed": [], **restored}
            state["resumed"] = [*state["resumed"], state["epoch"]]
            test_correct.update(state.pop("test_correct", {}))
    best_acc = max(curves["test_acc"], default=float("-inf"))
    last_checkpoint = time.perf_counter()

    def evaluate_now(per_image: list | None = None) -> tuple[float, float]:
        return evaluate(forward, test_loader, loss_fn, autocast, layout, per_image)

    bar = _progress_bar(spec, state["epoch"], progress)
    timer = PhaseTimer(device)
    compile_time = None
    diverged_at = None
    for epoch in range(state["epoch"], spec.epochs):
        epoch_start = time.perf_counter()
        forward.train()  # the compiled wrapper passes the mode on to the model
        step_losses = torch.zeros(len(train_loader), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        lr = optimizer.param_groups[0]["lr"]
        batches = iter(train_loader)
        for i in range(len(train_loader)):
            with timer.phase("data"):
                x, y = next(batches)
                x = x.contiguous(memory_format=layout)
            first_compiled_step = compiled and compile_time is None
            loss, out = train_step(run, forward, x, y, state["step"] + i, timer)
            step_losses[i] = loss.detach()
            correct += (out.detach().argmax(1) == y).sum()
            seen += len(y)
            if first_compiled_step:  # the first step pays for compilation: time it on its own
                compile_time = timer.elapsed().get("step", 0.0)
        bad = (~torch.isfinite(step_losses)).nonzero()
        if len(bad):  # one host sync per epoch finds the first bad step
            diverged_at = state["step"] + int(bad[0])
            break
        state["step"] += len(train_loader)
        train_loss = (step_losses.sum() / len(train_loader)).item()
        train_acc = (correct.float() / seen).item()
        with timer.phase("eval"):
            test_loss, test_acc = evaluate_now(per_example)
        if test_acc > best_acc:  # the epoch that best_test_acc reports: keep its per-image correctness
            best_acc, test_correct["best"] = test_acc, pack_bits(per_example[0])
        test_correct["final"] = pack_bits(per_example[0])
        metrics = {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}
        if not all(map(_finite, metrics.values())):
            diverged_at = state["step"]
            break
        schedule.after_epoch(metrics)
        if probes:
            with timer.phase("probe"):
                ctx_epoch = EpochContext(model, optimizer, epoch + 1, evaluate_now)
                for probe in probes.values():
                    probe.after_epoch(ctx_epoch)
        phases = timer.totals()
        epoch_time = time.perf_counter() - epoch_start
        row = {"epoch": epoch + 1, **metrics, "lr": lr, "epoch_time": epoch_time,
               **{f"{name}_time": phases.get(name, 0.0) for name in ("data", "step", "eval", "probe")}}
        for name, value in row.items():
            curves[name].append(value)
        if bar is not None:
            bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{test_acc:.3f}")
            bar.update(1)
        if (checkpoint_path is not None and (epoch + 1) % checkpoint_every == 0 and epoch + 1 < spec.epochs
                and time.perf_counter() - last_checkpoint >= checkpoint_seconds):
            state.update(epoch=epoch + 1, elapsed=state["elapsed"] + time.perf_counter() - started,
                         test_correct=dict(test_correct),
                         cpu_time=state.get("cpu_time", 0.0) + time.process_time() - cpu_started)
            save_checkpoint(checkpoint_path, parts, state)
            started = last_checkpoint = time.perf_counter()
            cpu_started = time.process_time()
    if bar is not None:
        bar.close()
    if probes and diverged_at is None:
        ctx_end = EpochContext(model, optimizer, spec.epochs, evaluate_now)
        for probe in probes.values():
            probe.after_training(ctx_end)

    test_accs = curves["test_acc"]
    return RunResult(
        key=spec.key,
        spec=spec.to_dict(),
        status="diverged" if diverged_at is not None else "completed",
        curves=curves,
        final_test_acc=test_accs[-1] if test_accs else float("nan"),
        best_test_acc=max(test_accs) if test_accs else float("nan"),
        final_train_acc=curves["train_acc"][-1] if curves["train_acc"] else float("nan"),
        param_count=count_parameters(model),
        wall_time=state["elapsed"] + time.perf_counter() - started,
        cpu_time=state.get("cpu_time", 0.0) + time.process_time() - cpu_started,  # older checkpoints kept none
        environment={**environment(device), **flags, "channels_last": layout == torch.channels_last,
                     "eval_batch": test_loader.batch_size, "compiled": compiled,
                     **({"compile_time": compile_time, "compile_graphs": _compiled_graphs(compile_counts)}
                        if compiled else {})},
        diverged_at_step=diverged_at,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        extra={**({"probes": {name: probe.result() for name, probe in probes.items()}} if probes else {}),
               **({"resumed_at_epoch": state["resumed"]} if state["resumed"] else {})},
        test_correct=test_correct,
    )


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def _progress_bar(spec: Spec, done: int, flag: bool | None):
    if not settings.progress_enabled(flag):
        return None
    from tqdm import tqdm

    label = f"{spec.model} {spec.loss} {spec.optimizer} s{spec.seed} [{spec.key[:8]}]"
    return tqdm(total=spec.epochs, initial=done, desc=label, unit="ep", file=sys.__stderr__, leave=False)
