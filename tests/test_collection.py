"""The plugin in scratch projects: the collection contract, verdicts, errors, crashes.

The scratch projects have no conftest.py: the plugin loads through its pytest11 entry point.
"""
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.train.device import assign_worker_gpu

ROOT = Path(__file__).resolve().parents[1]

ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - id: 999/size
    statement: "ResNet-18 has 11.17M parameters."
    location: Table 1
    kind: params
    reported: 11.17
    tiers:
      fast: {tolerance: {abs: 0.005, why: rounding}}
      full: {tolerance: {abs: 0.005, why: rounding}}
"""

TEST = '''
import pytest
from harness.catalog.models import count_parameters, create_model

@pytest.mark.claim("999/size")
def test_size(claim):
    claim.check_within("params (M)", count_parameters(create_model("resnet18")) / 1e6, claim.reported)
'''


def scratch(tmp_path, entry=ENTRY, test=TEST):
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "999_scratch.yaml").write_text(textwrap.dedent(entry))
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_999.py").write_text(textwrap.dedent(test))
    return tmp_path


def run_pytest(project, *args, env=None, drop=()):
    """pytest in `project`, with this environment plus `env`, less the variables named in `drop`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPRO_REFERENCE=str(project / "reference"),
               REPRO_RUNS=str(project / "runs"), PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    for name in drop:
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_claim_passes_in_both_tiers_and_writes_findings_and_report(tmp_path):
    project = scratch(tmp_path)
    done = run_pytest(project, "claims", "--report-dir", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert (project / "out" / "findings.json").exists() and (project / "out" / "report.pdf").exists()


@pytest.mark.slow
def test_a_test_without_an_entry_fails_collection(tmp_path):
    project = scratch(tmp_path, test=TEST.replace('"999/size"', '"999/other"'))
    done = run_pytest(project, "claims", "--collect-only")
    assert done.returncode != 0
    assert "999/other" in done.stdout + done.stderr and "no entry in reference" in done.stdout + done.stderr


@pytest.mark.slow
def test_an_entry_without_a_test_fails_collection(tmp_path):
    extra = ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/orphan")
    done = run_pytest(scratch(tmp_path, entry=extra), "claims", "--collect-only")
    assert done.returncode != 0 and "999/orphan" in done.stdout + done.stderr
    assert "has no test" in done.stdout + done.stderr


@pytest.mark.slow
def test_a_malformed_reference_fails_collection_naming_file_claim_and_field(tmp_path):
    done = run_pytest(scratch(tmp_path, entry=ENTRY.replace("kind: params", "kind: size")), "claims", "--collect-only")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "999_scratch.yaml" in out and "999/size" in out and "'kind'" in out


@pytest.mark.slow
def test_expected_not_reproduced_is_a_strict_xfail(tmp_path):
    entry = ENTRY.replace("reported: 11.17", "reported: 12.0\n    expect: not-reproduced\n    why: wrong count")
    done = run_pytest(scratch(tmp_path, entry=entry), "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode == 0 and "1 xfailed" in done.stdout, done.stdout
    findings = (tmp_path / "out" / "findings.json").read_text()
    assert "expected-not-reproduced" in findings


def test_worker_gpus_come_from_the_callers_list():
    env = {"CUDA_VISIBLE_DEVICES": "3,5,7,9"}
    assert assign_worker_gpu(5, env) == "5" and env["CUDA_VISIBLE_DEVICES"] == "5"


def test_no_gpu_list_means_no_pinning(monkeypatch):
    monkeypatch.setattr("harness.train.device._nvidia_smi_ids", lambda: [])
    env: dict = {}
    assert assign_worker_gpu(0, env) is None and "CUDA_VISIBLE_DEVICES" not in env


@pytest.mark.slow
def test_a_tier_level_expectation_applies_to_that_tier_only(tmp_path):
    entry = ENTRY.replace("      fast: {tolerance: {abs: 0.005, why: rounding}}",
                          "      fast: {tolerance: {abs: 0.005, why: rounding}, expect: not-reproduced, why: test}")
    test = TEST.replace('count_parameters(create_model("resnet18")) / 1e6',
                        '(12.0 if claim.tier == "fast" else 11.17)')
    done = run_pytest(scratch(tmp_path, entry=entry, test=test), "claims", "--no-report", "--report-dir", "out")
    assert done.returncode == 0 and "1 passed" in done.stdout and "1 xfailed" in done.stdout, done.stdout


@pytest.mark.slow
def test_running_one_claims_file_does_not_demand_other_files_tests(tmp_path):
    project = scratch(tmp_path, entry=ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/elsewhere"))
    (project / "claims" / "test_other.py").write_text(TEST.replace("999/size", "999/elsewhere"))
    done = run_pytest(project, "claims/test_999.py", "--collect-only")
    assert done.returncode == 0, done.stdout + done.stderr
    (project / "claims" / "test_other.py").unlink()
    done = run_pytest(project, "claims", "--collect-only")
    assert done.returncode != 0 and "999/elsewhere" in done.stdout + done.stderr


def findings_of(project, out="out"):
    return {(f["claim_id"], f["tier"]): f for f in json.loads((project / out / "findings.json").read_text())["findings"]}


def test_the_plugin_is_an_installed_entry_point():
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.name == "cifar_claims" and p.value == "harness.pytest_plugin.claims" for p in points)


CRASHING = TEST + '''

@pytest.mark.claim("999/crash")
def test_crash(claim):
    {body}
'''
CRASH_ENTRY = ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/crash")


@pytest.mark.slow
def test_an_exception_in_a_claim_is_an_error_never_a_verdict(tmp_path):
    project = scratch(tmp_path, entry=CRASH_ENTRY, test=CRASHING.format(body="raise MemoryError('CUDA out of memory')"))
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode != 0
    crash = findings_of(project)[("999/crash", "fast")]
    assert crash["verdict"] == "error" and "MemoryError: CUDA out of memory" in crash["error"]
    assert findings_of(project)[("999/size", "fast")]["verdict"] == "reproduced"


@pytest.mark.slow
def test_an_expected_failure_xfails_only_on_the_checks_own_failure(tmp_path):
    entry = ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/crash").replace(
        "reported: 11.17", "reported: 11.17\n    expect: not-reproduced\n    why: a wrong count")
    project = scratch(tmp_path, entry=entry, test=CRASHING.format(body="raise KeyError('renamed field')"))
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode != 0 and "xfailed" not in done.stdout.splitlines()[-1], done.stdout
    assert findings_of(project)[("999/crash", "fast")]["verdict"] == "error"


KILLED_WHILE_TRAINING = """import os, signal
    import harness.train.loop
    from harness.runs.spec import Spec

    def killed(*args, **kwargs):  # kill -9 of the worker in the middle of a training step
        os.kill(os.getpid(), signal.SIGKILL)

    harness.train.loop.train_step = killed
    claim.runs(Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, batch_size=32), "lenet")"""


@pytest.mark.slow
def test_a_worker_killed_while_training_leaves_an_error_finding_in_the_findings_and_the_report(tmp_path):
    project = scratch(tmp_path, entry=CRASH_ENTRY, test=CRASHING.format(body=KILLED_WHILE_TRAINING))
    done = run_pytest(project, "claims", "-m", "fast", "-n", "2", "--report-dir", "out")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "INTERNALERROR" not in out, out
    found = findings_of(project)
    crash = found[("999/crash", "fast")]
    assert crash["verdict"] == "error" and "crashed" in crash["error"], crash
    assert found[("999/size", "fast")]["verdict"] == "reproduced"  # the other worker's claim is kept too
    html = (project / "out" / "report.html").read_text()
    assert "999/crash" in html and "crashed" in html


@pytest.mark.slow
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_missing_dataset_stops_the_session_before_the_first_claim(tmp_path, workers):
    entry = ENTRY.replace("kind: params", "kind: ordering")
    done = run_pytest(scratch(tmp_path, entry=entry), "claims", "-m", "fast", "--no-download", *workers,
                      f"--data-root={tmp_path / 'empty'}", "--report-dir", "out")
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED and "INTERNALERROR" not in out, out
    assert "the selected claims need datasets, and none ran" in out, out
    assert str(tmp_path / "empty") in out and "--data-root" in out and "cifar10" in out
    assert "1 failed" in out and "passed" not in out
    assert not (tmp_path / "out" / "findings.json").exists()  # no finding at all, let alone not-reproduced


QUEUED_ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - &cell
    id: 999/a
    statement: "seed-paired runs"
    location: Table 1
    kind: metric
    reported: 0.5
    tiers:
      fast: {budget: {epochs: 1, train_subset: 64, test_subset: 64}, seeds: 3, tolerance: {abs: 1.0, why: scratch}}
      full: {skip: "scratch"}
  - <<: *cell
    id: 999/b
"""
QUEUED_TEST = '''
import pytest
from harness.runs.spec import Spec

SPEC = Spec(model="lenet_mnist", dataset="synthetic_mnist", epochs=1, batch_size=32)

@pytest.mark.synthetic_data
@pytest.mark.claim("999/{name}")
@pytest.mark.parametrize("name", ["a", "b"])
def test_shared(claim, name):
    runs = claim.runs(SPEC, "lenet")
    claim.check_within("best test accuracy", [r.best_test_acc for r in runs], claim.reported)
'''


@pytest.mark.slow
def test_under_two_workers_the_queue_trains_the_planned_runs_before_the_tests(tmp_path):
    project = scratch(tmp_path, entry=QUEUED_ENTRY, test=QUEUED_TEST)
    done = run_pytest(project, "claims", "-m", "fast", "-n", "2", "--run-queue", "--no-report", "--report-dir", "out")
    out = done.stdout + done.stderr
    assert "run queue: 3 runs to train, longest first" in out, out  # two claims, three shared seeds: three runs
    assert len(list((project / "runs").glob("*/result.json"))) == 3
    assert {f["verdict"] for f in findings_of(project).values()} <= {"reproduced", "inconclusive"}, out
    off = run_pytest(project, "claims", "-m", "fast", "-n", "2", "--no-report", "--report-dir", "o2")
    assert "run queue" not in off.stdout + off.stderr


TWO_CLAIMS = ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/other")
TWO_TESTS = TEST + TEST.split("\n\n", 1)[1].replace("999/size", "999/other").replace("test_size", "test_other")


@pytest.mark.slow
def test_a_subset_run_updates_its_claims_and_keeps_the_others(tmp_path):
    project = scratch(tmp_path, entry=TWO_CLAIMS, test=TWO_TESTS)
    whole = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out",
                       env={"REPRO_SESSION": "whole"})
    assert whole.returncode == 0, whole.stdout + whole.stderr
    subset = run_pytest(project, "claims", "-m", "fast", "-k", "other", "--no-report", "--report-dir", "out",
                        env={"REPRO_SESSION": "subset"})
    assert subset.returncode == 0, subset.stdout + subset.stderr
    after = findings_of(project)
    assert {k: f["session"] for k, f in after.items()} == {("999/size", "fast"): "whole",
                                                           ("999/other", "fast"): "subset"}
    sessions = sorted((project / "out" / "sessions").glob("*.json"))
    assert len(sessions) == 2 and [len(json.loads(p.read_text())["findings"]) for p in sessions] == [2, 1]


@pytest.mark.slow
def test_a_session_cut_short_by_ctrl_c_is_marked_interrupted(tmp_path):
    project = scratch(tmp_path, entry=CRASH_ENTRY, test=CRASHING.format(body="raise KeyboardInterrupt"))
    done = run_pytest(project, "claims", "-m", "fast", "--report-dir", "out")
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout + done.stderr
    payload = json.loads((project / "out" / "findings.json").read_text())
    assert payload["session"]["interrupted"] is True
    crash = findings_of(project)[("999/crash", "fast")]
    assert crash["verdict"] == "error" and "interrupted" in crash["error"], crash
    assert "(interrupted)" in (project / "out" / "report.html").read_text()


@pytest.mark.slow
def test_a_docstring_only_body_is_skipped_for_a_qualitative_entry_and_an_error_otherwise(tmp_path):
    body = '"""A qualitative reading: nothing to run."""'
    qualitative = ENTRY + ENTRY.split("claims:\n")[1].replace("999/size", "999/crash").replace(
        "reported: 11.17", "reported: 11.17\n    expect: qualitative\n    why: nothing measured")
    project = scratch(tmp_path, entry=qualitative, test=CRASHING.format(body=body))
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout + done.stderr
    assert findings_of(project)[("999/crash", "fast")]["verdict"] == "qualitative"
    (tmp_path / "checked").mkdir()
    project = scratch(tmp_path / "checked", entry=CRASH_ENTRY, test=CRASHING.format(body=body))
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode != 0 and "without making a check" in done.stdout, done.stdout
    assert findings_of(project)[("999/crash", "fast")]["verdict"] == "error"


THRESHOLD_ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - id: 999/headline
    statement: "ResNet-18 has more than 11M parameters."
    location: Section 1
    kind: threshold
    reported: 11.0
    tiers:
      fast: {tolerance: {margin: 0.1, why: a margin this check does not read}}
      full: {skip: scratch}
"""
THRESHOLD_TEST = '''
import pytest
from harness.catalog.models import count_parameters, create_model

@pytest.mark.synthetic_data  # reads no dataset
@pytest.mark.claim("999/headline")
def test_headline(claim):
    claim.{call}("params (M)", count_parameters(create_model("resnet18")) / 1e6, claim.reported)
'''


@pytest.mark.slow
def test_a_tolerance_key_the_test_does_not_read_fails_collection_naming_file_claim_and_field(tmp_path):
    project = scratch(tmp_path, entry=THRESHOLD_ENTRY, test=THRESHOLD_TEST.format(call="check_at_least"))
    done = run_pytest(project, "claims", "-m", "fast", "--report-dir", "out")
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert ("reference/999_scratch.yaml: claim '999/headline', field 'tiers.fast.tolerance' gives margin, "
            "but its test's check_at_least reads abs") in out, out
    assert not (project / "out").exists() and not (project / "runs").exists()  # nothing ran, nothing recorded


@pytest.mark.slow
def test_a_tolerance_key_missing_when_the_check_runs_is_an_error_never_a_verdict(tmp_path):
    """A check collection cannot see (called by name): the missing key is a reference error, not a verdict."""
    hidden = THRESHOLD_TEST.format(call='__getattribute__("check_" + "at_least")')
    project = scratch(tmp_path, entry=THRESHOLD_ENTRY, test=hidden)
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out")
    assert done.returncode != 0
    headline = findings_of(project)[("999/headline", "fast")]
    assert headline["verdict"] == "error", headline
    assert "'tiers.fast.tolerance.abs': this check reads abs; the tier gives ['margin']" in headline["error"]
