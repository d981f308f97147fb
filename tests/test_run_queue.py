"""The run queue: each run taken by exactly one worker, failures left to the claims, longest first."""
from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from harness.plan.run_queue import QueueDir, RunQueueWarning, drain, progress_line, read_plan
from harness.runs.spec import Spec


def _runs(*seeds: int) -> list[dict]:
    specs = [Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, seed=s) for s in seeds]
    return [{"key": s.key, "spec": s.to_dict(), "est_seconds": 10.0 - i} for i, s in enumerate(specs)]


def _take_all(path: str, keys: list[str], out: str) -> None:
    queue = QueueDir(path)
    Path(out).write_text(json.dumps([k for k in keys if queue.take(k)]))


def test_each_run_is_taken_by_exactly_one_of_two_processes(tmp_path):
    queue = QueueDir.create(_runs(*range(40)))
    keys = [r["key"] for r in queue.runs()]
    outs = [tmp_path / f"taken-{i}.json" for i in range(2)]
    procs = [multiprocessing.get_context("spawn").Process(target=_take_all, args=(str(queue.path), keys, str(o)))
             for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    taken = [json.loads(o.read_text()) for o in outs]
    assert sorted(taken[0] + taken[1]) == sorted(keys)  # every run once, none twice
    queue.remove()
    assert not queue.path.exists()


def test_drain_trains_in_queue_order_and_skips_what_another_worker_took():
    queue = QueueDir.create(_runs(0, 1, 2))
    keys = [r["key"] for r in queue.runs()]
    assert queue.take(keys[1])  # another worker has it
    trained = []
    counts = drain(queue, lambda spec: trained.append(spec.key), can_train=lambda spec: True)
    assert trained == [keys[0], keys[2]]
    assert counts == {"trained": 2, "taken_elsewhere": 1, "failed": 0, "not_here": 0}
    queue.remove()


def test_a_failing_run_is_a_warning_and_the_queue_goes_on():
    queue = QueueDir.create(_runs(0, 1))
    keys = [r["key"] for r in queue.runs()]
    trained = []

    def train(spec):
        if spec.key == keys[0]:
            raise RuntimeError("out of memory")
        trained.append(spec.key)

    with pytest.warns(RunQueueWarning, match="out of memory"):
        counts = drain(queue, train, can_train=lambda spec: True)
    assert trained == [keys[1]] and counts["failed"] == 1
    queue.remove()


def test_runs_this_worker_cannot_train_and_edited_entries_are_left_alone():
    runs = _runs(0, 1)
    runs[1]["key"] = "0" * 16  # a spec that does not hash to its key
    queue = QueueDir.create(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = drain(queue, lambda spec: pytest.fail("nothing may train"), can_train=lambda spec: False)
    assert counts["not_here"] == 2 and counts["trained"] == 0
    queue.remove()


def test_progress_counts_finished_runs_and_scales_the_estimate_by_the_measured_pace():
    queue = QueueDir.create(_runs(0, 1, 2))  # estimates 10, 9, 8 s
    keys = [r["key"] for r in queue.runs()]
    assert queue.progress().done == 0 and queue.progress().seconds_left(2) is None
    assert progress_line(queue.progress(), 2, 5) == "run queue: 0/3 runs trained, 5 s so far"
    queue.finish(keys[0], 30.0, ok=True)  # three times slower than planned
    queue.finish(keys[1], 1.0, ok=False)
    progress = queue.progress()
    assert (progress.done, progress.failed, progress.total) == (2, 1, 3)
    assert progress.seconds_left(2) == pytest.approx(8 * (31 / 19) / 2)
    assert progress_line(progress, 2, 600) == "run queue: 2/3 runs trained (1 failed), 10 min so far, about 7 s left"
    queue.finish(keys[2], 8.0, ok=True)
    assert progress_line(queue.progress(), 2, 700) == "run queue: all 3 runs trained (1 failed) in 12 min"
    queue.remove()


def test_drain_leaves_a_done_marker_for_every_run_it_trained_or_failed():
    queue = QueueDir.create(_runs(0, 1))
    keys = [r["key"] for r in queue.runs()]

    def train(spec):
        if spec.key == keys[1]:
            raise RuntimeError("disk full")

    with pytest.warns(RunQueueWarning):
        drain(queue, train, can_train=lambda spec: True)
    progress = queue.progress()
    assert (progress.done, progress.failed) == (2, 1)
    queue.remove()


def test_a_queue_created_before_its_plan_is_published_whole_later():
    queue = QueueDir.create()
    assert not queue.ready()  # workers go on with their tests meanwhile
    queue.publish(_runs(0, 1))
    assert queue.ready() and [r["est_seconds"] for r in queue.runs()] == [10.0, 9.0]
    assert not list(queue.path.glob("*.tmp"))
    queue.remove()


def test_read_plan_names_the_failure_of_a_planning_session_that_wrote_no_plan(tmp_path):
    failing = subprocess.Popen([sys.executable, "-c", "print('ERROR: bad selection'); raise SystemExit(4)"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with pytest.raises(RuntimeError, match=r"wrote no plan \(exit 4\): ERROR: bad selection"):
        read_plan(failing, tmp_path)


def _wait_or_train(root: str, queue_path: str, log: str, released: str, out: str) -> None:
    """A worker whose first test asks for run A: it trains A, or trains queued runs while another trains A."""
    import os
    import time as _time

    from harness.runs import store as store_module
    from harness.runs.store import RunStore
    from harness.plan.run_queue import train_one
    from tests.test_runs import fake_result

    store_module.WAIT_POLL_S = 0.05

    def trainer(spec, **kwargs):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {spec.seed}\n")
        if spec.seed == 0:  # run A ends only once the other worker has trained every queued run meanwhile
            deadline = _time.monotonic() + 60
            while not Path(released).exists() and _time.monotonic() < deadline:
                _time.sleep(0.05)
        return fake_result(spec)

    queue = QueueDir(queue_path)
    queued = RunStore(root, trainer=trainer)

    def meanwhile(awaited):
        if train_one(queue, queued.get, can_train=lambda spec: True, besides=awaited.key) is None:
            Path(released).touch()

    a = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, seed=0)
    result = RunStore(root, trainer=trainer).get(a, while_waiting=meanwhile)
    Path(out).write_text(json.dumps({"pid": os.getpid(), "key": result.key}))


def test_a_worker_waiting_on_anothers_run_trains_the_queued_runs_meanwhile(tmp_path):
    """Two workers' first tests ask for run A: one trains it, the other trains the queue instead of idling."""
    queue = QueueDir.create(_runs(0, 1, 2))  # run A (seed 0) is queued too: the waiter leaves it alone
    log, released = tmp_path / "trained.log", tmp_path / "released"
    outs = [tmp_path / f"out-{i}.json" for i in range(2)]
    procs = [multiprocessing.get_context("spawn").Process(
        target=_wait_or_train, args=(str(tmp_path / "runs"), str(queue.path), str(log), str(released), str(o)))
        for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    trained = [line.split() for line in log.read_text().splitlines()]
    assert sorted(seed for _, seed in trained) == ["0", "1", "2"]  # every run once
    trainer_of = {seed: pid for pid, seed in trained}
    assert trainer_of["1"] == trainer_of["2"] != trainer_of["0"]  # the waiter trained the queue
    assert len({json.loads(o.read_text())["key"] for o in outs}) == 1
    queue.remove()
