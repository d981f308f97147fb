import textwrap

import pytest

from harness.reference import ReferenceError, load_all, load_report

GOOD = """
report: 999_test
title: A test report
claims:
  - id: 999/a-claim
    statement: "A beats B."
    location: Table 1
    kind: ordering
    reported: {a: 0.9, b: 0.8}
    tiers:
      fast: {seeds: 2, tolerance: {margin: 0.0, why: directional}}
      full: {}
"""


def write(tmp_path, text, name="999_test.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_the_projects_reference_files_are_valid():
    reports = load_all()
    assert reports and all(r.claims for r in reports.values())


def test_a_good_file_loads(tmp_path):
    report = load_report(write(tmp_path, GOOD))
    entry = report.claims["999/a-claim"]
    assert entry.plan("fast").seeds == 2 and entry.plan("full").seeds == 1 and entry.expect == "reproduced"


@pytest.mark.parametrize("old,new,field", [
    ('    statement: "A beats B."\n', "", "statement"),
    ("kind: ordering", "kind: vibes", "kind"),
    ("seeds: 2", "seeds: two", "tiers.fast.seeds"),
    ("why: directional", "why: ''", "tiers.fast.tolerance.why"),
    ("margin: 0.0", "slack: 0.1", "tiers.fast.tolerance.slack"),
    ("      full: {}", "      medium: {}", "tiers.medium"),
    ("id: 999/a-claim", "id: 998/a-claim", "id"),
    ("    reported: {a: 0.9, b: 0.8}\n", "    reported: 1\n    expect: not-reproduced\n", "why"),
    ("report: 999_test", "report: 999_other", "report"),
])
def test_a_malformed_entry_names_file_claim_and_field(tmp_path, old, new, field):
    assert old in GOOD
    with pytest.raises(ReferenceError) as err:
        load_report(write(tmp_path, GOOD.replace(old, new)))
    message = str(err.value)
    assert "999_test.yaml" in message and f"field {field!r}" in message


def test_duplicate_claim_ids_are_rejected(tmp_path):
    text = GOOD + GOOD.split("claims:\n")[1]
    with pytest.raises(ReferenceError, match="duplicate"):
        load_report(write(tmp_path, text))


def test_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(ReferenceError, match="999_test.yaml.*not valid YAML"):
        load_report(write(tmp_path, "claims: [unclosed"))


def test_conflicts_must_name_known_claims(tmp_path):
    write(tmp_path, GOOD.replace("    kind: ordering", "    kind: ordering\n    conflicts_with: [999/missing]"))
    with pytest.raises(ReferenceError, match="999/missing"):
        load_all(tmp_path)


def test_a_tier_may_carry_its_own_expectation(tmp_path):
    text = GOOD.replace("fast: {seeds: 2,", "fast: {expect: not-reproduced, why: proxy disagrees, seeds: 2,")
    entry = load_report(write(tmp_path, text)).claims["999/a-claim"]
    assert entry.plan("fast").expect == "not-reproduced" and entry.plan("full").expect is None
    with pytest.raises(ReferenceError, match="tiers.fast.why"):
        load_report(write(tmp_path, GOOD.replace("fast: {seeds: 2,", "fast: {expect: not-reproduced, seeds: 2,")))


def test_expect_tiers_limits_the_expectation(tmp_path):
    text = GOOD.replace("    reported: {a: 0.9, b: 0.8}\n",
                        "    reported: {a: 0.9, b: 0.8}\n    expect: not-reproduced\n    why: proxy\n    expect_tiers: [fast]\n")
    entry = load_report(write(tmp_path, text)).claims["999/a-claim"]
    assert entry.expect == "reproduced"
    assert entry.plan("fast").expect == "not-reproduced" and entry.plan("fast").why == "proxy"
    assert entry.plan("full").expect is None
