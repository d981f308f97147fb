"""--budget: from the plan's rows, the claims whose missing runs fit the time, cheapest addition first."""
from harness.plan.budget import LeftOut, Selection, describe_duration, select


def row(key, seconds, *claims, cached=False):
    return {"key": key, "est_seconds": seconds, "claims": list(claims), "cached": cached}


ROWS = [row("a", 600, "lenet/acc", "lenet/prune"),  # shared: counted once
        row("b", 300, "lenet/prune"),
        row("c", 3000, "resnet/acc"),
        row("d", 7200, "vgg/acc"),
        row("e", 900, "cached/acc", cached=True)]


def test_the_cheapest_claims_that_fit_are_chosen_and_shared_runs_count_once():
    chosen = select(ROWS, budget_s=1000)
    assert chosen.claims == ["cached/acc", "lenet/acc", "lenet/prune"]
    assert chosen.runs == {"a": 600.0, "b": 300.0} and chosen.wall_seconds == 900
    assert chosen.left_out == [LeftOut("resnet/acc", 3000.0, 1), LeftOut("vgg/acc", 7200.0, 1)]


def test_a_claim_that_does_not_fit_does_not_stop_a_cheaper_one_later():
    rows = [row("x", 50, "small"), row("y", 950, "medium"), row("z", 400, "other")]
    chosen = select(rows, budget_s=500)
    assert chosen.claims == ["small", "other"] and [c.claim for c in chosen.left_out] == ["medium"]


def test_workers_share_the_budget_longest_first():
    rows = [row(k, 600, f"claim-{k}") for k in "abcd"]
    assert len(select(rows, budget_s=1200, workers=1).claims) == 2
    two = select(rows, budget_s=1200, workers=2)
    assert len(two.claims) == 4 and two.wall_seconds == 1200


def test_a_budget_too_small_for_any_run_keeps_only_cached_claims_and_lists_the_rest():
    chosen = select(ROWS, budget_s=60)
    assert chosen.claims == ["cached/acc"] and chosen.runs == {}
    lines = chosen.lines()
    assert lines[0].startswith("budget 1 min on 1 worker(s): 1 claim(s), 0 run(s)") and lines[1] == "  cached/acc"
    assert "  lenet/acc: 10 min, 1 run(s)" in lines and "  vgg/acc: 2 h 00 min, 1 run(s)" in lines


def test_a_selection_travels_as_json_and_back():
    chosen = select(ROWS, budget_s=4000, workers=2)
    assert Selection.from_dict(chosen.to_dict()) == chosen


def test_durations_read_as_people_write_them():
    assert [describe_duration(s) for s in (40, 600, 3900, 7200)] == ["40 s", "10 min", "1 h 05 min", "2 h 00 min"]
