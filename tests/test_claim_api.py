import pytest

from harness.claim import Claim, ClaimCheckFailed, ClaimContext
from harness.reference import ClaimEntry, TierPlan
from harness.runs import RunStore


def make_claim(tmp_path, tolerance, reported=None, seeds=1):
    entry = ClaimEntry(id="999/x", report="999_test", statement="A beats B", location="Table 1", kind="ordering",
                       reported=reported, tiers={"fast": TierPlan(seeds=seeds, tolerance=tolerance)}, recipe={},
                       expect="reproduced", why=None, source_file="999_test.yaml")
    published = []
    claim = Claim(entry=entry, tier="fast", context=ClaimContext(store=RunStore(tmp_path)), on_change=published.append)
    return claim, published


def test_within_passes_inside_and_fails_outside_the_tolerance(tmp_path):
    claim, _ = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"})
    claim.check_within("params", 11.1739, 11.17)
    with pytest.raises(ClaimCheckFailed, match="44.66"):
        claim.check_within("params", 44.66, 44.60)
    assert [r["ok"] for r in claim.finding["rows"]] == [True, False]


def test_relative_tolerance(tmp_path):
    claim, _ = make_claim(tmp_path, {"rel": 0.01, "why": "1%"})
    assert claim.within("x", 101.0, 100.0) and not claim.within("x", 102.0, 100.0)


def test_ranks_first_uses_the_mean_over_seeds_and_the_margin(tmp_path):
    claim, published = make_claim(tmp_path, {"margin": 0.0, "why": "directional"}, reported={"a": 0.9, "b": 0.8})
    claim.check_ranks_first("a", {"a": [0.6, 0.7], "b": [0.65, 0.6]}, metric="acc")
    assert published and published[-1]["rows"][0]["label"] == "a"
    with pytest.raises(ClaimCheckFailed, match="does not rank first"):
        claim.check_ranks_first("b", {"a": [0.6, 0.7], "b": [0.65, 0.6]}, metric="acc")


def test_a_tie_does_not_count_as_ranking_first(tmp_path):
    claim, _ = make_claim(tmp_path, {"margin": 0.0, "why": "strict"})
    with pytest.raises(ClaimCheckFailed):
        claim.check_ranks_first("a", {"a": [0.5], "b": [0.5]}, metric="acc")
    assert any("single-seed" in n for n in claim.finding["notes"])


def test_a_diverged_configuration_ranks_last(tmp_path):
    claim, _ = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    claim.check_ranks_first("a", {"a": [0.2], "b": [float("nan")]}, metric="acc")


def test_paired_better_compares_seed_pairs(tmp_path):
    claim, _ = make_claim(tmp_path, {"margin": 0.01, "why": "noise"})
    claim.check_paired_better("bn", [0.8, 0.82, 0.79], "plain", [0.7, 0.75, 0.7], metric="acc")
    with pytest.raises(ClaimCheckFailed, match="does not beat"):
        claim.check_paired_better("bn", [0.8, 0.7], "plain", [0.79, 0.705], metric="acc")


def test_ordered_checks_every_adjacent_pair(tmp_path):
    claim, _ = make_claim(tmp_path, {"margin": 0.0, "why": "directional"})
    claim.check_ordered(["a", "b", "c"], {"a": [0.9], "b": [0.8], "c": [0.7]}, metric="acc")
    with pytest.raises(ClaimCheckFailed, match="b <= c"):
        claim.check_ordered(["a", "b", "c"], {"a": [0.9], "b": [0.6], "c": [0.7]}, metric="acc")


def test_at_least_allows_the_abs_slack(tmp_path):
    claim, _ = make_claim(tmp_path, {"abs": 0.005, "why": "rounding"})
    claim.check_at_least("headline", 0.957, 0.96)
    with pytest.raises(ClaimCheckFailed, match="below"):
        claim.check_at_least("headline", 0.95, 0.96)


def test_check_all_rows_records_every_row_before_failing(tmp_path):
    claim, _ = make_claim(tmp_path, {"abs": 0, "why": "exact"})
    claim.within("train", 50000, 50000)
    claim.within("val", 4999, 5000)
    claim.within("test", 5000, 5000)
    with pytest.raises(ClaimCheckFailed, match="val outside"):
        claim.check_all_rows("split sizes")
    assert len(claim.finding["rows"]) == 3



@pytest.mark.parametrize("wrong_key, check", [
    ("margin", lambda c: c.check_at_least("headline", 0.5, 0.96)),
    ("abs", lambda c: c.check_ranks_first("a", {"a": [0.6], "b": [0.5]}, metric="acc")),
    ("abs", lambda c: c.check_paired_better("a", [0.6], "b", [0.5], metric="acc")),
    ("abs", lambda c: c.check_ordered(["a", "b"], {"a": [0.6], "b": [0.5]}, metric="acc")),
], ids=["at_least", "ranks_first", "paired_better", "ordered"])
def test_a_check_whose_tolerance_key_is_absent_names_the_field_instead_of_using_zero(tmp_path, wrong_key, check):
    from harness.reference import ReferenceError

    claim, _ = make_claim(tmp_path, {wrong_key: 0.01, "why": "the wrong key for this check"})
    field = "abs" if wrong_key == "margin" else "margin"
    with pytest.raises(ReferenceError, match=rf"999_test.yaml, claim '999/x', field 'tiers.fast.tolerance.{field}'"):
        check(claim)
