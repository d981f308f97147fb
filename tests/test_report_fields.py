"""The report's page 1 and 2 read declared fields: `contradicts` labels a contradiction inside a report (never the
wording of a `why`), the scorecard and contents show whole titles, and a pruning figure overlays the report's table
from the table claim's own entry."""
import textwrap

import pytest

from harness.claim import Claim, ClaimContext
from harness.findings import Finding
from harness.reference.entries import ReferenceError, all_claims, load_all, load_report
from harness.runs.store import RunStore
from reports import verdicts
from reports.build import render_html
from tests.test_reference import GOOD

ENTRY = GOOD  # one claim of a scratch report (tests/test_reference.py)
LONG_TITLE = ("Project 2 Report: MyNet and MyResNet9 on CIFAR-10, VGG with BatchNorm, DessiLBI on LeNet-MNIST, "
              "and the pruning tables that close it")


def entries_from(tmp_path, text):
    path = tmp_path / "999_test.yaml"
    path.write_text(textwrap.dedent(text))
    return load_report(path).claims


def with_field(value):
    return ENTRY.replace("    kind: ordering", f"    kind: ordering\n    contradicts: {value}")


def test_contradicts_is_optional_text_carried_into_the_finding(tmp_path):
    entry = entries_from(tmp_path, with_field('"  Table 1 vs Sec. 3.2 "'))["999/a-claim"]
    assert entry.contradicts == "Table 1 vs Sec. 3.2"
    assert Finding.open(entry, "fast").contradicts == "Table 1 vs Sec. 3.2"
    assert entries_from(tmp_path, ENTRY)["999/a-claim"].contradicts is None


@pytest.mark.parametrize("value", ["true", "''", "[Table 1, Sec. 3.2]"])
def test_contradicts_that_is_not_text_names_the_field(tmp_path, value):
    with pytest.raises(ReferenceError, match="claim '999/a-claim', field 'contradicts'"):
        entries_from(tmp_path, with_field(value))


def test_the_projects_contradictions_are_declared_not_guessed():
    claims = all_claims(load_all())
    assert claims["001/rest-trained-with-sgd"].contradicts  # "the report contradicts itself: Table 1 lists Adam"
    # a proxy contradicting a claim is not the report contradicting itself
    assert "contradiction" in claims["000/optimizers-adam-worst"].plan("fast").why
    assert claims["000/optimizers-adam-worst"].contradicts is None


def finding(cid, verdict, *, kind="metric", tier="full", **extra):
    f = Finding(claim_id=cid, report="999_test", kind=kind, tier=tier, statement=f"statement of {cid}",
                location="Table 1", expect="not-reproduced", why=extra.pop("why", None), seeds=3, verdict=verdict,
                outcome=verdict, rows=[{"label": "a", "reported": 6, "measured": 0, "n": 1}])
    for key, value in extra.items():
        setattr(f, key, value)
    return f.to_dict()


def grader_findings():
    return [
        finding("999/self-contradiction", "expected-not-reproduced", contradicts="Sec. 4 vs Table 1 (models 3-8)",
                why="the report contradicts itself"),
        finding("999/proxy-contradiction", "expected-not-reproduced", kind="ordering", tier="fast",
                why="so this contradiction is bound to the budget"),
        finding("999/full-failure", "not-reproduced", kind="ordering",
                why="contradicts the claim on the full recipe"),
    ]


def test_page_two_labels_a_contradiction_only_from_the_declared_field():
    usable = {u["view"].claim_id: u for u in verdicts.usable_now(verdicts.claim_views(grader_findings()))}
    assert usable["999/self-contradiction"]["why"] == verdicts.CONTRADICTION
    assert usable["999/self-contradiction"]["where"] == "Sec. 4 vs Table 1 (models 3-8)"
    assert "999/proxy-contradiction" not in usable  # a proxy's disagreement is no grader's finding
    assert usable["999/full-failure"]["why"] == "failed on the full recipe" and usable["999/full-failure"]["where"] is None


def test_page_one_shows_whole_titles_and_page_two_the_places_that_disagree(tmp_path):
    sessions = [{"reports": {"999_test": {"title": LONG_TITLE, "summary": "", "source": "999.txt"}}}]
    html = render_html(grader_findings(), sessions, tmp_path / "out").read_text()
    scorecard = html[html.index('id="scorecard"'):html.index('id="usable"')]
    assert scorecard.count(LONG_TITLE) == 2  # the scorecard's row and the contents list, neither cut
    usable = html[html.index('id="usable"'):html.index('id="report-999_test"')]
    assert "contradiction inside the report" in usable and "Sec. 4 vs Table 1 (models 3-8)" in usable
    assert usable.count("contradiction inside the report") == 1


def test_a_pruning_figure_names_its_overlay_the_reports_table(tmp_path):
    from reports import slbi_figures

    curve = {"ratios": [0, 20, 40], "accuracy": {"conv3": [0.98, 0.97, 0.9]}, "method": "order"}
    spec = {"metric": "conv3", "series": {"SLBI": [{"probes": {"prune_curve": curve}}]},
            "options": {"reported": {"0": 0.97, "20": 0.96, "40": 0.95}}}
    svg = slbi_figures.pruning_figure(spec, tmp_path / "p.svg").read_text()
    assert "<!-- the report's table -->" in svg and 'id="legend_1"' in svg  # matplotlib's comment on the legend text


def test_a_claim_reads_another_entry_of_its_report_and_no_other(tmp_path):
    claims = all_claims(load_all())
    context = ClaimContext(store=RunStore(tmp_path), entries=claims)
    claim = Claim(entry=claims["002/slbi/prune-drops-beyond-40"], tier="fast", context=context)
    assert claim.reported_of("002/slbi/prune-table/conv3") == claims["002/slbi/prune-table/conv3"].reported
    assert claim.reported_of("002/slbi/prune-table/conv3-fc1")[60] == 0.8837
    with pytest.raises(ReferenceError, match="of report 003_04471f59d7cb8c60"):
        claim.reported_of("003/slbi/prune-table/conv3")
    with pytest.raises(ReferenceError, match="not in the session's reference"):
        claim.reported_of("002/slbi/no-such-table")
