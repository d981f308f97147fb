"""A shared run store and travelling bundles: nothing read from them can run code or slip in unchecked.

The harmful payloads here are harmless: a pickle whose __reduce__ would create a marker file, and
archives that are only big when unpacked. Each test asserts the marker never appears.
"""
import io
import json
import pickle
import tarfile
from pathlib import Path

import pytest
import torch

from harness.catalog.optim import Schedule
from harness.runs.spec import Spec
from harness.train.checkpoint import CorruptCheckpointWarning, RunParts, resume, save_checkpoint
from harness.train.loop import train

TINY = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=2, batch_size=50,
            train_subset=200, test_subset=100)


class Payload:
    """Unpickling this creates `marker`: the stand-in for any code a crafted file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def crafted_pickle(marker: Path, how: str) -> bytes:
    if how == "torch.save":  # a zip checkpoint whose data.pkl carries the payload
        buffer = io.BytesIO()
        torch.save({"key": "x", "model": Payload(marker)}, buffer)
        return buffer.getvalue()
    return pickle.dumps(Payload(marker), protocol=2)


# -- checkpoints ---------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_checkpoint_that_would_run_code_is_refused_and_the_run_starts_over(tmp_path, how):
    marker = tmp_path / "marker"
    checkpoint = tmp_path / TINY.key / "checkpoint.pt"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(crafted_pickle(marker, how))
    reference = train(TINY, device="cpu", progress=False)
    with pytest.warns(CorruptCheckpointWarning, match=f"{checkpoint}.*not unpickled"):
        redone = train(TINY, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert not marker.exists()
    assert redone.curves["train_loss"] == reference.curves["train_loss"] and "resumed_at_epoch" not in redone.extra


def scale(x: float) -> float:
    return 1.0


class FunctionHoldingSchedule(Schedule):
    """A scheduler whose state_dict keeps a function (as CyclicLR's `_scale_fn_ref` did)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.steps, self.fn = 0, scale

    def state_dict(self) -> dict:
        return {"steps": self.steps, "_scale_fn_ref": self.fn}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.fn = state["steps"], state["_scale_fn_ref"]


def parts(schedule, probes=None) -> RunParts:
    model = torch.nn.Linear(3, 2)
    return RunParts(TINY, torch.device("cpu"), model, torch.optim.SGD(model.parameters(), lr=0.1), schedule,
                    torch.Generator().manual_seed(0), {"test_acc": []}, probes or {})


def test_a_schedule_state_that_is_not_plain_data_is_saved_without_it_and_restored(tmp_path):
    saved = parts(FunctionHoldingSchedule())
    saved.schedule.steps = 7
    save_checkpoint(tmp_path / "checkpoint.pt", saved, {"epoch": 1})
    torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # loads as plain data
    fresh = parts(FunctionHoldingSchedule())
    assert resume(tmp_path / "checkpoint.pt", fresh) == {"epoch": 1}
    assert fresh.schedule.steps == 7 and fresh.schedule.fn is scale


def test_a_probe_state_that_is_not_plain_data_is_an_error_when_saved(tmp_path):
    class Probe:
        def state_dict(self):
            return {"series": [1.0, 2.0], "hook": print}

    with pytest.raises(TypeError, match=r"probes\.odd\.hook: builtin_function_or_method"):
        save_checkpoint(tmp_path / "checkpoint.pt", parts(Schedule(None), {"odd": Probe()}), {"epoch": 1})
    assert not (tmp_path / "checkpoint.pt").exists()


# -- Slurm results ---------------------------------------------------------------------------------------------------

def test_waiting_on_an_array_never_unpickles_and_counts_only_stored_runs(tmp_path, monkeypatch):
    from harness.plan.slurm import Submission, summary_lines, wait

    marker, base = tmp_path / "marker", tmp_path / "store" / ".slurm"
    specs = [TINY.replace(seed=s) for s in (1, 2)]
    submission = Submission(base=str(base), runs=str(tmp_path / "store"),
                            tasks=[{"job_id": f"9_{i}", "key": s.key, "spec": s.to_dict(), "model": s.model,
                                    "est_seconds": 1.0} for i, s in enumerate(specs)])
    for i, spec in enumerate(specs):  # where submitit's pickled results would be, and a forged outcome
        (base / f"9_{i}").mkdir(parents=True)
        (base / f"9_{i}" / f"9_{i}_0_result.pkl").write_bytes(pickle.dumps(("success", Payload(marker))))
        (base / "outcomes").mkdir(exist_ok=True)
        (base / "outcomes" / f"{spec.key}.json").write_text(json.dumps({"key": spec.key, "status": "completed"}))
    monkeypatch.setattr("harness.plan.slurm._active", lambda ids: set())
    outcome = wait(submission, poll_s=0.01, lost_after_s=0.05, progress=False, timeout_s=10)
    assert not marker.exists()
    assert not outcome.done and set(outcome.failed) == {s.key for s in specs}
    assert summary_lines(submission, outcome)[0].startswith("slurm: 0 run(s) trained, 2 failed")
