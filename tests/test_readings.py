"""The shared readings of harness/claim/readings.py on hand-made curves, where the right value is known."""
import math
from types import SimpleNamespace

import pytest

import numpy as np

from harness.claim import (Measured, best, early, epoch_time, final, final_train_acc, final_train_loss, mean_acc_drop,
                           mean_train_acc, mean_train_loss, per_arm, relative_epoch_time, steadiness, train_test_gap)


def run(test_acc, train_acc=(0.5, 0.9), train_loss=(2.0, 1.0), epoch_time=(9.0, 4.0, 6.0), status="completed",
        correct=None):
    return SimpleNamespace(best_test_acc=max(test_acc, default=math.nan),
                           final_test_acc=test_acc[-1] if test_acc else math.nan, final_train_acc=train_acc[-1],
                           curves={"test_acc": list(test_acc), "train_acc": list(train_acc),
                                   "train_loss": list(train_loss), "epoch_time": list(epoch_time),
                                   "eval_time": [1.0] * len(epoch_time)},
                           status=status, correctness=lambda epoch: None if correct is None else correct[epoch])


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


def test_a_reading_says_what_it_is_and_keeps_the_records_its_statistic_needs():
    hits = {"best": np.array([True, True, False]), "final": np.array([True, False, False])}
    runs = [run([0.2, 0.67, 0.33], correct=hits)]
    acc = best(runs)
    assert isinstance(acc, Measured) and acc == [0.67] and acc.reading == "best test accuracy"
    assert acc.higher_is_better is True and acc.within_run == "test images" and acc.runs == tuple(runs)
    assert [h.tolist() for h in acc.records()] == [[True, True, False]]
    assert final(runs).records()[0].tolist() == [True, False, False]
    assert final([run([0.5])]).records() is None  # a run that kept no per-image record
    loss, gap, time = mean_train_loss(runs), train_test_gap(runs), epoch_time(runs)
    assert loss.higher_is_better is False and loss.within_run is None and loss.records() is None
    assert gap.higher_is_better is None and time.within_run == "epochs" and time.epoch_samples == [[4.0, 6.0]]
    assert steadiness(runs).higher_is_better is True and mean_acc_drop(runs).higher_is_better is False


def test_a_run_that_diverged_at_epoch_3_of_5_reads_as_diverged_in_every_reading():
    """Its two finished epochs read well (test accuracy rising to 0.6, no fall, falling loss); every reading that
    orders runs gives it the worst value there is, so it loses to any run that trained, whichever way is better."""
    late = run([0.5, 0.6], train_acc=(0.5, 0.7), train_loss=(1.0, 0.5), epoch_time=(9.0, 4.0), status="diverged")
    assert best([late]) == [-math.inf] and final([late]) == [-math.inf] and early([late], 5) == [-math.inf]
    assert final_train_acc([late]) == [-math.inf] and mean_train_acc([late]) == [-math.inf]
    assert mean_train_loss([late]) == [math.inf] and final_train_loss([late]) == [math.inf]
    assert mean_acc_drop([late]) == [math.inf] and steadiness([late]) == [-math.inf]  # unstable, not steady
    assert math.isnan(train_test_gap([late])[0])  # no direction: no value
    assert epoch_time([late]) == [4.0]  # the epochs it trained took the time they took


def test_relative_epoch_time_pairs_seeds_and_keeps_each_epoch():
    base = [run([0.5], epoch_time=(9.0, 2.0, 2.0, 2.0)), run([0.5], epoch_time=(9.0, 4.0, 4.0, 4.0))]
    slow = [run([0.5], epoch_time=(9.0, 3.0, 3.0, 3.3)), run([0.5], epoch_time=(9.0, 6.0, 6.0, 6.6))]
    assert relative_epoch_time(slow, base) == pytest.approx([1.5, 1.5])
    assert relative_epoch_time(base, base) == [1.0, 1.0]
    assert relative_epoch_time(slow, base).epoch_samples[0] == pytest.approx([1.5, 1.5, 1.65])
    with pytest.raises(ValueError, match="seed by seed"):
        relative_epoch_time(slow, base[:1])
