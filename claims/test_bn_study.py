"""The BatchNorm study of reports 000, 002 and 003 (VGG-A with and without BN, Sec. 2 of each),
and the headline of the paper they follow (Santurkar et al., NeurIPS 2018).

Every report trains VGG-A and VGG-A+BN once per learning rate of its own list and draws
fill-between bands over those runs: the training loss ("loss landscape"), the change of the
last Linear layer's gradient between steps ("gradient predictiveness") and an effective beta.
One run per (model, lr, seed) carries every probe its claims need, so the run cache serves
them all: report 000's lr-0.1 runs also carry the paper's line-search probe and back the
accuracy claims and the paper-headline claims.

Probes: harness/catalog/bn_probes.py (definitions); bands and the "narrower/smaller" statistic:
harness/claim/bands.py. Each band claim reads its statistic (band edge, warm-up) from reference/.
"""
import math
from statistics import fmean

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness.claim import (Spec, bands, best, create_model, final, layer_input_change, mean_train_loss, per_arm,
                           relative_epoch_time, steadiness)

NOBN, BN = "VGG-A", "VGG-A+BN"
MODELS = {NOBN: "vgg_a", BN: "vgg_a_bn"}
COURSE_PROBES = ("step_loss", "grad_change")

# ---------------------------------------------------------------------------------------------
# Recipes, one per report (what each says; assumptions are recorded in reference/)
# ---------------------------------------------------------------------------------------------
# 000 Sec. 2.2-2.3: SGD lr 0.1, batch 128, 20 epochs, cross-entropy; bands over lrs 0.15/0.1/0.075/0.05.
# Plain SGD, starter-code normalization (0.5, 0.5), no augmentation: the paper's setup, which the report follows.
R000 = Spec(model="vgg_a", epochs=20, batch_size=128, lr=0.1, optimizer="sgd", normalize="half",
            probes=COURSE_PROBES)
LRS_000 = (0.15, 0.1, 0.075, 0.05)
# The paper's line search rides on 000's lr-0.1 runs (the paper's own recipe: plain SGD, batch 128, lr 0.1).
PAPER_LR = 0.1
LINE_SEARCH = {"every": 4, "eta_factors": [0.5, 1.0, 2.0, 3.0, 4.0]}

# 002 Sec. 2: "optim SGD", batch 64, 20 epochs for the accuracy table (lr unstated: assumed 0.01, momentum 0.9);
# its bands over lrs [2e-3, 1e-3, 5e-4, 1e-4] keep the section's one stated optimizer (SGD, as the accuracy
# table reads it) and its batch size and epochs (given for the table only).
R002_ACC = Spec(model="vgg_a", epochs=20, batch_size=64, lr=0.01, optimizer="sgd",
                optimizer_args={"momentum": 0.9}, normalize="half")
R002 = R002_ACC.replace(lr=1e-3, probes=COURSE_PROBES)
LRS_002 = (2e-3, 1e-3, 5e-4, 1e-4)

# 003 Sec. 2: lrs 2e-3/1e-3/5e-4/1e-4, batch 128, 20 epochs ("nearly 8,000 steps"); Adam (starter script).
R003 = Spec(model="vgg_a", epochs=20, batch_size=128, lr=1e-3, optimizer="adam", normalize="half",
            probes=COURSE_PROBES)
LRS_003 = (2e-3, 1e-3, 5e-4, 1e-4)
# 003 Sec. 2.3 derives its lr form of beta from SGD's update w_(t+1) = w_t - lr * grad and reserves the other
# form "for Adam optimizer": the lr form is measured on plain-SGD runs at the section's lrs.
R003_SGD = R003.replace(optimizer="sgd")


def r000(model, lr):
    spec = R000.replace(model=model, lr=lr)
    if lr == PAPER_LR:
        spec = spec.replace(probes=COURSE_PROBES + ("line_search",), probe_args={"line_search": LINE_SEARCH})
    return spec


STUDIES = {
    "000": (r000, LRS_000),
    "002": (lambda model, lr: R002.replace(model=model, lr=lr), LRS_002),
    "003": (lambda model, lr: R003.replace(model=model, lr=lr), LRS_003),
    "003-sgd": (lambda model, lr: R003_SGD.replace(model=model, lr=lr), LRS_003),
}


# ---------------------------------------------------------------------------------------------
# Shared readings
# ---------------------------------------------------------------------------------------------


def study_runs(claim, report):
    """{model label: {lr: [run per seed]}}, every run from the store (trained once, shared)."""
    make, lrs = STUDIES[report]
    return {label: {lr: claim.runs(make(name, lr), label=f"{label} lr {lr:g}") for lr in lrs}
            for label, name in MODELS.items()}


def statistic(claim):
    """The band statistic reference/ gives this claim: which band edge, how long a warm-up."""
    stat = (claim.entry.recipe.get("assumed") or {}).get("statistic")
    if not isinstance(stat, dict) or stat.get("edge") not in bands.EDGES or "warmup" not in stat:
        raise ValueError(f"reference entry {claim.entry.id} needs recipe.assumed.statistic "
                         f"{{edge: {'|'.join(bands.EDGES)}, warmup: <fraction>}}")
    return stat["edge"], float(stat["warmup"])


def course_series(run, quantity):
    """(per-step values, step indices) of one run: the step loss or a grad_change field."""
    probes = run.extra["probes"]
    if quantity == "step_loss":
        return probes["step_loss"], list(range(len(probes["step_loss"])))
    return probes["grad_change"][quantity], probes["grad_change"]["step"]


def add_band_figure(claim, title, ylabel, series, *, log=False, line=None):
    """A fill-between figure of smoothed, downsampled per-step bands (drawn by reports/bn_figures.py)."""
    data = {}
    for label, b in series.items():
        window = max(1, len(b) // 50)
        lo, hi = bands.smooth(b.lo, window), bands.smooth(b.hi, window)
        extra = [bands.smooth(b.edge(line), window)] if line else []
        x, lo, hi, *rest = bands.downsample(b.steps, lo, hi, *extra)
        data[label] = {"x": x, "lo": lo, "hi": hi, **({"line": rest[0]} if rest else {})}
    claim.band_figure(title, ylabel, data, log=log,
                      smoothing="trailing moving average over 1/50 of the steps; band = min..max over runs")


def check_bn_smaller(claim, per_seed_bands, what):
    """BN's band (the edge reference/ names) is smaller than no-BN's: median per-step ratio < 1 - margin."""
    _check_bn_ratio(claim, per_seed_bands, what, bands.compare, "{edge} of the band relative to VGG-A's (median over "
                    "steps)")


def check_bn_smoother(claim, per_seed_bands, what):
    """BN's band edge (the one reference/ names) is smoother: per seed the ratio of its step-to-step roughness to
    no-BN's (bands.compare_roughness, scale-free, so a lower edge is not smoother for being lower), tested over
    seeds against 1 - margin as check_bn_smaller tests the level ratio."""
    _check_bn_ratio(claim, per_seed_bands, what, bands.compare_roughness,
                    "step-to-step roughness of the band's {edge} edge relative to VGG-A's")


def _check_bn_ratio(claim, per_seed_bands, what, compare, reading):
    """Per seed, BN's band edge against no-BN's by `compare` (a ratio, BN over no-BN), the runs a band left out
    noted; the ratios over seeds tested against 1 - margin."""
    edge, warmup = statistic(claim)
    ratios = []
    for seed, by_model in zip(claim.seeds(), per_seed_bands):
        for label, b in by_model.items():
            for run_label, why in b.excluded.items():
                claim.note(f"seed {seed}, {label}: run {run_label} left out of the band: {why}")
        comp = compare(by_model[BN].edge(edge), by_model[NOBN].edge(edge), warmup)
        claim.note(f"seed {seed}, {what} ({edge} of the band), after a {warmup:.0%} warm-up: "
                   + comp.describe(BN, NOBN))
        ratios.append(comp.ratio)
    claim.check_ordered([NOBN, BN], {NOBN: [1.0] * len(ratios), BN: ratios},
                        metric=f"{what}: " + reading.format(edge=edge))


def course_band_claim(claim, report, quantity, what, ylabel, *, log=False):
    per_seed = course_bands(claim, report, quantity)
    edge, _ = statistic(claim)
    add_band_figure(claim, f"{what}: min..max over lrs {', '.join(f'{lr:g}' for lr in STUDIES[report][1])} "
                           f"(seed {claim.seeds()[0]})", ylabel, per_seed[0], log=log,
                    line=edge if edge != "width" else None)
    check_bn_smaller(claim, per_seed, what)


def _lr_series(per_lr, seed_index, quantity):
    series, steps = {}, None
    for lr, rs in per_lr.items():
        values, steps = course_series(rs[seed_index], quantity)
        series[f"lr {lr:g}"] = values
    return series, steps


def check_bn_trains_faster(claim, report):
    """At every lr of the report's list, BN's mean training loss over the epochs (the area under the loss curve)
    is lower: the lr where BN's lead is smallest decides, seed-paired."""
    runs = study_runs(claim, report)
    area = {label: {lr: mean_train_loss(rs) for lr, rs in by_lr.items()} for label, by_lr in runs.items()}
    lead = {lr: fmean(n - b for n, b in zip(area[NOBN][lr], area[BN][lr])) for lr in area[BN]}
    claim.note("no-BN minus BN mean training loss over the epochs (mean over seeds): "
               + ", ".join(f"lr {lr:g}: {v:+.3f}" for lr, v in lead.items()))
    lr = min(lead, key=lead.get)  # the lr where BN's lead is smallest decides "at every lr"
    claim.check_paired_better(f"{NOBN} lr {lr:g}", area[NOBN][lr], f"{BN} lr {lr:g}", area[BN][lr],
                              metric="mean training loss over the epochs (the higher, the slower)")


def seconds_per_step(run):
    """(training, probing) seconds per step of a run with the step_loss probe; evaluation excluded."""
    c, steps = run.curves, len(run.extra["probes"]["step_loss"])
    probing = sum(c["probe_time"])
    return (sum(c["epoch_time"]) - sum(c["eval_time"]) - probing) / steps, probing / steps


# ---------------------------------------------------------------------------------------------
# Report 000, Sec. 2: training curves, loss landscape, gradient predictiveness, beta smoothness
# ---------------------------------------------------------------------------------------------

def runs_000_at(claim, lr):
    return {label: claim.runs(r000(name, lr), label=f"{label} lr {lr:g}") for label, name in MODELS.items()}


@pytest.mark.claim("000/bn-vgg-higher-accuracy")
def test_000_bn_reaches_higher_test_accuracy(claim):
    """Sec. 2.2, Fig. 12: "the VGG-A model with Batch Normalization achieves better performance, in terms of
    ... final accuracy" (SGD lr 0.1, batch 128, 20 epochs): final test accuracy, seed-paired."""
    runs = runs_000_at(claim, 0.1)
    claim.figure("curves", "Test accuracy per epoch, VGG-A with and without BN (SGD lr 0.1)", runs)
    claim.check_paired_better(BN, final(runs[BN]), NOBN, final(runs[NOBN]),
                              metric="final test accuracy")


@pytest.mark.claim("000/bn-vgg-converges-faster")
def test_000_bn_converges_faster(claim):
    """Sec. 2.2, Fig. 12: BN "achieves better performance, in terms of convergence speed": the area under
    the training-loss curve (mean epoch training loss) is smaller with BN."""
    runs = runs_000_at(claim, 0.1)
    claim.figure("curves", "Training loss per epoch, VGG-A with and without BN (SGD lr 0.1)", runs,
                 metric="train_loss")
    claim.check_ordered([NOBN, BN], per_arm(mean_train_loss, runs),
                        metric="mean training loss over the epochs (larger = slower convergence)")


@pytest.mark.claim("000/bn-vgg-more-stable")
def test_000_bn_trains_more_stably(claim):
    """Sec. 2.2, Fig. 12: "The training process is more stable ... compared to the model without BN": a smaller mean
    fall of test accuracy between epochs (readings.steadiness; a rising curve is learning, not instability)."""
    runs = runs_000_at(claim, 0.1)
    claim.figure("curves", "Test accuracy per epoch, VGG-A with and without BN (SGD lr 0.1)", runs)
    claim.note_divergence(runs)
    claim.check_paired_better(BN, steadiness(runs[BN]), NOBN, steadiness(runs[NOBN]),
                              metric="minus mean fall of test accuracy per epoch (higher = steadier)")


@pytest.mark.claim("000/bn-boosts-training-speed")
def test_000_bn_boosts_the_training_speed(claim):
    """Sec. 2.3.1, Fig. 13: "BN really helps to reduce the loss variance and thus boost the training speed": at every
    lr of 0.15/0.1/0.075/0.05, BN's mean training loss over the epochs is lower (the landscape runs)."""
    check_bn_trains_faster(claim, "000")


@pytest.mark.claim("000/bn-loss-band-narrower")
def test_000_loss_landscape_band_narrower_with_bn(claim):
    """Sec. 2.3.1, Fig. 13: over lrs 0.15/0.1/0.075/0.05 "the loss landscape of the model with Batch
    Normalization is smoother ... BN really helps to reduce the loss variance"."""
    course_band_claim(claim, "000", "step_loss", "training loss", "training loss")


@pytest.mark.claim("000/bn-grad-predictiveness-smaller")
def test_000_gradient_change_smaller_with_bn(claim):
    """Sec. 2.3.2, Fig. 14: "the model with Batch Normalization has a more stable gradient, and the gradient
    change is smaller" (||g_t - g_(t-1)|| of the last Linear layer)."""
    course_band_claim(claim, "000", "grad_diff", "last-layer gradient change", "||g_(t+1) - g_t||", log=True)


@pytest.mark.claim("000/bn-beta-smaller")
def test_000_beta_smoothness_smaller_with_bn(claim):
    """Sec. 2.3.3, Fig. 15: beta_t = max ||grad f(w_(t+1)) - grad f(w_t)|| / (lr ||grad f(w_t)||) is smaller
    ("more beta-smooth") with BN; the max is over the learning rates."""
    course_band_claim(claim, "000", "beta_lr", "effective beta (lr form)", "||g_(t+1) - g_t|| / (lr ||g_t||)",
                      log=True)


# ---------------------------------------------------------------------------------------------
# Report 002, Sec. 2: accuracy table, speed, and the three bands
# ---------------------------------------------------------------------------------------------

def runs_002_acc(claim):
    return {label: claim.runs(R002_ACC.replace(model=name), label=label) for label, name in MODELS.items()}


@pytest.mark.claim("002/bn-higher-accuracy")
def test_002_bn_gives_higher_test_accuracy(claim):
    """Sec. 2 table: VGG 0.764 vs VGG-BN 0.8251 test accuracy (SGD, 20 epochs, batch 64): BN is better."""
    runs = runs_002_acc(claim)
    claim.figure("curves", "Test accuracy per epoch, VGG-A with and without BN (report 002 recipe)", runs)
    claim.check_paired_better(BN, best(runs[BN]), NOBN, best(runs[NOBN]),
                              metric="best test accuracy")


@pytest.mark.claim("002/bn-converges-faster")
def test_002_bn_raises_accuracy_faster(claim):
    """Sec. 2: "模型的精度提升更快。说明 BN可以加速模型收敛" (accuracy rises faster with BN: BN speeds up convergence):
    the mean test accuracy over the epochs (the area under the accuracy curve) is higher with BN, seed-paired."""
    runs = runs_002_acc(claim)
    claim.figure("curves", "Test accuracy per epoch, VGG-A with and without BN (report 002 recipe)", runs)
    claim.check_paired_better(BN, [fmean(r.curves["test_acc"]) for r in runs[BN]],
                              NOBN, [fmean(r.curves["test_acc"]) for r in runs[NOBN]],
                              metric="mean test accuracy over the epochs")


@pytest.mark.parametrize("model", ["vgg", "vgg_bn"])
@pytest.mark.claim("002/test-acc/{model}")
def test_002_test_accuracy_value(claim, model):
    """Sec. 2 table: the test accuracy of each model (vgg 0.764, vgg_batchnorm 0.8251)."""
    label = NOBN if model == "vgg" else BN
    runs = claim.runs(R002_ACC.replace(model=MODELS[label]), label=label)
    claim.figure("curves", f"Test accuracy per epoch ({label}, report 002 recipe)", {label: runs})
    claim.check_within(f"{label} best test acc", best(runs), claim.reported)


@pytest.mark.claim("002/bn-slower-per-epoch")
def test_002_bn_is_slower_per_epoch(claim):
    """Sec. 2 table: vgg 14.53 s/epoch, vgg_batchnorm 18.34 s/epoch: BN costs time per epoch
    (compared as the ratio of training time per epoch on the same device)."""
    runs = runs_002_acc(claim)
    devices = {r.environment.get("device") for rs in runs.values() for r in rs}
    if len(devices) > 1:
        claim.note(f"runs come from different devices {sorted(map(str, devices))}: the ratio mixes hardware")
    claim.skip_unless_timeable(runs)
    # seed-paired ratios of the median of epochs 2+, without evaluation and probes
    relative = per_arm(relative_epoch_time, runs, runs[NOBN], minus=("eval", "probe"))
    claim.check_ordered([BN, NOBN], relative, metric="training time per epoch relative to VGG-A's (same seed)")


@pytest.mark.claim("002/bn-loss-band-narrower")
def test_002_loss_landscape_band_narrower_with_bn(claim):
    """Sec. 2.2: over lrs [2e-3, 1e-3, 5e-4, 1e-4] "VGG-A+BN converges faster and fluctuates less across
    learning rates" (收敛速度更快,并且在不同的学习速率下波动较小)."""
    course_band_claim(claim, "002", "step_loss", "training loss", "training loss")


@pytest.mark.claim("002/bn-landscape-converges-faster")
def test_002_bn_converges_faster_over_the_lr_list(claim):
    """Sec. 2.2: "我们可以看到VGG-A+BN收敛速度更快" (VGG-A+BN converges faster) over lrs [2e-3, 1e-3, 5e-4, 1e-4]: at
    every lr, BN's mean training loss over the epochs is lower (the landscape runs, not the accuracy table's)."""
    check_bn_trains_faster(claim, "002")


@pytest.mark.claim("002/bn-grad-predictiveness-smaller")
def test_002_gradient_change_smaller_with_bn(claim):
    """Sec. 2.3: with BN the gradient predictiveness (||grad_(k+1) - grad_k||_2) is "much more stable"."""
    course_band_claim(claim, "002", "grad_diff", "last-layer gradient change", "||g_(t+1) - g_t||", log=True)


@pytest.mark.claim("002/bn-beta-smaller")
def test_002_beta_smaller_with_bn(claim):
    """Sec. 2.4: "the smaller beta, the smoother"; with BN VGG-A's smoothness is much more stable."""
    course_band_claim(claim, "002", "beta_lr", "effective beta (lr form)", "||g_(t+1) - g_t|| / (lr ||g_t||)",
                      log=True)


# ---------------------------------------------------------------------------------------------
# Report 003, Sec. 2: the three bands and the Adam form of beta
# ---------------------------------------------------------------------------------------------

@pytest.mark.claim("003/bn-loss-band-narrower")
def test_003_loss_landscape_band_narrower_with_bn(claim):
    """Sec. 2.1, Fig. 15: over lrs 2e-3/1e-3/5e-4/1e-4 "BatchNorm really helps to reduce the loss variance"."""
    course_band_claim(claim, "003", "step_loss", "training loss", "training loss")


@pytest.mark.claim("003/bn-landscape-steps-nearly-8000")
def test_003_landscape_runs_take_nearly_8000_steps(claim):
    """Sec. 2.1: "since the batch size is 128, there will be nearly 8,000 steps in total": the steps each landscape
    run records in its per-step loss probe (the run farthest from the reported count is checked)."""
    runs = study_runs(claim, "003")
    steps = {r.key: len(r.extra["probes"]["step_loss"]) for by_lr in runs.values() for rs in by_lr.values() for r in rs}
    claim.note("recorded steps per run: " + ", ".join(sorted({str(n) for n in steps.values()})))
    farthest = max(steps.values(), key=lambda n: abs(n - claim.reported))
    claim.check_within("training steps of a landscape run", farthest, claim.reported)


@pytest.mark.claim("003/bn-grad-predictiveness-smaller")
def test_003_gradient_change_smaller_with_bn(claim):
    """Sec. 2.2, Fig. 16: VGG with BatchNorm has "lower L2 distance" of the last-layer gradient change."""
    course_band_claim(claim, "003", "grad_diff", "last-layer gradient change", "||g_(t+1) - g_t||", log=True)


def course_bands(claim, report, quantity):
    """Per seed, {model label: band over the report's lrs} of one course quantity (the runs of the level claims)."""
    runs = study_runs(claim, report)
    return [{label: bands.band(*_lr_series(per_lr, i, quantity)) for label, per_lr in runs.items()}
            for i in range(len(claim.seeds()))]


@pytest.mark.claim("003/bn-grad-predictiveness-smoother")
def test_003_gradient_change_is_smoother_with_bn(claim):
    """Sec. 2.2, Fig. 16: VGG with BatchNorm is more stable "because of the lower L2 distance and more smooth
    volatility": the smoothness half, on the runs of 003/bn-grad-predictiveness-smaller (which checks the level),
    read as the band edge's median |change between consecutive steps| over its median level, BN / no-BN."""
    per_seed = course_bands(claim, "003", "grad_diff")
    edge, _ = statistic(claim)
    lrs = ", ".join(f"{lr:g}" for lr in LRS_003)
    add_band_figure(claim, f"last-layer gradient change: min..max over lrs {lrs} (seed {claim.seeds()[0]}; "
                           "drawn smoothed, the roughness is read from the raw edge)", "||g_(t+1) - g_t||",
                    per_seed[0], log=True, line=edge if edge != "width" else None)
    check_bn_smoother(claim, per_seed, "last-layer gradient change")


@pytest.mark.claim("003/bn-beta-smaller")
def test_003_beta_smaller_with_bn(claim):
    """Sec. 2.3, Fig. 17: beta_t = max ||grad f(w_(t+1)) - grad f(w_t)|| / (lr ||grad f(w_t)||), the form the
    report derives from SGD's update (it keeps the other form "for Adam optimizer"), is smaller with BN: on
    plain-SGD runs at the section's lrs."""
    course_band_claim(claim, "003-sgd", "beta_lr", "effective beta (lr form)", "||g_(t+1) - g_t|| / (lr ||g_t||)",
                      log=True)


@pytest.mark.claim("003/bn-boosts-training-speed")
def test_003_bn_boosts_the_training_speed(claim):
    """Sec. 2.1, Fig. 15: "BatchNorm really helps to reduce the loss variance and thus boost the training speed":
    at every lr of the list, BN's mean training loss over the epochs (the area under the loss curve) is lower."""
    check_bn_trains_faster(claim, "003")


@pytest.mark.claim("003/bn-beta-adam-smaller")
def test_003_beta_adam_form_smaller_with_bn(claim):
    """Sec. 2.3: "or just use beta_t = max ||grad f(w_(t+1)) - grad f(w_t)|| / ||w_(t+1) - w_t|| for Adam":
    smaller with BN."""
    course_band_claim(claim, "003", "beta_w", "effective beta (Adam form)", "||g_(t+1) - g_t|| / ||w_(t+1) - w_t||",
                      log=True)


# ---------------------------------------------------------------------------------------------
# Report 003, Sec. 2 introduction: what BN does to a layer's inputs and gradients (exact, no training)
# ---------------------------------------------------------------------------------------------
SCALE, PROBE_IMAGES = 4.0, 16


def convs(model: nn.Module) -> list[nn.Conv2d]:
    """VGG-A's convolutions in order (a BN, where there is one, follows each)."""
    return [m for m in model.features if isinstance(m, nn.Conv2d)]


def input_gradient_ratio(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, factor: float) -> float:
    """Norm of the loss's gradient with respect to the images with the first conv's weight and bias scaled by
    `factor`, over the same unscaled: the gradient that flows back through that layer (the model is left scaled)."""
    def norm() -> float:
        x = images.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(x), labels), x)
        return float(grad.norm())

    model.train()
    before = norm()
    with torch.no_grad():
        for p in convs(model)[0].parameters():
            p.mul_(factor)
    return norm() / before


@pytest.mark.claim("003/bn-normalizes-layer-inputs")
def test_003_bn_fixes_layer_inputs_and_gradient_scale(claim):
    """Sec. 2 (background): BN "fixes the means and variances of layer inputs" and reduces "the dependence of
    gradients on the scale of the parameters": with BN, scaling the images leaves the second conv's input unchanged
    and scaling the first conv leaves the gradient flowing back through it unchanged (VGG-A without BN alongside)."""
    test = claim.dataset("cifar10")["test"]
    images = (test.images[:PROBE_IMAGES].float() / 255 - 0.5) / 0.5  # the study's Normalize(0.5, 0.5)
    labels = test.labels[:PROBE_IMAGES]
    measured = {}
    for label, name in MODELS.items():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = create_model(name)
        measured[label] = (layer_input_change(model, convs(model)[1], images, SCALE),
                          input_gradient_ratio(model, images, labels, SCALE))
    claim.note(f"x{SCALE:g}: " + "; ".join(f"{label}: second conv's input change {change:.2e}, image-gradient "
                                           f"ratio {ratio:.4f}" for label, (change, ratio) in measured.items()))
    claim.check_within(f"{BN}: relative change of the second conv's input, images x{SCALE:g}", measured[BN][0],
                       claim.reported["input change"])
    claim.check_within(f"{BN}: image-gradient norm, first conv x{SCALE:g} over x1", measured[BN][1],
                       claim.reported["gradient ratio"])
    claim.check_within(f"{NOBN}: relative change of the second conv's input, images x{SCALE:g}", measured[NOBN][0],
                       claim.reported["input change without BN"])


@pytest.mark.claim("003/bn-higher-learning-rates-regularizes")
def test_003_bn_allows_higher_learning_rates_and_regularizes(claim):
    """Sec. 2 (background): BN allows much higher learning rates without the risk of divergence, regularizes the
    model and reduces the need for Dropout (the report trains nothing that tests it)."""


# ---------------------------------------------------------------------------------------------
# The paper's headline (cited by 003 and 000): smoother landscape with BN, paper definitions, lr 0.1
# ---------------------------------------------------------------------------------------------
PAPER_QUANTITIES = {
    # quantity -> (line-search field, axis label); the band edge compared (range or max over eta) is in reference/
    "loss-range": ("loss", "L(w - eta g) over eta"),
    "grad-predictiveness": ("grad_diff", "||grad L(w - eta g) - g|| over eta"),
    "beta": ("beta", "||grad L(w - eta g) - g|| / ||eta g|| over eta"),
}


def paper_band(run, field):
    """Per probed step: min..max over eta of a line-search field, as a Band (diverged tail dropped)."""
    ls = run.extra["probes"]["line_search"]
    rows = ls[field]
    n = next((i for i, r in enumerate(rows) if not all(math.isfinite(v) for v in r)), len(rows))
    lo, hi = bands.ranges(rows[:n]) if n else ([], [])
    excluded = {} if n == len(rows) else {"steps": f"non-finite line search from probed step {ls['step'][n]}"}
    return bands.Band(lo=lo, hi=hi, steps=ls["step"][:n], included=[f"eta {f:g} x lr" for f in ls["eta_factors"]],
                      excluded=excluded)


@pytest.mark.parametrize("quantity", PAPER_QUANTITIES)
@pytest.mark.claim("003/bn-paper-{quantity}")
def test_paper_bn_makes_the_landscape_smoother(claim, quantity):
    """Santurkar et al. 2018, cited in 003 Sec. 2 (and 000 Sec. 2.1): "BN reparametrizes the underlying
    optimization problem to make its landscape significantly more smooth", measured with the paper's own
    line search along the gradient (VGG, plain SGD, batch 128, lr 0.1; eta in [0.5, 4] x lr)."""
    field, ylabel = PAPER_QUANTITIES[quantity]
    runs = runs_000_at(claim, PAPER_LR)
    per_seed = [{label: paper_band(rs[i], field) for label, rs in runs.items()} for i in range(len(claim.seeds()))]
    edge, _ = statistic(claim)
    add_band_figure(claim, f"{ylabel} (paper definition, lr 0.1, seed {claim.seeds()[0]})", ylabel, per_seed[0],
                    log=quantity != "loss-range", line=edge if edge != "width" else None)
    for label, rs in runs.items():
        step_time, probe_time = seconds_per_step(rs[0])
        every = rs[0].extra["probes"]["line_search"]["every"]
        claim.note(f"{label}: probes cost {1000 * probe_time:.1f} ms per step against {1000 * step_time:.1f} ms of "
                   f"training per step (line search every {every} steps, course probes every step)")
    check_bn_smaller(claim, per_seed, ylabel)
