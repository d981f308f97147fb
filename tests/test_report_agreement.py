"""reports/agreement.py: how often proxies agree with full-recipe verdicts, and the label each proxy carries."""
import json

import pytest

from reports import agreement, verdicts


def finding(cid, tier, verdict, kind="training"):
    return {"claim_id": cid, "report": "005_x", "tier": tier, "kind": kind, "verdict": verdict,
            "rows": [{"what": "x"}], "comparisons": [{"test": "better", "n": 3, "outcome": verdict}]}


@pytest.mark.parametrize("proxy, full, outcome", [
    (verdicts.HELD, verdicts.HELD, agreement.AGREE), (verdicts.FAILED, verdicts.FAILED, agreement.AGREE),
    (verdicts.HELD, verdicts.FAILED, agreement.PROXY_DISAGREES), (verdicts.UNDECIDED, verdicts.HELD,
                                                                  agreement.PROXY_UNDECIDED),
    (verdicts.HELD, verdicts.UNDECIDED, agreement.FULL_UNDECIDED), (verdicts.PENDING, verdicts.HELD, None)])
def test_a_pair_is_classified_by_its_two_verdicts(proxy, full, outcome):
    assert agreement.classify(proxy, full) == outcome


def test_pairs_come_from_claims_with_both_tiers_and_earlier_measurements_fill_in():
    findings = [finding("005/a", "fast", "reproduced"), finding("005/a", "full", "reproduced"),
                finding("005/b", "fast", "reproduced"), finding("005/b", "full", "not-reproduced"),
                finding("005/c", "fast", "reproduced")]
    measured = {"source": "laptop, 2026-12-06", "pairs": [
        {"claim_id": "005/a", "outcome": agreement.PROXY_DISAGREES},  # the findings at hand win
        {"claim_id": "005/z", "outcome": agreement.PROXY_UNDECIDED}]}
    summary = agreement.agreement(verdicts.claim_views(findings), measured)
    assert [p["claim_id"] for p in summary["pairs"]] == ["005/a", "005/b", "005/z"]
    assert summary["counts"][agreement.AGREE] == 1 and summary["counts"][agreement.PROXY_DISAGREES] == 1
    assert summary["rate"] == 0.5 and summary["live"] == 2
    assert agreement.tag(summary) == "proxies vs full recipe: 1/2 agreed (3 pairs)"


def test_a_malformed_measurement_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "proxy_agreement.json"
    path.write_text(json.dumps({"source": "x", "pairs": [{"claim_id": "005/a", "outcome": "maybe"}]}))
    with pytest.raises(ValueError, match="proxy_agreement.json: not a proxy-agreement file"):
        agreement.load_measured(path)
    assert agreement.load_measured(tmp_path / "absent.json") == {"source": "", "pairs": []}


def test_the_checked_in_measurements_load():
    agreement.load_measured()
