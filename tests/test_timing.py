import time

import torch

from harness.train.timing import PhaseTimer


def test_cpu_phases_accumulate_and_reset():
    timer = PhaseTimer(torch.device("cpu"))
    for _ in range(2):
        with timer.phase("data"):
            time.sleep(0.01)
    with timer.phase("step"):
        pass
    totals = timer.totals()
    assert set(totals) == {"data", "step"} and totals["data"] >= 0.02 and totals["step"] < totals["data"]
    assert timer.totals() == {}


def test_a_failing_phase_still_counts():
    timer = PhaseTimer(torch.device("cpu"))
    try:
        with timer.phase("eval"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert "eval" in timer.totals()
