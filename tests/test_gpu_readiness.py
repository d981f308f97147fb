"""The CUDA paths' decisions that a CPU can check: GPU lists, pinning, device kinds, checkpoints across
devices, TF32 and autotuning flags, the download lock, layouts, timing choices."""
from __future__ import annotations

import contextlib

import pytest
import torch
from filelock import FileLock, Timeout

import harness.train.loop as train_module
from harness.train import data, device as env
from harness.train.cuda_flags import cuda_flags
from harness.runs.result import RunResult
from harness.train.timing import PhaseTimer, epoch_seconds, unfit_for_timing
from harness.train.checkpoint import CorruptCheckpointWarning
from harness.train.loop import evaluate, train
from tests.test_train import TINY

SMALL = TINY.replace(epochs=2, train_subset=256, test_subset=100)

# -- the GPU list ------------------------------------------------------------------------------

MIG_OUTPUT = """\
GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5c3a3f1e-0000-0000-0000-000000000000)
  MIG 3g.40gb     Device  0: (UUID: MIG-aaaa1111-0000-0000-0000-000000000000)
  MIG 3g.40gb     Device  1: (UUID: MIG-bbbb2222-0000-0000-0000-000000000000)
GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-77777777-0000-0000-0000-000000000000)
"""


def test_mig_instances_are_listed_by_uuid_and_plain_gpus_by_index():
    assert env.parse_nvidia_smi(MIG_OUTPUT) == ["MIG-aaaa1111-0000-0000-0000-000000000000",
                                               "MIG-bbbb2222-0000-0000-0000-000000000000", "1"]


def test_gpu_indices_come_from_the_line_not_its_position():
    odd = ("Warning: persistence mode is disabled on device 00000000:1B:00.0\n"
           "GPU 2: NVIDIA A100-SXM4-40GB (UUID: GPU-2)\n\n"
           "GPU 5: NVIDIA A100-SXM4-40GB (UUID: GPU-5)\n")
    assert env.parse_nvidia_smi(odd) == ["2", "5"]
    assert env.parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the driver\n") == []
    assert env.parse_nvidia_smi("") == []


def test_workers_are_pinned_round_robin_to_mig_uuids_and_know_who_shares(monkeypatch):
    monkeypatch.setattr(env, "_nvidia_smi_ids", lambda: env.parse_nvidia_smi(MIG_OUTPUT))
    pinned = {}
    for worker in range(4):
        e: dict = {}
        pinned[worker] = (env.assign_worker_gpu(worker, e, worker_count=4), e[env.GPU_WORKERS_ENV])
    mig_a, mig_b = env.parse_nvidia_smi(MIG_OUTPUT)[:2]
    assert pinned == {0: (mig_a, "2"), 1: (mig_b, "1"), 2: ("1", "1"), 3: (mig_a, "2")}


def test_workers_sharing_counts_round_robin_assignment():
    assert [env.workers_sharing(i, 4, 1) for i in range(4)] == [4, 4, 4, 4]
    assert [env.workers_sharing(i, 4, 4) for i in range(4)] == [1, 1, 1, 1]
    assert [env.workers_sharing(i, 3, 2) for i in range(3)] == [2, 1, 2]


def test_a_pinned_worker_without_cuda_stops_instead_of_training_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("REPRO_DEVICE", raising=False)
    monkeypatch.delenv(env.WORKER_GPU_ENV, raising=False)
    assert env.resolve_device("auto").type == "cpu"  # unpinned: the CPU is a fine answer
    monkeypatch.setenv(env.WORKER_GPU_ENV, "MIG-aaaa1111")
    with pytest.raises(env.WorkerDeviceError, match="pinned to GPU 'MIG-aaaa1111'.*--device cpu"):
        env.resolve_device("auto")
    assert env.resolve_device("cpu").type == "cpu"  # asking for the CPU is still allowed


# -- device kinds ------------------------------------------------------------------------------

def test_a_run_trains_on_its_specs_device_kind_and_refuses_another(monkeypatch):
    monkeypatch.delenv("REPRO_DEVICE", raising=False)
    assert env.run_device("cpu", None) == torch.device("cpu")
    assert env.run_device("cpu", "auto") == torch.device("cpu")
    monkeypatch.setenv("REPRO_DEVICE", "cuda:1")  # the session's GPU choice does not move a CPU run
    assert env.run_device("cpu", None) == torch.device("cpu")
    with pytest.raises(ValueError, match="device='cuda'"):
        train(TINY, device="cuda:0", progress=False)


@pytest.mark.slow
def test_a_cpu_run_never_touches_cuda(tmp_path, monkeypatch):
    """On a GPU machine a CPU run must not create a CUDA context (checkpoints used to save every GPU's RNG)."""
    def no_cuda(name):
        def called(*args, **kwargs):
            raise AssertionError(f"a CPU run called torch.cuda.{name}")
        return called  # one function per name: torch's tracing rules reject one object under two names

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for name in ("get_rng_state_all", "get_rng_state", "set_rng_state_all", "synchronize", "device"):
        monkeypatch.setattr(torch.cuda, name, no_cuda(name))
    checkpoint = tmp_path / "checkpoint.pt"
    result = train(SMALL, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert result.status == "completed" and checkpoint.exists()
    assert train(SMALL, device="cpu", progress=False, checkpoint_path=checkpoint).status == "completed"


# -- checkpoints written elsewhere ---------------------------------------------------------------

@pytest.fixture(scope="module")
def reference():
    return train(SMALL.replace(epochs=3), device="cpu", progress=False)


def _checkpoint_then_edit(tmp_path, edit):
    checkpoint = tmp_path / "checkpoint.pt"
    train(SMALL.replace(epochs=3), device="cpu", progress=False, checkpoint_path=checkpoint)  # leaves epoch 2's
    payload = torch.load(checkpoint, weights_only=False)
    edit(payload)
    torch.save(payload, checkpoint)
    return checkpoint


@pytest.mark.parametrize("what, edit", [
    ("another device kind", lambda p: p.update(device_kind="cuda", generator=torch.zeros(16, dtype=torch.uint8))),
    ("a generator of another kind", lambda p: p.update(generator=torch.zeros(16, dtype=torch.uint8))),
    ("an older layout (every GPU's RNG)", lambda p: p.pop("device_kind")),
])
@pytest.mark.slow
def test_a_checkpoint_from_elsewhere_is_warned_about_and_the_run_starts_cleanly(tmp_path, what, edit, reference):
    spec = SMALL.replace(epochs=3)
    checkpoint = _checkpoint_then_edit(tmp_path, edit)
    with pytest.warns(CorruptCheckpointWarning, match="from the start"):
        redone = train(spec, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert redone.curves["epoch"] == [1, 2, 3], what
    assert redone.curves["train_loss"] == reference.curves["train_loss"], f"{what}: not a clean start"


@pytest.mark.slow
def test_checkpoints_follow_wall_time_not_every_epoch(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(train_module, "save_checkpoint", lambda path, parts, state: saved.append(state["epoch"]))
    train(SMALL.replace(epochs=3), device="cpu", progress=False, checkpoint_path=tmp_path / "c.pt",
          checkpoint_minutes=60)
    assert saved == []  # three short epochs: no checkpoint within the hour
    train(SMALL.replace(epochs=3), device="cpu", progress=False, checkpoint_path=tmp_path / "c.pt")
    assert saved == [1, 2]


# -- CUDA flags ---------------------------------------------------------------------------------

def test_cuda_runs_have_tf32_off_and_autotuning_on_recorded_and_restored():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.allow_tf32 = True  # cuDNN's own default
    try:
        with cuda_flags(torch.device("cuda")) as flags:
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
            assert torch.backends.cudnn.benchmark
        assert flags == {"tf32_matmul": False, "tf32_cudnn": False, "cudnn_benchmark": True,
                         "deterministic_algorithms": False}
        assert torch.backends.cudnn.allow_tf32  # restored
        with cuda_flags(torch.device("cuda"), benchmark=False) as flags:
            assert flags["cudnn_benchmark"] is False
        with cuda_flags(torch.device("cpu")) as flags:
            assert flags == {}
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.benchmark) = before


def test_deterministic_algorithms_turn_autotuning_off():
    torch.use_deterministic_algorithms(True)
    try:
        with cuda_flags(torch.device("cuda")) as flags:
            assert flags["cudnn_benchmark"] is False and flags["deterministic_algorithms"] is True
    finally:
        torch.use_deterministic_algorithms(False)


# -- data ----------------------------------------------------------------------------------------

def test_a_download_happens_under_a_lock_that_other_workers_wait_on(tmp_path, monkeypatch):
    import torchvision

    lock_path = tmp_path / data.DOWNLOAD_LOCK.format(name="mnist")
    calls = []

    class FakeMNIST:
        def __init__(self, root, train, download):
            calls.append(download)
            with pytest.raises(Timeout):  # another worker would wait here
                FileLock(str(lock_path)).acquire(timeout=0.05)
            for name in data.REQUIRED_FILES["mnist"]:
                (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / name).write_bytes(b"")
            self.data = torch.zeros(10 if train else 4, 28, 28, dtype=torch.uint8)
            self.targets = torch.arange(len(self.data)) % 10

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    splits = data.load_arrays("mnist", tmp_path, download=True)
    assert len(splits["train"]) == 10 and calls[0] is True
    assert FileLock(str(lock_path)).acquire(timeout=1)  # released


def test_evaluation_feeds_the_models_memory_layout():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(x.is_contiguous(memory_format=torch.channels_last))
            return x.mean(dim=(2, 3)).repeat(1, 4)[:, :10]

    split = data.synthetic_arrays()["test"].subset(torch.arange(20))
    loader = data.BatchLoader(split, 10, mean=(0.5,) * 3, std=(0.25,) * 3)
    evaluate(Probe(), loader, torch.nn.functional.cross_entropy, contextlib.nullcontext, torch.channels_last)
    assert seen == [True, True]


# -- timing --------------------------------------------------------------------------------------

def test_reading_phase_times_mid_epoch_keeps_them_in_the_epoch_total():
    timer = PhaseTimer(torch.device("cpu"))
    with timer.phase("step"):
        sum(range(10000))
    first = timer.elapsed()["step"]
    with timer.phase("step"):
        sum(range(10000))
    assert timer.totals()["step"] > first > 0


def _run(epoch_times, eval_times=None, **environment):
    eval_times = eval_times or [0.0] * len(epoch_times)
    return RunResult(key="k", spec={}, status="completed", final_test_acc=0, best_test_acc=0, final_train_acc=0,
                     param_count=0, wall_time=0, environment={"device": "cuda:0", **environment},
                     curves={"epoch_time": epoch_times, "eval_time": eval_times, "probe_time": [0.0] * len(epoch_times)})


def test_epoch_time_is_the_median_after_the_first_epoch():
    assert epoch_seconds(_run([60.0, 10.0, 12.0, 11.0])) == 11.0  # epoch 1 compiled: left out
    assert epoch_seconds(_run([60.0, 10.0, 12.0], [1.0, 2.0, 1.0]), minus=("eval",)) == 9.5
    assert epoch_seconds(_run([7.0])) == 7.0


def test_timing_claims_skip_runs_from_a_shared_gpu_or_mixed_compile_states():
    assert unfit_for_timing([_run([1.0], gpu_workers=1), _run([1.0])]) is None
    assert "shared by 2" in unfit_for_timing([_run([1.0], gpu_workers=2), _run([1.0])])
    assert "compiled" in unfit_for_timing([_run([1.0], compiled=True), _run([1.0], compiled=False)])
    cpu = _run([1.0], gpu_workers=4)
    cpu.environment["device"] = "cpu"
    assert unfit_for_timing([cpu]) is None


def test_the_compiled_first_step_is_timed_and_stays_in_epoch_one(monkeypatch):
    """The compile time is read mid-epoch; epoch 1's step time must still include that first step."""
    import time as time_module

    class SlowFirstCall(torch.nn.Module):  # stands in for compilation: only the first call is slow
        def __init__(self, model):
            super().__init__()
            self.model, self.calls = model, 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 1:
                time_module.sleep(0.5)
            return self.model(x)

    monkeypatch.setattr(train_module, "_compile", lambda model: (SlowFirstCall(model), {}))
    monkeypatch.setattr(train_module, "_compiled_graphs", lambda before: 1)
    result = train(SMALL, device="cpu", progress=False, compile=True)
    assert result.environment["compile_time"] >= 0.5 and result.environment["compile_graphs"] == 1
    assert result.curves["step_time"][0] >= result.environment["compile_time"]
