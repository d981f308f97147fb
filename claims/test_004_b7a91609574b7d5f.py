"""Report 004: ResNet-18 on CIFAR-10 (60k images split 10:1:1), ablations of model and training factors.

Every comparison starts from one baseline recipe (BASE) and changes one factor, so the
baseline run is shared by the BN, shortcut, activation, loss, learning-rate and batch-size
claims (identical specs hit the run cache). What the report leaves open is recorded in
reference/004_b7a91609574b7d5f.yaml under recipe.assumed.

Readings used by several claims:
- accuracy: best test accuracy over the epochs (kuangliu's main.py keeps the best epoch);
- convergence speed ("faster", "higher learning speed"): mean test accuracy over the first
  EARLY_EPOCHS epochs, i.e. the area under the early test-accuracy curve (a fast-tier run
  is shorter, so all of its epochs count);
- stability ("more stable"): the mean fall of test accuracy between consecutive epochs over
  the first STABLE_EPOCHS epochs, while the cosine learning rate is still high (harness/claim/readings.py
  `steadiness`: rises are learning, not instability, and count 0).
"""
import statistics

import pytest
import torch
import torch.nn as nn

from harness.claim import (Spec, Split, best, create_model, early, layer_input_change, per_arm, pooled_split,
                           steadiness)

# Sec. 3: ResNet-18, 200 epochs, the pooled 10:1:1 split; the optimizer section says SGD,
# CrossEntropyLoss, ReLU, Channel1=64. lr, momentum, wd, schedule and augmentation are the
# cited kuangliu recipe (assumptions in reference/).
BASE = Spec(
    model="resnet18", epochs=200, batch_size=128, lr=0.1,
    optimizer="sgd", optimizer_args={"momentum": 0.9, "weight_decay": 5e-4},
    schedule="cosine", augment=("crop", "flip"), normalize="dataset", split="pool-10:1:1",
)
NO_BN = BASE.replace(model_args={"batchnorm": False})
NO_SHORTCUT = BASE.replace(model_args={"shortcut": False})
NO_MOMENTUM = BASE.replace(optimizer_args={"momentum": 0.0})
FIXED_LR = BASE.replace(schedule="constant")
ACTIVATIONS = {"relu": BASE, "tanh": BASE.replace(model_args={"activation_fn": "tanh"}),
               "sigmoid": BASE.replace(model_args={"activation_fn": "sigmoid"})}
LOSSES = {"cross_entropy": BASE, "multi_margin": BASE.replace(loss="multi_margin")}
BATCH_SIZES = {64: BASE.replace(batch_size=64), 128: BASE, 256: BASE.replace(batch_size=256)}

EARLY_EPOCHS = 10
STABLE_EPOCHS = 50
STABLE = slice(None, STABLE_EPOCHS)


def check_steadier(claim, runs, steadier, other):
    """`steadier`'s test accuracy falls less between epochs over the first STABLE_EPOCHS epochs, seed-paired."""
    claim.check_paired_better(steadier, steadiness(runs[steadier], STABLE), other, steadiness(runs[other], STABLE),
                              metric=f"minus mean fall of test accuracy per epoch, epochs 1-{STABLE_EPOCHS}")


# -- Sec. 1: data and split ----------------------------------------------------------

@pytest.mark.claim("004/dataset/60k-images")
def test_cifar10_has_60000_images_6000_per_class(claim):
    """Sec. 1: CIFAR-10 contains 60,000 32x32 colour images in 10 classes, 6,000 images of each class."""
    arrays = claim.dataset("cifar10")
    images = [arrays["train"].images, arrays["test"].images]
    labels = [arrays["train"].labels, arrays["test"].labels]
    total = sum(len(x) for x in labels)
    per_class = sorted(int(sum((y == c).sum() for y in labels)) for c in range(10))
    claim.note(f"image shape {tuple(images[0].shape[1:])}; per-class counts {per_class}")
    claim.check_within("images", total, claim.reported["images"])
    claim.check_within("smallest class", per_class[0], claim.reported["per_class"])
    claim.check_within("largest class", per_class[-1], claim.reported["per_class"])
    claim.check_within("image side (px)", images[0].shape[-1], claim.reported["side"])


@pytest.mark.claim("004/split/10-1-1")
def test_all_60k_images_split_train_val_test_10_1_1(claim):
    """Sec. 1.1: the 60k images are divided into training, validation and test sets 10:1:1."""
    arrays = claim.dataset("cifar10")
    # The split the runs use, applied to image ids so overlap and coverage can be checked.
    n_train, n_test = len(arrays["train"]), len(arrays["test"])
    ids = {"train": Split(torch.arange(n_train), arrays["train"].labels),
           "test": Split(n_train + torch.arange(n_test), arrays["test"].labels)}
    parts = pooled_split(ids, (10, 1, 1))
    sets = {name: set(p.images.tolist()) for name, p in parts.items()}
    union = set().union(*sets.values())
    overlap = sum(len(sets[a] & sets[b]) for a, b in (("train", "val"), ("train", "test"), ("val", "test")))
    classes = {name: [int((p.labels == c).sum()) for c in range(10)] for name, p in parts.items()}
    claim.note(f"class counts per part (not stratified by the report either): {classes}")
    for name in ("train", "val", "test"):
        claim.check_within(f"{name} images", len(parts[name]), claim.reported[name])
    claim.check_within("images shared between parts", overlap, 0)
    claim.check_within("images covered", len(union), sum(claim.reported[n] for n in ("train", "val", "test")))


@pytest.mark.claim("004/model/17-conv-1-fc")
def test_resnet18_has_17_conv_layers_and_1_fc_layer(claim):
    """Sec. 2.1: ResNet-18 consists of 17 convolutional layers and 1 fully connected layer
    (read as the weighted layers of the main path; the three 1x1 projection shortcuts are counted apart)."""
    model = create_model("resnet18")
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    projections = [n for n in convs if ".shortcut." in n]
    main_path = len(convs) - len(projections)
    fcs = sum(isinstance(m, nn.Linear) for m in model.modules())
    claim.note(f"{len(convs)} Conv2d modules: {main_path} on the main path (3x3) and "
               f"{len(projections)} 1x1 projection shortcuts ({', '.join(projections)})")
    claim.check_within("conv layers (main path)", main_path, claim.reported["conv"])
    claim.check_within("fully connected layers", fcs, claim.reported["fc"])


# -- Sec. 3.1: batch normalization -------------------------------------------------

def bn_runs(claim):
    runs = {"with BN": claim.runs(BASE, "with BN"), "without BN": claim.runs(NO_BN, "without BN")}
    claim.figure("curves", "Test accuracy per epoch, with and without BN (Fig. 3)", runs)
    return runs


@pytest.mark.claim("004/bn/better")
def test_bn_gives_higher_test_accuracy(claim):
    """Sec. 3.1, Fig. 3: the effect of adding BN is better than not adding BN."""
    runs = bn_runs(claim)
    claim.check_paired_better("with BN", best(runs["with BN"]), "without BN", best(runs["without BN"]),
                              metric="best test accuracy")


@pytest.mark.claim("004/bn/faster")
def test_bn_trains_faster(claim):
    """Sec. 3.1, Fig. 3: BN enables faster training (mean test accuracy over the early epochs)."""
    runs = bn_runs(claim)
    claim.check_paired_better("with BN", early(runs["with BN"], EARLY_EPOCHS),
                              "without BN", early(runs["without BN"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("004/bn/more-stable")
def test_bn_trains_more_stably(claim):
    """Sec. 3.1, Fig. 3: BN enables more stable training (smaller epoch-to-epoch swings of test accuracy)."""
    runs = bn_runs(claim)
    check_steadier(claim, runs, "with BN", "without BN")


@pytest.mark.claim("004/bn/mechanism")
def test_bn_mechanism_extreme_distributions(claim):
    """Sec. 3.1: without BN the middle-layer data become extremely distributed, gradients vanish or the
    nonlinearity is wasted; BN adjusts the distribution so the activation is used more effectively."""


SCALE, PROBE_IMAGES = 4.0, 16  # the factor applied to the images; images in the batch


@pytest.mark.claim("004/bn/stabilizes-layer-inputs")
def test_bn_stabilizes_the_distribution_of_layer_inputs(claim):
    """Sec. 3.1: BN improves training "by stabilizing the distributions of layer inputs" (background citing [2]):
    scaling the images leaves the first residual stage's input unchanged with BN, and scales it without BN."""
    pixels = claim.dataset("cifar10")["test"].images[:PROBE_IMAGES].float() / 255
    images = (pixels - pixels.mean((0, 2, 3), keepdim=True)) / pixels.std((0, 2, 3), keepdim=True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        models = {"with BN": create_model("resnet18"), "without BN": create_model("resnet18", batchnorm=False)}
    changes = {label: layer_input_change(model, model.layer1, images, SCALE) for label, model in models.items()}
    claim.note(f"images scaled by {SCALE:g}: relative change of layer1's input "
               + ", ".join(f"{label} {change:.2e}" for label, change in changes.items()))
    for label, change in changes.items():
        claim.check_within(f"{label}: relative change of the first stage's input", change, claim.reported[label])


# -- Sec. 3.1: shortcut --------------------------------------------------------------

def shortcut_runs(claim):
    runs = {"shortcut": claim.runs(BASE, "shortcut"), "no shortcut": claim.runs(NO_SHORTCUT, "no shortcut")}
    claim.figure("curves", "Test accuracy per epoch, with and without shortcuts (Fig. 4)", runs)
    return runs


@pytest.mark.claim("004/shortcut/better")
def test_shortcut_improves_test_accuracy(claim):
    """Sec. 3.1, Fig. 4: shortcut can improve accuracy of the test set."""
    runs = shortcut_runs(claim)
    claim.check_paired_better("shortcut", best(runs["shortcut"]), "no shortcut", best(runs["no shortcut"]),
                              metric="best test accuracy")


@pytest.mark.claim("004/shortcut/faster")
def test_shortcut_converges_faster(claim):
    """Sec. 3.1, Fig. 4: shortcut increases the convergence speed; training becomes faster."""
    runs = shortcut_runs(claim)
    claim.check_paired_better("shortcut", early(runs["shortcut"], EARLY_EPOCHS),
                              "no shortcut", early(runs["no shortcut"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("004/shortcut/more-stable")
def test_shortcut_trains_more_stably(claim):
    """Sec. 3.1, Fig. 4: the training procedure becomes more stable with residual connections."""
    runs = shortcut_runs(claim)
    check_steadier(claim, runs, "shortcut", "no shortcut")


@pytest.mark.claim("004/shortcut/mechanism")
def test_shortcut_mechanism_gradient_highway(claim):
    """Sec. 3.1: without residual connections back-propagated gradients may vanish; the residual
    connection serves as a highway that conveys gradients."""


# -- Sec. 3.2: momentum --------------------------------------------------------------

def momentum_runs(claim):
    runs = {"momentum": claim.runs(BASE, "SGD with momentum"), "no momentum": claim.runs(NO_MOMENTUM, "SGD")}
    claim.figure("curves", "Test accuracy per epoch, SGD with and without momentum (Fig. 5)", runs)
    return runs


@pytest.mark.claim("004/momentum/better")
def test_momentum_is_necessary_for_test_accuracy(claim):
    """Sec. 3.2, Fig. 5: the comparison demonstrates the necessity of momentum in SGD."""
    runs = momentum_runs(claim)
    claim.check_paired_better("momentum", best(runs["momentum"]), "no momentum", best(runs["no momentum"]),
                              metric="best test accuracy")


@pytest.mark.claim("004/momentum/faster")
def test_momentum_runs_faster_than_plain_sgd(claim):
    """Sec. 3.2: momentum's running speed is almost always faster than standard gradient descent."""
    runs = momentum_runs(claim)
    claim.check_paired_better("momentum", early(runs["momentum"], EARLY_EPOCHS),
                              "no momentum", early(runs["no momentum"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("004/momentum/more-stable")
def test_momentum_trains_more_stably(claim):
    """Sec. 3.2, Fig. 5: with momentum, like "an iron ball ... the trajectory is more stable": smaller epoch-to-epoch
    falls of test accuracy than plain SGD, read as for BN and shortcuts."""
    runs = momentum_runs(claim)
    check_steadier(claim, runs, "momentum", "no momentum")


@pytest.mark.claim("004/momentum/mechanism")
def test_momentum_mechanism_canyon_saddle_iron_ball(claim):
    """Sec. 3.2: momentum solves the 'canyon' and 'saddle point' problems; like an iron ball instead of a
    paper ball its trajectory is more stable and it leaves flat ground more easily."""


# -- Sec. 3.2: activation function (Table 1, Fig. 6) -----------------------------------

def activation_runs(claim):
    runs = {name: claim.runs(spec, name) for name, spec in ACTIVATIONS.items()}
    claim.figure("curves", "Test accuracy per epoch by activation function (Fig. 6)", runs)
    return runs


@pytest.mark.claim("004/activation/relu-tanh-sigmoid")
def test_relu_beats_tanh_beats_sigmoid(claim):
    """Table 1: ReLU is the best, followed by tanh, and sigmoid has the lowest accuracy."""
    runs = activation_runs(claim)
    claim.check_ordered(["relu", "tanh", "sigmoid"], per_arm(best, runs),
                        metric="best test accuracy")


@pytest.mark.claim("004/activation/relu-fastest")
def test_relu_learns_fastest(claim):
    """Fig. 6: ReLU performs the best with the highest learning speed."""
    runs = activation_runs(claim)
    claim.check_ranks_first("relu", per_arm(early, runs, EARLY_EPOCHS),
                            metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.claim("004/table1/{act}")
def test_table1_accuracy_per_activation(claim, act):
    """Table 1: the test accuracy of each activation function after 200 epochs."""
    runs = claim.runs(ACTIVATIONS[act], act)
    claim.figure("curves", f"Test accuracy per epoch ({act})", {act: runs})
    claim.check_within(f"{act} best test acc", best(runs), claim.reported)


@pytest.mark.claim("004/activation/saturation")
def test_sigmoid_tanh_slow_because_gradients_saturate(claim):
    """Fig. 6: sigmoid and tanh converge slowly because their gradient is almost zero for large x."""


# -- Sec. 3.2: loss function (Table 2, Fig. 7) -----------------------------------------

def loss_runs(claim):
    runs = {name: claim.runs(spec, name) for name, spec in LOSSES.items()}
    claim.figure("curves", "Test accuracy per epoch by loss function (Fig. 7)", runs)
    return runs


@pytest.mark.claim("004/loss/ce-beats-multimargin")
def test_cross_entropy_beats_multi_margin(claim):
    """Table 2: CrossEntropyLoss is better than MultiMarginLoss."""
    runs = loss_runs(claim)
    claim.check_paired_better("cross_entropy", best(runs["cross_entropy"]), "multi_margin", best(runs["multi_margin"]),
                              metric="best test accuracy")


@pytest.mark.claim("004/loss/ce-faster")
def test_cross_entropy_trains_faster(claim):
    """Fig. 7: CrossEntropyLoss results in a faster training speed than MultiMarginLoss."""
    runs = loss_runs(claim)
    claim.check_paired_better("cross_entropy", early(runs["cross_entropy"], EARLY_EPOCHS),
                              "multi_margin", early(runs["multi_margin"], EARLY_EPOCHS),
                              metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.claim("004/table2/{loss}")
def test_table2_accuracy_per_loss(claim, loss):
    """Table 2: the test accuracy of each loss function after 200 epochs."""
    runs = claim.runs(LOSSES[loss], loss)
    claim.figure("curves", f"Test accuracy per epoch ({loss})", {loss: runs})
    claim.check_within(f"{loss} best test acc", best(runs), claim.reported)


@pytest.mark.claim("004/loss/softmax-suits-classification")
def test_softmax_makes_cross_entropy_more_suitable(claim):
    """Fig. 7: CrossEntropyLoss applies a softmax to turn ratings into probabilities, which is much more
    suitable for classification than MultiMarginLoss."""


@pytest.mark.claim("004/loss/multimargin-landscape-decreases-faster")
def test_multi_margin_loss_landscape_decreases_faster(claim):
    """Fig. 7: in the loss landscape, MultiMarginLoss performs better than CrossEntropyLoss with a faster
    decreasing speed."""


# -- Sec. 3.2: learning rate (Fig. 8) --------------------------------------------------

@pytest.mark.claim("004/lr/too-high-too-low")
def test_too_high_or_too_low_learning_rates(claim):
    """Sec. 3.2: a too high learning rate jumps over minima, a too low one converges slowly or gets stuck (background;
    no such learning rate is trained)."""


@pytest.mark.claim("004/lr/cosine-vs-fixed")
def test_cosine_annealing_vs_fixed_learning_rate(claim):
    """Fig. 8: the fixed learning rate compared with the Cosine Annealing LR strategy. The text names no
    winner, so this is a suite check (reference/: suite_check) of the suite's own assumption that cosine
    annealing ran for every table: its best test accuracy is not below the fixed lr's (seed-paired
    difference at least minus the tolerance)."""
    runs = {"cosine": claim.runs(BASE, "cosine annealing"), "fixed": claim.runs(FIXED_LR, "fixed lr")}
    claim.figure("curves", "Test accuracy per epoch, cosine annealing vs fixed lr (Fig. 8)", runs)
    diffs = [a - b for a, b in zip(best(runs["cosine"]), best(runs["fixed"]))]
    claim.note("cosine - fixed best test accuracy per seed: " + ", ".join(f"{d:+.4f}" for d in diffs))
    claim.check_at_least("cosine - fixed best test acc (paired mean)", diffs, 0.0)


# -- Sec. 3.2: batch size (Table 3, Fig. 9) ----------------------------------------------

def batch_runs(claim):
    runs = {str(bs): claim.runs(spec, f"batch {bs}") for bs, spec in BATCH_SIZES.items()}
    claim.figure("curves", "Test accuracy per epoch by batch size (Fig. 9)", runs)
    return runs


@pytest.mark.parametrize("bs", list(BATCH_SIZES))
@pytest.mark.claim("004/table3/batch-{bs}")
def test_table3_accuracy_per_batch_size(claim, bs):
    """Table 3: the test accuracy for each batch size after 200 epochs."""
    runs = claim.runs(BATCH_SIZES[bs], f"batch {bs}")
    claim.figure("curves", f"Test accuracy per epoch (batch {bs})", {str(bs): runs})
    claim.check_within(f"batch {bs} best test acc", best(runs), claim.reported)


@pytest.mark.claim("004/batch/barely-changes")
def test_accuracy_barely_changes_with_batch_size(claim):
    """Sec. 3.2: with increasing batch size, accuracy barely changes (range over 64/128/256 within the tolerance)."""
    runs = batch_runs(claim)
    means = {k: statistics.fmean(best(v)) for k, v in runs.items()}
    claim.note("best test accuracy by batch size: " + ", ".join(f"{k}: {v:.4f}" for k, v in means.items()))
    claim.check_all_similar(per_arm(best, runs), "best test accuracy")


@pytest.mark.claim("004/batch/larger-higher-accuracy")
def test_larger_batch_gives_higher_accuracy(claim):
    """Sec. 3.2, Fig. 9: larger batch size "can lead to an increase in accuracy": batch 128 beats batch 64
    (seed-paired; Table 3's own 95.48 > 94.89), with batch 256 reported alongside."""
    runs = batch_runs(claim)
    claim.note("best test accuracy, mean over seeds: "
               + ", ".join(f"batch {k}: {statistics.fmean(best(v)):.4f}" for k, v in runs.items()))
    claim.check_paired_better("128", best(runs["128"]), "64", best(runs["64"]), metric="best test accuracy")


@pytest.mark.claim("004/batch/larger-converges-faster")
def test_larger_batch_converges_faster(claim):
    """Fig. 9: larger batch size achieves a faster convergence speed."""
    runs = batch_runs(claim)
    claim.check_ordered(["256", "128", "64"], per_arm(early, runs, EARLY_EPOCHS),
                        metric=f"mean test accuracy over the first {EARLY_EPOCHS} epochs")


@pytest.mark.claim("004/batch/memory-limit")
def test_batch_size_limited_by_memory(claim):
    """Fig. 9: due to the limitations of computer memory, the batch size cannot be too large."""
