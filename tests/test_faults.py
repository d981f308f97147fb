"""Nothing lost: killed runs resume, stale locks recover, damaged files are redone, full disks are clear errors."""
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
from filelock import FileLock

from tests.killed import kill_during_epoch_3
from harness.runs.spec import Spec
from harness.runs.store import RunStore
from harness.train.checkpoint import CorruptCheckpointWarning
from harness.train.loop import train
from tests.test_runs import SPEC, fake_result
from tests.test_train import TINY

ROOT = Path(__file__).resolve().parents[1]
SLOW = TINY.replace(epochs=4, train_subset=1000)

RUNNER = textwrap.dedent("""
    import json, sys, torch
    torch.set_num_threads(1)
    from harness.runs.spec import Spec
    from harness.train.loop import train
    spec = Spec.from_dict(json.loads(sys.argv[1]))
    ckpt = sys.argv[2] if sys.argv[2] != "-" else None
    from pathlib import Path
    result = train(spec, device="cpu", progress=False, checkpoint_path=Path(ckpt) if ckpt else None)
    print(json.dumps({"test_acc": result.curves["test_acc"], "train_loss": result.curves["train_loss"]}))
""")


def start(spec, checkpoint):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(spec.to_dict()), str(checkpoint)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_and_ends_bitwise_equal(tmp_path):
    uninterrupted = finish(start(SLOW, "-"))
    checkpoint = tmp_path / "checkpoint.pt"
    victim = start(SLOW, checkpoint)
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert checkpoint.exists(), "no checkpoint was written"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    resumed = finish(start(SLOW, checkpoint))
    assert resumed == uninterrupted


LENET = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=3, batch_size=50,
             train_subset=200, test_subset=100, lr=0.05)
EVERY_KIND = {  # each schedule kind, optimizer family and probe family the reference uses
    "plateau": LENET.replace(schedule="plateau", schedule_args={"monitor": "test_acc", "factor": 0.5, "patience": 0}),
    "cyclic": LENET.replace(schedule="cyclic", optimizer_args={"momentum": 0.9}),
    "cosine": LENET.replace(schedule="cosine"),
    "cosine_steps": LENET.replace(schedule="cosine_steps", schedule_args={"t_max": 5}),
    "step": LENET.replace(schedule="step", schedule_args={"step_size": 1, "gamma": 0.5}),
    "multistep": LENET.replace(schedule="multistep", schedule_args={"milestones": (1,), "gamma": 0.25}),
    "adam": LENET.replace(optimizer="adam", lr=0.001),
    "slbi": LENET.replace(optimizer="slbi", probes=("slbi_support",)),
    "slbi_adam": LENET.replace(optimizer="slbi_adam", lr=0.001),
    "bn_probes": LENET.replace(probes=("step_loss", "grad_change", "line_search"),
                               probe_args={"line_search": {"every": 4}}),
}


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_every_kind_of_run_resumes_from_its_weights_only_checkpoint_bitwise(tmp_path, monkeypatch, kind):
    spec = EVERY_KIND[kind]
    reference = train(spec, device="cpu", progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    kill_during_epoch_3(monkeypatch, spec, checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorruptCheckpointWarning)  # weights_only loading must accept it
        resumed = train(spec, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert resumed.extra.pop("resumed_at_epoch") == [2]
    assert resumed.curves["train_loss"] == reference.curves["train_loss"]
    assert resumed.curves["test_acc"] == reference.curves["test_acc"] and resumed.curves["lr"] == reference.curves["lr"]
    assert resumed.extra == reference.extra and resumed.test_correct == reference.test_correct


def test_a_lock_left_by_a_killed_process_is_recovered(tmp_path):
    store = RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.4))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal, sys
        from filelock import FileLock
        FileLock({str(tmp_path / (SPEC.key + '.lock'))!r}).acquire()
        print('locked', flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.wait(timeout=30)
    start_time = time.time()
    assert store.get(SPEC).best_test_acc == 0.4
    assert time.time() - start_time < 10
    assert FileLock(str(tmp_path / (SPEC.key + ".lock"))).acquire(timeout=1)


@pytest.mark.slow
def test_an_unloadable_checkpoint_is_warned_about_and_the_run_starts_over(tmp_path):
    reference = train(TINY, device="cpu", progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    checkpoint.write_bytes(b"\x00 not a checkpoint")
    with pytest.warns(CorruptCheckpointWarning, match=str(checkpoint)):
        redone = train(TINY, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert redone.curves["test_acc"] == reference.curves["test_acc"]


@pytest.mark.slow
def test_a_checkpoint_of_another_run_is_not_used(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    train(TINY.replace(epochs=2), device="cpu", progress=False, checkpoint_path=checkpoint)
    assert checkpoint.exists()
    with pytest.warns(CorruptCheckpointWarning, match="belongs to run"):
        result = train(TINY.replace(seed=5), device="cpu", progress=False, checkpoint_path=checkpoint)
    assert result.curves["epoch"] == [1, 2, 3]


def test_a_full_disk_is_a_clear_error_and_stored_results_survive(tmp_path, monkeypatch):
    store = RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.6))
    store.get(SPEC)
    other = SPEC.replace(seed=99)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("harness.runs.store.os.fsync", no_space)
    with pytest.raises(OSError, match="No space left on device.*--runs"):
        store.get(other)
    monkeypatch.undo()
    assert RunStore(tmp_path, mode="cached-only").get(SPEC).best_test_acc == 0.6
    assert not list(tmp_path.rglob(".result.json.*")) and not list(tmp_path.rglob(".spec.json.*"))


def test_checkpoints_are_removed_after_completion_unless_kept(tmp_path):
    def trainer(spec, checkpoint_path=None, **kwargs):
        checkpoint_path.write_bytes(b"state")
        return fake_result(spec)

    RunStore(tmp_path / "a", trainer=trainer).get(SPEC)
    RunStore(tmp_path / "b", trainer=trainer, keep_checkpoints=True).get(SPEC)
    assert not (tmp_path / "a" / SPEC.key / "checkpoint.pt").exists()
    assert (tmp_path / "b" / SPEC.key / "checkpoint.pt").exists()
