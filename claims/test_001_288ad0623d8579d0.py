"""Report 001: a lightweight ModifiedResNet on CIFAR-10, Table 1 and the conclusions drawn from it.

Nine configurations (batch size, optimizer, learning rate, residual layers, blocks per layer),
70 epochs each. The recipe is the authors' notebook (TigaJi/DL-mini-project, Model_5_final.ipynb)
where the report is silent; reference/001_288ad0623d8579d0.yaml records every assumption.

Readings shared by the claims:
- accuracy: the best test accuracy over the epochs (the report's "highest accuracy"; the notebook
  keeps the best epoch's model);
- schedule: the notebook steps CosineAnnealingLR(T_max=200, eta_min=0) after every batch, so the
  learning rate starts at lr and follows torch's cosine between lr and 0 with a period of 400 steps
  for the whole run (about once per epoch at batch 128); the harness's "cosine_steps" schedule is
  that scheduler, stepped per batch with T_max in steps (T_MAX_STEPS below);
- fast tier: modified_resnet has no width option, so the fast proxy divides every stage's channels by
  FAST_WIDTH_DIVISOR here (`table1_runs`); subset, epochs and seeds come from reference/.
"""
import math
from statistics import fmean

import pytest

from harness.claim import (Spec, best, count_parameters, create_model, early, epoch_time, per_arm, relative_epoch_time,
                           steadiness)

T_MAX_STEPS = 200  # CosineAnnealingLR(T_max=200, eta_min=0) stepped per batch: lr -> 0 in 200 steps, back in 200
FAST_WIDTH_DIVISOR = 8

FOUR_LAYERS = {"channels": (32, 64, 128, 256), "blocks": (2, 2, 2, 2)}  # model 5, 2,799,146 parameters
FOUR_LAYERS_3_BLOCKS = {"channels": (32, 64, 128, 256), "blocks": (3, 3, 3, 3)}  # model 8, 4,367,786
FIVE_LAYERS = {"channels": (32, 64, 128, 128, 256), "blocks": (2, 2, 2, 2, 3)}  # models 0-4, 6, 7: 4,587,306
OPTIMIZER_ARGS = {"adam": {}, "sgd": {"momentum": 0.9, "weight_decay": 1e-4}}  # the notebook's (commented) SGD line


def recipe(batch_size: int, optimizer: str, lr: float, layout: dict) -> Spec:
    """One row of Table 1: 70 epochs, the notebook's augmentation (rotation, flip, crop, colour jitter), the
    training set's own mean/std, the per-step cosine."""
    return Spec(
        model="modified_resnet", model_args=layout, epochs=70, batch_size=batch_size,
        optimizer=optimizer, lr=lr, optimizer_args=OPTIMIZER_ARGS[optimizer],
        schedule="cosine_steps", schedule_args={"t_max": T_MAX_STEPS, "eta_min": 0.0},
        augment=("crop", "flip", "rotate", "jitter"), normalize="true",
    )


TABLE1 = {
    "model0": recipe(512, "adam", 0.01, FIVE_LAYERS),
    "model1": recipe(128, "adam", 0.01, FIVE_LAYERS),
    "model2": recipe(512, "sgd", 0.01, FIVE_LAYERS),
    "model3": recipe(256, "adam", 0.01, FIVE_LAYERS),
    "model4": recipe(256, "adam", 0.01, FIVE_LAYERS),  # differs from model 3 only in the test batch size: same run
    "model5": recipe(128, "adam", 0.01, FOUR_LAYERS),
    "model6": recipe(128, "adam", 0.1, FIVE_LAYERS),
    "model7": recipe(128, "adam", 0.001, FIVE_LAYERS),
    "model8": recipe(128, "adam", 0.01, FOUR_LAYERS_3_BLOCKS),
}
EARLY_EPOCHS = 10
PLATEAU_EPOCHS = 20


def table1_runs(claim, model):
    """The runs of one Table 1 row in the claim's tier (fast: every stage narrowed by FAST_WIDTH_DIVISOR)."""
    spec = TABLE1[model]
    if claim.tier == "fast":
        channels = spec.kwargs("model_args")["channels"]
        spec = spec.replace(model_args={"channels": tuple(c // FAST_WIDTH_DIVISOR for c in channels)})
    return claim.runs(spec, label=model)


def runs_of(claim, models, title):
    runs = {m: table1_runs(claim, m) for m in models}
    claim.figure("curves", title, runs)
    claim.note_divergence(runs)
    return runs


# -- Table 1: one claim per accuracy cell ------------------------------------------------------

@pytest.mark.parametrize("model", TABLE1)
@pytest.mark.claim("001/table1/{model}/acc")
def test_table1_accuracy_per_model(claim, model):
    """Table 1: the highest test accuracy (%) of each model after 70 epochs matches the Acc cell."""
    runs = table1_runs(claim, model)
    claim.figure("curves", f"Test accuracy per epoch ({model})", {model: runs})
    claim.check_within(f"{model} best test acc (%)", [100 * a for a in best(runs)], claim.reported)


@pytest.mark.claim("001/headline-91.47")
def test_model5_reaches_91_47_percent(claim):
    """Abstract / Conclusion: "we achieved a prediction accuracy of 91.47% on CIFAR-10 with approximately
    2.8 million trainable parameters" (model 5)."""
    runs = table1_runs(claim, "model5")
    params = count_parameters(create_model("modified_resnet", **FOUR_LAYERS))
    claim.note(f"model 5 as built: {params:,} trainable parameters")
    claim.check_at_least("model5 best test acc", best(runs), claim.reported)


@pytest.mark.claim("001/all-models-above-80")
def test_every_model_reaches_80_percent(claim):
    """Results: "all of our models reached the testing accuracy over 80%, with 7 of the models reaching the
    highest testing accuracy over 90%"."""
    runs = runs_of(claim, TABLE1, "Test accuracy per epoch, all Table 1 models")
    means = {m: fmean(best(rs)) for m, rs in runs.items()}
    claim.note("best test accuracy per model: " + ", ".join(f"{m}: {v:.4f}" for m, v in means.items())
               + f"; {sum(v > 0.90 for v in means.values())} of 9 above 90% (reported: 7)")
    lowest = min(means, key=means.get)
    claim.check_at_least(f"lowest model ({lowest}) best test acc", best(runs[lowest]), claim.reported)


@pytest.mark.claim("001/seven-models-above-90")
def test_seven_models_reach_90_percent(claim):
    """Results: "... with 7 of the models reaching the highest testing accuracy over 90%": the number of Table 1 rows
    whose best test accuracy (mean over seeds) is above 90% (models 3 and 4, one run, count as the table lists them)."""
    runs = runs_of(claim, TABLE1, "Test accuracy per epoch, all Table 1 models")
    above = [m for m, rs in runs.items() if fmean(best(rs)) > 0.90]
    claim.note(f"rows above 90%: {', '.join(above) or 'none'}")
    claim.check_within("Table 1 rows with best test accuracy above 90%", len(above), claim.reported)


@pytest.mark.claim("001/run-times-all-close")
def test_every_model_trains_in_about_the_same_time(claim):
    """Results: "The total running times of each model are all very close": every model's seconds per epoch relative
    to model 5's (all rows train 70 epochs) within the tier's band of every other's, on a GPU of its own."""
    models = [m for m in TABLE1 if m != "model4"]  # model 4 is model 3's run
    runs = runs_of(claim, models, "Test accuracy per epoch, Table 1 models")
    claim.skip_unless_timeable(runs, gpu_only=True)
    base = epoch_time(runs["model5"])
    ratios = {m: [t / b for t, b in zip(epoch_time(rs), base)] for m, rs in runs.items()}
    claim.note("GPUs: " + ", ".join(sorted({str(r.environment.get("gpu")) for rs in runs.values() for r in rs})))
    claim.check_all_similar(ratios, metric="seconds per epoch / model 5's seconds per epoch")


@pytest.mark.claim("001/trial-about-55-minutes")
def test_a_trial_takes_about_55_minutes_on_colab(claim):
    """Results: "In our testing environment (CoLab), the total cost of time for each trial is about 55min"
    (an absolute time on the report's unnamed Colab GPU)."""


@pytest.mark.claim("001/preprocessing-speeds-convergence")
def test_preprocessing_was_chosen_for_faster_convergence(claim):
    """Overview: normalization and data augmentation were used "to enhance performance and achieve faster
    convergence" (the report trains no model without them)."""


@pytest.mark.claim("001/fewer-parameters-keep-capability")
def test_modified_blocks_cut_parameters_without_losing_much(claim):
    """Overview: the modified residual block gives "a significant reduction in the number of parameters without
    sacrificing much of the model's capability" (against a ResNet the report neither names nor trains)."""


# -- Conclusions ----------------------------------------------------------------------------------

@pytest.mark.claim("001/model5-best")
def test_model5_is_the_best_of_the_nine(claim):
    """Conclusion: "the best model is Model 5 with training batch size of 128, Adam optimizer, learning rate
    of 0.01, four residual layers with two residual blocks each layer"."""
    runs = runs_of(claim, TABLE1, "Test accuracy per epoch, all Table 1 models")
    claim.check_ranks_first("model5", per_arm(best, runs), metric="best test accuracy")


@pytest.mark.claim("001/adam-beats-sgd")
def test_adam_beats_sgd(claim):
    """Results: "The comparison of Model 0 and Model 2 (the only difference between these two models is the
    optimizer) shows that Adam is a better optimizer instead of SGD giving better accuracy of 91.28% instead
    of 83.25%." (Both at batch 512; the next sentence's "we used SGD for the rest" contradicts Table 1,
    which uses Adam for every other model.)"""
    runs = runs_of(claim, ("model0", "model2"), "Test accuracy per epoch, model 0 (Adam) vs model 2 (SGD)")
    claim.check_paired_better("model0", best(runs["model0"]), "model2", best(runs["model2"]),
                              metric="best test accuracy")


LR = {"model5": "lr 0.01", "model6": "lr 0.1", "model7": "lr 0.001"}


def _lr_runs(claim, *models):
    runs = runs_of(claim, models, "Test accuracy per epoch, " + " vs ".join(f"{m} ({LR[m]})" for m in models))
    if "model5" in models:
        claim.note("Table 1 gives model 5 four residual layers and models 6 and 7 five: the text's 'all other "
                   "parameters kept the same' does not hold, and the comparison is mirrored as the text makes it")
    return runs


@pytest.mark.claim("001/lr-0.1-below-0.01")
def test_learning_rate_0_1_trails_0_01(claim):
    """Results: "Model 5, 6 and 7 show the impact of learning rate ... The Model 6 shows that a learning rate of
    0.1 is too slow for our scenario": model 6 (lr 0.1) ends below model 5 (lr 0.01)."""
    runs = _lr_runs(claim, "model5", "model6")
    claim.check_paired_better("model5", best(runs["model5"]), "model6", best(runs["model6"]),
                              metric="best test accuracy")


@pytest.mark.claim("001/lr-0.1-below-0.001")
def test_learning_rate_0_1_trails_0_001(claim):
    """Results: "a learning rate of 0.1 is too slow for our scenario while Model 5 and Model 7 show competitive
    learning progress": model 6 (lr 0.1) ends below model 7 (lr 0.001)."""
    runs = _lr_runs(claim, "model7", "model6")
    claim.check_paired_better("model7", best(runs["model7"]), "model6", best(runs["model6"]),
                              metric="best test accuracy")


@pytest.mark.claim("001/lr-0.1-learns-slower")
def test_learning_rate_0_1_learns_slower_than_0_01_and_0_001(claim):
    """Results: "The Model 6 shows that a learning rate of 0.1 is too slow for our scenario while Model 5 and Model 7
    show competitive learning progress": model 6's mean test accuracy over the first epochs (learning speed, as for
    models 5 and 7) is below both others'; the slower of models 5 and 7 is checked against it."""
    runs = _lr_runs(claim, "model5", "model7", "model6")
    speed = per_arm(early, runs, EARLY_EPOCHS)
    slower = min(("model5", "model7"), key=lambda m: fmean(speed[m]))
    claim.check_ordered([slower, "model6"], speed, metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("001/lr-0.01-learns-faster-than-0.001")
def test_learning_rate_0_01_learns_faster_than_0_001(claim):
    """Results: "Model 5 and Model 7 show competitive learning progress with Model 5 has a slightly faster
    learning progress" (mean test accuracy over the first epochs)."""
    runs = _lr_runs(claim, "model5", "model7")
    claim.check_paired_better("model5", early(runs["model5"], EARLY_EPOCHS),
                              "model7", early(runs["model7"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("001/lr-0.01-beats-0.001-final")
def test_learning_rate_0_01_ends_above_0_001(claim):
    """Results: "... and a slightly better final learning accuracy" (model 5, 91.47%, over model 7, 91.14%)."""
    runs = _lr_runs(claim, "model5", "model7")
    claim.check_paired_better("model5", best(runs["model5"]), "model7", best(runs["model7"]),
                              metric="best test accuracy")


@pytest.mark.claim("001/five-layers-no-gain")
def test_a_fifth_residual_layer_does_not_raise_accuracy(claim):
    """Results: "Model 1 contains one more layer with 3 residual blocks than Model 5 ... but did not yield a
    higher accuracy": model 1's accuracy is not above model 5's (seed-paired)."""
    runs = runs_of(claim, ("model5", "model1"), "Test accuracy per epoch, model 5 (4 layers) vs model 1 (5 layers)")
    diffs = [a - b for a, b in zip(best(runs["model5"]), best(runs["model1"]))]
    claim.note("model 5 - model 1 best test accuracy per seed: " + ", ".join(f"{d:+.4f}" for d in diffs))
    claim.check_paired_at_least("model5 - model1 best test acc (paired mean)", "model5", best(runs["model5"]), "model1",
                                best(runs["model1"]), "best test accuracy", 0.0)


@pytest.mark.claim("001/three-blocks-no-gain")
def test_three_blocks_per_layer_do_not_raise_accuracy(claim):
    """Results: "Model 8 contains three residual blocks each residual layer ... but did not improve the
    overall performance": model 8's accuracy is not above model 5's (seed-paired)."""
    runs = runs_of(claim, ("model5", "model8"), "Test accuracy per epoch, model 5 (2 blocks) vs model 8 (3 blocks)")
    diffs = [a - b for a, b in zip(best(runs["model5"]), best(runs["model8"]))]
    claim.note("model 5 - model 8 best test accuracy per seed: " + ", ".join(f"{d:+.4f}" for d in diffs))
    claim.check_paired_at_least("model5 - model8 best test acc (paired mean)", "model5", best(runs["model5"]), "model8",
                                best(runs["model8"]), "best test accuracy", 0.0)


@pytest.mark.parametrize("model", ("model1", "model8"))
@pytest.mark.claim("001/params-ratio/{model}")
def test_extra_parameters_over_model5(claim, model):
    """Results: model 1 has "60% more trainable parameters than Model 5"; model 8's deeper blocks give "a
    near 60% increase in the total number of trainable parameters"."""
    built = {m: count_parameters(create_model("modified_resnet", **TABLE1[m].kwargs("model_args")))
             for m in ("model5", model)}
    claim.note(f"built: model 5 {built['model5']:,}, {model} {built[model]:,} parameters")
    claim.check_within(f"{model} / model5 - 1", built[model] / built["model5"] - 1, claim.reported)


@pytest.mark.claim("001/batch128-reaches-80-by-epoch-10")
def test_batch_128_models_reach_80_percent_around_epoch_10(claim):
    """Results: "The four models with this batch size [128: models 1, 5, 7, 8] all reached 80% around 10
    epochs" (the first epoch with test accuracy >= 80%; the model farthest from epoch 10 is checked)."""
    runs = runs_of(claim, ("model1", "model5", "model7", "model8"), "Test accuracy per epoch, batch-128 models")
    first = {}
    for m, rs in runs.items():
        epochs = [next((i + 1 for i, a in enumerate(r.curves["test_acc"]) if a >= 0.80), math.inf) for r in rs]
        first[m] = fmean(epochs)
    claim.note("first epoch at >= 80% test accuracy (mean over seeds): "
               + ", ".join(f"{m}: {e:.1f}" for m, e in first.items()))
    farthest = max(first, key=lambda m: abs(first[m] - claim.reported))
    claim.check_within(f"{farthest}: first epoch at 80%", first[farthest], claim.reported)


def batch_runs(claim):
    """The batch sizes with everything else equal (Adam, lr 0.01, five layers): models 1, 3 and 0."""
    runs = runs_of(claim, ("model1", "model3", "model0"), "Test accuracy per epoch, batch 128 / 256 / 512")
    return {"batch 128": runs["model1"], "batch 256": runs["model3"], "batch 512": runs["model0"]}


@pytest.mark.claim("001/batch128-smoother-plateau")
def test_batch_128_gives_a_smoother_ending_plateau(claim):
    """Results: "by keeping the testing batch size the same, a 128 training batch size overall results in a
    smoother learning curve and more stable ending plateau after 70 epochs" (Adam, lr 0.01, five layers:
    model 1 at batch 128 against model 3 at 256 and model 0 at 512)."""
    claim.check_ranks_first("batch 128", per_arm(steadiness, batch_runs(claim), slice(-PLATEAU_EPOCHS, None)),
                            metric=f"minus mean fall of test accuracy per epoch, last {PLATEAU_EPOCHS} epochs")


@pytest.mark.claim("001/batch128-smoother-curve")
def test_batch_128_gives_a_smoother_learning_curve(claim):
    """Results: a 128 training batch size "results in a smoother learning curve": the steadiest test-accuracy curve
    over all 70 epochs (falls between epochs only; rises are learning), against batch 256 and 512."""
    claim.check_ranks_first("batch 128", per_arm(steadiness, batch_runs(claim)),
                            metric="minus mean fall of test accuracy per epoch, all epochs")


@pytest.mark.claim("001/batch128-not-slower")
def test_batch_128_does_not_slow_learning_down(claim):
    """Results: "This batch size is considered optimal since it does not significantly slow down the learning
    process": batch 128's mean test accuracy over the first epochs is at most the tolerance behind the faster of
    batch 256 and 512 (seed-paired, one-sided)."""
    speed = per_arm(early, batch_runs(claim), EARLY_EPOCHS)
    faster = max(("batch 256", "batch 512"), key=lambda k: fmean(speed[k]))
    diffs = [a - b for a, b in zip(speed["batch 128"], speed[faster])]
    claim.note(f"batch 128 - {faster}, mean test accuracy over the first {EARLY_EPOCHS} epochs per seed: "
               + ", ".join(f"{d:+.4f}" for d in diffs))
    claim.check_at_least(f"batch 128 - {faster} (paired mean)", diffs, 0.0)


@pytest.mark.claim("001/kernel5-early-study")
def test_kernel_5_raised_early_accuracy_from_40_to_60(claim):
    """Methodology: "Increase the ModifiedResNet kernel size from 3 to 5 improved the pace of learning process
    as well as the highest accuracy from 40% to 60% in our early stage study"."""

# -- Further statements of the Results and Methodology --------------------------------------------

@pytest.mark.claim("001/five-layers-learn-slower")
def test_a_fifth_residual_layer_learns_more_slowly(claim):
    """Results: Model 1 (one more residual layer) "did not yield a higher accuracy and a slightly slower learning
    speed": model 5 learns faster than model 1 (mean test accuracy over the first epochs, seed-paired)."""
    runs = runs_of(claim, ("model5", "model1"), "Test accuracy per epoch, model 5 (4 layers) vs model 1 (5 layers)")
    claim.check_paired_better("model5", early(runs["model5"], EARLY_EPOCHS), "model1", early(runs["model1"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("001/model5-above-model8")
def test_model5_ends_above_model8(claim):
    """Table 1 and Conclusion: model 5 (91.47%) above model 8 (91.24%), the three-block variant the Conclusion
    ranks below it (seed-paired best test accuracy)."""
    runs = runs_of(claim, ("model5", "model8"), "Test accuracy per epoch, model 5 (2 blocks) vs model 8 (3 blocks)")
    claim.check_paired_better("model5", best(runs["model5"]), "model8", best(runs["model8"]), metric="best test accuracy")


def late_gain(run):
    """How much the best test accuracy still rose in the last PLATEAU_EPOCHS // 2 epochs (0 once on a plateau)."""
    accs = run.curves["test_acc"]
    tail = PLATEAU_EPOCHS // 2
    return max(accs[-tail:]) - max(accs[:-tail])


@pytest.mark.claim("001/plateau-within-70-epochs")
def test_every_model_reaches_its_plateau_within_70_epochs(claim):
    """Methodology, Training Process: "All of our training and testing cycles reached plateaus within 70 epochs":
    in the last 10 epochs no model's best test accuracy rises by more than the tolerance (the model that gains most
    is checked)."""
    runs = runs_of(claim, TABLE1, "Test accuracy per epoch, all Table 1 models")
    gains = {m: [late_gain(r) for r in rs] for m, rs in runs.items()}
    claim.note("rise of the best test accuracy in the last 10 epochs, mean over seeds: "
               + ", ".join(f"{m}: {fmean(v):+.4f}" for m, v in gains.items()))
    worst = max(gains, key=lambda m: fmean(gains[m]))
    claim.check_at_least(f"{worst}: minus the rise of its best test accuracy in the last 10 epochs",
                         [-g for g in gains[worst]], 0.0)


WIDER = {"every stage x1.5": (48, 96, 192, 384), "last stage 256 -> 384": (32, 64, 128, 384)}


@pytest.mark.claim("001/wider-channels-over-5m")
def test_wider_block_channels_exceed_5_million_parameters(claim):
    """Results: "When trying to increase the output channel numbers in the ModifiedResidualBlock, we figured
    out that it could easily expand the trainable parameters over 5 million": model 5's layout with every stage
    widened by half (48-96-192-384) counts more than 5,000,000 parameters."""
    counts = {k: count_parameters(create_model("modified_resnet", channels=ch, blocks=FOUR_LAYERS["blocks"]))
              for k, ch in WIDER.items()}
    claim.note("model 5's layout widened: " + ", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    claim.check_at_least("model 5 with every stage x1.5: trainable parameters", counts["every stage x1.5"],
                         claim.reported)


@pytest.mark.claim("001/rest-trained-with-sgd")
def test_the_rest_of_the_training_used_sgd(claim):
    """Results: "shows that Adam is a better optimizer instead of SGD ... Therefore, we used SGD for the rest of the
    training": the models after model 2 in Table 1 that use SGD (the sentence says all six)."""
    later = [m for m in TABLE1 if int(m.removeprefix("model")) > 2]
    sgd = [m for m in later if TABLE1[m].optimizer == "sgd"]
    claim.note("optimizer per later model, as Table 1 lists them: "
               + ", ".join(f"{m}: {TABLE1[m].optimizer}" for m in later))
    claim.check_within("later Table 1 models trained with SGD", len(sgd), len(later))


# -- Explanations and conclusions of the Results read on the Table 1 runs --------------------------

@pytest.mark.claim("001/lr-0.1-oscillates")
def test_learning_rate_0_1_oscillates_around_its_optimum(claim):
    """Results: a larger learning rate "may also result in overshooting the optimal solution thus causing oscillations
    around the optimal point": over the ending plateau model 6's (lr 0.1) test accuracy falls back between epochs more
    than both model 5's (lr 0.01) and model 7's (lr 0.001); the less steady of those two is checked against it."""
    runs = _lr_runs(claim, "model5", "model7", "model6")
    steady = per_arm(steadiness, runs, slice(-PLATEAU_EPOCHS, None))
    whole = per_arm(steadiness, runs)
    claim.note("mean fall of test accuracy per epoch (mean over seeds), last "
               f"{PLATEAU_EPOCHS} epochs / all epochs: "
               + ", ".join(f"{m} ({LR[m]}): {-fmean(steady[m]):.4f} / {-fmean(whole[m]):.4f}" for m in runs))
    less_steady = min(("model5", "model7"), key=lambda m: fmean(steady[m]))
    claim.check_ordered([less_steady, "model6"], steady,
                        metric=f"minus mean fall of test accuracy per epoch, last {PLATEAU_EPOCHS} epochs")


@pytest.mark.claim("001/batch128-mechanism")
def test_smaller_batches_update_more_often_with_noisier_gradients(claim):
    """Results: batch 128's smoother curve "could be due to" more frequent weight updates per epoch, and its noisier
    gradient estimates "can sometimes help the model to escape local minima" (an explanation the runs cannot
    separate from the per-step cosine's phase)."""


@pytest.mark.claim("001/model5-saves-compute")
def test_model5_trains_faster_than_model1(claim):
    """Results: "Model 5 is a better model with fewer trainable parameters that could save the computing power": model
    1's seconds per epoch relative to model 5's (same seed) above model 5's own, on a GPU of its own."""
    runs = runs_of(claim, ("model1", "model5"), "Test accuracy per epoch, model 5 (4 layers) vs model 1 (5 layers)")
    claim.skip_unless_timeable(runs, gpu_only=True)
    ratios = per_arm(relative_epoch_time, runs, runs["model5"])
    claim.note("GPUs: " + ", ".join(sorted({str(r.environment.get("gpu")) for rs in runs.values() for r in rs})))
    claim.check_ordered(["model1", "model5"], ratios, metric="seconds per epoch / model 5's seconds per epoch")


@pytest.mark.claim("001/dataset/cifar10-split")
def test_cifar10_official_split_has_50000_training_and_10000_test_images(claim):
    """Methodology, Datasets: the predetermined CIFAR-10 datasets contain "50,000 training images and 10,000 test
    images"."""
    arrays = claim.dataset("cifar10")
    claim.check_within("training images", len(arrays["train"].labels), claim.reported["train"])
    claim.check_within("test images", len(arrays["test"].labels), claim.reported["test"])
