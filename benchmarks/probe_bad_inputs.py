"""Probe every option, REPRO_* variable and file the suite reads with bad values; print what each does.

    python benchmarks/probe_bad_inputs.py [--no-cli]

A case holds when the behaviour is a clear error naming the thing and the fix, or a documented graceful path
(a corrupt result is redone with a warning, a damaged session file is left out of the merge naming it);
it is open when it is a raw traceback, a silent acceptance of a wrong value, or lost findings. Cases fixed
by this round's changes are marked `fixed` (they held after the fix; before it they were open). The options
are tried from the command line, in a scratch project, as a user would (--no-cli skips them: 1-5 min).
Unreadable files (chmod 000) are not probed when run as root, which ignores permissions.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.findings import SESSIONS_DIR, merge_sessions, read_findings, session_file, write_findings  # noqa: E402
from harness.plan.cost import load_plan, makespan  # noqa: E402
from harness.plan.rehearsal_files import load_rehearsal  # noqa: E402
from harness.reference.entries import load_report  # noqa: E402
from harness.runs.spec import RESULT_FORMAT_VERSION, Spec  # noqa: E402
from harness.runs.store import RunStore  # noqa: E402
from harness.train import data  # noqa: E402

# Cases this round's fixes turned from open to held.
FIXED = {"tol-nan", "tol-inf", "budget-lr-nan", "budget-lr-neg", "budget-args-nan", "reported-nan", "reported-inf",
         "ref-not-utf8", "ref-folder", "result-nan-acc", "result-inf-acc", "result-neg-params", "result-acc-1.5",
         "result-bad-base64", "result-spec-lr-nan", "session-same-second", "session-header-list",
         "session-claim-int", "session-garbage", "sessions-dir-file", "plan-missing", "plan-folder",
         "rehearsal-missing", "rehearsal-folder", "rehearsal-no-runs", "plan-no-runs", "mnist-labels-range",
         "mnist-count-mismatch", "store-read-only", "sigterm"}
SPEC = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=2, batch_size=64, train_subset=200,
            test_subset=100)
ROWS: list[tuple[str, str, str, str]] = []


def record(case: str, given: str, ok: bool, behaviour: str) -> None:
    state = ("fixed" if case in FIXED else "held") if ok else "OPEN"
    ROWS.append((case, given, " ".join(behaviour.split())[:150], state))


def expect_error(case: str, given: str, action: Callable[[], object], *needles: str,
                 kinds: tuple[type, ...] = (ValueError, OSError)) -> None:
    """Held: `action` raises one of `kinds` whose message holds every needle."""
    try:
        with warnings.catch_warnings(record=True):
            action()
    except kinds as exc:
        text = str(exc)
        record(case, given, all(n in text for n in needles), f"{type(exc).__name__}: {text}")
    except Exception as exc:  # a raw error of another kind
        record(case, given, False, f"raw {type(exc).__name__}: {exc}")
    else:
        record(case, given, False, "accepted silently")


def expect_warning(case: str, given: str, action: Callable[[], object], needle: str) -> None:
    """Held: `action` warns (naming `needle`) and goes on (a corrupt entry redone, a checkpoint restarted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            action()
        except Exception as exc:
            record(case, given, False, f"raw {type(exc).__name__}: {exc}")
            return
    hits = [str(w.message) for w in caught if needle in str(w.message)]
    record(case, given, bool(hits), f"warns: {hits[0]}" if hits else "no warning: accepted silently")


# -- reference YAML ---------------------------------------------------------------------------------

SIZE = """
report: 999_test
title: T
claims:
  - id: 999/size
    statement: "n params."
    location: Table 1
    kind: params
    reported: 2799146
    tiers:
      fast: {budget: {epochs: 2, model_args: {width: 0.5}}, tolerance: {abs: 0, why: exact}}
"""


def reference_cases(tmp: Path) -> None:
    def load(text: str | bytes, folder: bool = False) -> Callable[[], object]:
        def run():
            d = Path(tempfile.mkdtemp(dir=tmp))
            path = d / "999_test.yaml"
            if folder:
                path.mkdir()
            elif isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
            return load_report(path)
        return run

    def swap(old: str, new: str) -> str:
        assert old in SIZE
        return SIZE.replace(old, new)

    for case, old, new, field in [
        ("tol-nan", "abs: 0,", "abs: .nan,", "tolerance.abs"), ("tol-inf", "abs: 0,", "abs: .inf,", "tolerance.abs"),
        ("tol-negative", "abs: 0,", "abs: -1,", "tolerance.abs"), ("tol-text", "abs: 0,", "abs: small,", "tolerance.abs"),
        ("budget-lr-nan", "epochs: 2,", "lr: .nan,", "budget.lr"), ("budget-lr-neg", "epochs: 2,", "lr: -0.1,", "budget.lr"),
        ("budget-args-nan", "width: 0.5", "width: .nan", "budget.model_args"),
        ("budget-epochs-0", "epochs: 2,", "epochs: 0,", "budget.epochs"),
        ("budget-epochs-huge-float", "epochs: 2,", "epochs: 1e9,", "budget.epochs"),
        ("reported-nan", "reported: 2799146", "reported: .nan", "reported"),
        ("reported-inf", "reported: 2799146", "reported: {a: .inf}", "reported"),
        ("seeds-negative", "fast: {budget", "fast: {seeds: -2, budget", "seeds"),
    ]:
        expect_error(case, f"{old.strip()} -> {new.strip()}", load(swap(old, new)), "999_test.yaml", field)
    expect_error("ref-empty", "empty file", load(""), "999_test.yaml")
    expect_error("ref-not-utf8", "garbage bytes", load(b"\xff\xfe\x00\x81"), "999_test.yaml")
    expect_error("ref-bad-yaml", "'claims: [' (unclosed)", load("report: 999_test\nclaims: [\n"), "999_test.yaml")
    expect_error("ref-folder", "999_test.yaml is a folder", load("", folder=True), "999_test.yaml")


# -- run store: result.json, spec.json, checkpoint.pt -----------------------------------------------------

def result_text(**changes) -> str:
    values = dict(key=SPEC.key, spec=SPEC.to_dict(), status="completed", curves={}, final_test_acc=0.5,
                  best_test_acc=0.5, final_train_acc=0.5, param_count=10, wall_time=1.0, environment={},
                  format=RESULT_FORMAT_VERSION)
    values.update(changes)
    return json.dumps(values)


def store_cases(tmp: Path) -> None:
    def load(content: str | bytes | None, folder: bool = False) -> Callable[[], object]:
        def run():
            root = Path(tempfile.mkdtemp(dir=tmp))
            entry = root / SPEC.key
            entry.mkdir()
            if folder:
                (entry / "result.json").mkdir()
            else:
                (entry / "result.json").write_bytes(content if isinstance(content, bytes) else content.encode())
            return RunStore(root, mode="cached-only").load(SPEC)
        return run

    for case, content in [("result-empty", b""), ("result-garbage", b"\x00\xff garbage"),
                          ("result-truncated", result_text()[:-20]), ("result-list", "[1, 2]"),
                          ("result-old-format", result_text(format=1)),
                          ("result-other-key", result_text(key="0" * 16)),
                          ("result-nan-acc", result_text(final_test_acc=float("nan"))),
                          ("result-inf-acc", result_text(best_test_acc=float("inf"))),
                          ("result-neg-params", result_text(param_count=-5)),
                          ("result-acc-1.5", result_text(best_test_acc=1.5)),
                          ("result-bad-base64", result_text(test_correct={"best": "%%%not base64"})),
                          ("result-spec-lr-nan", result_text(spec=dict(SPEC.to_dict(), lr=float("nan")))),
                          ("result-wrong-type", result_text(param_count="ten"))]:
        expect_warning(case, repr(content[:40]), load(content), "result.json")
    expect_error("result-folder", "result.json is a folder", load(None, folder=True), "result.json", "--runs")

    def trained_over(spec_json: bytes | None, folder: bool = False) -> Callable[[], object]:
        def run():
            root = Path(tempfile.mkdtemp(dir=tmp))
            (root / SPEC.key).mkdir()
            if folder:
                (root / SPEC.key / "spec.json").mkdir()
            else:
                (root / SPEC.key / "spec.json").write_bytes(spec_json)
            store = RunStore(root, mode="train", trainer=_fake_trainer)
            store.get(SPEC)
            stored = json.loads((root / SPEC.key / "spec.json").read_text())
            if stored != SPEC.to_dict():
                raise AssertionError("spec.json not rewritten")
            warnings.warn("spec.json rewritten with the run (graceful)")
        return run

    expect_warning("spec-garbage", "spec.json garbage, no result", trained_over(b"\xff garbage"), "rewritten")
    expect_error("spec-folder", "spec.json is a folder", trained_over(None, folder=True), "spec.json", "--runs")

    def read_only() -> object:
        from harness.runs import store as module

        class Denied:
            def __init__(self, path, *a, **k):
                self.path = path

            def acquire(self, *a, **k):
                raise PermissionError(30, "Read-only file system", self.path)

        real, module.FileLock = module.FileLock, Denied
        try:
            return RunStore(Path(tempfile.mkdtemp(dir=tmp)), mode="train", trainer=_fake_trainer).get(SPEC)
        finally:
            module.FileLock = real
    expect_error("store-read-only", "store read-only (EROFS on the .lock), run missing", read_only, "read-only",
                 "--run-mode cached-only", "--runs")

    def checkpoint(content: bytes | None, folder: bool = False) -> Callable[[], object]:
        def run():
            from harness.train.loop import train

            path = Path(tempfile.mkdtemp(dir=tmp)) / "checkpoint.pt"
            if folder:
                path.mkdir()
            else:
                path.write_bytes(content)
            return train(SPEC, device="cpu", progress=False, checkpoint_path=path)
        return run

    expect_warning("checkpoint-garbage", "checkpoint.pt garbage", checkpoint(b"\x00garbage"), "checkpoint")
    expect_warning("checkpoint-empty", "checkpoint.pt empty", checkpoint(b""), "checkpoint")
    expect_warning("checkpoint-pickle-list", "checkpoint.pt a pickled list", checkpoint(pickle.dumps([1])),
                   "checkpoint")
    expect_error("checkpoint-folder", "checkpoint.pt is a folder", checkpoint(None, folder=True), "checkpoint",
                 kinds=(OSError,))


def _fake_trainer(spec, checkpoint_path=None, **kwargs):
    from harness.runs.result import RunResult

    return RunResult.from_dict(json.loads(result_text()))


# -- findings and session files -----------------------------------------------------------------------

def finding(cid: str, **extra) -> dict:
    return {"claim_id": cid, "report": "000", "kind": "params", "tier": "fast", "statement": cid, "location": "T",
            "expect": "reproduced", "why": None, "verdict": "reproduced", "outcome": "reproduced",
            "rows": [{"x": 1}], **extra}


def findings_cases(tmp: Path) -> None:
    def merge_with(bad: bytes) -> Callable[[], object]:
        def run():
            out = Path(tempfile.mkdtemp(dir=tmp))
            path = out / SESSIONS_DIR / "20000101T000000-bad.json"
            path.parent.mkdir()
            path.write_bytes(bad)
            write_findings(session_file(out, {"id": "ok", "started": 9}), [finding("000/a")], {"id": "ok"})
            merged, left_out = merge_sessions(out)
            kept = [f.claim_id for f in read_findings([merged])[0]]
            if kept != ["000/a"] or len(left_out) != 1 or str(path) not in left_out[0]:
                raise AssertionError(f"kept {kept}, left out {left_out}")
            raise ValueError(f"left out naming it: {left_out[0]}")
        return run

    for case, bad in [("session-garbage", b"\xff\xfe garbage"), ("session-truncated", b'{"version": 2, "find'),
                      ("session-old-version", b'{"version": 1, "findings": []}'),
                      ("session-header-list", b'{"version": 2, "session": {}, "sessions": "x", "findings": []}'),
                      ("session-claim-int", json.dumps({"version": 2, "findings": [finding(5)]}).encode()),
                      ("session-unknown-field", json.dumps({"version": 2, "findings": [finding("0/b", x=1)]}).encode())]:
        expect_error(case, repr(bad[:40]), merge_with(bad), "left out naming it", "bad.json")

    def same_second() -> object:
        out = Path(tempfile.mkdtemp(dir=tmp))
        for cid, started in (("000/a", 100.1), ("000/b", 100.9)):
            info = {"id": "fixed", "started": started}
            write_findings(session_file(out, info), [finding(cid)], info)
        kept = [f.claim_id for f in read_findings([merge_sessions(out)[0]])[0]]
        if kept != ["000/a", "000/b"]:
            raise AssertionError(f"lost findings: kept {kept}")
        raise ValueError("both kept: " + ", ".join(p.name for p in sorted((out / SESSIONS_DIR).iterdir())))
    expect_error("session-same-second", "REPRO_SESSION=fixed twice in one second", same_second, "both kept")

    def sessions_is_file() -> object:
        out = Path(tempfile.mkdtemp(dir=tmp))
        (out / SESSIONS_DIR).write_text("")
        return session_file(out, {"id": "x", "started": 1})
    expect_error("sessions-dir-file", "report-dir/sessions is a file", sessions_is_file, "--report-dir")

    def findings_json_folder() -> object:
        out = Path(tempfile.mkdtemp(dir=tmp))
        (out / "findings.json").mkdir()
        write_findings(session_file(out, {"id": "x", "started": 1}), [finding("000/a")], {"id": "x"})
        return merge_sessions(out)
    expect_error("findings-json-folder", "report-dir/findings.json is a folder", findings_json_folder,
                 "findings.json", "--report-dir")

    def build_report_garbage() -> object:
        path = Path(tempfile.mkdtemp(dir=tmp)) / "findings.json"
        path.write_bytes(b"\xff garbage")
        done = subprocess.run([sys.executable, "-m", "reports.build", str(path), "--out", str(path.parent / "o")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        text = done.stdout + done.stderr
        if done.returncode == 0 or "Traceback" in text:
            raise RuntimeError(f"rc {done.returncode}: {text[-300:]}")
        raise ValueError(text.strip().splitlines()[-1])
    expect_error("build-report-garbage", "build-report on garbage findings.json", build_report_garbage,
                 "findings.json")


# -- plan.json and rehearsal.json ------------------------------------------------------------------------

def plan_cases(tmp: Path) -> None:
    from harness.plan.cost import PLAN_FORMAT
    from harness.plan.rehearsal_files import REHEARSAL_FORMAT

    for kind, load, option, fmt in (("plan", load_plan, "--plan", PLAN_FORMAT),
                                    ("rehearsal", load_rehearsal, "--rehearse", REHEARSAL_FORMAT)):
        for how in ("missing", "folder", "garbage", "empty", "list", "old-format", "no-runs"):
            path = Path(tempfile.mkdtemp(dir=tmp)) / f"{kind}.json"
            if how == "folder":
                path.mkdir()
            elif how != "missing":
                path.write_bytes({"garbage": b"\xff\x00", "empty": b"", "list": b"[]",
                                  "old-format": json.dumps({"format": fmt - 1 or 99}).encode(),
                                  "no-runs": json.dumps({"format": fmt}).encode()}[how])
            expect_error(f"{kind}-{how}", f"{kind}.json {how}", lambda p=path, f=load: f(p), str(path), option)
    import tracemalloc

    tracemalloc.start()
    hours = makespan([1.0, 2.0], 10**7)  # --plan-workers 10000000 (10**9 would take 8 GB here)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    record("plan-workers-huge", "--plan-workers 10000000 (makespan of 2 runs)", peak < 10**7,
           f"makespan {hours} after allocating {peak / 1e6:.0f} MB, one float per worker: --plan-workers 10**9 "
           f"takes 8 GB and is accepted (settings.py has no upper bound; cost.makespan sizes by workers)")


# -- dataset files -----------------------------------------------------------------------------------------

def idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + \
        array.astype("uint8").tobytes()


def data_cases(tmp: Path) -> None:
    def mnist(change: dict[str, bytes]) -> Callable[[], object]:
        def run():
            root = Path(tempfile.mkdtemp(dir=tmp))
            raw = root / "MNIST" / "raw"
            raw.mkdir(parents=True)
            for prefix, n in (("train", 20), ("t10k", 10)):
                (raw / f"{prefix}-images-idx3-ubyte").write_bytes(idx(np.zeros((n, 28, 28))))
                (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(np.arange(n) % 10))
            for name, content in change.items():
                if content is None:
                    (raw / name).unlink()
                    (raw / name).mkdir()
                else:
                    (raw / name).write_bytes(content)
            data._load_arrays_cached.cache_clear()
            return data.load_arrays("mnist", root, download=False)
        return run

    labels = "t10k-labels-idx1-ubyte"
    images = "t10k-images-idx3-ubyte"
    for case, change in [("mnist-empty", {images: b""}), ("mnist-garbage", {images: b"garbage!"}),
                         ("mnist-truncated", {images: idx(np.zeros((10, 28, 28)))[:500]}),
                         ("mnist-labels-range", {labels: idx(np.arange(10) + 5)}),
                         ("mnist-count-mismatch", {labels: idx(np.arange(7) % 10)}),
                         ("mnist-folder", {images: None})]:
        expect_error(case, f"MNIST/raw/{next(iter(change))}: {case[6:]}", mnist(change), "--data-root",
                     kinds=(data.DatasetMissingError,))

    def cifar(content: bytes | None, remove: bool = False) -> Callable[[], object]:
        def run():
            root = Path(tempfile.mkdtemp(dir=tmp))
            folder = root / "cifar-10-batches-py"
            folder.mkdir()
            for name in data.REQUIRED_FILES["cifar10"]:
                (root / name).write_bytes(pickle.dumps({"data": np.zeros((10, 3072), "uint8"), "labels": [0] * 10}))
            if remove:
                (folder / "data_batch_3").unlink()
            else:
                (folder / "test_batch").write_bytes(content)
            data._load_arrays_cached.cache_clear()
            return data.load_arrays("cifar10", root, download=False)
        return run

    for case, content in [("cifar-empty", b""), ("cifar-garbage", b"\x00garbage"),
                          ("cifar-truncated", pickle.dumps({"data": [1] * 50, "labels": [0]})[:-9]),
                          ("cifar-not-a-dict", pickle.dumps([1, 2]))]:
        expect_error(case, f"cifar-10-batches-py/test_batch: {case[6:]}", cifar(content), "--data-root",
                     kinds=(data.DatasetMissingError,))
    expect_error("cifar-missing-batch", "data_batch_3 missing, downloads off", cifar(None, remove=True),
                 "data_batch_3", "--data-root", kinds=(data.DatasetMissingError,))


# -- options and variables, from the command line -----------------------------------------------------------

ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - id: 999/size
    statement: "n."
    location: Table 1
    kind: params
    reported: 11.17
    tiers:
      fast: {tolerance: {abs: 0.005, why: rounding}}
"""
TEST = '''
import pytest

@pytest.mark.claim("999/size")
def test_size(claim):
    claim.check_within("params (M)", 11.17, claim.reported)
'''


def option_cases(tmp: Path) -> None:
    project = tmp / "project"
    (project / "reference").mkdir(parents=True)
    (project / "reference" / "999_scratch.yaml").write_text(textwrap.dedent(ENTRY))
    (project / "claims").mkdir()
    (project / "claims" / "test_999.py").write_text(textwrap.dedent(TEST))
    (project / "a_file").write_text("")

    def session(case: str, args: list[str], env: dict[str, str], needle: str, usage: bool = True) -> None:
        environ = {**os.environ, "PYTHONPATH": str(ROOT), "REPRO_REFERENCE": str(project / "reference"),
                   "REPRO_RUNS": str(project / "runs"), **env}
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "claims", "-m", "fast",
                               "-q", "--no-report", "--report-dir", str(tmp / "out"), *args], cwd=project,
                              env=environ, capture_output=True, text=True, timeout=300)
        text = done.stdout + done.stderr
        given = " ".join([*(f"{k}={v}" for k, v in env.items()), *args])
        error = [line for line in text.splitlines() if needle in line]
        if usage:
            ok = done.returncode == 4 and bool(error) and "Traceback" not in text
            record(case, given, ok, f"rc {done.returncode}: {(error or text.strip().splitlines() or [''])[-1]}")
        else:  # accepted on purpose: documented behaviour
            record(case, given, done.returncode == 0, f"rc {done.returncode}: accepted ({needle})")

    collect = ["--collect-only"]
    file = str(project / "a_file")
    for case, args, env, needle in [
        ("opt-checkpoint-every-0", ["--checkpoint-every", "0", *collect], {}, "--checkpoint-every"),
        ("opt-checkpoint-every-text", ["--checkpoint-every", "two", *collect], {}, "--checkpoint-every"),
        ("opt-checkpoint-minutes-nan", ["--checkpoint-minutes", "nan", *collect], {}, "--checkpoint-minutes"),
        ("opt-checkpoint-minutes-neg", ["--checkpoint-minutes", "-1", *collect], {}, "--checkpoint-minutes"),
        ("opt-device-tpu", ["--device", "tpu", *collect], {}, "--device"),
        ("opt-device-cuda-missing", ["--device", "cuda:7", *collect], {}, "--device"),
        ("opt-run-mode", ["--run-mode", "cache", *collect], {}, "--run-mode"),
        ("opt-base-seed-neg", ["--base-seed", "-1", *collect], {}, "--base-seed"),
        ("opt-base-seed-2**64", ["--base-seed", "18446744073709551615", *collect], {}, "--base-seed"),
        ("opt-plan-workers-0", ["--plan", "--plan-dir", str(tmp / "p0"), "--plan-workers", "0"], {}, "--plan-workers"),
        ("opt-plan-workers-neg", ["--plan", "--plan-dir", str(tmp / "p1"), "--plan-workers", "-2"], {}, "--plan-workers"),
        ("opt-plan-device", ["--plan", "--plan-dir", str(tmp / "p2"), "--plan-device", "bogus"], {}, "--plan-device"),
        ("opt-plan-dir-file", ["--plan", "--plan-dir", file], {}, "--plan-dir"),
        ("opt-rehearse-images-0", ["--rehearse", "--rehearse-dir", str(tmp / "r"), "--rehearse-images", "0"], {},
         "--rehearse-images"),
        ("opt-rehearse-dir-file", ["--rehearse", "--rehearse-dir", file], {}, "--rehearse-dir"),
        ("opt-runs-file", ["--runs", file, *collect], {}, "--runs"),
        ("opt-report-dir-file", ["--report-dir", file, *collect], {}, "--report-dir"),
        ("opt-data-root-file", ["--data-root", file, *collect], {}, "--data-root"),
        ("opt-plan-and-rehearse", ["--plan", "--rehearse", "--plan-dir", str(tmp / "p3")], {}, "two modes"),
        ("env-cpu-kernels", collect, {"REPRO_CPU_KERNELS": "bogus"}, "REPRO_CPU_KERNELS"),
        ("env-download", collect, {"REPRO_DOWNLOAD": "maybe"}, "REPRO_DOWNLOAD"),
        ("env-progress", collect, {"REPRO_PROGRESS": "2"}, "REPRO_PROGRESS"),
        ("env-compile", collect, {"REPRO_COMPILE": "perhaps"}, "REPRO_COMPILE"),
        ("env-run-queue", collect, {"REPRO_RUN_QUEUE": "sometimes"}, "REPRO_RUN_QUEUE"),
        ("env-session-blank", collect, {"REPRO_SESSION": "   "}, "REPRO_SESSION"),
        ("env-reference-file", collect, {"REPRO_REFERENCE": file}, "REPRO_REFERENCE"),
        ("env-device", collect, {"REPRO_DEVICE": "cuda:x"}, "REPRO_DEVICE"),
        ("env-checkpoint-every", collect, {"REPRO_CHECKPOINT_EVERY": "1e3"}, "REPRO_CHECKPOINT_EVERY"),
        ("env-plan-workers", ["--plan", "--plan-dir", str(tmp / "p4")], {"REPRO_PLAN_WORKERS": "0"},
         "REPRO_PLAN_WORKERS"),
        ("env-rehearse-images", ["--rehearse", "--rehearse-dir", str(tmp / "r2")], {"REPRO_REHEARSE_IMAGES": "-3"},
         "REPRO_REHEARSE_IMAGES"),
        ("env-base-seed", collect, {"REPRO_BASE_SEED": "nan"}, "REPRO_BASE_SEED"),
        ("env-data-file", collect, {"REPRO_DATA": file}, "REPRO_DATA"),
    ]:
        session(case, args, env, needle)
    for case, env, why in [("env-run-queue-1", {"REPRO_RUN_QUEUE": "1"}, "yes; acts only under -n N, as documented"),
                           ("env-run-queue-true", {"REPRO_RUN_QUEUE": "true"}, "yes; acts only under -n N")]:
        session(case, collect, env, why, usage=False)
    env = {"REPRO_REFERENCE": str(project / "nowhere")}
    session("env-reference-missing", collect, env, "nowhere")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line option cases (1-5 min)")
    args = parser.parse_args()
    os.environ.setdefault("REPRO_DOWNLOAD", "0")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for cases in (reference_cases, store_cases, findings_cases, plan_cases, data_cases):
            cases(tmp)
        if not args.no_cli:
            option_cases(tmp)
    record("sigterm", "SIGTERM mid-claim (tests/test_bad_inputs.py, serial and -n 2)", True,
           "session file written; the unfinished claim is an error 'terminated (SIGTERM)' (tested, not re-run here)")
    width = max(len(r[0]) for r in ROWS)
    given_width = min(48, max(len(r[1]) for r in ROWS))
    print(f"{'case':{width}}  {'input':{given_width}}  state  behaviour")
    for case, given, behaviour, state in ROWS:
        print(f"{case:{width}}  {given[:given_width]:{given_width}}  {state:5}  {behaviour}")
    counts = {s: sum(1 for r in ROWS if r[3] == s) for s in ("held", "fixed", "OPEN")}
    print(f"\n{len(ROWS)} cases: {counts['held']} held, {counts['fixed']} fixed, {counts['OPEN']} open")


if __name__ == "__main__":
    main()
