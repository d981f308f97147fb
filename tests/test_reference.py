import textwrap

import pytest

from harness.reference.entries import ReferenceError, load_all, load_report

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
      full: {skip: no full-tier plan in this test}
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
    ("      full: {skip", "      medium: {skip", "tiers.medium"),
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


def test_a_suite_check_carries_its_reason_as_text(tmp_path):
    text = GOOD.replace("    kind: ordering", "    kind: ordering\n    suite_check: the report never compares A with B")
    entry = load_report(write(tmp_path, text)).claims["999/a-claim"]
    assert entry.suite_check == "the report never compares A with B"
    assert load_report(write(tmp_path, GOOD)).claims["999/a-claim"].suite_check is None
    with pytest.raises(ReferenceError, match="field 'suite_check'"):
        load_report(write(tmp_path, GOOD.replace("    kind: ordering", "    kind: ordering\n    suite_check: true")))


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


def test_agreements_must_name_known_claims_other_than_the_claim_itself(tmp_path):
    write(tmp_path, GOOD.replace("    kind: ordering", "    kind: ordering\n    agrees_with: [999/missing]"))
    with pytest.raises(ReferenceError, match="agrees_with.*999/missing"):
        load_all(tmp_path)
    with pytest.raises(ReferenceError, match="cannot name itself"):
        load_report(write(tmp_path, GOOD.replace("    kind: ordering", "    kind: ordering\n    agrees_with: [999/a-claim]")))


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


# -- fields that used to pass collection and crash only when the claim ran -------------------------

SIZE = """
report: 999_test
title: A test report
claims:
  - id: 999/size
    statement: "The model has 2,799,146 parameters."
    location: Table 1
    kind: params
    reported: 2799146
    tiers:
      fast: {budget: {epochs: 2, model_args: {width: 0.5}}, tolerance: {abs: 0, why: exact}}
      full: {tolerance: {abs: 0, why: exact}}
"""


def test_the_size_entry_loads(tmp_path):
    assert load_report(write(tmp_path, SIZE)).claims["999/size"].plan("fast").budget["epochs"] == 2


@pytest.mark.parametrize("old,new,field", [
    ("epochs: 2,", "epoch: 2,", "tiers.fast.budget.epoch"),                    # not a Spec field
    ("epochs: 2,", "epochs: two,", "tiers.fast.budget.epochs"),                # wrong type
    ("epochs: 2,", "epochs: 0,", "tiers.fast.budget.epochs"),                  # Spec would reject it mid-run
    ("epochs: 2,", "lr: yes,", "tiers.fast.budget.lr"),                        # a bool is not a number
    ("epochs: 2,", "seed: 4,", "tiers.fast.budget.seed"),                      # silently overridden by the seeds
    ("model_args: {width: 0.5}", "model_args: 0.5", "tiers.fast.budget.model_args"),
    ("epochs: 2,", "augment: crop,", "tiers.fast.budget.augment"),             # a list of names, not one
    ("reported: 2799146", 'reported: "2,799,146"', "reported"),                 # text where a number is compared
    ("reported: 2799146", "reported: {resnet: '2,799,146'}", "reported"),
    ("reported: 2799146", "reported: true", "reported"),
    ("      full: {tolerance: {abs: 0, why: exact}}", "      full: {}", "tiers.full.tolerance"),   # slack silently 0
    ("      full: {tolerance: {abs: 0, why: exact}}", "      full: {seeds: 2}", "tiers.full.tolerance"),
    ("full: {tolerance: {abs: 0,", "full: {tolerance: {margin: 0,", "tiers.full.tolerance.margin"),  # not read
    ("full: {tolerance: {abs: 0,", "full: {tolerance: {abs: 0, rel: 0.1,", "tiers.full.tolerance"),  # one read
    # non-finite numbers: .nan judges an exact count not-reproduced, .inf reproduces anything, lr .nan diverges
    ("full: {tolerance: {abs: 0,", "full: {tolerance: {abs: .nan,", "tiers.full.tolerance.abs"),
    ("full: {tolerance: {abs: 0,", "full: {tolerance: {abs: .inf,", "tiers.full.tolerance.abs"),
    ("full: {tolerance: {abs: 0,", "full: {tolerance: {abs: -1,", "tiers.full.tolerance.abs"),
    ("epochs: 2,", "lr: .nan,", "tiers.fast.budget.lr"),
    ("epochs: 2,", "lr: -.inf,", "tiers.fast.budget.lr"),
    ("epochs: 2,", "lr: -0.1,", "tiers.fast.budget.lr"),
    ("model_args: {width: 0.5}", "model_args: {width: .nan}", "tiers.fast.budget.model_args"),
    ("reported: 2799146", "reported: .nan", "reported"),
    ("reported: 2799146", "reported: {resnet: .inf}", "reported"),
])
def test_a_field_that_would_crash_the_run_is_a_collection_error(tmp_path, old, new, field):
    assert old in SIZE
    with pytest.raises(ReferenceError) as err:
        load_report(write(tmp_path, SIZE.replace(old, new)))
    message = str(err.value)
    assert "999_test.yaml" in message and "'999/size'" in message and f"field {field!r}" in message, message


def test_the_tolerance_key_must_be_one_the_kinds_checks_read(tmp_path):
    at_least = GOOD.replace("kind: ordering", "kind: mechanism").replace("margin: 0.0", "abs: 0.01")
    with pytest.raises(ReferenceError, match="tiers.fast.tolerance.abs.*mechanism.*margin"):
        load_report(write(tmp_path, at_least))


def test_a_tier_that_does_not_run_needs_no_tolerance(tmp_path):
    skipped = SIZE.replace("      full: {tolerance: {abs: 0, why: exact}}", "      full: {skip: no GPU proxy}")
    assert load_report(write(tmp_path, skipped)).claims["999/size"].plan("full").skip == "no GPU proxy"
    unchecked = SIZE.replace("    reported: 2799146\n",
                             "    reported: 2799146\n    expect: under-specified\n    why: no recipe\n")
    unchecked = unchecked.replace("{tolerance: {abs: 0, why: exact}}", "{}")
    assert load_report(write(tmp_path, unchecked)).claims["999/size"].expect == "under-specified"


def test_every_claim_test_reads_the_tolerance_key_its_entry_gives():
    """The checks a claim test calls (directly or through a helper of its module) read the key its tiers give:
    a margin handed to check_at_least, say, would be a silent zero slack."""
    from tests.claim_checks import mismatches

    assert mismatches() == []
