"""A training run killed during its third epoch, after epoch 2's checkpoint: what the resume tests start from."""
import pytest

import harness.train.loop as train_module
from harness.train.loop import train


def kill_during_epoch_3(monkeypatch, spec, checkpoint) -> None:
    """Train `spec` with checkpoints at `checkpoint` until the third evaluation raises KeyboardInterrupt."""
    real_evaluate, calls = train_module.evaluate, []

    def evaluate_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # during epoch 3, after epoch 2's checkpoint
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(spec, device="cpu", progress=False, checkpoint_path=checkpoint)
    monkeypatch.setattr(train_module, "evaluate", real_evaluate)
