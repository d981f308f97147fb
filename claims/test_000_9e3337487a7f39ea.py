"""Report 000: the data set and base network (Sec. 1.1), the ResNet-18 searches on CIFAR-10 (Sec. 1.2), the model
table (Table 5) and the statements of Secs. 1.4 and 2.3.1 that stay qualitative (the BatchNorm study's checks are in
claims/test_bn_study.py)."""
from statistics import fmean

import pytest
from torch import nn

from harness.claim import (Spec, best, count_parameters, create_model, epoch_time, final_train_acc, mean_acc_drop,
                           per_arm, relative_epoch_time, train_test_gap)

# Sec. 1.2: "initial learning rate 0.01, batch size 128, ReduceLROnPlateau, 25 epochs";
# optimizer, plateau details and augmentation are assumptions recorded in reference/ ("random resized
# cropping" read as the cited kuangliu code's padded random crop, which the reported train accuracies support).
SEARCH = Spec(
    model="resnet18", epochs=25, batch_size=128, lr=0.01,
    optimizer="sgd", optimizer_args={"momentum": 0.9, "weight_decay": 5e-4},
    schedule="plateau", schedule_args={"patience": 5, "min_lr": 1e-6, "monitor": "test_loss"},
    augment=("crop", "flip"), normalize="dataset",
)
LOSSES = ("cross_entropy", "bce", "mse", "huber", "soft_margin")


def loss_runs(claim, loss):
    return claim.runs(SEARCH.replace(loss=loss), label=loss)


@pytest.mark.claim("000/losses-ce-best")
def test_cross_entropy_gives_the_best_test_accuracy_of_five_losses(claim):
    """Table 1: cross-entropy beats BCE, MSE, Huber and SoftMargin on best test accuracy."""
    runs = {loss: loss_runs(claim, loss) for loss in LOSSES}
    claim.figure("curves", "Test accuracy per epoch, one line per loss and seed", runs)
    claim.check_ranks_first("cross_entropy", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.claim("000/table1/{loss}/best-test-acc")
def test_table1_best_test_accuracy_per_loss(claim, loss):
    """Table 1: each loss's best test accuracy after 25 epochs matches the reported cell."""
    runs = loss_runs(claim, loss)
    claim.figure("curves", f"Test accuracy per epoch ({loss})", {loss: runs})
    claim.check_within(f"{loss} best test acc", best(runs), claim.reported)


PARAM_MODELS = {
    "resnet18": ("resnet18", {}),
    "resnet18-dropout": ("resnet18", {"dropout": 0.5}),
    "resnet34": ("resnet34", {}),
    "resnet18-filtermul": ("resnet18", {"width": 2, "stem_channels": 64}),
}


def built_parameters(variant: str) -> int:
    """Trainable parameters of a Table 5 model as the harness builds it (an exact count, no training)."""
    name, kwargs = PARAM_MODELS[variant]
    return count_parameters(create_model(name, **kwargs))


@pytest.mark.parametrize("variant", PARAM_MODELS)
@pytest.mark.claim("000/params/{variant}")
def test_table5_parameter_count(claim, variant):
    """Table 5: the model's parameter count, in millions, as the table rounds it."""
    name, kwargs = PARAM_MODELS[variant]
    built = built_parameters(variant)
    claim.note(f"built {name}({kwargs}): {built:,} parameters")
    claim.check_within("parameters (M)", built / 1e6, claim.reported)


# ---------------------------------------------------------------------------------------------
# Sec. 1.1: the data set and the base network, exact (no training).
# ---------------------------------------------------------------------------------------------

@pytest.mark.claim("000/dataset/cifar10-60k")
def test_cifar10_has_60000_images_50000_for_training(claim):
    """Sec. 1.1: CIFAR-10 has 60000 32x32 colour images in 10 classes, 6000 per class, 50000 for training and
    10000 for testing."""
    arrays = claim.dataset("cifar10")
    labels = [arrays["train"].labels, arrays["test"].labels]
    classes = sorted({int(c) for y in labels for c in y.unique()})
    per_class = sorted(int(sum((y == c).sum() for y in labels)) for c in classes)
    claim.note(f"image shape {tuple(arrays['train'].images.shape[1:])}; per-class counts {per_class}")
    claim.check_within("images", sum(len(y) for y in labels), claim.reported["images"])
    claim.check_within("classes", len(classes), claim.reported["classes"])
    claim.check_within("smallest class", per_class[0], claim.reported["per_class"])
    claim.check_within("largest class", per_class[-1], claim.reported["per_class"])
    claim.check_within("image side (px)", arrays["train"].images.shape[-1], claim.reported["side"])
    claim.check_within("training images", len(arrays["train"].labels), claim.reported["train"])
    claim.check_within("test images", len(arrays["test"].labels), claim.reported["test"])


@pytest.mark.claim("000/model/resnet18-18-layers")
def test_resnet18_has_18_layers_and_a_cifar_stem(claim):
    """Sec. 1.1: ResNet-18 "has 18 layers, including convolutional layers, four residual blocks, and fully connected
    layers", with the initial 7x7 kernel changed to 3x3 and the first max pooling deleted (the weighted layers of the
    main path; the 1x1 projection shortcuts are counted apart, as reference/ reads it)."""
    model = create_model("resnet18")
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    projections = [n for n in convs if ".shortcut." in n]
    fcs = sum(isinstance(m, nn.Linear) for m in model.modules())
    stages = [n for n, m in model.named_children() if isinstance(m, nn.Sequential)]
    stem = next(iter(convs.values()))
    claim.note(f"{len(convs)} Conv2d modules, {len(projections)} of them 1x1 projection shortcuts "
               f"({', '.join(projections)}); {fcs} Linear; stages {', '.join(stages)}")
    claim.check_within("weighted layers (main-path convs + fully connected)", len(convs) - len(projections) + fcs,
                       claim.reported["layers"])
    claim.check_within("residual blocks (stages)", len(stages), claim.reported["residual_blocks"])
    claim.check_within("stem kernel size", stem.kernel_size[0], claim.reported["stem_kernel"])
    claim.check_within("max-pooling layers", sum(isinstance(m, nn.MaxPool2d) for m in model.modules()),
                       claim.reported["max_pools"])


COLUMNS = {"train-acc": final_train_acc, "best-test-acc": best}


def _check_cell(claim, label, runs, column):
    claim.figure("curves", f"{'Train' if column == 'train-acc' else 'Test'} accuracy per epoch ({label})",
                 {label: runs}, metric="train_acc" if column == "train-acc" else "test_acc")
    claim.check_within(f"{label} {column.replace('-', ' ')}", COLUMNS[column](runs), claim.reported)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.claim("000/table1/{loss}/train-acc")
def test_table1_train_accuracy_per_loss(claim, loss):
    """Table 1: each loss's train accuracy after 25 epochs matches the reported cell."""
    _check_cell(claim, loss, loss_runs(claim, loss), "train-acc")


# ---------------------------------------------------------------------------------------------
# Table 2: weight decay (Sec. 1.2.3). SEARCH already carries wd 5e-4, so that row is the baseline run.
# ---------------------------------------------------------------------------------------------
WEIGHT_DECAYS = {"0.01": 1e-2, "0.001": 1e-3, "0.005": 5e-3, "0.0001": 1e-4, "0.0005": 5e-4}


def wd_runs(claim, wd):
    return claim.runs(SEARCH.replace(optimizer_args={"weight_decay": WEIGHT_DECAYS[wd]}), label=f"wd {wd}")


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("wd", WEIGHT_DECAYS)
@pytest.mark.claim("000/table2/{wd}/{column}")
def test_table2_cell_per_weight_decay(claim, wd, column):
    """Table 2: train and best test accuracy after 25 epochs for each weight decay match the cells."""
    _check_cell(claim, f"wd {wd}", wd_runs(claim, wd), column)


@pytest.mark.claim("000/wd-0.0005-best")
def test_weight_decay_5e4_gives_the_best_test_accuracy(claim):
    """Sec. 1.2.3: weight decay 0.0005 achieves the best test accuracy of the five values."""
    runs = {wd: wd_runs(claim, wd) for wd in WEIGHT_DECAYS}
    claim.figure("curves", "Test accuracy per epoch, one line per weight decay", runs)
    claim.check_ranks_first("0.0005", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.claim("000/wd-large-underfits")
def test_larger_weight_decay_underfits(claim):
    """Sec. 1.2.3: the larger weight decays (0.01, 0.001) underfit: train accuracy falls as wd grows past 0.0005."""
    runs = {wd: wd_runs(claim, wd) for wd in ("0.0005", "0.001", "0.01")}
    claim.figure("curves", "Train accuracy per epoch, wd 0.0005 / 0.001 / 0.01", runs, metric="train_acc")
    claim.check_ordered(["0.0005", "0.001", "0.01"], per_arm(final_train_acc, runs),
                        metric="final train accuracy")


@pytest.mark.claim("000/wd-large-unstable")
def test_larger_weight_decay_training_is_not_stable(claim):
    """Sec. 1.2.3: with wd 0.01 and 0.001 "the training process is not stable": both show larger
    epoch-to-epoch falls of test accuracy than wd 0.0005."""
    runs = {wd: wd_runs(claim, wd) for wd in ("0.01", "0.001", "0.0005")}
    claim.figure("curves", "Test accuracy per epoch, wd 0.01 / 0.001 / 0.0005", runs)
    claim.note_divergence(runs)
    drops = per_arm(mean_acc_drop, runs)
    claim.note("mean test-accuracy drop per epoch: " + ", ".join(f"wd {k}: {fmean(v):.4f}" for k, v in drops.items()))
    steadier_large = min(("0.01", "0.001"), key=lambda k: fmean(drops[k]))
    claim.check_ordered([steadier_large, "0.0005"], drops, metric="mean test-accuracy drop per epoch")


@pytest.mark.claim("000/wd-0.0005-smaller-gap")
def test_weight_decay_5e4_has_a_smaller_train_test_gap_than_1e4(claim):
    """Sec. 1.2.3: 0.0005 is preferred over 0.0001 for its smaller gap between train and test accuracy."""
    runs = {wd: wd_runs(claim, wd) for wd in ("0.0001", "0.0005")}
    claim.figure("curves", "Test accuracy per epoch, wd 0.0001 / 0.0005", runs)
    claim.check_paired_better("0.0001", train_test_gap(runs["0.0001"]), "0.0005", train_test_gap(runs["0.0005"]),
                              metric="train accuracy - best test accuracy (larger = wider gap)")


@pytest.mark.claim("000/wd-0.0001-close-to-0.0005")
def test_weight_decay_1e4_is_close_to_5e4(claim):
    """Sec. 1.2.3: "0.0001's performance is close to 0.0005": the seed-paired difference of best test accuracy
    (the reading Table 2 reports, 0.8983 vs 0.8984) stays inside the tier's band (two one-sided tests)."""
    runs = {wd: wd_runs(claim, wd) for wd in ("0.0001", "0.0005")}
    claim.figure("curves", "Test accuracy per epoch, wd 0.0001 / 0.0005", runs)
    claim.check_equivalent("0.0001", best(runs["0.0001"]), "0.0005", best(runs["0.0005"]), "best test accuracy")


# ---------------------------------------------------------------------------------------------
# Table 3: activations (Sec. 1.2.4). ReLU is the baseline run (SEARCH unchanged, so the spec hash matches).
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu")


def activation_runs(claim, act):
    spec = SEARCH if act == "relu" else SEARCH.replace(model_args={"activation_fn": act})
    return claim.runs(spec, label=act)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.claim("000/table3/{act}/{column}")
def test_table3_cell_per_activation(claim, act, column):
    """Table 3: train and best test accuracy after 25 epochs for each activation match the cells."""
    _check_cell(claim, act, activation_runs(claim, act), column)


@pytest.mark.claim("000/activations-gelu-best")
def test_gelu_gives_the_best_test_accuracy_of_four_activations(claim):
    """Sec. 1.2.4: GELU achieves the best test accuracy (ahead of ReLU, Leaky ReLU, ELU)."""
    runs = {act: activation_runs(claim, act) for act in ACTIVATIONS}
    claim.figure("curves", "Test accuracy per epoch, one line per activation", runs)
    claim.check_ranks_first("gelu", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.claim("000/gelu-maintains-sparsity")
def test_gelu_keeps_sparsity(claim):
    """Sec. 1.2.4: GELU "introduces non-linearity to the model while maintaining sparsity, leading to better
    performance" (an explanation; the report measures no activation statistics)."""


@pytest.mark.claim("000/activations-gelu-relu-not-significant")
def test_gelu_and_relu_differ_insignificantly(claim):
    """Sec. 1.2.4: "the difference between GELU and ReLU is not significant": the seed-paired mean
    difference of best test accuracy stays within the tier's band around zero."""
    runs = {act: activation_runs(claim, act) for act in ("gelu", "relu")}
    claim.figure("curves", "Test accuracy per epoch, GELU and ReLU", runs)
    diffs = [g.best_test_acc - r.best_test_acc for g, r in zip(runs["gelu"], runs["relu"])]
    claim.note("GELU - ReLU best test accuracy per seed: " + ", ".join(f"{d:+.4f}" for d in diffs))
    claim.check_equivalent("gelu", best(runs["gelu"]), "relu", best(runs["relu"]), "best test accuracy")


# ---------------------------------------------------------------------------------------------
# Table 4: optimizers (Sec. 1.2.5). SGD is the baseline run; the others get lr 0.01 (the searches'
# initial lr) and the same L2 weight decay, with their PyTorch defaults otherwise.
# ---------------------------------------------------------------------------------------------
OPTIMIZERS = ("sgd", "adagrad", "adadelta", "adam", "adamax")


def optimizer_runs(claim, opt):
    spec = SEARCH if opt == "sgd" else SEARCH.replace(optimizer=opt, optimizer_args=(("weight_decay", 5e-4),))
    return claim.runs(spec, label=opt)


def all_optimizer_runs(claim):
    runs = {opt: optimizer_runs(claim, opt) for opt in OPTIMIZERS}
    claim.figure("curves", "Test accuracy per epoch, one line per optimizer and seed", runs)
    claim.note_divergence(runs)
    return runs


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("opt", OPTIMIZERS)
@pytest.mark.claim("000/table4/{opt}/{column}")
def test_table4_cell_per_optimizer(claim, opt, column):
    """Table 4: train and best test accuracy after 25 epochs for each optimizer match the cells."""
    _check_cell(claim, opt, optimizer_runs(claim, opt), column)


@pytest.mark.claim("000/optimizers-adagrad-then-sgd")
def test_adagrad_is_best_followed_by_sgd(claim):
    """Sec. 1.2.5: Adagrad achieves the best test accuracy, followed by SGD (ahead of Adadelta, Adam, Adamax)."""
    runs = all_optimizer_runs(claim)
    acc = per_arm(best, runs)
    third = max((k for k in acc if k not in ("adagrad", "sgd")), key=lambda k: fmean(acc[k]))
    claim.note("best test accuracy, mean over seeds: " + ", ".join(f"{k}: {fmean(v):.4f}" for k, v in acc.items()))
    claim.check_ordered(["adagrad", "sgd", third], acc, metric="best test accuracy")


@pytest.mark.claim("000/optimizers-adam-worst")
def test_adam_performs_the_worst(claim):
    """Sec. 1.2.5: the Adam optimizer performs the worst of the five."""
    runs = all_optimizer_runs(claim)
    acc = per_arm(best, runs)
    next_worst = min((k for k in acc if k != "adam"), key=lambda k: fmean(acc[k]))
    claim.note("best test accuracy, mean over seeds: " + ", ".join(f"{k}: {fmean(v):.4f}" for k, v in acc.items()))
    claim.check_ordered([next_worst, "adam"], acc, metric="best test accuracy")


@pytest.mark.claim("000/optimizers-adam-unstable")
def test_adam_testing_process_is_not_stable(claim):
    """Sec. 1.2.5: Adam's "testing process is not stable at all": its test accuracy falls between
    epochs more than any other optimizer's (mean drop per epoch, rises counted as 0)."""
    runs = all_optimizer_runs(claim)
    claim.check_ranks_first("adam", per_arm(mean_acc_drop, runs),
                            metric="mean test-accuracy drop per epoch")


# ---------------------------------------------------------------------------------------------
# Table 5 and Secs. 1.2.1 / 1.2.6: 200-epoch runs with the final recipe of Sec. 1.3
# (the search recipe run for 200 epochs).
# ---------------------------------------------------------------------------------------------
FINAL = SEARCH.replace(epochs=200)
TABLE5 = {
    "resnet18": FINAL,
    "resnet18_dropout": FINAL.replace(model_args={"dropout": 0.5}),
    "resnet18_filtermul": FINAL.replace(model_args=PARAM_MODELS["resnet18-filtermul"][1]),  # 44,595,786 = the 44.60M
    "resnet34": FINAL.replace(model="resnet34"),
}


def final_runs(claim, variant):
    return claim.runs(TABLE5[variant], label=variant)


@pytest.mark.parametrize("variant", TABLE5)
@pytest.mark.claim("000/table5/{variant}/test-acc")
def test_table5_test_accuracy(claim, variant):
    """Table 5: test accuracy (%) after 200 epochs (best over the epochs) matches the cell."""
    runs = final_runs(claim, variant)
    claim.figure("curves", f"Test accuracy per epoch ({variant})", {variant: runs})
    claim.check_within(f"{variant} test acc (%)", [100 * a for a in best(runs)], claim.reported)


@pytest.mark.parametrize("variant", TABLE5)
@pytest.mark.claim("000/table5/{variant}/epoch-time")
def test_table5_average_epoch_time(claim, variant):
    """Table 5: average epoch time (s) on the report's V100 (qualitative: hardware-specific)."""
    runs = final_runs(claim, variant)
    claim.skip_unless_timeable({variant: runs})
    claim.check_within(f"{variant} mean epoch time (s)", epoch_time(runs), claim.reported)


@pytest.mark.claim("000/table5-epoch-time-order")
def test_doubled_filters_train_slowest_then_resnet34(claim):
    """Table 5 / Sec. 1.3: per-epoch time grows ResNet18 < ResNet34 < ResNet18_filtermul ("the training time
    is significantly longer" with doubled filters), as ratios to ResNet18 on the same GPU."""
    runs = {v: final_runs(claim, v) for v in ("resnet18", "resnet34", "resnet18_filtermul")}
    claim.skip_unless_timeable(runs, gpu_only=True)
    ratios = per_arm(relative_epoch_time, runs, runs["resnet18"])
    claim.note("GPUs: " + ", ".join(sorted({str(r.environment.get("gpu")) for rs in runs.values() for r in rs})))
    claim.check_ordered(["resnet18_filtermul", "resnet34", "resnet18"], ratios,
                        metric="mean epoch time / ResNet18's mean epoch time")


@pytest.mark.claim("000/resnet34-best")
def test_resnet34_gives_the_best_test_accuracy_of_table5(claim):
    """Sec. 1.3: ResNet-34 achieves the best test accuracy among the four 200-epoch models."""
    runs = {v: final_runs(claim, v) for v in TABLE5}
    claim.figure("curves", "Test accuracy per epoch, Table 5 models", runs)
    claim.check_ranks_first("resnet34", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.claim("000/headline-95.50")
def test_resnet34_reaches_the_headline_95_50(claim):
    """Abstract: "The best test accuracy we achieve on CIFAR-10 is 95.50% by training ResNet-34 for 200 epochs": a
    headline, so one-sided on the best test accuracy over the epochs (the reading of Table 5's accuracy column)."""
    runs = final_runs(claim, "resnet34")
    claim.figure("curves", "Test accuracy per epoch (resnet34)", {"resnet34": runs})
    claim.check_at_least("resnet34 best test acc", best(runs), claim.reported)


@pytest.mark.claim("000/dropout-lowers-test-acc")
def test_dropout_lowers_test_accuracy(claim):
    """Secs. 1.2.6 / 1.3: ResNet-18 with dropout 0.5 has a lower test accuracy than the plain ResNet-18."""
    runs = {v: final_runs(claim, v) for v in ("resnet18", "resnet18_dropout")}
    claim.figure("curves", "Test accuracy per epoch, ResNet-18 with and without dropout", runs)
    claim.check_paired_better("resnet18", best(runs["resnet18"]), "resnet18_dropout", best(runs["resnet18_dropout"]),
                              metric="best test accuracy")


@pytest.mark.claim("000/dropout-reduces-overfitting")
def test_dropout_reduces_overfitting(claim):
    """Sec. 1.2.6: "the overfitting issue is reduced" by dropout: the train-test accuracy gap at the end
    of training is smaller with dropout than without."""
    runs = {v: final_runs(claim, v) for v in ("resnet18", "resnet18_dropout")}
    claim.figure("curves", "Train accuracy per epoch, ResNet-18 with and without dropout", runs, metric="train_acc")
    claim.check_paired_better("resnet18", train_test_gap(runs["resnet18"], "final"),
                              "resnet18_dropout", train_test_gap(runs["resnet18_dropout"], "final"),
                              metric="final train acc - final test acc (larger = more overfitting)")


@pytest.mark.claim("000/filtermul-overfits")
def test_doubled_filters_overfit_obviously(claim):
    """Sec. 1.2.1: with doubled filters "the overfitting issue is obvious": train accuracy ends well above
    test accuracy (by at least the reading's bound)."""
    runs = final_runs(claim, "resnet18_filtermul")
    claim.figure("curves", "Train accuracy per epoch, ResNet-18 with doubled filters", {"filtermul": runs},
                 metric="train_acc")
    claim.check_at_least("final train acc - final test acc", train_test_gap(runs, "final"),
                         claim.reported)


@pytest.mark.claim("000/depth-beats-more-filters")
def test_a_deeper_network_is_at_least_as_accurate_as_doubled_filters(claim):
    """Sec. 1.3: "increasing the number of filters may not be as effective as using a deeper network": ResNet-34 is at
    least as accurate as ResNet-18 with doubled filters (seed-paired, one-sided), with under half their parameters."""
    runs = {v: final_runs(claim, v) for v in ("resnet34", "resnet18_filtermul")}
    claim.figure("curves", "Test accuracy per epoch, ResNet-34 and ResNet-18 with doubled filters", runs)
    params = {v: built_parameters(v.replace("_", "-")) for v in runs}
    claim.note("trainable parameters: " + ", ".join(f"{v}: {n:,}" for v, n in params.items()))
    claim.check_paired_at_least("resnet34 - resnet18_filtermul best test acc (paired mean)",
                                "resnet34", best(runs["resnet34"]),
                                "resnet18_filtermul", best(runs["resnet18_filtermul"]), "best test accuracy", 0.0)


@pytest.mark.claim("000/depth-gain-not-significant")
def test_depth_gain_over_resnet18_is_small(claim):
    """Sec. 1.3: "increasing the depth of the network can improve performance, but the improvement may not be
    significant": ResNet-34's gain over ResNet-18 stays under the tolerance (seed-paired, one-sided upper bound)."""
    runs = {v: final_runs(claim, v) for v in ("resnet18", "resnet34")}
    claim.figure("curves", "Test accuracy per epoch, ResNet-18 and ResNet-34", runs)
    gains = [b - a for a, b in zip(best(runs["resnet18"]), best(runs["resnet34"]))]
    claim.note("ResNet-34 - ResNet-18 best test accuracy per seed: " + ", ".join(f"{g:+.4f}" for g in gains))
    claim.check_paired_at_least("resnet18 - resnet34 best test acc (paired mean)",
                                "resnet18", best(runs["resnet18"]), "resnet34", best(runs["resnet34"]),
                                "best test accuracy", 0.0)


@pytest.mark.claim("000/feature-maps-explanatory")
def test_first_conv_layers_show_explanatory_features(claim):
    """Sec. 1.4, Fig. 11: in the first convolutional layer "the outline of the dog was portrayed very clearly", the
    second's features "a bit fuzzy" but with local features easy to observe (a visual judgement of one photograph)."""


@pytest.mark.claim("000/bn-landscape-more-convex")
def test_bn_loss_landscape_is_more_convex(claim):
    """Sec. 2.3.1, Fig. 13: "the loss landscape of the model with Batch Normalization is smoother and more convex"
    (the convexity half: Figure 13 plots loss against steps, and the runs record no curvature)."""
