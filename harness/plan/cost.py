"""The full tier as a planned job: every distinct run, what it costs, and how long it takes where.

A plan is the list of distinct runs (one Spec each) a selection of claims asks for
(recorded by harness/pytest_plugin/plan.py), each with the claims that use it, whether the
run store already holds it, and its cost:

  training FLOP   = 6 x MACs x training images x epochs  (forward 2, backward 4 per MAC)
  evaluation FLOP = 2 x MACs x test images x epochs      (the test set after every epoch)
  probe FLOP      = what a probe adds (the line search's extra forward/backward passes,
                    the pruning curve's evaluations); the other probes are counted as free

MACs per image come from harness/catalog/sizes.py, counted on the meta device
(shapes only, nothing computed). Time estimates divide FLOP by a device's sustained
rate (per precision) and add a per-step overhead. Where the rate comes from is part of every
estimate: measured (from cached runs of that GPU, or a short benchmark of this CPU: a large
model's FLOP rate and a small model's step overhead, `measure_cpu_rate`), or an assumption
(datasheet peak x an assumed utilisation; see GPU_DATASHEET).
"""
from __future__ import annotations

import datetime as dt
import heapq
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..catalog.models import create_model
from ..catalog.sizes import count_size
from ..files import read_versioned
from ..train.data import CHANNELS, NUM_CLASSES, SYNTHETIC_SHAPES, eval_batch_size, split_sizes
from ..runs.result import RunResult
from ..runs.spec import Spec

PLAN_FORMAT = 1

# Datasheet dense peaks (no sparsity), FLOP/s: bf16 tensor cores, and TF32 for fp32 runs (PyTorch's
# convolutions use TF32 by default). Sources: NVIDIA H100/H200, A100, L40S, A10 and RTX 4090 datasheets.
GPU_DATASHEET: dict[str, dict[str, float]] = {
    "H200": {"bf16": 989e12, "fp32": 494e12},
    "H100": {"bf16": 989e12, "fp32": 494e12},
    "A100": {"bf16": 312e12, "fp32": 156e12},
    "L40S": {"bf16": 362e12, "fp32": 183e12},
    "A10": {"bf16": 125e12, "fp32": 62.5e12},
    "RTX 4090": {"bf16": 165e12, "fp32": 82.6e12},
}
# ASSUMPTIONS, not measurements: the share of the datasheet peak a CIFAR-scale convnet at batch 64-128
# sustains, and a per-step floor for kernel launches and the optimizer. Replace them with measured rates
# by planning against a store that holds runs from that GPU (see `calibrate`).
ASSUMED_UTILISATION = 0.15
ASSUMED_STEP_OVERHEAD_S = 1e-3


# -- cost ---------------------------------------------------------------------------------------

def input_shape(spec: Spec) -> tuple[int, int, int, int]:
    side = SYNTHETIC_SHAPES.get(spec.dataset, (None, 28 if spec.dataset == "mnist" else 32))[1]
    return (1, CHANNELS[spec.dataset], side, side)


@lru_cache(maxsize=None)
def _model_size(model: str, frozen_args: tuple, num_classes: int, shape: tuple[int, ...]) -> tuple[int, int]:
    model_args = Spec(model=model, model_args=frozen_args).kwargs("model_args")
    return count_size(model, dict(num_classes=num_classes, in_channels=shape[1], **model_args), shape)


def model_size(spec: Spec) -> tuple[int, int]:
    """(trainable parameters, MACs per image) of the Spec's model, as the training loop builds it."""
    return _model_size(spec.model, spec.model_args, NUM_CLASSES[spec.dataset], input_shape(spec))


@dataclass(frozen=True)
class RunCost:
    params: int
    macs: int  # per image, forward
    train_images: int
    test_images: int
    steps: int  # optimizer steps over the whole run
    train_flop: float
    eval_flop: float
    probe_flop: float

    @property
    def flop(self) -> float:
        return self.train_flop + self.eval_flop + self.probe_flop


def _probe_flop(spec: Spec, macs: int, steps: int, test_images: int) -> float:
    args = spec.kwargs("probe_args")
    total = 0.0
    if "line_search" in spec.probes:  # a forward and a backward on the batch per eta, every `every` steps
        ls = args.get("line_search", {})
        probed = -(-steps // ls.get("every", 1))
        total += 6.0 * macs * spec.batch_size * len(ls.get("eta_factors", (0.5, 1.0, 2.0, 3.0, 4.0))) * probed
    if "prune_curve" in spec.probes:  # one evaluation unpruned, one per layer set and ratio
        pc = args.get("prune_curve", {})
        evaluations = 1 + len(pc.get("sets") or {"conv3": 0}) * len(pc.get("ratios", range(9)))
        total += 2.0 * macs * test_images * evaluations
    return total


def run_cost(spec: Spec) -> RunCost:
    params, macs = model_size(spec)
    train, test = split_sizes(spec.dataset, spec.split, spec.train_subset, spec.test_subset)
    steps = -(-train // spec.batch_size) * spec.epochs
    return RunCost(params=params, macs=macs, train_images=train, test_images=test, steps=steps,
                   train_flop=6.0 * macs * train * spec.epochs, eval_flop=2.0 * macs * test * spec.epochs,
                   probe_flop=_probe_flop(spec, macs, steps, test))


# -- device rates ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceRate:
    """Sustained FLOP/s per precision on one device kind, and where that figure comes from."""

    device: str
    flop_per_s: Mapping[str, float]
    step_overhead_s: float
    source: str

    def seconds(self, spec: Spec, cost: RunCost) -> float:
        rate = self.flop_per_s.get(spec.precision) or min(self.flop_per_s.values())
        eval_batch = eval_batch_size("cpu" if self.device.startswith("cpu") else "cuda")
        batches = cost.steps + -(-cost.test_images // eval_batch) * spec.epochs
        return cost.flop / rate + batches * self.step_overhead_s


def datasheet_rate(kind: str) -> DeviceRate:
    """The assumed rate of a GPU kind of GPU_DATASHEET (matched by substring, e.g. 'NVIDIA H100 80GB HBM3')."""
    for name, peaks in GPU_DATASHEET.items():
        if name.lower() in kind.lower():
            return DeviceRate(name, {p: v * ASSUMED_UTILISATION for p, v in peaks.items()}, ASSUMED_STEP_OVERHEAD_S,
                              f"assumption: {ASSUMED_UTILISATION:.0%} of the {name} datasheet dense peak "
                              f"(bf16 {peaks['bf16'] / 1e12:.0f}, TF32 {peaks['fp32'] / 1e12:.0f} TFLOP/s) "
                              f"+ {ASSUMED_STEP_OVERHEAD_S * 1e3:g} ms per step")
    raise ValueError(f"no datasheet figures for device {kind!r}; known: cpu, {', '.join(GPU_DATASHEET)} "
                     f"(or plan against a run store holding runs from it)")


# The CPU is timed on two models: a large one gives the sustained FLOP rate, the MNIST claims' LeNet what a
# step costs beyond its FLOP (small kernels, the optimizer, Python). A LeNet step at batch 128 does 0.32 GFLOP
# in about 20 ms on one core: the rate of the large model alone puts it at 8 ms, and a 30-epoch run at a
# quarter of its time.
RATE_MODEL = ("vgg_a", 3, 32, 32)  # model, input channels, side, batch
OVERHEAD_MODEL = ("lenet_mnist", 1, 28, 128)


def _step_seconds(model: str, channels: int, side: int, batch: int, steps: int, precision: str) -> tuple[float, int]:
    """(seconds per SGD step after one warm-up step, MACs per image) of `model` on this CPU, as train() runs it.

    Counted in this process's CPU time where it runs on one thread (portable kernels): that is a run's
    wall time on a free core, whatever else the machine is doing while it is measured."""
    import contextlib

    import torch

    spec = Spec(model=model, dataset="mnist" if channels == 1 else "cifar10", batch_size=batch)
    _, macs = model_size(spec)
    net = create_model(model, num_classes=10, in_channels=channels)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, channels, side, side), torch.randint(0, 10, (batch,))
    clock = time.process_time if torch.get_num_threads() == 1 else time.perf_counter
    for i in range(steps + 1):
        if i == 1:
            started = clock()
        with torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext():
            loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (clock() - started) / steps, macs


def cpu_rate(seconds: Mapping[str, tuple[float, int, int]], device: str, source: str) -> DeviceRate:
    """The CPU's rate from step timings {what: (seconds per step, MACs per image, batch)}:
    `fp32` (the large model) gives the FLOP rate; `overhead` (the small model in fp32) what a step
    costs beyond its FLOP at that rate; `bf16` (the small model under bf16 autocast), if given, how
    much slower bf16 is than fp32 on this CPU."""
    def flop(what: str) -> float:
        _, macs, batch = seconds[what]
        return 6.0 * macs * batch

    rate = flop("fp32") / seconds["fp32"][0]
    overhead = max(0.0, seconds["overhead"][0] - flop("overhead") / rate)
    rates = {"fp32": rate}
    if "bf16" in seconds:  # the slowdown of the small model's FLOP part, applied to the rate
        bf16_flop_s = max(seconds["bf16"][0] - overhead, 1e-9)
        rates["bf16"] = flop("bf16") / bf16_flop_s
    return DeviceRate(device, rates, overhead, source)


def measure_cpu_rate(steps: int = 3, bf16: bool = True) -> DeviceRate:
    """This CPU's training rates, measured now on a few SGD steps (after one warm-up) of RATE_MODEL and
    OVERHEAD_MODEL with the threads and kernels train() uses; with `bf16`, also the small model under bf16
    autocast (CPUs without bf16 units emulate it: a LeNet step takes 13 times its fp32 time)."""
    import torch

    from .. import cpu
    from ..train.device import cpu_model
    from ..train.loop import cpu_threads

    timed: dict[str, tuple[float, int, int]] = {}
    with cpu_threads(torch.device("cpu")):
        threads = torch.get_num_threads()
        for what, (model, channels, side, batch), precision, n in (
                ("fp32", RATE_MODEL, "fp32", steps), ("overhead", OVERHEAD_MODEL, "fp32", steps),
                *((("bf16", OVERHEAD_MODEL, "bf16", 1),) if bf16 else ())):
            timed[what] = (*_step_seconds(model, channels, side, batch, n, precision), batch)
    rate = cpu_rate(timed, f"cpu: {cpu_model()}", "")
    lines = [f"{RATE_MODEL[0]} batch {RATE_MODEL[3]}: {rate.flop_per_s['fp32'] / 1e9:.1f} GFLOP/s",
             f"{OVERHEAD_MODEL[0]} batch {OVERHEAD_MODEL[3]}: {timed['overhead'][0] * 1e3:.0f} ms per step "
             f"({rate.step_overhead_s * 1e3:.0f} ms beyond its FLOP)"]
    if "bf16" in timed:
        lines.append(f"bf16 {timed['bf16'][0] / timed['overhead'][0]:.1f}x the fp32 step time")
    return DeviceRate(rate.device, rate.flop_per_s, rate.step_overhead_s,
                      f"measured now, {threads} thread(s), {cpu.in_force()} kernels: " + "; ".join(lines))


def run_hardware(result: RunResult) -> str:
    env = result.environment
    return env.get("gpu") or (f"cpu: {env['cpu'].split(',')[0]}" if env.get("cpu") else str(env.get("device")))


def calibrate(results: Iterable[RunResult], device: str) -> DeviceRate | None:
    """A measured rate from finished runs of `device` (median FLOP/s per precision), or None."""
    rates: dict[str, list[float]] = {}
    for r in results:
        if r.wall_time > 0 and not r.environment.get("placeholder") and device.lower() in run_hardware(r).lower():
            spec = Spec.from_dict(r.spec)
            rates.setdefault(spec.precision, []).append(run_cost(spec).flop / r.wall_time)
    if not rates:
        return None
    n = sum(map(len, rates.values()))
    return DeviceRate(device, {p: statistics.median(v) for p, v in rates.items()}, 0.0,
                      f"measured: median over {n} cached run(s) of this device "
                      + ", ".join(f"{p} {statistics.median(v) / 1e12:.3g} TFLOP/s" for p, v in rates.items()))


def resolve_rate(kind: str | None, cached: Iterable[RunResult]) -> DeviceRate:
    """The rate the plan's estimate uses: `auto` = this machine's GPU, else its CPU.

    A GPU's cached runs win over its datasheet. The CPU is measured now (a few seconds): its cached
    runs give one FLOP/s per run with no step term, and on one core a LeNet step costs three times
    what its FLOP at a VGG's rate would, so a median over cached runs of other models misses by that."""
    kind = kind or "auto"
    if kind == "auto":
        import torch

        kind = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    if kind == "cpu":
        return measure_cpu_rate()
    return calibrate(cached, kind) or datasheet_rate(kind)


# -- the plan -------------------------------------------------------------------------------------

@dataclass
class PlannedRun:
    key: str
    model: str
    dataset: str
    epochs: int
    train_images: int
    test_images: int
    batch_size: int
    steps: int
    precision: str
    seed: int
    probes: str
    claims: list[str]
    cached: bool
    params: int
    macs: int
    flop: float
    probe_flop: float
    est_seconds: float
    spec: dict[str, Any] = field(repr=False)


def makespan(durations: Iterable[float], workers: int) -> float:
    """Wall time of longest-first greedy scheduling on `workers` equal workers."""
    loads = [0.0] * max(1, workers)
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(loads, loads[0] + d)
    return max(loads)


def build_plan(requests: Mapping[str, dict[str, Any]], rate: DeviceRate, workers: int = 1,
               stopped: Mapping[str, str] | None = None, selection: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plan as JSON-ready data from `requests` (key -> {spec, claims, cached})."""
    runs = []
    for key, req in sorted(requests.items()):
        spec = Spec.from_dict(req["spec"])
        cost = run_cost(spec)
        runs.append(PlannedRun(
            key=key, model=spec.model, dataset=spec.dataset, epochs=spec.epochs, train_images=cost.train_images,
            test_images=cost.test_images, batch_size=spec.batch_size, steps=cost.steps, precision=spec.precision,
            seed=spec.seed, probes=",".join(spec.probes), claims=sorted(req["claims"]), cached=req["cached"],
            params=cost.params, macs=cost.macs, flop=cost.flop, probe_flop=cost.probe_flop,
            est_seconds=rate.seconds(spec, cost), spec=req["spec"]))
    todo = [r for r in runs if not r.cached]
    summary = {
        "runs": len(runs), "cached": len(runs) - len(todo), "to_train": len(todo),
        "epochs": sum(r.epochs for r in runs), "steps": sum(r.steps for r in runs),
        "pflop": sum(r.flop for r in runs) / 1e15, "pflop_to_train": sum(r.flop for r in todo) / 1e15,
        "probe_pflop": sum(r.probe_flop for r in runs) / 1e15,
        "device": rate.device, "rate_source": rate.source, "workers": workers,
        "device_hours_to_train": sum(r.est_seconds for r in todo) / 3600,
        "wall_hours_to_train": makespan((r.est_seconds for r in todo), workers) / 3600,
        "by_device": _by_device(todo, workers),
        "stopped_tests": dict(stopped or {}),
    }
    return {"format": PLAN_FORMAT, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "selection": dict(selection or {}), "summary": summary, "runs": [asdict(r) for r in runs]}


def _by_device(todo: list[PlannedRun], workers: int) -> list[dict[str, Any]]:
    """The runs still to train on each datasheet GPU (assumed rates, for comparison)."""
    rows = []
    for kind in GPU_DATASHEET:
        rate = datasheet_rate(kind)
        secs = [rate.seconds(Spec.from_dict(r.spec), run_cost(Spec.from_dict(r.spec))) for r in todo]
        rows.append({"device": kind, "hours": sum(secs) / 3600, "wall_hours": makespan(secs, workers) / 3600,
                     "source": "assumption (datasheet)"})
    return rows


def write_plan(plan: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """plan.json (everything, specs included) and plan.csv (one row per run, no specs)."""
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / "plan.json", out / "plan.csv"
    json_path.write_text(json.dumps(plan, indent=1))
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "spec"} for r in plan["runs"]])
    if len(frame):
        frame["claims"] = frame["claims"].map(";".join)
    frame.to_csv(csv_path, index=False)
    return json_path, csv_path


def load_plan(path: str | Path) -> dict[str, Any]:
    """A plan written by `write_plan`; a plan of another format is an error naming the fix."""
    return read_versioned(path, "plan", PLAN_FORMAT, "--plan")


def summary_lines(plan: Mapping[str, Any]) -> list[str]:
    s = plan["summary"]
    lines = [
        f"plan: {s['runs']} distinct runs, {s['cached']} cached, {s['to_train']} to train; "
        f"{s['epochs']} epochs, {s['steps'] / 1e6:.2f}M steps",
        f"plan: {s['pflop']:.1f} PFLOP in all ({s['probe_pflop']:.1f} of it probes), {s['pflop_to_train']:.1f} PFLOP "
        f"to train",
        f"plan: on {s['device']}: {s['device_hours_to_train']:.1f} device-hours, {s['wall_hours_to_train']:.1f} h wall "
        f"with {s['workers']} worker(s)",
        f"plan: rate {s['rate_source']}",
    ]
    lines += [f"plan:   {row['device']:<9} {row['hours']:8.1f} GPU-hours, {row['wall_hours']:7.1f} h wall "
              f"({row['source']})" for row in s["by_device"]]
    for test, why in s["stopped_tests"].items():
        if why.startswith("skipped"):
            lines.append(f"plan: note: {test} ended in a skip ({why[9:]})")
        else:
            lines.append(f"plan: WARNING {test} stopped before its end ({why}); runs it asks for later are missing")
    return lines
