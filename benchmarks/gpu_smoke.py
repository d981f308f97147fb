"""GPU smoke test: every CUDA path of the harness once, on synthetic data, in minutes.

    python benchmarks/gpu_smoke.py                          # one GPU, about 5-8 minutes
    python benchmarks/gpu_smoke.py --device cpu --quick     # the same paths on the CPU, tiny sizes, < 2 minutes
    python benchmarks/gpu_smoke.py --only resume xdist      # some sections

Sections, each printing one line per check (`ok`, `FAIL` or `skip`) and the figures it measured:
- families: one tiny run per optimizer family (SGD with each schedule kind, the Adam family,
  SLBI and both SLBI+Adam forms) in bf16 and fp32, the losses and augmentations spread over them;
  each must complete with finite losses, and a CUDA run must record TF32 off;
- probes: each registered probe, probed run == unprobed run (deterministic algorithms on; a GPU
  whose repeated unprobed runs differ is reported and compared to a tolerance instead);
- compile: torch.compile'd runs of two model variants in one process, with short last batches:
  compile time, graphs per run (static shapes, cache reset per run: no growth, no eager fallback);
- resume: a checkpointed run killed with SIGKILL and resumed on the same device (equal to an
  uninterrupted run where the device is deterministic), and its checkpoint offered to a run on the
  other device kind (warned about and started over, never a crash);
- xdist: two pytest-xdist workers on one GPU through the real plugin fixture: both pinned to the
  same device, each run records that it shared the GPU, and timing claims would skip them;
- speed: ResNet-18, batch 128, one epoch of 50,000 images: eager, with cudnn.benchmark and
  compiled, against the reports' plain DataLoader loop and a tuned one (8 workers, pinned memory):
  img/s, seconds per epoch, TFLOP/s and % of the device's bf16 peak.
Exit status 1 when any check failed. `--json FILE` writes every line's figures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from a checkout
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, read when CUDA starts

import harness  # noqa: E402,F401  (before torch: the CPU kernel choice of harness/cpu.py)
import torch  # noqa: E402

from harness.catalog.losses import LOSSES  # noqa: E402
from harness.catalog.probes import PROBES  # noqa: E402
from harness.runs.spec import Spec  # noqa: E402
from harness.runs.store import stored_results  # noqa: E402
from harness.train.checkpoint import CorruptCheckpointWarning  # noqa: E402
from harness.train.device import resolve_device  # noqa: E402
from harness.train.loop import train  # noqa: E402
from harness.train.timing import unfit_for_timing  # noqa: E402

import train_speed  # noqa: E402

SECTIONS = ("families", "probes", "compile", "resume", "xdist", "speed")
TINY = Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=2, batch_size=64,
            lr=0.05, train_subset=200, test_subset=100)
MOMENTUM = {"optimizer_args": {"momentum": 0.9}}
AUGMENTS = (("crop", "flip"), ("rrc",), ("cutout",), ("crop",), ("flip",))


class Smoke:
    """Runs checks, prints one line each, remembers failures and figures."""

    def __init__(self, device: torch.device, quick: bool) -> None:
        self.device, self.quick = device, quick
        self.kind = device.type
        self.lines: list[dict[str, Any]] = []
        self._plain: dict[str, Any] = {}

    def check(self, section: str, name: str, fn: Callable[[], dict[str, Any] | None]) -> None:
        started = time.perf_counter()
        try:
            figures = fn() or {}
            status = figures.pop("status", "ok")
        except Exception as exc:  # one broken path must not hide the others
            figures, status = {"error": f"{type(exc).__name__}: {exc}"[:400]}, "FAIL"
        figures["seconds"] = round(time.perf_counter() - started, 2)
        self.lines.append({"section": section, "check": name, "status": status, **figures})
        shown = " ".join(f"{k}={_fmt(v)}" for k, v in figures.items())
        print(f"{status:<4} {section:<9} {name:<34} {shown}", flush=True)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["status"] == "FAIL"]

    def spec(self, **changes: Any) -> Spec:
        return TINY.replace(device=self.kind, **changes)

    def train(self, spec: Spec, **kwargs: Any):
        return train(spec, device=self.device, progress=False, **kwargs)

    def plain_run(self, spec: Spec):
        """An unprobed run, trained once per smoke and shared by the probes that compare with it."""
        if spec.key not in self._plain:
            self._plain[spec.key] = self.train(spec)
        return self._plain[spec.key]


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _completed(result) -> dict[str, Any]:
    _require(result.status == "completed", f"status {result.status} at step {result.diverged_at_step}")
    _require(all(map(math.isfinite, result.curves["train_loss"])), "non-finite training loss")
    if result.environment["device"].startswith("cuda"):
        _require(result.environment.get("tf32_cudnn") is False and result.environment.get("tf32_matmul") is False,
                 "TF32 not recorded as off")
    return {"acc": round(result.best_test_acc, 3), "epoch_s": round(result.curves["epoch_time"][-1], 3)}


# -- families ----------------------------------------------------------------------------------

def family_specs() -> list[tuple[str, dict[str, Any]]]:
    schedules = {"constant": {}, "step": {"step_size": 1}, "multistep": {"milestones": [1]}, "cosine": {},
                 "plateau": {"patience": 0}, "cyclic": {"base_lr": 0.01, "max_lr": 0.05, "step_size_up_epochs": 0.5}}
    out = [(f"sgd/{name}", {"schedule": name, "schedule_args": args, **MOMENTUM}) for name, args in schedules.items()]
    for name in ("adam", "adamw", "adagrad", "adadelta", "adamax", "rmsprop"):
        out.append((name, {"optimizer": name, "lr": 1.0 if name == "adadelta" else 1e-3}))
    out.append(("slbi", {"optimizer": "slbi", "optimizer_args": {"momentum": 0.9, "kappa": 1.0, "mu": 20.0}}))
    for form in ("clean", "course"):
        out.append((f"slbi_adam/{form}", {"optimizer": "slbi_adam", "lr": 1e-3, "optimizer_args": {"form": form}}))
    return out


def families(smoke: Smoke) -> None:
    losses = LOSSES.names()
    precisions = ("bf16", "fp32")
    for i, (label, changes) in enumerate(family_specs()):
        # quick: one precision per family, alternating; on the GPU both
        for j, precision in enumerate(precisions[i % 2:i % 2 + 1] if smoke.quick else precisions):
            k = i * len(precisions) + j
            spec = smoke.spec(precision=precision, loss=losses[k % len(losses)], augment=AUGMENTS[k % len(AUGMENTS)],
                              seed=k, **({"train_subset": 128, "epochs": 1} if smoke.quick else {}), **changes)
            smoke.check("families", f"{label} {precision} {spec.loss} {'+'.join(spec.augment)}",
                        lambda spec=spec: _completed(smoke.train(spec)))


# -- probes ------------------------------------------------------------------------------------

PROBE_SPECS: dict[str, dict[str, Any]] = {  # probe -> the spec changes it needs
    "step_loss": {},
    "grad_change": {},
    "line_search": {"probe_args": {"line_search": {"every": 2}}},
    "slbi_support": {"optimizer": "slbi"},
    "prune_curve": {"optimizer": "slbi", "probes": ("slbi_support", "prune_curve"),
                    "probe_args": {"prune_curve": {"sets": {"fc": ["linear.weight"]}, "ratios": [0, 50]}}},
    "conv_weights": {"probe_args": {"conv_weights": {"layer": "conv1.weight"}}},
}


def probes(smoke: Smoke) -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ops without a deterministic kernel say so once each
            baseline = smoke.spec(precision="fp32")
            first, again = smoke.plain_run(baseline), smoke.train(baseline)
            deterministic = _same(first, again)
            smoke.check("probes", "unprobed twice is bitwise equal", lambda: {
                "status": "ok" if deterministic else ("FAIL" if smoke.kind == "cpu" else "skip"),
                "note": "" if deterministic else "this device is not run-to-run deterministic: probes compared "
                                                 "to a tolerance"})
            for name in PROBES.names():
                smoke.check("probes", f"{name}: probed == unprobed", lambda name=name: _probe(smoke, name, deterministic))
    finally:
        torch.use_deterministic_algorithms(False)


def _same(a, b) -> bool:
    return a.curves["train_loss"] == b.curves["train_loss"] and a.curves["test_acc"] == b.curves["test_acc"]


def _probe(smoke: Smoke, name: str, deterministic: bool) -> dict[str, Any]:
    if name not in PROBE_SPECS:
        raise AssertionError(f"probe {name!r} has no smoke configuration in PROBE_SPECS: add one")
    changes = {"probes": (name,), **PROBE_SPECS[name]}
    plain_spec = smoke.spec(precision="fp32", **{k: v for k, v in changes.items() if k not in ("probes", "probe_args")})
    probed_spec = plain_spec.replace(probes=changes["probes"], probe_args=changes.get("probe_args", {}))
    probed, plain = smoke.train(probed_spec), smoke.plain_run(plain_spec)
    _require(name in probed.extra["probes"], "no probe result")
    if deterministic:
        _require(_same(probed, plain), f"trajectory changed: {probed.curves['train_loss']} vs {plain.curves['train_loss']}")
        return {"equal": "bitwise"}
    gap = max(abs(a - b) for a, b in zip(probed.curves["train_loss"], plain.curves["train_loss"]))
    _require(gap < 1e-3, f"training loss differs by {gap:.3g}")
    return {"equal": f"within {gap:.2g}"}


# -- compile -----------------------------------------------------------------------------------

def compiled(smoke: Smoke) -> None:
    # on the GPU: 200 training images at batch 64 and 100 test images, so short last batches in training and
    # evaluation; quick (CPU, where compiling is slow): LeNet, whole batches only
    lenet = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=2, batch_size=64, lr=0.05, train_subset=128,
                 test_subset=100, device=smoke.kind)
    variants = [("lenet_mnist", lenet)] if smoke.quick else \
        [("resnet18 w1/16", smoke.spec()), ("resnet18 w1/8", smoke.spec(model_args={"width": 0.125})),
         ("resnet18 w1/16 again", smoke.spec())]
    graphs: list[int] = []
    for label, spec in variants:
        def run(spec=spec):
            result = smoke.train(spec, compile=True)
            figures = _completed(result)
            env = result.environment
            graphs.append(env["compile_graphs"])
            _require(env["compiled"] and env["compile_graphs"] >= 1, "nothing was compiled")
            _require(env["compile_graphs"] == graphs[0], f"graphs grew from {graphs[0]} to {env['compile_graphs']} "
                                                         "(the dynamo cache was not reset between runs)")
            return {**figures, "compile_s": round(env["compile_time"], 1), "graphs": env["compile_graphs"],
                    "recompiles": env["compile_graphs"] - 1}
        smoke.check("compile", label, run)


# -- resume ------------------------------------------------------------------------------------

RUNNER = textwrap.dedent("""
    import json, sys, warnings
    from pathlib import Path
    import harness, torch
    from harness.runs.spec import Spec
    from harness.train.loop import train
    torch.use_deterministic_algorithms(True, warn_only=True)
    spec = Spec.from_dict(json.loads(sys.argv[1]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(spec, device=sys.argv[2], progress=False, checkpoint_path=Path(sys.argv[3]), checkpoint_every=1)
    print(json.dumps({"train_loss": result.curves["train_loss"], "epochs": result.curves["epoch"],
                      "warned": [str(w.message) for w in caught if "checkpoint" in str(w.message)]}))
""")


def _start(spec: Spec, device: str, checkpoint: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(spec.to_dict()), device, str(checkpoint)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    _require(proc.returncode == 0, f"runner failed: {err[-600:]}")
    return json.loads(out.strip().splitlines()[-1])


def resume(smoke: Smoke) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="smoke-resume-"))
    spec = smoke.spec(epochs=4, train_subset=300 if smoke.quick else 5000, precision="fp32",
                      **({} if smoke.quick else {"model_args": {"width": 0.5}}))
    checkpoint = workdir / "checkpoint.pt"
    kept = workdir / "checkpoint-of-killed-run.pt"

    def killed_and_resumed():
        victim = _start(spec, str(smoke.device), checkpoint)
        deadline = time.time() + 240
        while not checkpoint.exists() and time.time() < deadline and victim.poll() is None:
            time.sleep(0.005)
        _require(checkpoint.exists(), f"no checkpoint was written (runner exit {victim.poll()})")
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
        _require(victim.returncode == -signal.SIGKILL, "the run finished before it could be killed: make it longer")
        kept.write_bytes(checkpoint.read_bytes())
        resumed = _finish(_start(spec, str(smoke.device), checkpoint))
        _require(resumed["epochs"] == [1, 2, 3, 4] and not resumed["warned"], f"resume did not resume: {resumed}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            torch.use_deterministic_algorithms(True, warn_only=True)
            try:
                reference = smoke.train(spec)
            finally:
                torch.use_deterministic_algorithms(False)
        equal = resumed["train_loss"] == reference.curves["train_loss"]
        _require(equal or smoke.kind == "cuda", "the resumed run differs from an uninterrupted one")
        return {"equal_to_uninterrupted": equal}

    smoke.check("resume", f"killed and resumed on {smoke.device}", killed_and_resumed)

    def other_kind():
        _require(kept.exists(), "no checkpoint from the killed run")
        other = "cpu" if smoke.kind == "cuda" else "cuda"
        if other == "cuda" and not torch.cuda.is_available():
            return {"status": "skip", "note": "no CUDA device to resume on"}
        # the same run on the other device kind: its key differs, so relabel the checkpoint with that key,
        # which leaves the device kind (and its generator state) as the only mismatch
        other_spec = spec.replace(device=other)
        payload = torch.load(kept, map_location="cpu", weights_only=False)
        payload["key"] = other_spec.key
        target = workdir / "other.pt"
        torch.save(payload, target)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = train(other_spec.replace(epochs=2), device=other, progress=False, checkpoint_path=target)
        messages = [str(w.message) for w in caught if issubclass(w.category, CorruptCheckpointWarning)]
        _require(result.status == "completed", "the other device's run did not complete")
        _require(any(f"written on a {smoke.kind} device" in m or "belongs to run" in m for m in messages),
                 f"no warning about the checkpoint: {messages}")
        return {"warned": "yes", "resumed_on": other}

    smoke.check("resume", "checkpoint offered to the other kind", other_kind)


# -- xdist -------------------------------------------------------------------------------------

XDIST_HEADER = "report: 998_smoke\ntitle: Smoke\nclaims:\n"
XDIST_ENTRY = """\
  - id: 998/train/{n}
    statement: "A tiny run trains."
    location: nowhere
    kind: metric
    reported: 0.0
    tiers:
      fast: {{tolerance: {{abs: 0.0, why: smoke}}}}
      full: {{tolerance: {{abs: 0.0, why: smoke}}}}
"""
XDIST_TEST = '''
import pytest
from harness.runs.spec import Spec

@pytest.mark.synthetic_data
@pytest.mark.parametrize("n", [0, 1])
@pytest.mark.claim("998/train/{n}")
def test_train(claim, n):
    spec = Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=2, batch_size=64,
                lr=0.05 + 0.01 * n, optimizer_args={"momentum": 0.9}, train_subset=256, test_subset=100)
    claim.check_at_least("best test accuracy", claim.runs(spec)[0].best_test_acc, claim.reported)
'''


def xdist(smoke: Smoke) -> None:
    def two_workers():
        project = Path(tempfile.mkdtemp(prefix="smoke-xdist-"))
        (project / "conftest.py").write_text((ROOT / "conftest.py").read_text())
        (project / "reference").mkdir()
        (project / "reference" / "998_smoke.yaml").write_text(
            XDIST_HEADER + "".join(XDIST_ENTRY.format(n=n) for n in (0, 1)))
        (project / "claims").mkdir()
        (project / "claims" / "test_998.py").write_text(XDIST_TEST)
        env = dict(os.environ, PYTHONPATH=str(ROOT), REPRO_REFERENCE=str(project / "reference"),
                   REPRO_RUNS=str(project / "runs"), PYTHONDONTWRITEBYTECODE="1", REPRO_PROGRESS="0")
        tier = "full" if smoke.kind == "cuda" else "fast"
        if smoke.kind == "cuda":
            env["CUDA_VISIBLE_DEVICES"] = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]
            env.pop("REPRO_DEVICE", None)
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-m", tier,
                               "--no-report", "--report-dir", "out", "claims"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=400)
        _require(done.returncode == 0 and "2 passed" in done.stdout, f"pytest: {done.stdout[-800:]}{done.stderr[-400:]}")
        results = [r.to_dict() for r in stored_results(project / "runs")]
        _require(len(results) == 2, f"{len(results)} runs stored, expected 2")
        devices = sorted(r["environment"]["device"] for r in results)
        figures = {"devices": ",".join(devices), "tier": tier}
        if smoke.kind == "cuda":
            shared = [r["environment"].get("gpu_workers") for r in results]
            _require(devices == ["cuda:0", "cuda:0"], f"workers trained on {devices}")
            _require(shared == [2, 2], f"gpu_workers recorded as {shared}, expected 2 and 2")

            class Run:  # what unfit_for_timing reads
                def __init__(self, data):
                    self.curves, self.environment = data["curves"], data["environment"]
            reason = unfit_for_timing(Run(r) for r in results)
            _require(reason is not None and "shared by 2" in reason, f"timing claims would not skip: {reason}")
            figures["timing_skip"] = "yes"
        return figures

    smoke.check("xdist", "two workers, one device, real fixture", two_workers)


# -- speed -------------------------------------------------------------------------------------

def speed(smoke: Smoke) -> None:
    name = "resnet18_w4" if smoke.quick else "resnet18"
    images = 512 if smoke.quick else train_speed.GPU_IMAGES  # quick: four batches, two timed in the plain loops
    epochs = 2
    macs = train_speed.macs_per_image(name)
    peak = train_speed.peak_bf16(smoke.device)
    measured: dict[str, float] = {}

    def figures(img_s: float) -> dict[str, Any]:
        tflops = 6 * macs * img_s / 1e12
        out = {"img_s": round(img_s), "epoch_s": round(images / img_s, 3), "tflops": round(tflops, 3),
               "peak_pct": round(100 * tflops / peak, 1) if peak else "n/a"}
        return out

    def ours(label: str, **kwargs: Any):
        def run():
            result = train_speed.our_loop(name, images, epochs, 128, smoke.device, **kwargs)
            measured[label] = result["img_s"]
            out = figures(result["img_s"])
            if kwargs.get("compile"):
                out.update(compile_s=round(result["compile_time"], 1), graphs=result["compile_graphs"])
            return out
        return run

    def plain(label: str, workers: int, pin_memory: bool):
        def run():
            img_s = train_speed.plain_loop(name, images, epochs if not smoke.quick else 1, 128, smoke.device,
                                           workers=workers, pin_memory=pin_memory)
            measured[label] = img_s
            return figures(img_s)
        return run

    smoke.check("speed", f"{name} ours eager", ours("eager", cudnn_benchmark=False))
    smoke.check("speed", f"{name} ours eager+cudnn.benchmark", ours("benchmark", cudnn_benchmark=True))
    if smoke.quick:  # compiling on a CPU takes long: the compile section has done it once
        smoke.check("speed", f"{name} ours compiled", lambda: {"status": "skip", "note": "quick: see compile"})
    else:
        smoke.check("speed", f"{name} ours compiled", ours("compiled", compile=True, cudnn_benchmark=True))
    # quick: DataLoader worker processes take seconds to start on a loaded CPU, so the plain loops run
    # in-process (0 workers) and with one worker; the code path is the same
    workers, tuned_workers = (0, 1) if smoke.quick else (2, train_speed.TUNED_WORKERS)
    smoke.check("speed", f"{name} plain loop ({workers} workers)", plain("plain", workers, False))
    smoke.check("speed", f"{name} tuned plain ({tuned_workers} workers, pinned)", plain("tuned", tuned_workers, True))
    if "plain" in measured:
        smoke.check("speed", "best of ours against the plain loops", lambda: {
            "x_plain": round(max(measured.get(k, 0) for k in ("eager", "benchmark", "compiled")) / measured["plain"], 2),
            "x_tuned": round(max(measured.get(k, 0) for k in ("eager", "benchmark", "compiled"))
                             / measured.get("tuned", float("nan")), 2)})


# -- main --------------------------------------------------------------------------------------

RUNNERS = {"families": families, "probes": probes, "compile": compiled, "resume": resume, "xdist": xdist,
           "speed": speed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one precision per family (CPU, CI)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run these sections")
    parser.add_argument("--json", metavar="FILE", help="write every check's status and figures here")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    smoke = Smoke(device, args.quick)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"gpu_smoke: device {device} ({name}), torch {torch.__version__}, quick {args.quick}", flush=True)
    started = time.perf_counter()
    for section in args.only:
        RUNNERS[section](smoke)
    total = time.perf_counter() - started
    print(f"{len(smoke.lines)} checks, {len(smoke.failed)} failed, {total:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": str(device), "name": name, "torch": torch.__version__,
                                               "quick": args.quick, "seconds": total, "checks": smoke.lines}, indent=1))
    return 1 if smoke.failed else 0


if __name__ == "__main__":
    sys.exit(main())
