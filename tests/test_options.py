"""Bad option values are one usage error at start-up, before anything trains."""
import pytest
import torch

from harness.train import data
from harness.settings import Settings, parse_bool, validate
from tests.test_collection import ENTRY, run_pytest, scratch

NOTHING = {"device": None, "checkpoint_every": None, "base_seed": None, "run_mode": None, "no_download": False,
           "compile": None}


def settings(environ=None, **options):
    return validate({**NOTHING, **options}, environ or {})


def test_nothing_given_means_the_defaults():
    assert settings() == Settings(device="auto", download=True, checkpoint_every=1, base_seed=0, run_mode="train")


@pytest.mark.parametrize("options, environ, named", [
    ({"checkpoint_every": 0}, {}, "--checkpoint-every 0 must be at least 1"),
    ({"checkpoint_every": -2}, {}, "--checkpoint-every -2 must be at least 1"),
    ({}, {"REPRO_CHECKPOINT_EVERY": "often"}, "$REPRO_CHECKPOINT_EVERY 'often' is not an integer"),
    ({"base_seed": -3}, {}, "--base-seed -3 must be at least 0"),
    ({}, {"REPRO_BASE_SEED": "1.5"}, "$REPRO_BASE_SEED '1.5' is not an integer"),
    ({}, {"REPRO_RUN_MODE": "lazy"}, "$REPRO_RUN_MODE 'lazy' is not a run mode"),
    ({"device": "tpu"}, {}, "--device 'tpu' is not a device"),
    ({"device": "meta"}, {}, "--device 'meta' is not a device this harness trains on"),
    ({}, {"REPRO_DEVICE": "gpu0"}, "$REPRO_DEVICE 'gpu0' is not a device"),
    ({}, {"REPRO_DOWNLOAD": "maybe"}, "REPRO_DOWNLOAD='maybe' is neither yes nor no"),
    ({}, {"REPRO_COMPILE": "sure"}, "REPRO_COMPILE='sure' is neither yes nor no"),
    ({}, {"REPRO_PROGRESS": "2"}, "REPRO_PROGRESS='2' is neither yes nor no"),
])
def test_a_bad_value_is_a_usage_error_naming_it(options, environ, named):
    with pytest.raises(pytest.UsageError) as err:
        settings(environ, **options)
    assert named in str(err.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(pytest.UsageError) as err:
        settings({"REPRO_DOWNLOAD": "maybe"}, checkpoint_every=0, base_seed=-1)
    assert str(err.value).count("\n  ") == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_usage_error(device):
    with pytest.raises(pytest.UsageError, match=f"--device '{device}' but CUDA is not available"):
        settings(device=device)


@pytest.mark.parametrize("spelling, expected", [
    ("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("false", False), ("No", False),
    ("off", False), (" Off ", False), (None, None)])
def test_yes_no_values_read_alike_everywhere(monkeypatch, spelling, expected):
    assert parse_bool(spelling, "X") is expected
    if spelling is None:
        monkeypatch.delenv(data.DOWNLOAD_ENV, raising=False)
    else:
        monkeypatch.setenv(data.DOWNLOAD_ENV, spelling)
    assert data.download_allowed() is (True if expected is None else expected)
    if spelling is not None:
        assert settings({"REPRO_DOWNLOAD": spelling}).download is expected


def test_download_off_does_not_download(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DOWNLOAD_ENV, "off")
    with pytest.raises(data.DatasetMissingError, match="did not find"):
        data.load_arrays("mnist", tmp_path / "empty")
    assert not (tmp_path / "empty" / "MNIST").exists()


def test_no_download_flag_wins_over_the_environment():
    assert settings({"REPRO_DOWNLOAD": "1"}, no_download=True).download is False


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
    (["--device", "tpu"], {}, "--device 'tpu' is not a device"),
    ([], {"REPRO_DOWNLOAD": "maybe"}, "REPRO_DOWNLOAD='maybe' is neither yes nor no"),
], ids=["checkpoint-every-0", "negative-seed", "tpu", "download-maybe"])
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
