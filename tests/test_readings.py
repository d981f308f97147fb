"""The shared readings of harness/readings.py on hand-made curves, where the right value is known."""
import math
from types import SimpleNamespace

import pytest

from harness.claim import (best, early, epoch_time, final, final_train_acc, final_train_loss, mean_acc_drop,
                           mean_train_acc, mean_train_loss, per_arm, steadiness, train_test_gap)


def run(test_acc, train_acc=(0.5, 0.9), train_loss=(2.0, 1.0), epoch_time=(9.0, 4.0, 6.0)):
    return SimpleNamespace(best_test_acc=max(test_acc, default=math.nan),
                           final_test_acc=test_acc[-1] if test_acc else math.nan, final_train_acc=train_acc[-1],
                           curves={"test_acc": list(test_acc), "train_acc": list(train_acc),
                                   "train_loss": list(train_loss), "epoch_time": list(epoch_time),
                                   "eval_time": [1.0] * len(epoch_time)})


def test_steady_learning_is_perfectly_stable_however_fast():
    slow, fast = run([0.1, 0.2, 0.3, 0.4]), run([0.1, 0.5, 0.8, 0.9])
    assert mean_acc_drop([slow, fast]) == [0.0, 0.0]
    assert steadiness([slow, fast]) == [0.0, 0.0]


def test_only_falls_count_and_they_are_averaged_over_the_epoch_pairs():
    zigzag = run([0.5, 0.3, 0.6, 0.5])  # falls of 0.2 and 0.1, one rise of 0.3 (counted 0), three pairs
    assert mean_acc_drop([zigzag]) == pytest.approx([0.1])
    assert steadiness([zigzag]) == pytest.approx([-0.1])


def test_the_stability_window_is_the_claims():
    curve = run([0.1, 0.9, 0.5, 0.6, 0.6])  # one fall of 0.4, between epochs 2 and 3
    assert mean_acc_drop([curve], slice(-2, None)) == [0.0]  # a plateau window after the fall
    assert mean_acc_drop([curve], slice(None, 3)) == pytest.approx([0.2])  # the first three epochs
    assert math.isnan(mean_acc_drop([curve], slice(None, 1))[0])  # one epoch: no change to read


def test_accuracy_readings():
    r = run([0.2, 0.7, 0.6], train_acc=(0.5, 0.8, 0.95))
    assert best([r]) == [0.7] and final([r]) == [0.6] and final_train_acc([r]) == [0.95]
    assert train_test_gap([r]) == pytest.approx([0.25]) and train_test_gap([r], "final") == pytest.approx([0.35])
    with pytest.raises(ValueError, match="best"):
        train_test_gap([r], "last")
    assert early([r], 2) == pytest.approx([0.45]) and early([r], 10) == pytest.approx([0.5])
    assert mean_train_acc([r]) == pytest.approx([0.75])


def test_loss_and_time_readings():
    r = run([0.5], train_loss=(3.0, 2.0, 1.0), epoch_time=(9.0, 4.0, 6.0))
    assert final_train_loss([r]) == [1.0] and mean_train_loss([r]) == [2.0]
    assert epoch_time([r]) == [5.0]  # median of epochs 2+: the first pays for compilation
    assert epoch_time([r], minus=("eval",)) == [4.0]


def test_a_run_without_epochs_reads_as_nan_not_as_an_error():
    empty = run([], train_acc=(0.0,), train_loss=())
    assert math.isnan(early([empty], 5)[0]) and math.isnan(final_train_loss([empty])[0])
    assert math.isnan(mean_train_loss([empty])[0]) and math.isnan(steadiness([empty])[0])


def test_per_arm_applies_one_reading_to_every_arm():
    runs = {"a": [run([0.1, 0.3]), run([0.2, 0.4])], "b": [run([0.5, 0.4])]}
    assert per_arm(best, runs) == {"a": [0.3, 0.4], "b": [0.5]}
    assert per_arm(early, runs, 1) == {"a": [0.1, 0.2], "b": [0.5]}
    assert per_arm(mean_acc_drop, runs, slice(None)) == {"a": [0.0, 0.0], "b": [pytest.approx(0.1)]}
