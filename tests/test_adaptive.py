"""`--seeds-until-decided N` in a scratch project: looks, their levels, the recorded stopping rule, and a default
session that is unchanged. The claim's values depend on its seeds only, so nothing trains."""
import json

from harness.claim.sequential import Design
from harness.pytest_plugin.adaptive import can_extend
from tests.test_collection import findings_of, run_pytest, scratch

ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - id: 999/a-beats-b
    statement: "A beats B."
    location: Table 1
    kind: ordering
    reported: {A: 0.62, B: 0.6}
    tiers:
      fast: {seeds: 2, tolerance: {margin: 0.0, why: "any lead"}}
"""

# A leads B by 2 points; the seed pairs scatter around that lead (one value per seed, in seed order)
TEST = '''
import pytest

SCATTER = [0.01, -0.01, 0.005, -0.005, 0.0, 0.002, -0.002, 0.0, 0.001, -0.001, 0.0, 0.0, 0.0]

@pytest.mark.claim("999/a-beats-b")
def test_a_beats_b(claim):
    seeds = claim.seeds()
    a = [0.6 + 0.02 + SCATTER[s] for s in seeds]
    b = [0.6 for _ in seeds]
    claim.check_paired_better("A", a, "B", b, "score")
'''


def test_the_design_spends_its_alpha_over_the_looks():
    design = Design.plan(2, 8)
    assert design.looks == (2, 3, 5, 8)
    assert abs(sum(design.level(k) for k in range(4)) - 0.05) < 1e-12
    assert all(design.level(k) > 0 for k in range(4))
    assert Design.plan(3, 3).looks == (3,) and Design.plan(3, 3).confidence(0) == 0.95


def test_an_inconclusive_check_takes_looks_until_it_decides_and_a_default_session_takes_one(tmp_path):
    project = scratch(tmp_path, ENTRY, TEST)
    fixed = run_pytest(project, "claims", "-m", "fast", "--report-dir", "fixed", "--no-report")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    once = findings_of(project, "fixed")[("999/a-beats-b", "fast")]
    assert once["verdict"] == "inconclusive" and once["looks"] == [] and once["stopping_rule"] is None
    assert [c["n"] for c in once["comparisons"]] == [2] and once["comparisons"][0]["confidence"] == 0.95

    adaptive = run_pytest(project, "claims", "-m", "fast", "--report-dir", "adaptive", "--no-report",
                          "--seeds-until-decided", "8")
    assert adaptive.returncode == 0, adaptive.stdout + adaptive.stderr
    found = findings_of(project, "adaptive")[("999/a-beats-b", "fast")]
    design = Design.plan(2, 8)
    assert found["verdict"] == "reproduced", json.dumps(found["looks"])
    assert [(look["seeds"], look["outcome"]) for look in found["looks"]] == \
        [(2, "inconclusive"), (3, "inconclusive"), (5, "reproduced")]
    assert [look["confidence"] for look in found["looks"]] == [round(design.confidence(k), 6) for k in range(3)]
    assert found["seeds"] == 5 and [c["n"] for c in found["comparisons"]] == [5]  # only the deciding look's evidence
    assert found["comparisons"][0]["confidence"] == design.confidence(2)
    assert "obrien-fleming" in found["stopping_rule"] and "2, 3, 5, 8" in found["stopping_rule"]


def test_a_bad_seeds_until_decided_is_a_usage_error(tmp_path):
    project = scratch(tmp_path, ENTRY, TEST)
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--seeds-until-decided", "some")
    assert done.returncode != 0 and "--seeds-until-decided" in done.stdout + done.stderr


class _Comparison:
    def __init__(self, test, method="paired t"):
        self.test, self.method = test, method


class _Claim:
    def __init__(self, *comparisons):
        self.finding = type("F", (), {"comparisons": list(comparisons)})()


def test_only_a_test_over_seeds_takes_another_look():
    assert can_extend(_Claim(_Comparison("better")))
    assert can_extend(_Claim(_Comparison("consistent"), _Comparison("equivalent")))
    assert not can_extend(_Claim(_Comparison("consistent")))
    assert not can_extend(_Claim(_Comparison("at-least", "exact value")))


def test_the_report_says_which_look_decided():
    from reports.sections import looks_text
    looks = [{"look": 1, "seeds": 2, "confidence": 0.982, "outcome": "inconclusive"},
             {"look": 2, "seeds": 3, "confidence": 0.993, "outcome": "reproduced"}]
    assert looks_text({"looks": looks}) == "decided at look 2 (3 seeds per arm; its interval at 99.3%)"
    assert looks_text({"looks": looks[:1]}) == "undecided after look 1 (2 seeds per arm)"
    cut = looks[:1] + [{"look": 2, "seeds": 3, "outcome": "not run: cached-only"}]
    assert looks_text({"looks": cut}) == "undecided after look 1 (2 seeds per arm); a later look could not run"
    assert looks_text({"looks": []}) == ""


def test_the_plan_splits_reference_expected_and_worst_runs():
    from harness.plan.adaptive_cost import adaptive_summary
    runs = [{"key": k, "cached": False, "est_seconds": 3600.0, "flop": 1e15, "claims": claims}
            for k, claims in (("a0", ["x [full]"]), ("a1", ["x [full]"]), ("a2", ["x [full]", "y [full]"]),
                              ("a3", ["x [full]"]))]
    looks = {"x [full]": [{"seeds": 2, "runs": ["a0", "a1"]}, {"seeds": 3, "runs": ["a0", "a1", "a2"]},
                          {"seeds": 5, "runs": ["a0", "a1", "a2", "a3"]}]}
    inconclusive = {"verdict": "inconclusive", "comparisons": [{"outcome": "inconclusive", "seeds_needed": 3}]}
    s = adaptive_summary(runs, looks, {"x [full]": inconclusive})
    # a2 is also a run of claim y, which takes no second look: it is in the reference case
    assert (s["reference"]["runs"], s["expected"]["runs"], s["worst"]["runs"]) == (3, 3, 4)
    assert s["claims"]["x [full]"]["expected_look"] == 2 and s["worst"]["device_hours"] == 4.0
    assert adaptive_summary(runs, looks, {})["expected"]["runs"] == 4  # no finding yet: the worst case
    decided = {"verdict": "reproduced", "comparisons": [{"outcome": "reproduced"}]}
    assert adaptive_summary(runs, looks, {"x [full]": decided})["claims"]["x [full]"]["expected_look"] == 1


def test_the_run_queue_plans_only_the_reference_looks():
    from harness.plan.run_queue import reference_looks_only
    assert reference_looks_only(["claims", "-m", "full", "--seeds-until-decided", "8", "-k", "x"]) == \
        ["claims", "-m", "full", "-k", "x"]
    assert reference_looks_only(["claims", "--seeds-until-decided=8"]) == ["claims"]


def test_a_look_that_cannot_run_leaves_the_last_look_that_did(tmp_path):
    skipping = TEST.replace("    seeds = claim.seeds()\n",
                            "    seeds = claim.seeds()\n    if len(seeds) > 3:\n        pytest.skip('run missing')\n")
    project = scratch(tmp_path, ENTRY, skipping)
    done = run_pytest(project, "claims", "-m", "fast", "--report-dir", "out", "--no-report",
                      "--seeds-until-decided", "8")
    assert done.returncode == 0, done.stdout + done.stderr
    found = findings_of(project, "out")[("999/a-beats-b", "fast")]
    assert found["verdict"] == "inconclusive" and found["seeds"] == 3
    assert [c["n"] for c in found["comparisons"]] == [3]  # the evidence of the look at 3 seeds, put back
    assert [(look["seeds"], look["outcome"]) for look in found["looks"]] == \
        [(2, "inconclusive"), (3, "inconclusive"), (5, "not run: run missing")]
