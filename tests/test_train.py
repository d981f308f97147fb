import contextlib

import pytest
import torch

import harness.train.loop as train_module
from tests.killed import kill_during_epoch_3
from harness import settings
from harness.runs.spec import Spec
from harness.train.loop import train

TINY = Spec(model="resnet18", dataset="synthetic", model_args={"width": 0.0625}, epochs=3, batch_size=64,
            lr=0.05, optimizer_args={"momentum": 0.9}, train_subset=500, test_subset=200,
            augment=("crop", "flip"), seed=0)


@pytest.mark.slow
def test_training_records_curves_and_learns():
    result = train(TINY, device="cpu", progress=False)
    assert result.status == "completed"
    assert result.curves["epoch"] == [1, 2, 3]
    assert len(result.curves["test_acc"]) == 3 and all(t > 0 for t in result.curves["epoch_time"])
    assert result.best_test_acc > 0.3  # chance is 0.1; the synthetic classes differ in colour
    assert result.param_count > 0 and result.environment["device"] == "cpu"


def test_epoch_time_splits_into_data_step_eval_and_probe():
    result = train(TINY.replace(epochs=1), device="cpu", progress=False)
    split = result.time_split()
    assert set(split) == {"data", "step", "eval", "probe"}
    assert split["data"] > 0 and split["step"] > 0 and split["eval"] > 0 and split["probe"] == 0
    assert sum(split.values()) <= result.curves["epoch_time"][0]
    assert split["step"] > split["data"]  # on-device batching is a small part of a step
    assert not result.environment["channels_last"] and not result.environment["compiled"]  # CPU: default layout


@pytest.mark.parametrize("flag, env, expected", [(None, None, False), (None, "1", True), (False, "1", False),
                                                 (True, None, True), (None, "no", False)])
def test_compile_is_off_unless_asked_for(monkeypatch, flag, env, expected):
    if env is None:
        monkeypatch.delenv("REPRO_COMPILE", raising=False)
    else:
        monkeypatch.setenv("REPRO_COMPILE", env)
    assert settings.compile_enabled(flag) is expected


@pytest.mark.slow
def test_same_seed_same_run_bitwise_on_cpu():
    a, b = train(TINY, device="cpu", progress=False), train(TINY, device="cpu", progress=False)
    assert a.curves["train_loss"] == b.curves["train_loss"] and a.curves["test_acc"] == b.curves["test_acc"]


def test_a_non_finite_loss_is_an_outcome_not_a_crash():
    result = train(TINY.replace(loss="mse", lr=1e6, optimizer_args={"momentum": 0.0}), device="cpu", progress=False)
    assert result.status == "diverged" and result.diverged
    assert result.diverged_at_step is not None and result.diverged_at_step >= 0


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_checkpoint_and_ends_the_same(tmp_path, monkeypatch):
    reference = train(TINY, device="cpu", progress=False)
    checkpoint = tmp_path / "checkpoint.pt"
    kill_during_epoch_3(monkeypatch, TINY, checkpoint)
    assert checkpoint.exists()
    resumed = train(TINY, device="cpu", progress=False, checkpoint_path=checkpoint)
    assert resumed.curves["test_acc"] == reference.curves["test_acc"]
    assert resumed.curves["train_loss"] == reference.curves["train_loss"]
    assert resumed.extra["resumed_at_epoch"] == [2] and "resumed_at_epoch" not in reference.extra


@pytest.mark.parametrize("field,value,match", [
    ("model", "resnet19", "resnet18"), ("optimizer", "sgdd", "sgd"), ("loss", "crossentropy", "cross_entropy"),
    ("schedule", "cosin", "cosine"), ("precision", "fp8", "bf16"),
])
def test_unknown_names_list_the_known_ones(field, value, match):
    with pytest.raises((KeyError, ValueError), match=match):
        train(TINY.replace(**{field: value}), device="cpu", progress=False)


@pytest.mark.slow
def test_step_loss_probe_records_every_step_and_leaves_the_run_unchanged():
    plain = train(TINY, device="cpu", progress=False)
    probed = train(TINY.replace(probes=("step_loss",)), device="cpu", progress=False)
    steps = probed.extra["probes"]["step_loss"]
    assert len(steps) == 3 * 8  # 500 images / batch 64 -> 8 steps per epoch
    assert probed.curves["train_loss"] == plain.curves["train_loss"]
    assert probed.curves["test_acc"] == plain.curves["test_acc"]


def test_probes_get_their_arguments_and_the_epoch_hooks():
    from harness.catalog.probes import PROBES, Probe

    @PROBES.register("epoch_counter_for_test")
    class EpochCounter(Probe):
        def __init__(self, scale: int = 1):
            self.scale, self.epochs, self.final = scale, [], None

        def after_epoch(self, ctx):
            self.epochs.append(ctx.epoch * self.scale)

        def after_training(self, ctx):
            self.final = ctx.evaluate()[1]

        def result(self):
            return {"epochs": self.epochs, "final": self.final}

    spec = TINY.replace(epochs=2, probes=("epoch_counter_for_test",),
                        probe_args={"epoch_counter_for_test": {"scale": 10}})
    result = train(spec, device="cpu", progress=False)
    out = result.extra["probes"]["epoch_counter_for_test"]
    assert out["epochs"] == [10, 20] and out["final"] == result.final_test_acc
    assert len(result.curves["probe_time"]) == 2


@pytest.mark.slow
def test_a_resumed_run_counts_the_cpu_time_spent_before_its_checkpoint(tmp_path):
    import torch

    checkpoint = tmp_path / "checkpoint.pt"
    train(TINY, device="cpu", progress=False, checkpoint_path=checkpoint)  # leaves its epoch-2 checkpoint behind
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["state"]
    assert saved["epoch"] == 2 and saved["cpu_time"] > 0
    resumed = train(TINY, device="cpu", progress=False, checkpoint_path=checkpoint)  # trains epoch 3 only
    assert resumed.curves["epoch"] == [1, 2, 3]
    assert resumed.cpu_time > saved["cpu_time"]


@pytest.mark.parametrize("model, model_args, dataset", [
    ("resnet18", {"width": 0.0625}, "synthetic"), ("mynet", {"channels": [16, 32]}, "synthetic"),
    ("lenet_mnist", {}, "synthetic_mnist")])
def test_the_cpu_eval_batch_gives_each_image_the_floats_of_one_whole_batch(model, model_args, dataset):
    """The fast tier's test accuracy and per-image correctness must not depend on the eval batch size."""
    from harness.train import data
    from harness.train.loop import build_model, evaluate, normalization

    spec = Spec(model=model, dataset=dataset, model_args=model_args, test_subset=1000, seed=0)
    test = data.prepare(dataset, spec.split, spec.train_subset, spec.test_subset)["test"]
    mean, std = normalization(spec)
    torch.manual_seed(0)
    net = build_model(spec)
    loss_fn = torch.nn.CrossEntropyLoss()
    per_image = {}
    with train_module.cpu_threads(torch.device("cpu")):
        for size in (data.CPU_EVAL_BATCH, len(test)):
            per_image[size] = []
            evaluate(net, data.BatchLoader(test, size, mean=mean, std=std), loss_fn, contextlib.nullcontext,
                     per_example=per_image[size])
            with torch.no_grad():
                per_image[size].append(torch.cat([net(x) for x, _ in data.BatchLoader(test, size, mean=mean, std=std)]))
    assert data.CPU_EVAL_BATCH % 4 == 0 and len(test) % data.CPU_EVAL_BATCH == 0
    (hits_small, logits_small), (hits_whole, logits_whole) = per_image.values()
    assert torch.equal(logits_small, logits_whole)
    assert torch.equal(hits_small, hits_whole)
