import numpy as np
import pytest

from harness.claim import (Claim, ClaimCheckFailed, ClaimContext, ClaimInconclusive, Measured, UndecidableCheck, best,
                           epoch_time, final, mean_train_loss, relative_epoch_time, steadiness)
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


def _run(label_seed, correct, seed=0):
    hits = np.asarray(correct, dtype=bool)
    return RunResult(key=f"k{label_seed}", spec={"seed": seed}, status="completed", curves={},
                     final_test_acc=hits.mean(), best_test_acc=hits.mean(), final_train_acc=0.0, param_count=1,
                     wall_time=0.0, environment={}, test_correct={"best": pack_bits(hits), "final": pack_bits(hits)})


def _runs(first, hits):
    return [_run(first + i, h, seed=i) for i, h in enumerate(hits)]


def test_one_seed_per_arm_uses_the_paired_test_set_noise(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    rng = np.random.default_rng(0)
    base = rng.random(2000) < 0.7
    better = base | (rng.random(2000) < 0.15)  # strictly more images right
    claim.check_paired_better("a", best([_run(1, better)]), "b", best([_run(2, base)]), "any label at all")
    comp = claim.finding.comparisons[0]
    assert comp.n == 1 and "McNemar" in comp.method and comp.p_value < 1e-6 and comp.low > 0


def test_two_tied_seeds_with_per_image_data_do_not_give_a_zero_width_interval(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    a, b = _tied_pair(20)  # A ahead by 0.02 in both seeds, on other images
    try:  # the seed-only t interval would be [0.02, 0.02]
        claim.check_paired_better("a", best(_runs(1, a)), "b", best(_runs(3, b)), "best test accuracy")
    except ClaimInconclusive:
        pass
    comp = claim.finding.comparisons[0]
    assert "test-set sampling variance" in comp.method and comp.low < 0.02 - 0.005 and comp.high > 0.02 + 0.005


def _tied_pair(gap):
    """Two seeds per arm on 1,000 images, A ahead by `gap` images in both, on different images."""
    a1, b1, a2, b2 = (np.zeros(1000, bool) for _ in range(4))
    a1[:300], b1[gap:300] = True, True
    a2[500:800], b2[500:800 - gap] = True, True
    return [a1, a2], [b1, b2]


def test_the_statistic_comes_from_the_reading_not_from_the_label(tmp_path):
    """The same accuracies with per-image records get the widened interval under any label; as plain numbers
    (a value computed in a claim body) the seed-only interval, even under the label 'best test accuracy'."""
    a, b = _tied_pair(20)
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    try:
        claim.check_paired_better("a", final(_runs(1, a)), "b", final(_runs(3, b)), "Final test acc (reworded)")
    except ClaimInconclusive:
        pass
    assert "test-set sampling variance" in claim.finding.comparisons[0].method
    plain = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    plain.check_paired_better("a", [x.mean() for x in a], "b", [x.mean() for x in b], "best test accuracy")
    assert "test-set" not in plain.finding.comparisons[0].method


def test_paired_at_least_uses_the_widened_interval(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.02, "why": "no gain"}, seeds=2)
    b, a = _tied_pair(25)  # A behind by 0.025 in both seeds: the seed-only bound [-0.025, -0.025] rules it out
    with pytest.raises(ClaimInconclusive):
        claim.check_paired_at_least("a - b (paired mean)", "a", final(_runs(1, a)), "b", final(_runs(3, b)),
                                    "final test accuracy", 0.0)
    comp = claim.finding.comparisons[0]
    assert comp.method.startswith("one-sided 95% bounds: ") and "test-set sampling variance" in comp.method
    assert comp.low < -0.02 < comp.high
    with pytest.raises(ClaimCheckFailed):  # without per-image data: the seed-only bounds decide
        claim.check_paired_at_least("a - b", "a", [0.27, 0.27], "b", [0.295, 0.295], "train_loss", 0.0)


def _curve_run(key, seed, train_loss, test_acc, status="completed", epoch_time=None):
    n = len(test_acc)
    times = list(epoch_time or [1.0] * n)
    return RunResult(key=key, spec={"seed": seed}, status=status,
                     curves={"train_loss": list(train_loss), "test_acc": list(test_acc), "train_acc": [0.5] * n,
                             "epoch_time": times, "eval_time": [0.0] * len(times), "probe_time": [0.0] * len(times)},
                     final_test_acc=test_acc[-1] if n else float("nan"),
                     best_test_acc=max(test_acc) if n else float("nan"), final_train_acc=0.5, param_count=1,
                     wall_time=0.0, environment={}, diverged_at_step=None if status == "completed" else 40 * n + 7)


@pytest.mark.parametrize("check", [
    lambda c, a, b: c.check_paired_better("a", a, "b", b, "best test accuracy"),
    lambda c, a, b: c.check_ordered(["a", "b"], {"a": a, "b": b}, "mean training loss"),
    lambda c, a, b: c.check_ranks_first("a", {"a": a, "b": b}, "mean training loss"),
    lambda c, a, b: c.check_equivalent("a", a, "b", b, "mean training loss"),
    lambda c, a, b: c.check_all_similar({"a": a, "b": b}, "mean training loss"),
    lambda c, a, b: c.check_paired_at_least("a - b", "a", a, "b", b, "mean training loss", 0.0),
    lambda c, a, b: c.check_at_least("a", a, 0.0),
], ids=["paired_better", "ordered", "ranks_first", "equivalent", "all_similar", "paired_at_least", "at_least"])
def test_one_run_per_arm_of_a_reading_without_records_is_undecidable_not_inconclusive(tmp_path, check):
    """Its interval would be (-inf, inf) whatever the runs show: an error naming the claim and the fix."""
    claim = make_claim(tmp_path, {"margin": 0.0, "abs": 0.01, "why": "either"})
    a = mean_train_loss([_curve_run("a", 0, [2.0, 1.0], [0.3, 0.5])])
    b = mean_train_loss([_curve_run("b", 0, [2.0, 1.5], [0.3, 0.4])])
    with pytest.raises(UndecidableCheck, match=r"claim '999/x' \[fast\] can never decide.*999_test.yaml.*seeds >= 2"):
        check(claim, a, b)
    with pytest.raises(UndecidableCheck):  # plain numbers from a claim body: no record either
        check(claim, [0.3], [0.2])
    assert claim.finding.comparisons == []


def test_one_run_per_arm_of_an_epoch_time_decides_over_its_epochs(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.05, "why": "a clear cost"})
    slow = _curve_run("s", 0, [1.0] * 20, [0.5] * 20, epoch_time=[9.0] + [1.30, 1.32, 1.28, 1.31] * 5)
    fast = _curve_run("f", 0, [1.0] * 20, [0.5] * 20, epoch_time=[9.0] + [1.00, 1.02, 0.99, 1.01] * 5)
    claim.check_ordered(["slow", "fast"], {"slow": relative_epoch_time([slow], [fast]),
                                           "fast": relative_epoch_time([fast], [fast])}, "time relative to fast")
    comp = claim.finding.comparisons[0]
    assert comp.n == 1 and "Welch interval over 20 and 20 epochs" in comp.method and 0.25 < comp.low < comp.high < 0.35
    assert epoch_time([slow]).within_run == "epochs"


def test_a_diverged_arm_is_worse_and_the_finding_says_which(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    diverged = RunResult(key="d", spec={"seed": 4}, status="diverged", curves={}, final_test_acc=float("nan"),
                         best_test_acc=float("nan"), final_train_acc=float("nan"), param_count=1, wall_time=0.0,
                         environment={}, diverged_at_step=17)
    trained = [_run(1, [True, False, False, False, True])]
    claim.check_ranks_first("a", {"a": best(trained), "b": best([diverged])}, metric="acc")
    assert any("b seed 4 diverged at step 17" in n for n in claim.finding.notes)
    with pytest.raises(ClaimCheckFailed):
        claim.check_paired_better("b", best([diverged]), "a", best(trained), "acc")


def test_a_run_that_diverged_late_counts_as_diverged_in_every_reading(tmp_path):
    """Diverged at epoch 3 of 5: its two finished epochs read well (accuracy 0.6, no fall), yet it is worse than a
    run that trained on accuracy, less steady, and slower to converge."""
    late = [_curve_run(f"late{s}", s, [1.0, 0.5], [0.5, 0.6], status="diverged") for s in (0, 1)]
    ok = [_curve_run(f"ok{s}", s, [2.0, 1.5, 1.2, 1.1, 1.0], [0.3, 0.35, 0.3, 0.4, 0.45]) for s in (0, 1)]
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    claim.check_paired_better("ok", best(ok), "late", best(late), "best test accuracy")
    claim.check_paired_better("ok", steadiness(ok), "late", steadiness(late), "steadiness")
    claim.check_ordered(["late", "ok"], {"late": mean_train_loss(late), "ok": mean_train_loss(ok)}, "loss")
    assert outcomes(claim) == ["reproduced"] * 3
    assert any("late seed 0 diverged at step 87" in n for n in claim.finding.notes)


def test_an_arm_at_chance_is_named_in_the_notes_and_rows(tmp_path):
    claim = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, seeds=2)
    rng = np.random.default_rng(1)
    sgd = _runs(1, [rng.random(1000) < 0.7 for _ in range(2)])
    adam = _runs(3, [rng.random(1000) < 0.1 for _ in range(2)])
    claim.check_ranks_first("sgd", {"sgd": final(sgd), "adam": final(adam)}, "final test accuracy")
    assert any(n.startswith("arm 'adam' is at chance (best test accuracy 0.") and n.endswith("it never trained")
               for n in claim.finding.notes)
    rows = {r["label"]: r["detail"] for r in claim.finding.rows}
    assert rows["adam"].endswith("at chance") and "chance" not in rows["sgd"]


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


def _accuracy(*values):
    """Test accuracies as a reading gives them (no runs behind them here)."""
    return Measured(values, reading="best test accuracy", higher_is_better=True, correct_at="best")


def test_equivalence_between_arms_at_chance_is_inconclusive(tmp_path):
    claim = make_claim(tmp_path, {"abs": 0.03, "why": "band"})
    with pytest.raises(ClaimInconclusive):  # would be "reproduced": both arms at 10-11% on a 10-class test set
        claim.check_equivalent("SLBI+Adam", _accuracy(0.107, 0.103), "Adam", _accuracy(0.109, 0.108), "acc")
    assert any("at chance" in n for n in claim.finding.notes)
    with pytest.raises(ClaimInconclusive):
        claim.check_all_similar({"a": _accuracy(0.10, 0.11), "b": _accuracy(0.10, 0.10), "c": _accuracy(0.115, 0.1)},
                                "final test accuracy")
    claim.check_equivalent("a", [0.107, 0.103], "b", [0.109, 0.108], "accuracy change with 40% of conv3 pruned")
    claim.check_equivalent("a", _accuracy(0.13, 0.12), "b", _accuracy(0.125, 0.12), "acc")  # one run left chance


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
