"""The session's progress line: tests done, minutes so far, and a time left from the recent pace."""
from harness.pytest_plugin.controller import progress_line


def test_the_time_left_follows_the_recent_pace_not_the_quick_unit_tests():
    # 600 quick tests in the first minute, then 4 claims in the last 5 minutes: 96 claims left
    assert progress_line(604, 700, 360) == "tests: 604/700 done, 6 min so far, about 1 min left"
    assert progress_line(604, 700, 360, recent=(4, 300)) == "tests: 604/700 done, 6 min so far, about 120 min left"


def test_no_estimate_before_the_first_test_or_after_the_last():
    assert progress_line(0, 10, 30) == "tests: 0/10 done, 0 min so far"
    assert progress_line(10, 10, 300, recent=(2, 300)) == "tests: 10/10 done, 5 min so far"
    assert progress_line(5, 10, 300, recent=(0, 300)) == "tests: 5/10 done, 5 min so far, about 5 min left"
