"""benchmarks/verdict_stability.py's reading of findings: what counts as stable, moved, flipped."""
import json

from tests.benchmark_scripts import load_benchmark

stability = load_benchmark("verdict_stability")


def _findings(tmp_path, base_seed, verdicts):
    path = tmp_path / f"base{base_seed}" / "findings.json"
    path.parent.mkdir()
    rows = [{"claim_id": c, "tier": "fast", "verdict": v} for c, v in verdicts.items()]
    rows.append({"claim_id": "a", "tier": "full", "verdict": "not-reproduced"})  # another tier: ignored
    path.write_text(json.dumps({"findings": rows}))
    return path


def test_stable_moved_and_flipped_claims(tmp_path):
    by_seed = {
        0: {"a": "reproduced", "b": "inconclusive", "c": "reproduced", "d": "not-run", "e": "qualitative"},
        1: {"a": "reproduced", "b": "reproduced", "c": "not-reproduced", "d": "not-run", "e": "qualitative"},
        2: {"a": "reproduced", "b": "inconclusive", "c": "inconclusive", "d": "not-run", "e": "qualitative"},
    }
    s = stability.read_stability({b: _findings(tmp_path, b, v) for b, v in by_seed.items()})
    assert s.decided == ["a", "b", "c"]  # d and e never had a verdict
    assert s.stable == ["a"]
    assert s.moved == ["b", "c"]
    assert s.flips == ["c"]
    assert s.counts[1] == {"reproduced": 2, "not-reproduced": 1}
    text = stability.report(s)
    assert "**1 of 3 (33.3%)**" in text
    assert "reproduced <-> not-reproduced: c" in text
    assert "- b: inconclusive / reproduced / inconclusive" in text


def test_a_claim_missing_at_one_base_seed_is_not_stable(tmp_path):
    s = stability.read_stability({0: _findings(tmp_path, 0, {"a": "reproduced"}),
                                  1: _findings(tmp_path, 1, {})})
    assert s.decided == ["a"] and s.stable == [] and s.moved == ["a"]
