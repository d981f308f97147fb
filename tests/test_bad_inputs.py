"""Bad inputs and faults: each is a clear error naming the thing and the fix, or a documented graceful path.

The slow half starts scratch sessions (tests/test_collection.py); benchmarks/probe_bad_inputs.py probes the
same ground more widely and prints a table.
"""
import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from harness.findings import SESSIONS_DIR, merge_sessions, read_findings, session_file, write_findings
from harness.plan.cost import PLAN_FORMAT, load_plan
from harness.plan.rehearsal_files import REHEARSAL_FORMAT, load_rehearsal
from harness.runs import store as store_module
from harness.runs.spec import RESULT_FORMAT_VERSION, Spec
from harness.runs.store import CorruptRunWarning, ReadOnlyStoreError, RunStore
from harness.train import data
from tests.test_collection import CRASH_ENTRY, CRASHING, ROOT, findings_of, scratch

SPEC = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, batch_size=32)


# -- two sessions, one id, one second: two session files --------------------------------------------

def finding(cid, session):
    return {"claim_id": cid, "report": "000", "kind": "params", "tier": "fast", "statement": cid, "location": "T1",
            "expect": "reproduced", "why": None, "verdict": "reproduced", "outcome": "reproduced", "session": session,
            "rows": [{"x": 1}]}


def test_two_sessions_with_one_id_started_in_the_same_second_keep_both_files(tmp_path):
    info = {"id": "fixed", "started": 1_700_000_000.2, "finished": "2026-01-01T00:00:00"}
    same_second = dict(info, started=1_700_000_000.7)
    first = write_findings(session_file(tmp_path, info), [finding("000/a", "fixed")], info)
    second = write_findings(session_file(tmp_path, same_second), [finding("000/b", "fixed")], same_second)
    assert first != second and first.exists() and second.exists()
    merged, _ = read_findings([merge_sessions(tmp_path)[0]])
    assert [f.claim_id for f in merged] == ["000/a", "000/b"]


def test_a_session_file_still_being_written_is_skipped_by_the_merge_not_reported_unreadable(tmp_path):
    reserved = session_file(tmp_path, {"id": "running", "started": 5})
    assert reserved.exists() and reserved.stat().st_size == 0
    write_findings(session_file(tmp_path, {"id": "done", "started": 6}), [finding("000/a", "done")], {"id": "done"})
    path, left_out = merge_sessions(tmp_path)
    assert not left_out and [f.claim_id for f in read_findings([path])[0]] == ["000/a"]


@pytest.mark.parametrize("content", [b"\xff\xfe garbage", b"{\"version\": 2, \"findings\": []", b"[]",
                                     b'{"version": 2, "session": 5, "findings": []}',
                                     b'{"version": 2, "session": {}, "sessions": "x", "findings": []}',
                                     b'{"version": 2, "findings": [{"claim_id": 5}]}'])
def test_a_damaged_session_file_is_left_out_of_the_merge_naming_it(tmp_path, content):
    bad = tmp_path / SESSIONS_DIR / "20000101T000000-bad.json"
    bad.parent.mkdir()
    bad.write_bytes(content)
    write_findings(session_file(tmp_path, {"id": "ok", "started": 6}), [finding("000/a", "ok")], {"id": "ok"})
    path, left_out = merge_sessions(tmp_path)
    assert len(left_out) == 1 and str(bad) in left_out[0], left_out
    assert [f.claim_id for f in read_findings([path])[0]] == ["000/a"]


def test_a_report_directory_that_is_a_file_is_a_storage_error_naming_the_option(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match="--report-dir"):
        session_file(tmp_path / "file", {"id": "x", "started": 1})


def test_a_sessions_entry_that_is_a_file_is_a_storage_error_naming_the_option(tmp_path):
    (tmp_path / SESSIONS_DIR).write_text("")
    with pytest.raises(OSError, match="--report-dir") as err:
        session_file(tmp_path, {"id": "x", "started": 1})
    assert str(tmp_path / SESSIONS_DIR) in str(err.value)


# -- a read-only run store ----------------------------------------------------------------------

class DeniedLock:
    def __init__(self, path, *args, **kwargs):
        self.path = path

    def acquire(self, *args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", self.path)


def test_a_read_only_store_missing_a_run_names_the_store_and_both_fixes(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "FileLock", DeniedLock)
    store = RunStore(tmp_path, mode="train", trainer=lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ReadOnlyStoreError) as err:
        store.get(SPEC)
    message = str(err.value)
    assert str(tmp_path) in message and "read-only" in message and SPEC.key in message
    assert "--run-mode cached-only" in message and "--runs" in message


# -- stored results ------------------------------------------------------------------------------

def stored(tmp_path, text):
    entry = tmp_path / SPEC.key
    entry.mkdir(parents=True, exist_ok=True)
    (entry / "result.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    return RunStore(tmp_path, mode="cached-only")


@pytest.mark.parametrize("text", [b"", b"\x00\xff\x80garbage", b'{"key": "x"', b"[1, 2]", b"NaN"])
def test_a_damaged_result_is_a_corrupt_entry_not_a_traceback(tmp_path, text):
    with pytest.warns(CorruptRunWarning, match="result.json"):
        assert stored(tmp_path, text).load(SPEC) is None


def result_of(**changes):
    values = dict(key=SPEC.key, spec=SPEC.to_dict(), status="completed", curves={}, final_test_acc=0.5,
                  best_test_acc=0.5, final_train_acc=0.5, param_count=10, wall_time=1.0, environment={},
                  format=RESULT_FORMAT_VERSION)
    values.update(changes)
    return json.dumps(values)


def test_a_good_result_loads(tmp_path):
    assert stored(tmp_path, result_of()).load(SPEC).final_test_acc == 0.5


@pytest.mark.parametrize("changes", [{"final_test_acc": float("nan")}, {"best_test_acc": float("inf")},
                                     {"param_count": -3}, {"wall_time": -1.0}, {"best_test_acc": 1.5},
                                     {"spec": dict(SPEC.to_dict(), lr=float("nan"))}])
def test_a_result_with_impossible_numbers_is_corrupt(tmp_path, changes):
    with pytest.warns(CorruptRunWarning):
        assert stored(tmp_path, result_of(**changes)).load(SPEC) is None


def test_a_result_json_that_is_a_folder_is_a_clear_error(tmp_path):
    (tmp_path / SPEC.key / "result.json").mkdir(parents=True)
    with pytest.raises(OSError, match="cannot be read"):
        RunStore(tmp_path, mode="cached-only").load(SPEC)


@pytest.mark.parametrize("changes", [{"lr": float("nan")}, {"lr": float("inf")}, {"lr": -0.1},
                                     {"optimizer_args": {"momentum": float("nan")}}])
def test_a_spec_with_a_non_finite_or_negative_learning_rate_is_refused(changes):
    with pytest.raises(ValueError, match="finite"):
        SPEC.replace(**changes)


# -- plan and rehearsal files --------------------------------------------------------------------

@pytest.mark.parametrize("load,kind,option", [(load_plan, "plan", "--plan"), (load_rehearsal, "rehearsal", "--rehearse")])
@pytest.mark.parametrize("make", ["missing", "folder", "garbage", "empty", "list", "no-runs"])
def test_a_bad_plan_or_rehearsal_file_names_the_file_and_the_option_that_writes_it(tmp_path, load, kind, option, make):
    path = tmp_path / f"{kind}.json"
    if make == "folder":
        path.mkdir()
    elif make == "garbage":
        path.write_bytes(b"\xff\x00\x81")
    elif make == "empty":
        path.write_text("")
    elif make == "list":
        path.write_text("[]")
    elif make == "no-runs":
        path.write_text(json.dumps({"format": PLAN_FORMAT if kind == "plan" else REHEARSAL_FORMAT}))
    with pytest.raises(ValueError) as err:
        load(path)
    assert str(path) in str(err.value) and option in str(err.value), err.value


# -- dataset files -------------------------------------------------------------------------------

def damaged_cifar(tmp_path, content):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in data.REQUIRED_FILES["cifar10"]:
        (tmp_path / name).write_bytes(b"")
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    (folder / "test_batch").write_bytes(content)
    return tmp_path


BAD_BATCHES = {
    "empty": b"",
    "garbage": b"\x00\x01garbage bytes",
    "truncated": pickle.dumps({"data": list(range(10)), "labels": [0] * 10})[:-7],
    "wrong-shape": pickle.dumps({"data": np.zeros((3, 5), "uint8"), "labels": [0, 1, 2]}),
    "not-a-dict": pickle.dumps([1, 2, 3]),
}


@pytest.mark.parametrize("name", sorted(BAD_BATCHES))
def test_a_damaged_cifar_batch_is_an_error_naming_the_data_root(tmp_path, name):
    root = damaged_cifar(tmp_path / "data", BAD_BATCHES[name])
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_arrays("cifar10", root, download=False)
    assert str(root) in str(err.value) and "--data-root" in str(err.value), err.value


def damaged_mnist(tmp_path, images):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.REQUIRED_FILES["mnist"]:
        (tmp_path / name).write_bytes(images)
    return tmp_path


@pytest.mark.parametrize("content", [b"", b"garbage!", (2051).to_bytes(4, "big") + (60000).to_bytes(4, "big")
                                     + (28).to_bytes(4, "big") * 2 + b"\x00" * 100])
def test_a_damaged_mnist_idx_file_is_an_error_naming_the_data_root(tmp_path, content):
    root = damaged_mnist(tmp_path / "data", content)
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_arrays("mnist", root, download=False)
    assert str(root) in str(err.value) and "--data-root" in str(err.value), err.value


def idx(array):
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + \
        array.astype("uint8").tobytes()


def mnist_with_test_labels(tmp_path, labels):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 20), ("t10k", 10)):
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx(np.zeros((n, 28, 28))))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(np.arange(n) % 10))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx(labels))
    data._load_arrays_cached.cache_clear()
    return tmp_path


def test_well_formed_mnist_idx_files_load(tmp_path):
    root = mnist_with_test_labels(tmp_path, np.arange(10))
    assert len(data.load_arrays("mnist", root, download=False)["test"]) == 10


@pytest.mark.parametrize("labels,words", [(np.arange(10) + 5, "outside the 10 classes"),
                                          (np.arange(7), "labels (7,)")])
def test_mnist_labels_out_of_range_or_miscounted_are_an_error_not_a_crash_mid_training(tmp_path, labels, words):
    root = mnist_with_test_labels(tmp_path, labels)
    with pytest.raises(data.DatasetMissingError) as err:
        data.load_arrays("mnist", root, download=False)
    assert words in str(err.value) and str(root) in str(err.value) and "--data-root" in str(err.value)


def test_a_data_root_that_is_a_file_is_an_error_naming_the_option(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="--data-root|REPRO_DATA"):
        data.load_arrays("mnist", tmp_path / "file", download=False)


# -- SIGTERM ends a session like Ctrl-C: the findings so far are written --------------------------

SLEEPER = 'import pathlib, time\n    pathlib.Path("started").write_text("")\n    time.sleep(60)'


def start_session(project, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPRO_REFERENCE=str(project / "reference"),
               REPRO_RUNS=str(project / "runs"), PYTHONDONTWRITEBYTECODE="1", REPRO_SESSION="term")
    return subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "claims", "-m", "fast",
                             "--no-report", "--report-dir", "out", *args], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_sigterm_writes_the_session_file_and_closes_the_unfinished_claim_as_terminated(tmp_path, workers):
    project = scratch(tmp_path, entry=CRASH_ENTRY, test=CRASHING.format(body=SLEEPER))
    session = start_session(project, *workers)
    deadline = time.monotonic() + 120
    while not (project / "started").exists():
        assert session.poll() is None and time.monotonic() < deadline, session.communicate()[0]
        time.sleep(0.1)
    time.sleep(0.5)  # the other claim finishes; the sleeping one is mid-test
    session.send_signal(signal.SIGTERM)
    out = session.communicate(timeout=120)[0]
    assert session.returncode == pytest.ExitCode.INTERRUPTED, out
    assert len(list((project / "out" / SESSIONS_DIR).glob("*-term.json"))) == 1, out
    crash = findings_of(project)[("999/crash", "fast")]
    assert crash["verdict"] == "error" and "terminated" in crash["error"], crash
    assert json.loads((project / "out" / "findings.json").read_text())["session"]["interruption"] == \
        "terminated (SIGTERM)"
