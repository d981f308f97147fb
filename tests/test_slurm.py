"""run-slurm against a real single-node Slurm that the test starts (tests/slurm_cluster.py) and stops.

An array of tiny runs (synthetic MNIST, LeNet, 1 epoch) trains each run once and a run that
cannot train comes back as an error with its message; a run preempted by a job of the
higher-priority partition is requeued, resumes from its checkpoint and ends equal to the
same run trained without interruption. Waiting, submitting and their errors are also tested without
a cluster, on fabricated folders and a fake sbatch.
"""
import json
import os
import time

import pytest

from harness.plan.cost import build_plan, datasheet_rate, load_plan, write_plan
from harness.runs.store import TRAINING_LOG, RunStore
from harness.plan.recording import placeholder_result
from harness.plan.slurm import SlurmOptions, Submission, TrainRun, main, pending_runs, submit, summary_lines, wait
from harness.runs.spec import Spec
from harness.train.loop import train
from tests import slurm_cluster

TINY = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=1, batch_size=100,
            train_subset=500, test_subset=200)
METRICS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("submitit", reason="Slurm submission needs submitit: pip install -e '.[slurm]'")
    missing = slurm_cluster.missing_tools()
    if missing:
        pytest.skip(f"Slurm is not installed here (no {', '.join(missing)}); .ci/run installs slurm-wlm and "
                    f"munge with apt-get when it runs as root")
    started = slurm_cluster.start(tmp_path_factory.mktemp("slurm"))
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(started.conf)  # submitit's sbatch/squeue calls find this cluster
    yield started
    slurm_cluster.stop(started)
    if previous is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = previous


def plan_file(tmp_path, specs):
    requests = {s.key: {"spec": s.to_dict(), "claims": ["999/test [full]"], "cached": False} for s in specs}
    json_path, _ = write_plan(build_plan(requests, datasheet_rate("H100")), tmp_path / "plan")
    return json_path


def options(cpus, **changes):
    return SlurmOptions(**{"partition": "low", "time_min": 5, "gpus_per_task": 0, "cpus_per_task": 1,
                           "array_parallelism": cpus, "signal_delay_s": 30, **changes})


@pytest.mark.slow  # starts a real Slurm: CI runs it as its own step
def test_an_array_trains_each_run_once_and_a_failing_run_reports_its_error(cluster, tmp_path):
    good = [TINY.replace(seed=s) for s in (0, 1, 2)]
    bad = TINY.replace(optimizer="no_such_optimizer")
    plan = plan_file(tmp_path, good + [bad])
    runs = tmp_path / "runs"
    submission, jobs = submit(plan, runs, options(cluster.cpus), tmp_path / "submitit", {"device": "cpu"})
    assert len(jobs) == 4 and len({j.job_id.split("_")[0] for j in jobs}) == 1  # one array
    outcome = wait(submission, poll_s=0.5, progress=False, lost_after_s=20, timeout_s=120)
    assert set(outcome.done) == {s.key for s in good}, cluster.logs()
    assert "unknown optimizer 'no_such_optimizer'" in outcome.failed[bad.key] and "log:" in outcome.failed[bad.key]
    trained = [line.split()[1] for line in (runs / TRAINING_LOG).read_text().splitlines()]
    assert sorted(trained) == sorted(s.key for s in good)  # each once
    store = RunStore(runs, "cached-only")
    assert all(store.get(s).status == "completed" for s in good)
    assert [r["key"] for r in pending_runs(load_plan(plan), runs)] == [bad.key]
    assert Submission.load(tmp_path / "submitit").tasks == submission.tasks
    assert any("FAILED" in line and bad.key in line for line in summary_lines(submission, outcome))


@pytest.mark.slow
def test_a_preempted_run_resumes_from_its_checkpoint_and_ends_as_if_uninterrupted(cluster, tmp_path):
    spec = TINY.replace(epochs=4, train_subset=None, test_subset=None, batch_size=50)
    runs = tmp_path / "runs"
    submission, jobs = submit(plan_file(tmp_path, [spec]), runs, options(cluster.cpus, cpus_per_task=cluster.cpus),
                              tmp_path / "submitit", {"device": "cpu"})
    checkpoint = runs / spec.key / "checkpoint.pt"
    deadline = time.monotonic() + 60
    while not checkpoint.exists():
        assert time.monotonic() < deadline, f"no checkpoint after 60 s\n{cluster.logs()}"
        assert not (runs / spec.key / "result.json").exists(), "the run finished before it could be preempted"
        time.sleep(0.1)
    # a job of the high partition needs the whole node: Slurm preempts the run (USR2, then requeue)
    cluster.run("sbatch", "--parsable", "-p", "high", "-c", str(cluster.cpus), "-o", "/dev/null", "--wrap", "sleep 1")
    uninterrupted = train(spec, device="cpu", progress=False)  # meanwhile, the same run without a break
    outcome = wait(submission, poll_s=0.5, progress=False, lost_after_s=60, timeout_s=150)
    assert spec.key in outcome.done, f"{outcome.failed}\n{cluster.logs()}"
    assert outcome.done[spec.key]["resumed_at_epoch"], "the run was not preempted and resumed"
    resumed = RunStore(runs, "cached-only").get(spec)
    assert {k: resumed.curves[k] for k in METRICS} == {k: uninterrupted.curves[k] for k in METRICS}
    assert resumed.final_test_acc == uninterrupted.final_test_acc and not checkpoint.exists()


# -- waiting, without a cluster: fake tasks and a fake queue --------------------------------------------------------

def fake_submission(tmp_path, n):
    """An array of n tasks as `submit` saves it; `finish` stores a task's run as its task would."""
    specs = [TINY.replace(seed=100 + i) for i in range(n)]
    submission = Submission(base=str(tmp_path / "submitit"), runs=str(tmp_path / "runs"),
                            tasks=[{"job_id": f"9_{i}", "key": s.key, "spec": s.to_dict(), "model": s.model,
                                    "est_seconds": 1.0} for i, s in enumerate(specs)])
    return submission, specs


def finish(submission, spec):
    RunStore(submission.runs, trainer=lambda s, **kw: placeholder_result(s)).get(spec)


def fail(submission, spec, error):
    path = submission.outcome_path(spec.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": spec.key, "status": "failed", "error": error}))


def test_waiting_shows_runs_done_and_to_go_on_a_terminal(tmp_path, monkeypatch, capfd):
    submission, specs = fake_submission(tmp_path, 3)
    for spec in specs:
        finish(submission, spec)
    monkeypatch.setattr("harness.plan.slurm._active", lambda ids: set())
    monkeypatch.setenv("REPRO_PROGRESS", "1")
    outcome = wait(submission, poll_s=0.01)
    assert sorted(outcome.done) == sorted(s.key for s in specs)
    assert "3/3" in capfd.readouterr().err


def test_waiting_is_quiet_in_ci(tmp_path, monkeypatch, capfd):
    submission, specs = fake_submission(tmp_path, 2)
    for spec in specs:
        finish(submission, spec)
    monkeypatch.setattr("harness.plan.slurm._active", lambda ids: set())
    monkeypatch.delenv("REPRO_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    wait(submission, poll_s=0.01)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_task_gone_from_the_queue_without_a_result_is_a_failure_not_a_hang(tmp_path, monkeypatch):
    submission, specs = fake_submission(tmp_path, 2)
    finish(submission, specs[0])
    monkeypatch.setattr("harness.plan.slurm._active", lambda ids: set())
    outcome = wait(submission, poll_s=0.01, lost_after_s=0.05, progress=False)
    assert list(outcome.done) == [specs[0].key]
    assert "left the queue without a result" in outcome.failed[specs[1].key]


def test_a_requeued_task_is_not_over_while_slurm_lists_it(tmp_path, monkeypatch):
    submission, (spec,) = fake_submission(tmp_path, 1)
    fail(submission, spec, "RuntimeError: killed during requeue")
    polls = []

    def active(ids):  # listed (requeued) for two polls, then the second attempt has succeeded
        polls.append(1)
        if len(polls) == 2:
            finish(submission, spec)
        return {"9_0"} if len(polls) <= 2 else set()

    monkeypatch.setattr("harness.plan.slurm._active", active)
    outcome = wait(submission, poll_s=0.01, progress=False)
    assert list(outcome.done) == [spec.key] and not outcome.failed


def test_a_failed_task_says_why_in_json_and_waiting_reports_it(tmp_path, monkeypatch):
    submission, (spec,) = fake_submission(tmp_path, 1)
    bad = spec.replace(optimizer="no_such_optimizer")
    submission.tasks[0].update(key=bad.key, spec=bad.to_dict())
    task = TrainRun(submission.runs, {"device": "cpu", "progress": False}, str(tmp_path / "submitit" / "outcomes"))
    with pytest.raises(KeyError, match="no_such_optimizer"):
        task(bad.to_dict(), bad.key)
    monkeypatch.setattr("harness.plan.slurm._active", lambda ids: set())
    outcome = wait(submission, poll_s=0.01, progress=False)
    assert "unknown optimizer 'no_such_optimizer'" in outcome.failed[bad.key]
    assert f"log: {tmp_path / 'submitit' / '9_0' / '9_0_0_log.err'}" in outcome.failed[bad.key]


def test_submitting_a_plan_whose_runs_are_all_stored_sends_nothing(tmp_path, capsys):
    RunStore(tmp_path / "runs", trainer=lambda s, **kw: placeholder_result(s)).get(TINY)
    assert main(["submit", str(plan_file(tmp_path, [TINY])), "--runs", str(tmp_path / "runs")]) == 0
    assert "every run of the plan is in the store" in capsys.readouterr().out
    assert main(["wait", str(tmp_path / "nowhere")]) == 2 and "no jobs.json" in capsys.readouterr().err


@pytest.mark.parametrize("option, value", [("--checkpoint-every", "0"), ("--checkpoint-every", "-2"),
                                           ("--time", "0"), ("--array-parallelism", "x"), ("--max-requeues", "-1")])
def test_a_bad_count_is_a_usage_error_before_anything_is_submitted(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main(["submit", str(plan_file(tmp_path, [TINY])), "--runs", str(tmp_path / "runs"), option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_refused_submission_is_one_clear_error_and_leaves_no_files(tmp_path, monkeypatch, capsys):
    pytest.importorskip("submitit", reason="Slurm submission needs submitit: pip install -e '.[slurm]'")
    bin_dir = tmp_path / "bin"  # submitit wants an srun; the sbatch refuses, as Slurm's does a bad partition
    bin_dir.mkdir()
    for tool, script in (("srun", "exit 0"), ("sbatch", "echo 'sbatch: error: invalid partition specified: nope' >&2"
                                                        "\nexit 1")):
        (bin_dir / tool).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    folder = tmp_path / "submitit"
    plan = plan_file(tmp_path, [TINY, TINY.replace(seed=1)])
    assert main(["submit", str(plan), "--runs", str(tmp_path / "runs"), "--folder", str(folder),
                 "--partition", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        "run-slurm submit: sbatch refused the array: sbatch: error: invalid partition specified: nope; "
        "nothing was submitted"]
    assert sorted(p.name for p in folder.iterdir()) == ["outcomes"] and not any((folder / "outcomes").iterdir())


def test_submitit_s_folder_is_private_by_default_and_refused_when_others_may_write_it(tmp_path, monkeypatch):
    from harness.plan.slurm import make_private, private_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = make_private(private_folder(tmp_path / "runs"))
    assert folder.parent == tmp_path / "cache" / "cifar-claims" / "slurm" and (folder.stat().st_mode & 0o777) == 0o700
    shared = tmp_path / "runs" / ".slurm"
    shared.mkdir(parents=True)
    shared.chmod(0o775)
    with pytest.raises(PermissionError, match="may be written by others"):
        make_private(shared)
