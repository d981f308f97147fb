"""Bad settings are one error at start-up naming each, before anything trains (harness/settings.py)."""
import pytest
import torch

from harness import settings
from harness.settings import OPTIONS, Settings, SettingsError, parse_bool, read
from harness.train import data
from tests.test_collection import ENTRY, run_pytest, scratch


def test_nothing_given_means_the_defaults():
    assert read({}, {}) == Settings()


@pytest.mark.parametrize("options, environ, named", [
    ({"checkpoint_every": "0"}, {}, "--checkpoint-every 0 must be at least 1"),
    ({"checkpoint_every": "-2"}, {}, "--checkpoint-every -2 must be at least 1"),
    ({}, {"REPRO_CHECKPOINT_EVERY": "often"}, "$REPRO_CHECKPOINT_EVERY 'often' is not a whole number"),
    ({"checkpoint_minutes": "nan"}, {}, "--checkpoint-minutes nan must be a finite number"),
    ({"base_seed": "-3"}, {}, "--base-seed -3 must be at least 0"),
    ({"base_seed": "18446744073709551615"}, {}, "--base-seed 18446744073709551615 must be at most"),
    ({}, {"REPRO_BASE_SEED": "1.5"}, "$REPRO_BASE_SEED '1.5' is not a whole number"),
    ({}, {"REPRO_RUN_MODE": "lazy"}, "$REPRO_RUN_MODE 'lazy' is not one of train, cached-only, retrain"),
    ({"run_mode": "lazy"}, {}, "--run-mode 'lazy' is not one of"),
    ({"device": "tpu"}, {}, "--device 'tpu' is not a device"),
    ({"device": "meta"}, {}, "--device 'meta' is not a device this harness trains on"),
    ({}, {"REPRO_DEVICE": "gpu0"}, "$REPRO_DEVICE 'gpu0' is not a device"),
    ({}, {"REPRO_DOWNLOAD": "maybe"}, "$REPRO_DOWNLOAD='maybe' is neither yes nor no"),
    ({}, {"REPRO_COMPILE": "sure"}, "$REPRO_COMPILE='sure' is neither yes nor no"),
    ({}, {"REPRO_PROGRESS": "2"}, "$REPRO_PROGRESS='2' is neither yes nor no"),
    ({}, {"REPRO_RUN_QUEUE": "sometimes"}, "$REPRO_RUN_QUEUE='sometimes' is neither yes nor no"),
    ({"plan_workers": "0"}, {}, "--plan-workers 0 must be at least 1"),
    ({"plan_workers": "-2"}, {}, "--plan-workers -2 must be at least 1"),
    ({"plan_workers": "10000000"}, {}, "--plan-workers 10000000 must be at most 100000"),
    ({}, {"REPRO_SESSION": "   "}, "$REPRO_SESSION is empty"),
    ({"rehearse_images": "0"}, {}, "--rehearse-images 0 must be at least 1"),
    ({"plan": True, "rehearse": True}, {}, "--plan and --rehearse are two modes"),
    ({"budget": "soon"}, {}, "--budget 'soon' is not a duration; write it as 90m, 1h, 2h30m or 45s"),
    ({"budget": "30m2h"}, {}, "--budget '30m2h' is not a duration"),
    ({"budget": "1d"}, {}, "--budget '1d' is not a duration"),
    ({}, {"REPRO_BUDGET": "0m"}, "$REPRO_BUDGET '0m' is no time at all"),
])
def test_a_bad_value_is_one_error_naming_it(options, environ, named):
    with pytest.raises(SettingsError) as err:
        read(options, environ)
    assert named in str(err.value)


@pytest.mark.parametrize("spelling", ["1", "true", "on", "yes"])
def test_the_run_queue_variable_reads_every_yes(spelling):
    assert read({}, {"REPRO_RUN_QUEUE": spelling}).run_queue is True


@pytest.mark.parametrize("spelling, seconds", [("90m", 5400), ("1h", 3600), ("2h30m", 9000), ("45s", 45),
                                               ("1.5h", 5400), ("90", 5400), (" 2h 5m ", 7500)])
def test_a_budget_reads_hours_minutes_and_seconds(spelling, seconds):
    assert read({"budget": spelling}, {}).budget == seconds
    assert read({}, {"REPRO_BUDGET": spelling}).budget == seconds
    assert read({}, {}).budget is None


def test_a_folder_option_naming_a_file_is_an_error(tmp_path):
    (tmp_path / "plan").write_text("")
    with pytest.raises(SettingsError, match="is a file, not a folder"):
        read({"plan_dir": str(tmp_path / "plan")}, {})


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingsError) as err:
        read({"checkpoint_every": "0", "base_seed": "-1"}, {"REPRO_DOWNLOAD": "maybe"})
    assert str(err.value).count("\n  ") == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_an_error(device):
    with pytest.raises(SettingsError, match=f"--device '{device}' but CUDA is not available"):
        read({"device": device}, {})


@pytest.mark.parametrize("spelling, expected", [
    ("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("false", False), ("No", False),
    ("off", False), (" Off ", False), (None, None)])
def test_yes_no_values_read_alike_everywhere(monkeypatch, spelling, expected):
    assert parse_bool(spelling, "X") is expected
    if spelling is None:
        monkeypatch.delenv("REPRO_DOWNLOAD", raising=False)
    else:
        monkeypatch.setenv("REPRO_DOWNLOAD", spelling)
    assert settings.download_allowed() is (True if expected is None else expected)
    if spelling is not None:
        assert read({}, {"REPRO_DOWNLOAD": spelling}).download is expected


def test_download_off_does_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_DOWNLOAD", "off")
    with pytest.raises(data.DatasetMissingError, match="did not find"):
        data.load_arrays("mnist", tmp_path / "empty")
    assert not (tmp_path / "empty" / "MNIST").exists()


def test_no_download_flag_wins_over_the_environment():
    assert read({"no_download": True}, {"REPRO_DOWNLOAD": "1"}).download is False


def test_every_option_is_declared_once_with_its_variable():
    names = [o.name for o in OPTIONS]
    flags = [o.flag for o in OPTIONS if o.flag]
    envs = [o.env for o in OPTIONS if o.env]
    assert len(set(names)) == len(names) and len(set(flags)) == len(flags) and len(set(envs)) == len(envs)
    assert all(e.startswith("REPRO_") for e in envs)
    assert {f.name for f in __import__("dataclasses").fields(Settings)} == set(names)


# -- through pytest: one usage error, before any test --------------------------------------------------------

TRAINS = '''
import pytest
from harness.runs.spec import Spec

@pytest.mark.claim("999/size")
def test_size(claim):
    runs = claim.runs(Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=2,
                         train_subset=64, test_subset=32))
    claim.check_within("params (M)", 11.17, claim.reported)
'''


@pytest.mark.parametrize("args, env, named", [
    (["--checkpoint-every", "0"], {}, "--checkpoint-every 0 must be at least 1"),
    (["--base-seed=-3"], {}, "--base-seed -3 must be at least 0"),
    (["--plan-workers", "0", "--plan"], {}, "--plan-workers 0 must be at least 1"),
    ([], {"REPRO_CPU_KERNELS": "fastest"}, "REPRO_CPU_KERNELS='fastest' is not one of portable, native"),
    (["--device", "tpu"], {}, "--device 'tpu' is not a device"),
    ([], {"REPRO_DOWNLOAD": "maybe"}, "REPRO_DOWNLOAD='maybe' is neither yes nor no"),
], ids=["checkpoint-every-0", "negative-seed", "plan-workers-0", "cpu-kernels", "tpu", "download-maybe"])
@pytest.mark.slow
def test_pytest_stops_with_one_usage_error_before_training(tmp_path, args, env, named):
    project = scratch(tmp_path, entry=ENTRY, test=TRAINS)
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out", *args, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert out.count(named) == 1 and "passed" not in out and "failed" not in out, out
    assert not (project / "runs").exists()  # nothing trained, nothing stored


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_pytest_with_cuda_on_a_cpu_machine_is_one_usage_error_even_for_claims_that_train_nothing(tmp_path):
    done = run_pytest(scratch(tmp_path), "claims", "--no-report", "--report-dir", "out", "--device", "cuda")
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, out
    assert out.count("CUDA is not available") == 1, out


@pytest.mark.slow
def test_checkpoint_every_two_trains_and_passes(tmp_path):
    project = scratch(tmp_path, entry=ENTRY, test=TRAINS)
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "out",
                      "--checkpoint-every", "2", "--device", "cpu", env={"REPRO_DOWNLOAD": "off"})
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
