import json
import os
import multiprocessing as mp
import time

import pytest

from harness.runs.result import RunResult
from harness.runs.store import CorruptRunWarning, RunNotCachedError, RunStore
from harness.runs.spec import Spec

SPEC = Spec(model="resnet18", epochs=1, seed=3)


def fake_result(spec: Spec, value: float = 0.5) -> RunResult:
    return RunResult(key=spec.key, spec=spec.to_dict(), status="completed", curves={"epoch": [1], "test_acc": [value]},
                     final_test_acc=value, best_test_acc=value, final_train_acc=value, param_count=1,
                     wall_time=0.0, environment={"device": "cpu"})


def slow_trainer(log_path):
    def trainer(spec, checkpoint_path=None, **kwargs):
        with open(log_path, "a") as log:
            log.write(spec.key + "\n")
        time.sleep(1.0)
        return fake_result(spec)
    return trainer


def _worker(root, log_path, queue):
    store = RunStore(root, trainer=slow_trainer(log_path))
    queue.put(store.get(SPEC).to_dict())


def test_two_processes_asking_for_the_same_run_train_it_once(tmp_path):
    log = tmp_path / "trained.log"
    queue = mp.get_context("spawn").Queue()
    procs = [mp.get_context("spawn").Process(target=_worker, args=(tmp_path / "runs", log, queue)) for _ in range((os.cpu_count() or 2) + 2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert log.read_text().splitlines() == [SPEC.key]
    assert all(r == results[0] for r in results)


def test_cached_only_never_trains(tmp_path):
    store = RunStore(tmp_path, mode="cached-only", trainer=lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(RunNotCachedError, match=SPEC.key):
        store.get(SPEC)


def test_cached_only_loads_an_existing_run(tmp_path):
    RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.7)).get(SPEC)
    assert RunStore(tmp_path, mode="cached-only").get(SPEC).best_test_acc == 0.7


def test_second_get_is_served_from_the_store(tmp_path):
    calls = []
    store = RunStore(tmp_path, trainer=lambda spec, **k: calls.append(1) or fake_result(spec))
    store.get(SPEC)
    store.get(SPEC)
    assert len(calls) == 1 and (tmp_path / SPEC.key / "spec.json").exists()


@pytest.mark.parametrize("damage", ["truncate", "garble", "old-format"])
def test_a_damaged_entry_is_warned_about_and_redone(tmp_path, damage):
    RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.1)).get(SPEC)
    path = tmp_path / SPEC.key / "result.json"
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garble":
        path.write_bytes(b"\x00\xff garbage")
    else:
        data = json.loads(text)
        data["format"] = 0
        path.write_text(json.dumps(data))
    store = RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.9))
    with pytest.warns(CorruptRunWarning, match=str(path)):
        assert store.get(SPEC).best_test_acc == 0.9


def test_retrain_redoes_a_run_once_per_session(tmp_path):
    RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.1), session="old").get(SPEC)
    calls = []
    store = RunStore(tmp_path, mode="retrain", session="new",
                     trainer=lambda spec, **k: calls.append(1) or fake_result(spec, 0.2))
    assert store.get(SPEC).best_test_acc == 0.2
    assert store.get(SPEC).best_test_acc == 0.2
    assert len(calls) == 1


def test_unknown_mode_lists_the_modes(tmp_path):
    with pytest.raises(ValueError, match="cached-only"):
        RunStore(tmp_path, mode="lazy")


def test_unwritable_run_directory_names_the_option(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="--runs"):
        RunStore(blocker / "runs")


def store_with(tmp_path, edit, spec=SPEC):
    """A store holding `spec`'s result, edited by `edit(data) -> data` as a hand or a bad disk might."""
    RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.1)).get(spec)
    path = tmp_path / spec.key / "result.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return path


BAD_RESULTS = {
    "null": lambda d: None,
    "a list": lambda d: [1, 2],
    "a number": lambda d: 3,
    "text accuracy": lambda d: {**d, "final_test_acc": "abc"},
    "null environment": lambda d: {**d, "environment": None},
    "curves not a mapping": lambda d: {**d, "curves": [0.1, 0.2]},
    "a curve of text": lambda d: {**d, "curves": {"epoch": [1], "test_acc": ["0.1"]}},
    "a bool parameter count": lambda d: {**d, "param_count": True},
    "unknown status": lambda d: {**d, "status": "done"},
    "spec edited": lambda d: {**d, "spec": {**d["spec"], "epochs": 7}},
    "spec not a Spec": lambda d: {**d, "spec": {**d["spec"], "optimiser": "sgd"}},
}


@pytest.mark.parametrize("damage", BAD_RESULTS, ids=list(BAD_RESULTS))
def test_a_result_that_parses_but_is_wrong_is_warned_about_and_redone(tmp_path, damage):
    path = store_with(tmp_path, BAD_RESULTS[damage])
    store = RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.9))
    with pytest.warns(CorruptRunWarning, match=f"{path}.*will be redone"):
        assert store.get(SPEC).best_test_acc == 0.9
    assert json.loads(path.read_text())["best_test_acc"] == 0.9


def test_cached_only_calls_a_corrupt_entry_corrupt_not_missing(tmp_path):
    path = store_with(tmp_path, BAD_RESULTS["null"])
    store = RunStore(tmp_path, mode="cached-only", trainer=lambda *a, **k: pytest.fail("trained"))
    with pytest.warns(CorruptRunWarning, match="cached-only mode does not redo it") as warned:
        with pytest.raises(RunNotCachedError) as err:
            store.get(SPEC)
    warning = str(warned[0].message)
    assert "will be redone" not in warning and "corrupt" in warning and str(path) in warning
    assert str(path) in str(err.value) and "corrupt" in str(err.value) and "not in" not in str(err.value)


def test_a_claim_skipped_for_a_corrupt_cached_entry_says_so(tmp_path):
    from harness.claim.claim import Claim, ClaimContext
    from harness.reference.entries import ClaimEntry, TierPlan

    entry = ClaimEntry(id="999/x", report="999_test", statement="s", location="l", kind="metric", reported=0.5,
                       tiers={"full": TierPlan(tolerance={"abs": 0.1, "why": "w"})}, recipe={}, expect="reproduced",
                       why=None, source_file="999_test.yaml")
    claim = Claim(entry=entry, tier="full", context=ClaimContext(store=RunStore(tmp_path, mode="cached-only")))
    path = store_with(tmp_path, BAD_RESULTS["a list"], spec=claim.spec(SPEC).replace(seed=0))
    with pytest.warns(CorruptRunWarning) as warned, pytest.raises(pytest.skip.Exception) as skipped:
        claim.runs(SPEC)
    for said in (claim.finding.skip_reason, str(skipped.value), str(warned[0].message)):
        assert "corrupt" in said and str(path) in said and "not in" not in said and "will be redone" not in said


def test_result_files_lists_finished_runs_only(tmp_path):
    from harness.runs.store import RESULT_FILE, result_files

    for key in ("b" * 16, "a" * 16):
        (tmp_path / key).mkdir()
        (tmp_path / key / RESULT_FILE).write_text("{}")
    (tmp_path / ("c" * 16)).mkdir()  # still training: no result yet
    (tmp_path / "trainings.log").write_text("")
    assert result_files(tmp_path) == [tmp_path / ("a" * 16) / RESULT_FILE, tmp_path / ("b" * 16) / RESULT_FILE]


def test_a_get_waiting_on_another_process_calls_while_waiting_until_the_run_is_there(tmp_path, monkeypatch):
    """RunStore.get tries the run's lock in short spells and does other work in between; then loads the result."""
    from filelock import FileLock

    from harness.runs import store as store_module

    monkeypatch.setattr(store_module, "WAIT_POLL_S", 0.02)
    other = FileLock(str(tmp_path / f"{SPEC.key}.lock"))  # another process is training SPEC
    other.acquire()
    waited = []

    def meanwhile(awaited):
        waited.append(awaited.key)
        if len(waited) == 3:  # the other process stores its result and lets go
            RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec, 0.9))._train_and_store(SPEC)
            other.release()

    store = RunStore(tmp_path, trainer=lambda *a, **k: pytest.fail("trained a run another process trained"))
    assert store.get(SPEC, while_waiting=meanwhile).best_test_acc == 0.9
    assert waited == [SPEC.key] * 3


def test_the_stores_own_while_waiting_is_used_and_a_free_lock_never_calls_it(tmp_path):
    store = RunStore(tmp_path, trainer=lambda spec, **k: fake_result(spec))
    store.while_waiting = lambda spec: pytest.fail("called while waiting on a free lock")
    store.get(SPEC)
    assert store.get(SPEC).key == SPEC.key
