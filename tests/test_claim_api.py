import numpy as np
import pytest

from harness.claim import Claim, ClaimCheckFailed, ClaimContext, ClaimInconclusive
from harness.reference.entries import ClaimEntry, TierPlan
from harness.runs.result import RunResult, pack_bits
from harness.runs.store import RunStore


def make_claim(tmp_path, tolerance, reported=None, seeds=1):
    entry = ClaimEntry(id="999/x", report="999_test", statement="A beats B", location="Table 1", kind="ordering",
                       reported=reported, tiers={"fast": TierPlan(seeds=seeds, tolerance=tolerance)}, recipe={},
                       expect="reproduced", why=None, source_file="999_test.yaml")
    return Claim(entry=entry, tier="fast", context=ClaimContext(store=RunStore(tmp_path)))


def outcomes(claim):
    return [c.outcome for c in claim.finding.comparisons]


def test_within_passes_inside_and_fails_outside_the_tolerance(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"})
    claim.check_within("params", 11.1739, 11.17)
    with pytest.raises(ClaimCheckFailed, match="44.66"):
        claim.check_within("params", 44.66, 44.60)
    assert [r["ok"] for r in claim.finding.rows] == [True, False]


def test_within_over_seeds_uses_the_prediction_interval(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.0, "why": "seed noise only"})
    claim.check_within("acc", [0.80, 0.84, 0.82], 0.85)  # mean 0.82, s 0.02: one more run may well reach 0.85
    with pytest.raises(ClaimCheckFailed):
        claim.check_within("acc", [0.80, 0.801, 0.802], 0.85)
    assert claim.finding.comparisons[0].method.startswith("prediction interval")


def test_relative_tolerance(tmp_path):
    claim = make_claim(tmp_path, {"rel": 0.01, "why": "1%"})
    assert claim.within("x", 101.0, 100.0) == "reproduced" and claim.within("x", 102.0, 100.0) == "not-reproduced"


def test_ranks_first_needs_every_interval_above_the_margin(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, reported={"a": 0.9, "b": 0.8})
    claim.check_ranks_first("a", {"a": [0.70, 0.72, 0.71], "b": [0.60, 0.61, 0.62], "c": [0.5, 0.52, 0.5]}, "acc")
    assert claim.finding.rows[0]["label"] == "a" and outcomes(claim) == ["reproduced", "reproduced"]
    with pytest.raises(ClaimCheckFailed, match="b first"):
        claim.check_ranks_first("b", {"a": [0.70, 0.72, 0.71], "b": [0.60, 0.61, 0.62]}, "acc")


def test_a_one_of_three_seed_win_is_inconclusive_not_reproduced(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    with pytest.raises(ClaimInconclusive, match="inconclusive"):
        claim.check_paired_better("0.9", [0.50, 0.49, 0.52], "0.5", [0.49, 0.50, 0.53], "final test accuracy")
    assert outcomes(claim) == ["inconclusive"] and claim.finding.comparisons[0].n == 3


def test_paired_better_rules_out_a_clear_loss(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.01, "why": "noise"})
    claim.check_paired_better("bn", [0.8, 0.82, 0.79], "plain", [0.7, 0.75, 0.7], metric="acc")
    with pytest.raises(ClaimCheckFailed, match="beats"):
        claim.check_paired_better("bn", [0.60, 0.61, 0.62], "plain", [0.70, 0.70, 0.72], metric="acc")


def _run(label_seed, correct):
    hits = np.asarray(correct, dtype=bool)
    return RunResult(key=f"k{label_seed}", spec={"seed": 0}, status="completed", curves={}, final_test_acc=hits.mean(),
                     best_test_acc=hits.mean(), final_train_acc=0.0, param_count=1, wall_time=0.0, environment={},
                     test_correct={"best": pack_bits(hits), "final": pack_bits(hits)})


def test_one_seed_per_arm_uses_the_paired_test_set_noise(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    rng = np.random.default_rng(0)
    base = rng.random(2000) < 0.7
    better = base | (rng.random(2000) < 0.15)  # strictly more images right
    claim._arms = {"a": [_run(1, better)], "b": [_run(2, base)]}
    claim.check_paired_better("a", [better.mean()], "b", [base.mean()], "best test accuracy")
    comp = claim.finding.comparisons[0]
    assert comp.n == 1 and "McNemar" in comp.method and comp.p_value < 1e-6 and comp.low > 0


def test_two_tied_seeds_with_per_image_data_do_not_give_a_zero_width_interval(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    a, b = _tied_pair(20)  # A ahead by 0.02 in both seeds, on other images
    claim._arms = {"a": [_run(1, a[0]), _run(2, a[1])], "b": [_run(3, b[0]), _run(4, b[1])]}
    with pytest.raises(ClaimInconclusive):  # the seed-only t interval would be [0.02, 0.02]: "reproduced"
        claim.check_paired_better("a", [x.mean() for x in a], "b", [x.mean() for x in b], "best test accuracy")
    comp = claim.finding.comparisons[0]
    assert "widened" in comp.method and comp.low < 0 < comp.high


def _tied_pair(gap):
    """Two seeds per arm on 1,000 images, A ahead by `gap` images in both, on different images."""
    a1, b1, a2, b2 = (np.zeros(1000, bool) for _ in range(4))
    a1[:300], b1[gap:300] = True, True
    a2[500:800], b2[500:800 - gap] = True, True
    return [a1, a2], [b1, b2]


def test_an_arm_named_by_a_shorter_label_is_found_by_its_runs(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    a, b = _tied_pair(20)
    claim._arms = {"MyNet a": [_run(1, a[0]), _run(2, a[1])], "MyNet b": [_run(3, b[0]), _run(4, b[1])]}
    with pytest.raises(ClaimInconclusive):
        claim.check_paired_better("a", [x.mean() for x in a], "b", [x.mean() for x in b], "best test accuracy")
    assert "widened" in claim.finding.comparisons[0].method


def test_paired_at_least_uses_the_widened_interval(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.02, "why": "no gain"}, seeds=2)
    b, a = _tied_pair(25)  # A behind by 0.025 in both seeds: the seed-only bound [-0.025, -0.025] rules it out
    claim._arms = {"a": [_run(1, a[0]), _run(2, a[1])], "b": [_run(3, b[0]), _run(4, b[1])]}
    with pytest.raises(ClaimInconclusive):
        claim.check_paired_at_least("a - b (paired mean)", "a", [x.mean() for x in a], "b", [x.mean() for x in b],
                                    "final test accuracy", 0.0)
    comp = claim.finding.comparisons[0]
    assert comp.method.startswith("one-sided 95% bounds: t interval") and comp.low < -0.02 < comp.high
    with pytest.raises(ClaimCheckFailed):  # without per-image data: the seed-only bounds decide
        claim.check_paired_at_least("a - b", "a", [0.27, 0.27], "b", [0.295, 0.295], "train_loss", 0.0)


def test_one_seed_without_per_image_data_is_inconclusive(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    with pytest.raises(ClaimInconclusive):
        claim.check_paired_better("a", [0.3], "b", [0.2], "train_loss")


def test_a_diverged_arm_is_worse_and_the_finding_says_which(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    diverged = RunResult(key="d", spec={"seed": 4}, status="diverged", curves={}, final_test_acc=float("nan"),
                         best_test_acc=float("nan"), final_train_acc=float("nan"), param_count=1, wall_time=0.0,
                         environment={}, diverged_at_step=17)
    claim._arms = {"b": [diverged]}
    claim.check_ranks_first("a", {"a": [0.2], "b": [float("nan")]}, metric="acc")
    assert any("b seed 4 diverged at step 17" in n for n in claim.finding.notes)
    with pytest.raises(ClaimCheckFailed):
        claim.check_paired_better("b", [float("nan")], "a", [0.2], "acc")


def test_ordered_checks_every_adjacent_pair(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    claim.check_ordered(["a", "b", "c"], {"a": [0.9, 0.91], "b": [0.8, 0.8], "c": [0.7, 0.705]}, metric="acc")
    with pytest.raises(ClaimCheckFailed, match="order a > b > c"):
        claim.check_ordered(["a", "b", "c"], {"a": [0.9, 0.91, 0.9], "b": [0.6, 0.6, 0.61], "c": [0.7, 0.71, 0.7]},
                            metric="acc")


def test_equivalence_by_two_one_sided_tests(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.03, "why": "band"})
    claim.check_equivalent("gelu", [0.50, 0.52, 0.51], "relu", [0.505, 0.515, 0.50], "best test accuracy")
    with pytest.raises(ClaimInconclusive):  # +0.015 and -0.072: the interval spans the band
        claim.check_equivalent("gelu", [0.315, 0.228], "relu", [0.30, 0.30], "best test accuracy")
    with pytest.raises(ClaimCheckFailed):
        claim.check_equivalent("gelu", [0.70, 0.71, 0.72], "relu", [0.50, 0.505, 0.51], "best test accuracy")


def test_equivalence_between_arms_at_chance_is_inconclusive(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.03, "why": "band"})
    with pytest.raises(ClaimInconclusive):  # would be "reproduced": both arms at 10-11% on a 10-class test set
        claim.check_equivalent("SLBI+Adam", [0.107, 0.103], "Adam", [0.109, 0.108], "best test accuracy")
    assert any("at chance" in n for n in claim.finding.notes)
    with pytest.raises(ClaimInconclusive):
        claim.check_all_similar({"a": [0.10, 0.11], "b": [0.10, 0.10], "c": [0.115, 0.1]}, "final test accuracy")
    claim.check_equivalent("a", [0.107, 0.103], "b", [0.109, 0.108], "accuracy change with 40% of conv3 pruned")
    claim.check_equivalent("a", [0.13, 0.12], "b", [0.125, 0.12], "best test accuracy")  # one run left chance


def test_at_least_bounds_over_seeds_and_exact_values(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"})
    claim.check_at_least("headline", 0.957, 0.96)  # an exact value within the slack
    with pytest.raises(ClaimCheckFailed, match="bound"):
        claim.check_at_least("headline", 0.95, 0.96)
    claim.check_at_least("headline", [0.97, 0.971, 0.969], 0.96)
    with pytest.raises(ClaimInconclusive):
        claim.check_at_least("headline", [0.95, 0.99], 0.96)


def test_check_all_rows_records_every_row_before_failing(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0, "why": "exact"})
    claim.within("train", 50000, 50000)
    claim.within("val", 4999, 5000)
    claim.within("test", 5000, 5000)
    with pytest.raises(ClaimCheckFailed, match="val outside"):
        claim.check_all_rows("split sizes")
    assert len(claim.finding.rows) == 3


@pytest.mark.parametrize("wrong_key, check", [
    ("margin", lambda c: c.check_at_least("headline", 0.5, 0.96)),
    ("abs", lambda c: c.check_ranks_first("a", {"a": [0.6], "b": [0.5]}, metric="acc")),
    ("abs", lambda c: c.check_paired_better("a", [0.6], "b", [0.5], metric="acc")),
    ("abs", lambda c: c.check_ordered(["a", "b"], {"a": [0.6], "b": [0.5]}, metric="acc")),
], ids=["at_least", "ranks_first", "paired_better", "ordered"])
def test_a_check_whose_tolerance_key_is_absent_names_the_field_instead_of_using_zero(tmp_path, wrong_key, check):
    from harness.reference.entries import ReferenceError

    claim = make_claim(tmp_path, {wrong_key: 0.01, "why": "the wrong key for this check"})
    field = "abs" if wrong_key == "margin" else "margin"
    with pytest.raises(ReferenceError, match=rf"999_test.yaml, claim '999/x', field 'tiers.fast.tolerance.{field}'"):
        check(claim)


def test_arms_of_one_claim_must_share_precision_and_bf16_is_recorded_as_an_assumption(tmp_path):
    """A full-tier comparison never measures a bf16 arm against an fp32 one; the finding's recipe says bf16."""
    from harness.runs.spec import Spec

    entry = ClaimEntry(id="999/x", report="999_test", statement="A beats B", location="Table 1", kind="ordering",
                       reported=None, tiers={"full": TierPlan(seeds=1, tolerance={"margin": 0.0, "why": "t"})},
                       recipe={"assumed": {"sgd": "plain"}}, expect="reproduced", why=None,
                       source_file="999_test.yaml")
    claim = Claim(entry=entry, tier="full", context=ClaimContext(store=RunStore(tmp_path)))
    base = Spec(model="lenet", dataset="synthetic_mnist")
    claim._same_precision("plain", claim.spec(base))
    claim._same_precision("probed", claim.spec(base.replace(probes=("slbi_support", "prune_curve"))))
    assert claim.finding.recipe["assumed"]["precision"].startswith("bf16")
    assert claim.finding.recipe["assumed"]["sgd"] == "plain" and "precision" not in entry.recipe["assumed"]
    with pytest.raises(ValueError, match="'gradients' trains in fp32 but 'plain' in bf16"):
        claim._same_precision("gradients", claim.spec(base.replace(probes=("step_loss", "grad_change"))))


def test_a_figure_of_an_unknown_kind_is_an_error_naming_the_known_kinds(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    with pytest.raises(ValueError, match=r"unknown figure kind 'curve'; known: curves, pruning, conv-kernels"):
        claim.figure("curve", "Test accuracy per epoch", {"a": [_run(1, [True, False])]})
    with pytest.raises(ValueError, match=r"Claim.band_figure"):  # a band's series are the claim's, not runs'
        claim.figure("band", "Loss band", {"a": [_run(1, [True, False])]})
    assert claim.finding.figures == []
    claim.figure("curves", "Test accuracy per epoch", {"a": [_run(1, [True, False])]})
    assert [f.kind for f in claim.finding.figures] == ["curves"]


@pytest.mark.parametrize("metric", ["best test acc", "Final test accuracy", "test accuracy (last epoch)"])
def test_a_metric_label_that_reads_like_an_unknown_test_accuracy_names_the_known_labels(tmp_path, metric):
    """Such a label would silently lose the test set's sampling term of the interval."""
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    a, b = _tied_pair(20)
    claim._arms = {"a": [_run(1, a[0]), _run(2, a[1])], "b": [_run(3, b[0]), _run(4, b[1])]}
    with pytest.raises(ValueError, match=r"known: 'best test accuracy', 'final test accuracy'"):
        claim.check_paired_better("a", [x.mean() for x in a], "b", [x.mean() for x in b], metric)


@pytest.mark.parametrize("metric, reading", [
    ("best test accuracy", "best"), ("final test accuracy", "final"), ("final test accuracy (ReLU vs tanh)", "final"),
    ("mean test accuracy over the first 10 epochs", None), ("train accuracy - best test accuracy", None),
    ("minus mean fall of test accuracy per epoch (higher = steadier)", None), ("mean epoch time (s)", None),
])
def test_the_labels_claims_use_keep_their_reading(metric, reading):
    from harness.claim.claim import accuracy_reading

    assert accuracy_reading(metric) == reading


def test_fail_is_a_verdict_of_the_claim_with_its_statement_and_rows(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.0, "why": "exact"})
    claim.within("cell", 1.0, 1.0)
    with pytest.raises(ClaimCheckFailed, match=r"(?s)999/x \[fast\]: no run learned\nA beats B\n.*cell"):
        claim.fail("no run learned")


def _slbi_claims_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "claims" / "test_slbi.py"
    spec = importlib.util.spec_from_file_location("slbi_claims_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_slbi_pruning_cells_rule_the_claim_out_through_the_claim(tmp_path):
    """A cell outside the tolerance fails the claim (Claim.within's outcome is a string, never falsy)."""
    slbi = _slbi_claims_module()
    claim = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"}, seeds=2)
    slbi.check_cells(claim, "conv3", {0: [0.99, 0.99], 20: [0.99, 0.99]}, {"0": 0.99, "20": 0.99})
    with pytest.raises(ClaimCheckFailed, match=r"conv3 40% outside"):
        slbi.check_cells(claim, "conv3", {0: [0.99, 0.99], 40: [0.50, 0.50]}, {"0": 0.99, "40": 0.99})
    assert [r["ok"] for r in claim.finding.rows] == [True, True, True, False]


def test_no_trained_slbi_run_is_a_verdict_of_the_claim(tmp_path):
    slbi = _slbi_claims_module()
    claim = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"})
    with pytest.raises(ClaimCheckFailed, match=r"999/x \[fast\]: no run of the model trained past chance level\nA "):
        slbi.trained(claim, [_run(1, [True, False, False, False])])
    assert "never trained" in claim.finding.notes[0]
