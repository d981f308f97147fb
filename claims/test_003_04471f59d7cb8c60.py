"""Report 003, Part 1: CIFAR-10 architectures (Tables 1-2 and their conclusions), the ResNet-18
studies of activation, loss and optimizer (Sec. 1.2) and the WRN-28-10 + Cutout headline (Sec. 1.4).

Elsewhere: the parameter counts of Tables 1-2 (claims/test_model_sizes.py), the BatchNorm study
(claims/test_bn_study.py) and DessiLBI (claims/test_slbi.py).
"""
from statistics import fmean

import pytest

from harness.claim import (Spec, Split, best, early, epoch_time, final_train_acc, final_train_loss, mean_acc_drop,
                           mean_train_acc, mean_train_loss, model_size, per_arm)

# ---------------------------------------------------------------------------------------------
# Sec. 1.1.2: "SGD with a mini-batch size of 128, momentum 0.9, weight decay 5e-4, learning rate
# starting at 0.1 and decreasing by a factor of 0.5 when the test error plateaus, 200 epochs",
# crop (zero-padded 40x40) + flip, normalization. Patience is an assumption (PyTorch's default).
# ---------------------------------------------------------------------------------------------
ARCH = Spec(
    model="resnet18", epochs=200, batch_size=128, lr=0.1,
    optimizer="sgd", optimizer_args={"momentum": 0.9, "weight_decay": 5e-4},
    schedule="plateau", schedule_args={"monitor": "test_acc", "factor": 0.5, "patience": 10},
    augment=("crop", "flip"), normalize="dataset",
)
# label -> (registry name, constructor arguments); Table 1 then Table 2 (rows repeated in Table 2 appear once)
MODELS = {
    "resnet18": ("resnet18", {}),
    "preact_resnet18": ("preact_resnet18", {}),
    "wrn28_10": ("wrn28_10", {"conv_bias": True, "dropout": 0.3}),
    "resnext29_32x4d": ("resnext29_32x4d", {}),
    "densenet121": ("densenet121", {}),
    "dpn26": ("dpn26", {}),
    "dla": ("dla", {}),
    "resnet50": ("resnet50", {}),
    "resnext29_2x32d": ("resnext29_2x32d", {}),
    "resnext29_2x64d": ("resnext29_2x64d", {}),
    "resnext29_8x64d": ("resnext29_8x64d", {}),
    "resnext50_2x40d": ("resnext50_2x40d", {}),
    "resnext50_8x14d": ("resnext50_8x14d", {}),
    "resnext50_32x4d": ("resnext50_32x4d", {}),
}
TABLE1 = ("resnet18", "preact_resnet18", "wrn28_10", "resnext29_32x4d", "densenet121", "dpn26", "dla")
TABLE2 = ("resnet50", "resnext29_2x32d", "resnext29_2x64d", "resnext29_8x64d",
          "resnext50_2x40d", "resnext50_8x14d", "resnext50_32x4d")
# Sec. 1.4: the best model, WRN-28-10 with Cutout (one 16x16 hole), "other preprocessings are just as usual".
BEST = "wrn28_10_cutout"


def arch_spec(label):
    if label == BEST:
        return arch_spec("wrn28_10").replace(augment=("crop", "flip", "cutout"))
    name, kwargs = MODELS[label]
    return ARCH.replace(model=name, model_args=kwargs)


def arch_runs(claim, label):
    return claim.runs(arch_spec(label), label=label)


EARLY_EPOCHS = 20  # the first tenth of the 200 epochs: convergence speed


def early_acc(runs):
    """Mean test accuracy over the first EARLY_EPOCHS epochs, per seed (the area under the early curve)."""
    return early(runs, EARLY_EPOCHS)


def error_pct(runs):
    """Top-1 test error (%) at the best epoch ("the optimal test accuracy of each network"), per seed."""
    return [100 * (1 - a) for a in best(runs)]


# ---------------------------------------------------------------------------------------------
# Sec. 1: the data set, exact (no training).
# ---------------------------------------------------------------------------------------------
BATCH_IMAGES = 10000  # images per python batch file of the CIFAR-10 site


def class_counts(split: Split) -> list[int]:
    """Images per class 0-9."""
    return [int((split.labels == c).sum()) for c in range(10)]


@pytest.mark.claim("003/dataset/cifar10-60k")
def test_cifar10_has_60000_images_and_a_balanced_test_batch(claim):
    """Sec. 1: CIFAR-10 has 60000 32x32 colour images in 10 classes, 6000 per class: 50000 training images (five
    batches of 10000, exactly 5000 per class between them) and one test batch of 10000 with exactly 1000 per class."""
    arrays = claim.dataset("cifar10")
    train, test = arrays["train"], arrays["test"]
    per_class = sorted(a + b for a, b in zip(class_counts(train), class_counts(test)))
    train_per_class, test_per_class = sorted(class_counts(train)), sorted(class_counts(test))
    batches = [class_counts(Split(train.images[i:i + BATCH_IMAGES], train.labels[i:i + BATCH_IMAGES]))
               for i in range(0, len(train), BATCH_IMAGES)]
    claim.note(f"image shape {tuple(train.images.shape[1:])}; training batches of {BATCH_IMAGES} in file order, "
               f"smallest-largest class per batch: " + ", ".join(f"{min(b)}-{max(b)}" for b in batches))
    claim.check_within("images", len(train) + len(test), claim.reported["images"])
    claim.check_within("image side (px)", train.images.shape[-1], claim.reported["side"])
    claim.check_within("training images", len(train), claim.reported["train"])
    claim.check_within("test images", len(test), claim.reported["test"])
    for label, counts, key in (("class", per_class, "per_class"),
                               ("training class", train_per_class, "train_per_class"),
                               ("test class", test_per_class, "test_per_class")):
        claim.check_within(f"smallest {label}", counts[0], claim.reported[key])
        claim.check_within(f"largest {label}", counts[-1], claim.reported[key])


@pytest.mark.parametrize("model", TABLE1)
@pytest.mark.claim("003/table1/{model}/error")
def test_table1_error(claim, model):
    """Table 1: each network's top-1 test error (%) after 200 epochs matches the cell."""
    runs = arch_runs(claim, model)
    claim.figure("curves", f"Test accuracy per epoch ({model})", {model: runs})
    claim.check_within(f"{model} top-1 error (%)", error_pct(runs), claim.reported)


@pytest.mark.parametrize("model", TABLE2)
@pytest.mark.claim("003/table2/{model}/error")
def test_table2_error(claim, model):
    """Table 2: each ablation network's top-1 test error (%) after 200 epochs matches the cell."""
    runs = arch_runs(claim, model)
    claim.figure("curves", f"Test accuracy per epoch ({model})", {model: runs})
    claim.check_within(f"{model} top-1 error (%)", error_pct(runs), claim.reported)


def _paired(claim, better, worse, metric=best, metric_name="best test accuracy"):
    runs = {label: arch_runs(claim, label) for label in (better, worse)}
    claim.figure("curves", f"Test accuracy per epoch, {better} and {worse}", runs)
    claim.check_paired_better(better, metric(runs[better]), worse, metric(runs[worse]), metric=metric_name)


@pytest.mark.parametrize("model", ("wrn28_10", "resnext29_32x4d", "densenet121"))
@pytest.mark.claim("003/beats-resnet18/{model}")
def test_model_beats_resnet18(claim, model):
    """Sec. 1.1.3: taking ResNet-18 as the benchmark, WRN-28-10, ResNeXt-29 and DenseNet-121 achieve lower error."""
    _paired(claim, model, "resnet18")


@pytest.mark.claim("003/densenet121-smaller-than-resnet18")
def test_densenet121_has_fewer_parameters_than_resnet18(claim):
    """Sec. 1.1.1: DenseNet "can be thin and compact ... with smaller parameter size": DenseNet-121 has fewer
    parameters than the ResNet-18 benchmark (Table 1: 6.96M against 11.17M)."""
    params = {label: model_size(*MODELS[label])[0] for label in ("resnet18", "densenet121")}
    claim.note("parameters: " + ", ".join(f"{label} {count:,}" for label, count in params.items()))
    claim.check_at_least("ResNet-18 / DenseNet-121 parameters", params["resnet18"] / params["densenet121"],
                         claim.reported)


@pytest.mark.parametrize("model", ("preact_resnet18", "dpn26", "dla"))
@pytest.mark.claim("003/worse-than-resnet18/{model}")
def test_model_is_worse_than_resnet18(claim, model):
    """Sec. 1.1.3: PreActResNet-18, DPN-26 and DLA "go even worse" than ResNet-18."""
    _paired(claim, "resnet18", model)


@pytest.mark.parametrize("model", ("dpn26", "dla"))
@pytest.mark.claim("003/not-converged/{model}")
def test_dpn_and_dla_have_not_converged_in_200_epochs(claim, model):
    """Sec. 1.1.3: DPN-26 and DLA degrade because "200 epochs is not enough for convergence": read as
    ending the 200 epochs with a higher training loss than ResNet-18 (the benchmark that converged)."""
    runs = {label: arch_runs(claim, label) for label in (model, "resnet18")}
    claim.figure("curves", f"Training loss per epoch, {model} and ResNet-18", runs, metric="train_loss")
    sizes = {label: model_size(*MODELS[label]) for label in runs}
    claim.note("complexity (params, MACs per image): " + ", ".join(
        f"{label}: {p / 1e6:.2f}M, {m / 1e6:.0f}M" for label, (p, m) in sizes.items()))
    claim.check_paired_better(model, final_train_loss(runs[model]), "resnet18", final_train_loss(runs["resnet18"]),
                              metric="training loss of the last epoch (higher = further from convergence)")


@pytest.mark.claim("003/depth-resnet18-beats-resnet50")
def test_deeper_resnet50_is_worse_than_resnet18(claim):
    """Sec. 1.1.4, Depth: ResNet-18 gains higher accuracy than ResNet-50 under 200 epochs."""
    _paired(claim, "resnet18", "resnet50")


@pytest.mark.claim("003/depth-resnet50-converges-slower")
def test_deeper_resnet50_converges_more_slowly(claim):
    """Sec. 1.1.4, Depth: a deeper network is "not always a good idea ... because of the model complexity and converging
    time": ResNet-18 learns faster than ResNet-50 (mean test accuracy over the first epochs)."""
    _paired(claim, "resnet18", "resnet50", metric=early_acc,
            metric_name=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("003/width-convergence-not-slower")
def test_wider_resnext29_does_not_converge_much_more_slowly(claim):
    """Sec. 1.1.4, Width: "a wider network can always achieve better accuracy, for the convergence speed does not slow
    down much": ResNeXt-29 2x64d's mean test accuracy over the first epochs is at most the tolerance below 2x32d's."""
    runs = {label: arch_runs(claim, label) for label in ("resnext29_2x64d", "resnext29_2x32d")}
    claim.figure("curves", "Test accuracy per epoch, resnext29_2x64d and resnext29_2x32d", runs)
    diffs = [a - b for a, b in zip(early_acc(runs["resnext29_2x64d"]), early_acc(runs["resnext29_2x32d"]))]
    claim.check_at_least(f"2x64d - 2x32d mean test accuracy over the first {EARLY_EPOCHS} epochs", diffs, 0.0)


@pytest.mark.claim("003/width-resnext29-2x64d-beats-2x32d")
def test_wider_resnext29_is_better(claim):
    """Sec. 1.1.4, Width: the higher the width, the lower the top-1 error (ResNeXt-29 2x64d vs 2x32d)."""
    _paired(claim, "resnext29_2x64d", "resnext29_2x32d")


@pytest.mark.claim("003/cardinality-resnext29-8x64d-beats-2x64d")
def test_higher_cardinality_resnext29_is_better(claim):
    """Sec. 1.1.4, Cardinality: ResNeXt-29 8x64d achieves higher accuracy than 2x64d."""
    _paired(claim, "resnext29_8x64d", "resnext29_2x64d")


@pytest.mark.claim("003/resnext29-8x64d-highest")
def test_resnext29_8x64d_is_the_most_accurate_of_tables_1_and_2(claim):
    """Sec. 1.1.4: ResNeXt-29 8x64d's 95.81% "is the highest so far" (of every network in Tables 1-2)."""
    runs = {label: arch_runs(claim, label) for label in MODELS}
    claim.check_ranks_first("resnext29_8x64d", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.claim("003/resnext29-8x64d-slowest")
def test_resnext29_8x64d_trains_slowest(claim):
    """Sec. 1.1.4: ResNeXt-29 8x64d's "training process is quite slow due to the large number of parameters
    (89.60M)": its mean epoch time is the longest of the networks in Tables 1-2, on the same GPU."""
    runs = {label: arch_runs(claim, label) for label in MODELS}
    claim.skip_unless_timeable(runs)
    claim.check_ranks_first("resnext29_8x64d", per_arm(epoch_time, runs),
                            metric="mean epoch time (s)")


RESNEXT50_BY_CARDINALITY = ("resnext50_32x4d", "resnext50_8x14d", "resnext50_2x40d", "resnet50")


@pytest.mark.claim("003/cardinality-error-keeps-reducing")
def test_error_falls_as_cardinality_grows_at_preserved_complexity(claim):
    """Sec. 1.1.4, Cardinality vs. Width: "with cardinality increasing from 1 to 32 while keeping approximately
    the same complexity, the test error rate keeps reducing" (ResNet-50 1x64d, ResNeXt-50 2x40d, 8x14d, 32x4d)."""
    runs = {label: arch_runs(claim, label) for label in RESNEXT50_BY_CARDINALITY}
    claim.figure("curves", "Test accuracy per epoch, ResNet-50 and the ResNeXt-50s", runs)
    claim.check_ordered(list(RESNEXT50_BY_CARDINALITY), per_arm(best, runs),
                        metric="best test accuracy")


@pytest.mark.claim("003/resnext50-32x4d-vs-resnet50-gap")
def test_resnext50_32x4d_error_is_083_below_resnet50(claim):
    """Sec. 1.1.4: ResNeXt-50 32x4d has a test error of 4.54%, 0.83% lower than the ResNet-50 baseline's 5.37%."""
    runs = {label: arch_runs(claim, label) for label in ("resnet50", "resnext50_32x4d")}
    gaps = [100 * (x.best_test_acc - r.best_test_acc) for r, x in zip(runs["resnet50"], runs["resnext50_32x4d"])]
    claim.check_within("ResNet-50 error - ResNeXt-50 32x4d error (points)", gaps, claim.reported)


@pytest.mark.claim("003/resnext-beats-resnet-same-complexity")
def test_resnext50_beats_resnet50_at_the_same_complexity(claim):
    """Sec. 1.1.1: "With roughly the same complexity, ResNeXt can achieve higher accuracy than ResNet"
    (ResNeXt-50 32x4d, 22.98M, against ResNet-50, 23.52M)."""
    _paired(claim, "resnext50_32x4d", "resnet50")


@pytest.mark.claim("003/resnext50-32x4d-lower-train-error")
def test_resnext50_32x4d_has_lower_training_error_than_resnet50(claim):
    """Sec. 1.1.4: the 32x4d version also has a much lower training error than the counterpart (ResNet-50)
    to the same period."""
    runs = {label: arch_runs(claim, label) for label in ("resnext50_32x4d", "resnet50")}
    claim.figure("curves", "Train accuracy per epoch, ResNeXt-50 32x4d and ResNet-50", runs, metric="train_acc")
    claim.check_paired_better("resnext50_32x4d", mean_train_acc(runs["resnext50_32x4d"]),
                              "resnet50", mean_train_acc(runs["resnet50"]),
                              metric="train accuracy averaged over the epochs")


@pytest.mark.claim("003/cardinality-beats-width")
def test_increasing_cardinality_beats_going_wider(claim):
    """Sec. 1.1.4: "increasing cardinality shows better results than going wider": at preserved complexity
    ResNeXt-50 32x4d (many narrow groups) beats ResNeXt-50 2x40d (two wide groups)."""
    _paired(claim, "resnext50_32x4d", "resnext50_2x40d")


@pytest.mark.claim("003/cardinality-more-effective-than-depth-width")
def test_cardinality_is_the_most_effective_dimension(claim):
    """Sec. 1.1.1: increasing cardinality is a more effective way of gaining accuracy than going deeper or wider:
    at ~23M parameters the highest-cardinality ResNeXt-50 32x4d ranks first among ResNet-50 and the ResNeXt-50s."""
    runs = {label: arch_runs(claim, label) for label in RESNEXT50_BY_CARDINALITY}
    claim.check_ranks_first("resnext50_32x4d", per_arm(best, runs),
                            metric="best test accuracy")


@pytest.mark.claim("003/gradcam-resnet18")
def test_gradcam_maps_of_resnet18(claim):
    """Sec. 1.3, Figure 13: "The following figure shows the results of Grad-CAM for ResNet-18" (maps without a
    statement about them)."""


@pytest.mark.claim("003/best-model/wrn28_10-cutout-acc")
def test_best_model_wrn28_10_with_cutout_reaches_9665(claim):
    """Abstract and Sec. 1.4: WRN-28-10 with Cutout reaches 96.65% test accuracy in 200 epochs (a headline:
    one-sided, a better result does not contradict it)."""
    runs = arch_runs(claim, BEST)
    claim.figure("curves", "Test accuracy per epoch, WRN-28-10 + Cutout", {BEST: runs})
    claim.check_at_least("WRN-28-10 + Cutout best test accuracy", best(runs), claim.reported)


@pytest.mark.claim("003/best-model-ranks-first")
def test_wrn28_10_with_cutout_is_the_best_model(claim):
    """Sec. 1.4: "Our best model is WideResNet-28-10 with extra Cutout": it beats every network of Tables 1-2."""
    runs = {label: arch_runs(claim, label) for label in (*MODELS, BEST)}
    claim.check_ranks_first(BEST, per_arm(best, runs), metric="best test accuracy")


@pytest.mark.claim("003/cutout-improves-wrn")
def test_cutout_improves_wrn28_10(claim):
    """Sec. 1.4: Cutout's "powerful effect": WRN-28-10 with Cutout beats the same network without it (Table 1)."""
    _paired(claim, BEST, "wrn28_10")


@pytest.mark.claim("003/cutout-salient-in-training")
def test_cutout_effect_is_salient_in_the_training_process(claim):
    """Sec. 1.4, Figure 14: the effect of Cutout "reflects in the training process saliently compared with any
    other techniques" (figure only)."""


# ---------------------------------------------------------------------------------------------
# Sec. 1.2: ResNet-18 with ReLU and CrossEntropy, Adam lr 0.001, reduce-on-plateau, 50 epochs,
# preprocessing as Sec. 1.1. The same Spec as ADAM_003 in claims/test_slbi.py, so the baseline
# run is shared. One thing changes per study.
# ---------------------------------------------------------------------------------------------
STUDY = Spec(model="resnet18", dataset="cifar10", loss="cross_entropy", batch_size=128, lr=1e-3, epochs=50,
             schedule="plateau", schedule_args={"monitor": "test_loss", "factor": 0.1, "patience": 10},
             augment=("crop", "flip"), optimizer="adam")

ACTIVATIONS = ("relu", "sigmoid", "leaky_relu", "elu", "gelu")
RELU_FAMILY = ("relu", "leaky_relu", "elu", "gelu")
LOSSES = ("cross_entropy", "bce", "mse", "huber")
# Optimizers other than Adam: the lr each is usually run with (assumptions recorded in reference/).
OPTIMIZERS = {
    "adam": STUDY,
    "sgd": STUDY.replace(optimizer="sgd", lr=0.1, optimizer_args={"momentum": 0.9, "weight_decay": 5e-4}),
    "adagrad": STUDY.replace(optimizer="adagrad", lr=0.01),
    "adadelta": STUDY.replace(optimizer="adadelta", lr=1.0),
}


def activation_runs(claim, labels=ACTIVATIONS):
    runs = {a: claim.runs(STUDY if a == "relu" else STUDY.replace(model_args={"activation_fn": a}), label=a)
            for a in labels}
    claim.figure("curves", "Test accuracy per epoch, one line per activation and seed", runs)
    return runs


def loss_runs(claim):
    runs = {loss: claim.runs(STUDY.replace(loss=loss), label=loss) for loss in LOSSES}
    claim.figure("curves", "Test accuracy per epoch, one line per loss and seed", runs)
    return runs


def optimizer_runs(claim):
    runs = {opt: claim.runs(spec, label=opt) for opt, spec in OPTIMIZERS.items()}
    claim.figure("curves", "Test accuracy per epoch, one line per optimizer and seed", runs)
    claim.note_divergence(runs)
    return runs


def _summary(claim, values, what):
    claim.note(f"{what}, mean over seeds: " + ", ".join(f"{k}: {fmean(v):.4f}" for k, v in values.items()))


def check_lowest(claim, lowest, values, metric):
    """`lowest` is strictly below every other label by the tier's margin (checked against the next lowest)."""
    _summary(claim, values, metric)
    next_lowest = min((k for k in values if k != lowest), key=lambda k: fmean(values[k]))
    claim.check_ordered([next_lowest, lowest], values, metric=metric)


def check_highest(claim, highest, values, metric):
    """`highest` is strictly above every other label by the tier's margin (checked against the next highest)."""
    _summary(claim, values, metric)
    next_highest = max((k for k in values if k != highest), key=lambda k: fmean(values[k]))
    claim.check_ordered([highest, next_highest], values, metric=metric)


def check_similar(claim, values, metric):
    """Every pair of labels equivalent within the tier's abs band (two one-sided tests per pair)."""
    _summary(claim, values, metric)
    claim.check_all_similar(values, metric)


@pytest.mark.claim("003/activations-sigmoid-worst")
def test_sigmoid_is_out_of_place(claim):
    """Sec. 1.2.2: "Sigmoid activation layer looks out of place": its best test accuracy is below every
    other activation's by a clear margin."""
    runs = activation_runs(claim)
    check_lowest(claim, "sigmoid", per_arm(best, runs), "best test accuracy")


@pytest.mark.claim("003/activations-relu-family-similar")
def test_relu_family_is_united(claim):
    """Sec. 1.2.2: "the others are united in convergent behavior": ReLU, Leaky ReLU, ELU and GELU reach
    best test accuracies within the tier's band of each other."""
    runs = activation_runs(claim, RELU_FAMILY)
    check_similar(claim, per_arm(best, runs), "best test accuracy")


@pytest.mark.claim("003/activations-leaky-relu-fastest")
def test_leaky_relu_converges_fastest(claim):
    """Sec. 1.2.2: "Among ReLU family, Leaky ReLU is the relatively fastest one": the lowest training loss
    averaged over the epochs."""
    runs = activation_runs(claim, RELU_FAMILY)
    check_lowest(claim, "leaky_relu", per_arm(mean_train_loss, runs), "mean training loss over epochs (lower = faster)")


@pytest.mark.claim("003/activations-elu-slowest")
def test_elu_converges_slowest(claim):
    """Sec. 1.2.2: "... and ELU is on the contrary": the highest training loss averaged over the epochs
    among the ReLU family."""
    runs = activation_runs(claim, RELU_FAMILY)
    check_highest(claim, "elu", per_arm(mean_train_loss, runs), "mean training loss over epochs (higher = slower)")


@pytest.mark.claim("003/activations-gelu-most-stable")
def test_gelu_test_accuracy_is_the_most_stable(claim):
    """Sec. 1.2.2: "from test accuracy perspective, GELU is the most stable one with visually minimum
    volatility" (within the ReLU family): the smallest mean epoch-to-epoch fall of test accuracy."""
    runs = activation_runs(claim, RELU_FAMILY)
    check_lowest(claim, "gelu", per_arm(mean_acc_drop, runs), "mean test-accuracy drop per epoch (lower = steadier)")


@pytest.mark.claim("003/losses-ranking-test")
def test_loss_ranking_on_test_accuracy(claim):
    """Sec. 1.2.3: "the classification capability ranking should be: CrossEntropy > BCELoss > MSELoss >
    HuberLoss" (test panel: best test accuracy)."""
    runs = loss_runs(claim)
    claim.check_ordered(list(LOSSES), per_arm(best, runs), metric="best test accuracy")


@pytest.mark.claim("003/losses-ranking-train")
def test_loss_ranking_on_train_accuracy(claim):
    """Sec. 1.2.3: the stratification "is quite significant in each subfigure": the same ranking in the
    training panel (final train accuracy; the losses' own values are not comparable across criteria)."""
    runs = loss_runs(claim)
    claim.check_ordered(list(LOSSES), per_arm(final_train_acc, runs),
                        metric="final train accuracy")


@pytest.mark.claim("003/optimizers-adagrad-worst")
def test_adagrad_is_worst_on_test_accuracy(claim):
    """Sec. 1.2.4: "Adagrad performs worse in terms of every subfigure" (test panel: best test accuracy)."""
    runs = optimizer_runs(claim)
    check_lowest(claim, "adagrad", per_arm(best, runs), "best test accuracy")


@pytest.mark.claim("003/optimizers-adagrad-worst-train")
def test_adagrad_is_worst_on_train_accuracy(claim):
    """Sec. 1.2.4: "Adagrad performs worse in terms of every subfigure" (training panel: final train accuracy)."""
    runs = optimizer_runs(claim)
    check_lowest(claim, "adagrad", per_arm(final_train_acc, runs),
                "final train accuracy")


@pytest.mark.claim("003/optimizers-others-same-level")
def test_sgd_adadelta_adam_are_on_the_same_level(claim):
    """Sec. 1.2.4: "... while others are on the same level": SGD, Adadelta and Adam reach best test
    accuracies within the tier's band of each other."""
    runs = optimizer_runs(claim)
    check_similar(claim, per_arm(best, {k: rs for k, rs in runs.items() if k != "adagrad"}), "best test accuracy")
