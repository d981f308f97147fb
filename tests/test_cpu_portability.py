"""CPU results that do not depend on the machine, and never the oneDNN kernel that corrupts the heap.

Each case runs in a subprocess, so a crash or a hang of the native code fails one test
(with what it printed) instead of killing the pytest worker. `ONEDNN_MAX_CPU_ISA=AVX2` and
`=AVX` let one machine run the kernels of another.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cpu

ROOT = Path(__file__).resolve().parents[1]
ISAS = ("AVX2", "AVX")

# The failing pattern: a 1x1 stride-2 Conv2d(4, 8), batch 64, 16x16, 300 backward passes,
# in the memory layout the harness trains CPU runs in.
CONV_PATTERN = """
import torch
from harness.train.loop import memory_format
layout = memory_format(torch.device("cpu"))
conv = torch.nn.Conv2d(4, 8, 1, stride=2, bias=False).to(memory_format=layout)
x = torch.randn(64, 4, 16, 16).contiguous(memory_format=layout)
for _ in range(300):
    conv.zero_grad()
    conv(x).sum().backward()
print("ok", bool(torch.isfinite(conv.weight.grad).all()))
"""

# The fast tier's narrowest model (width-1/16 ResNet-18: a 4 -> 8 stride-2 shortcut) through train().
NARROW_RUN = """
import json
from harness.runs.spec import Spec
from harness.train.loop import train
spec = Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=2, batch_size=64,
            lr=0.05, optimizer_args={"momentum": 0.9}, train_subset=640, test_subset=200,
            augment=("crop", "flip"), seed=3)
r = train(spec, device="cpu", progress=False)
print(json.dumps({"loss": r.curves["train_loss"], "acc": r.curves["test_acc"], "env": r.environment}))
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                              env=full_env, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"hung for {exc.timeout} s under {env}:\n{exc.stdout}\n{exc.stderr}")


def _ok(proc: subprocess.CompletedProcess, env: dict[str, str]) -> str:
    assert proc.returncode == 0, f"crashed (exit {proc.returncode}) under {env}:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("kernels", cpu.KERNEL_MODES)
def test_the_heap_corrupting_convolution_pattern_runs_clean(isa, kernels):
    env = {"ONEDNN_MAX_CPU_ISA": isa, cpu.KERNELS_ENV: kernels}
    assert _ok(_run(CONV_PATTERN, **env), env) == "ok True"


@pytest.mark.slow
@pytest.mark.parametrize("isa", ISAS)
def test_the_narrowest_fast_tier_model_trains_under_native_kernels(isa):
    env = {"ONEDNN_MAX_CPU_ISA": isa, cpu.KERNELS_ENV: "native"}
    out = json.loads(_ok(_run(NARROW_RUN, **env), env))
    assert len(out["loss"]) == 2 and all(v == v for v in out["loss"])
    assert out["env"]["cpu_kernels"] == "native" and out["env"]["channels_last"] is False


@pytest.mark.slow
def test_portable_runs_are_bitwise_equal_whatever_the_isa_and_the_thread_count():
    outs = {}
    for isa, threads in (("AVX2", "2"), ("AVX", "1"), ("AVX512_CORE", "2")):
        env = {"ONEDNN_MAX_CPU_ISA": isa, cpu.KERNELS_ENV: "portable", "OMP_NUM_THREADS": threads}
        outs[(isa, threads)] = json.loads(_ok(_run(NARROW_RUN, **env), env))
    first = next(iter(outs.values()))
    for where, out in outs.items():
        assert (out["loss"], out["acc"]) == (first["loss"], first["acc"]), f"{where} differs"
        assert out["env"]["cpu_kernels"] == "portable" and out["env"]["onednn_max_cpu_isa"] == "AVX"
        assert out["env"]["aten_capability"] in ("DEFAULT", "NO AVX") and out["env"]["threads"] == 1


def test_native_runs_never_share_a_run_key_with_portable_ones(monkeypatch):
    from harness.runs.spec import Spec

    spec = Spec(model="lenet_mnist", dataset="mnist")
    monkeypatch.setenv(cpu.KERNELS_ENV, "portable")
    portable = spec.key
    monkeypatch.setenv(cpu.KERNELS_ENV, "native")
    assert spec.key != portable


def test_the_cpu_kernels_do_not_enter_the_key_of_a_gpu_run(monkeypatch):
    """A CUDA run's numerics are the GPU's: a rehearsal under native CPU kernels names it by the plan's key."""
    from harness.runs.spec import Spec

    spec = Spec(model="lenet_mnist", dataset="mnist", device="cuda")
    monkeypatch.setenv(cpu.KERNELS_ENV, "portable")
    portable = spec.key
    monkeypatch.setenv(cpu.KERNELS_ENV, "native")
    assert spec.key == portable


def test_an_unknown_kernel_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(cpu.KERNELS_ENV, "fastest")
    with pytest.raises(cpu.CpuKernelError, match="portable, native"):
        cpu.mode()
