import json
import shutil
import subprocess

import pytest

from harness.findings import FINDING_VERSION, Comparison, Figure, Finding, RunRecord
from harness.findings import SESSIONS_DIR, merge_sessions, read_findings, session_file, write_findings
from reports.build import _agreements, _summary, build_report, main, render_html

pypdf = pytest.importorskip("pypdf")


def finding(cid, verdict, tier="fast", *, measured=True, **extra):
    """A closed finding as the plugin writes it (the schema is harness.findings's, not a copy)."""
    f = Finding(claim_id=cid, report="000_9e3337487a7f39ea", kind=extra.pop("kind", "ordering"), tier=tier,
                statement=f"statement of {cid}", location="Table 1", expect="reproduced", why=None, seeds=1,
                command=f"pytest -k {cid}", verdict=verdict, outcome=verdict)
    if measured:
        f.rows.append({"label": "a", "reported": 0.9, "measured": 0.88, "delta": -0.02, "tolerance": 0.01, "ok": False})
    for key, value in extra.items():
        setattr(f, key, value)
    return f.to_dict()


CURVES_RUN = {"key": "abc123", "seed": 0, "curves": {"epoch": [1, 2, 3], "test_acc": [0.3, 0.5, 0.6]}, "probes": {}}


def pdf_text(path):
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.slow
def test_report_from_a_small_findings_file(tmp_path):
    findings = [
        finding("000/losses-ce-best", "reproduced",
                runs=[RunRecord(key="abc123", label="ce", seed=0, wall_time=3.0, device="cpu", status="completed")],
                figures=[Figure(kind="curves", title="Loss curves", metric="test_acc", series={"ce": [CURVES_RUN]})],
                comparisons=[Comparison(label="ce - mse", estimate=0.02, low=0.01, high=0.03, n=3, method="t",
                                        margin=0.0, outcome="reproduced")]),
        finding("000/params/resnet18", "not-reproduced", kind="params"),
        finding("000/table1/mse/best-test-acc", "not-run", tier="full", skip_reason="needs a GPU", measured=False),
        finding("000/x/inconclusive", "inconclusive", skip_reason="inconclusive: interval spans the margin"),
        finding("000/x/error", "error", error="DatasetMissingError: cifar10 not found"),
    ]
    path = write_findings(tmp_path / "findings.json", findings, {"args": ["claims"], "reports": {
        "000_9e3337487a7f39ea": {"title": "ResNet-18 searches", "summary": "a search", "source": "000.txt"}}})
    out = build_report([path], tmp_path / "out")
    pages, text = pdf_text(out["pdf"])
    assert pages >= 4
    for heading in ("Reproducibility report", "scorecard", "Findings a grader can use now", "Provenance",
                    "ResNet-18 searches", "Appendix A"):
        assert heading in text
    flat = text.replace("\n", "")  # long claim ids wrap inside narrow table cells
    for f in findings:
        assert f["claim_id"] in flat
    assert "needs a GPU" in text and "inconclusive" in text and "DatasetMissingError" in text
    assert f"page 2 of {pages}" in text  # the print stylesheet took effect (page numbers in the footer)
    toc = text.split("Findings a grader can use now", 1)[1]
    assert toc.lstrip(" .").split()[0].isdigit()  # the table of contents gives each chapter's page
    assert len(list((tmp_path / "out" / "figures").glob("000_losses-ce-best_fast_0.svg"))) == 1
    assert len(list((tmp_path / "out" / "figures").glob("forest_000_9e3337487a7f39ea_*.svg"))) == 1
    csv = out["csv"].read_text()
    assert csv.count("000/table1/mse/best-test-acc") == 1  # a claim without measured rows still has a line
    assert "0.01" in csv and "ce - mse" in csv  # comparisons with their interval


@pytest.mark.slow
def test_the_report_needs_neither_the_run_store_nor_reference(tmp_path, monkeypatch):
    """Built in an empty folder with reference/ pointed nowhere: the same figures from the findings alone."""
    path = write_findings(tmp_path / "findings.json", [finding(
        "000/losses-ce-best", "reproduced",
        figures=[Figure(kind="curves", title="c", series={"ce": [CURVES_RUN]}),
                 Figure(kind="band", title="b", series={"BN": {"x": [0, 1], "lo": [1, 1], "hi": [2, 2]}},
                        options={"ylabel": "loss"})])], {})
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.setenv("REPRO_REFERENCE", str(tmp_path / "no-reference"))
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "no-runs"))
    out = build_report([path], empty / "out")
    drawn = sorted(p.name for p in (empty / "out" / "figures").glob("000_*.svg"))
    assert drawn == ["000_losses-ce-best_fast_0.svg", "000_losses-ce-best_fast_1.svg"]
    assert not (tmp_path / "no-runs").exists() and out["pdf"].stat().st_size > 0


@pytest.mark.parametrize("garbage", ["null", "[1, 2]", '{"final_test_acc": "abc"}', "{not json"])
def test_the_report_ignores_a_garbage_result_in_the_run_store(tmp_path, monkeypatch, garbage):
    entry = tmp_path / "runs" / "abc123"
    entry.mkdir(parents=True)
    (entry / "result.json").write_text(garbage)
    monkeypatch.setenv("REPRO_RUNS", str(tmp_path / "runs"))
    findings = [finding("000/x", "reproduced", figures=[Figure(kind="curves", title="c", series={"ce": [CURVES_RUN]})])]
    merged, sessions = read_findings([write_findings(tmp_path / "findings.json", findings, {})])
    html = render_html([f.to_dict() for f in merged], sessions, tmp_path / "out").read_text()
    assert "000/x" in html and (tmp_path / "out" / "figures" / "000_x_fast_0.svg").is_file()
    assert (entry / "result.json").read_text() == garbage  # the report reads findings only, and changes nothing


def test_report_builds_with_zero_findings(tmp_path):
    path = write_findings(tmp_path / "findings.json", [], {})
    out = build_report([path], tmp_path / "out")
    pages, text = pdf_text(out["pdf"])
    assert pages >= 1 and "scorecard" in text


def test_merging_sessions_keeps_the_newest_result_per_claim(tmp_path):
    old = write_findings(tmp_path / "old.json", [finding("000/x", "not-run", measured=False)],
                         {"finished": "2026-01-01T00:00:00"})
    new = write_findings(tmp_path / "new.json", [finding("000/x", "reproduced")], {"finished": "2026-02-01T00:00:00"})
    merged, sessions = read_findings([new, old])
    assert [f.verdict for f in merged] == ["reproduced"] and len(sessions) == 2


def test_a_newer_finding_without_evidence_never_displaces_a_measured_one(tmp_path):
    old = write_findings(tmp_path / "old.json", [finding("000/x", "reproduced")],
                         {"finished": "2026-01-01T00:00:00", "id": "gpu-box"})
    new = write_findings(tmp_path / "new.json", [finding("000/x", "not-run", measured=False)],
                         {"finished": "2026-02-01T00:00:00", "id": "laptop"})
    merged, sessions = read_findings([new, old])
    assert [(f.verdict, f.session) for f in merged] == [("reproduced", "gpu-box")]
    assert [(r["measured"], r["reported"]) for r in merged[0].rows] == [(0.88, 0.9)]  # its evidence is kept
    html = render_html([f.to_dict() for f in merged], sessions, tmp_path / "out").read_text()
    assert "session gpu-box" in html  # the report says which session the verdict came from


def test_a_findings_file_of_another_version_is_a_clear_error(tmp_path):
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"version": FINDING_VERSION + 7, "session": {}, "findings": []}))
    with pytest.raises(ValueError, match=f"version {FINDING_VERSION + 7}"):
        read_findings([path])
    path.write_text(json.dumps({"version": FINDING_VERSION, "session": {}, "findings": [{"claim_id": "000/x"}]}))
    with pytest.raises(ValueError, match="000/x.*lacks fields"):
        read_findings([path])


@pytest.mark.slow
def test_command_line_runs_pointing_nowhere_is_a_note_and_the_figures_are_still_drawn(tmp_path, capsys):
    path = write_findings(tmp_path / "findings.json", [finding(
        "000/x", "reproduced", figures=[Figure(kind="curves", title="c", series={"ce": [CURVES_RUN]})])], {})
    assert main([str(path), "--runs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 0
    assert "--runs is no longer needed" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out" / "figures").glob("000_*.svg")] == ["000_x_fast_0.svg"]
    assert not (tmp_path / "nowhere").exists()


def test_command_line_rejects_a_missing_findings_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.json")])
    assert "run pytest claims/ first" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_first_pages_render_to_png(tmp_path):
    path = write_findings(tmp_path / "findings.json", [finding("000/x", "reproduced")], {})
    out = build_report([path], tmp_path / "out")
    subprocess.run(["pdftoppm", "-r", "40", "-l", "2", "-png", str(out["pdf"]), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page*.png"))) == 2


@pytest.mark.parametrize("verdicts", [["not-run", "not-run"], ["not-reproduced", "expected-not-reproduced"]])
def test_report_builds_with_only_skipped_or_only_failed_claims(tmp_path, verdicts):
    findings = [finding(f"000/c{i}", v, failure="AssertionError: measured 0.5" if v == "not-reproduced" else None,
                        skip_reason="needs a GPU" if v == "not-run" else None, measured=v != "not-run")
                for i, v in enumerate(verdicts)]
    path = write_findings(tmp_path / "findings.json", findings, {})
    out = build_report([path], tmp_path / "out")
    _, text = pdf_text(out["pdf"])
    assert all(f["claim_id"] in text.replace("\n", "") for f in findings)


class _FcList:
    def __init__(self, families: str) -> None:
        self.stdout = families


@pytest.mark.parametrize("html, families, warned", [
    ("<p>梯度</p>", "", True), ("<p>梯度</p>", "WenQuanYi Micro Hei\n", False), ("<p>gradient</p>", "", False)])
def test_missing_cjk_font_is_a_warning_naming_the_package(monkeypatch, html, families, warned):
    from reports import build

    monkeypatch.setattr(build.shutil, "which", lambda name: "/usr/bin/fc-list")
    monkeypatch.setattr(build.subprocess, "run", lambda *a, **k: _FcList(families))
    if warned:
        with pytest.warns(build.MissingFontWarning, match="fonts-wqy-microhei"):
            build.warn_if_cjk_cannot_render(html)
    else:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            build.warn_if_cjk_cannot_render(html)


def findings_file(tmp_path, edit):
    path = write_findings(tmp_path / "findings.json", [finding("000/x", "reproduced")], {})
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return path


@pytest.mark.parametrize("edit, expected", [
    (lambda p: {**p, "version": FINDING_VERSION + 1}, rf"findings.json has format version {FINDING_VERSION + 1}"),
    (lambda p: {k: v for k, v in p.items() if k != "version"}, r"findings.json has format version None"),
    (lambda p: {**p, "findings": [{("renamed" if k == "statement" else k): v for k, v in p["findings"][0].items()}]},
     r"finding '000/x' lacks fields \['statement'\]"),
    (lambda p: {**p, "findings": ["000/x"]}, r"findings.json"),
], ids=["future-version", "no-version", "renamed-field", "not-an-object"])
def test_command_line_rejects_a_findings_file_it_cannot_read(tmp_path, capsys, edit, expected):
    path = findings_file(tmp_path, edit)
    with pytest.raises(SystemExit):
        main([str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(path) in err
    assert __import__("re").search(expected, err), err


def test_a_claim_without_measured_rows_has_one_csv_line_with_its_verdict_and_empty_values(tmp_path):
    from reports.build import TABLE_COLUMNS, _write_csv

    path = _write_csv([finding("000/x", "not-run", measured=False, session="s1")], tmp_path / "findings.csv")
    header, *lines = path.read_text().splitlines()
    assert header.split(",") == list(TABLE_COLUMNS) and len(lines) == 1
    values = dict(zip(TABLE_COLUMNS, lines[0].split(",")))
    assert (values["claim_id"], values["tier"], values["verdict"], values["session"]) == ("000/x", "fast", "not-run",
                                                                                            "s1")
    assert all(values[k] == "" for k in TABLE_COLUMNS if k not in ("claim_id", "tier", "verdict", "session"))


def session_of(report_dir, sid, started, findings):
    info = {"id": sid, "started": started, "finished": f"2026-01-0{started}T00:00:00"}
    return write_findings(session_file(report_dir, info), findings, info)


def test_findings_json_is_the_merge_of_every_session_in_the_report_directory(tmp_path):
    session_of(tmp_path, "whole", 1, [finding("000/a", "reproduced", session="whole"),
                                      finding("000/b", "not-reproduced", session="whole")])
    session_of(tmp_path, "subset", 2, [finding("000/b", "reproduced", session="subset")])
    path, left_out = merge_sessions(tmp_path)
    merged, sessions = read_findings([path])
    assert path == tmp_path / "findings.json" and not left_out
    assert [(f.claim_id, f.verdict, f.session) for f in merged] == [("000/a", "reproduced", "whole"),
                                                                   ("000/b", "reproduced", "subset")]
    assert [s["id"] for s in sessions] == ["whole", "subset"]
    assert json.loads(path.read_text())["session"]["id"] == "subset"  # the newest session heads the merge
    rebuilt, _ = read_findings([path, *sorted((tmp_path / SESSIONS_DIR).glob("*.json"))])  # merging again: same
    assert [(f.claim_id, f.verdict, f.session) for f in rebuilt] == [(f.claim_id, f.verdict, f.session) for f in merged]


def test_merging_keeps_an_older_single_session_findings_file_and_leaves_out_other_versions(tmp_path):
    write_findings(tmp_path / "findings.json", [finding("000/a", "reproduced", session="before")],
                   {"id": "before", "started": 1, "finished": "2026-01-01T00:00:00"})
    stale = tmp_path / SESSIONS_DIR / "00000000T000000-stale.json"
    stale.parent.mkdir()
    stale.write_text(json.dumps({"version": FINDING_VERSION - 1, "session": {}, "findings": []}))
    session_of(tmp_path, "now", 2, [finding("000/b", "reproduced", session="now")])
    path, left_out = merge_sessions(tmp_path)
    merged, _ = read_findings([path])
    assert [(f.claim_id, f.session) for f in merged] == [("000/a", "before"), ("000/b", "now")]
    assert len(left_out) == 1 and str(stale) in left_out[0] and "version" in left_out[0]


def test_a_session_id_given_twice_never_overwrites_the_earlier_session(tmp_path):
    first = session_file(tmp_path, {"id": "fixed", "started": 1})
    assert first != session_file(tmp_path, {"id": "fixed", "started": 2}) and first.parent.name == SESSIONS_DIR
    assert session_file(tmp_path, {"id": "a/../b", "started": 1}).parent == tmp_path / SESSIONS_DIR


def test_agreements_group_every_claim_the_links_connect_and_identities_are_counted_apart():
    def f(cid, agrees=(), kind="ordering", verdict="reproduced"):
        return {"claim_id": cid, "report": cid[:3], "kind": kind, "tier": "full", "verdict": verdict,
                "statement": cid, "location": "Sec. 1", "agrees_with": list(agrees), "rows": []}
    findings = [f("000/a", ["002/b"]), f("002/b"), f("003/c", ["002/b"]), f("004/d"), f("002/e", ["004/d"]),
                f("002/i", kind="identity")]
    groups = [[c["claim_id"] for c in g["claims"]] for g in _agreements(findings)]
    assert sorted(groups) == [["000/a", "002/b", "003/c"], ["002/e", "004/d"]]
    assert _summary(findings)["identities"] == ["002/i"]


# -- findings files are input: what they say never steers a write, nor fails deep inside a figure --------

def test_a_hostile_findings_file_writes_nothing_outside_the_output_folder(tmp_path):
    """A tier, report or claim id with '..' or an absolute path names a figure file inside out/figures."""
    out = tmp_path / "a" / "b" / "out"
    up = "../" * 5  # from out/figures/<name>: exactly back to tmp_path
    curves = [Figure(kind="curves", title="c", series={"ce": [CURVES_RUN]})]
    comparisons = [Comparison(label="a - b", estimate=0.02, low=0.01, high=0.03, n=3, method="t", margin=0.0,
                              outcome="reproduced")]
    findings = [
        finding("000/x", "reproduced", tier=f"fast/{up}escaped-tier", figures=curves, comparisons=comparisons,
                report=f"x/{up}escaped-report"),
        finding(f"{up}escaped-claim", "reproduced", figures=curves, comparisons=comparisons,
                report=str(tmp_path / "absolute-report")),
        finding("000/y", "reproduced", tier=str(tmp_path / "absolute-tier"), figures=curves),
    ]
    render_html(findings, [], out)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents]
    assert outside == []
    drawn = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.svg"))
    assert all(p.count("/") == 1 and p.startswith("figures/") for p in drawn), drawn
    assert len(drawn) == 3 + 2 + 1  # each finding's curves, each report's forest plot, the verdict chart
    assert "figures/000_x_fast_.._.._.._.._.._escaped-tier_0.svg" in drawn


@pytest.mark.parametrize("parts", [("..",), ("", ""), (".hidden",), ("/etc/passwd",), ("a/../../b", "fast")])
def test_a_figure_file_name_is_one_plain_name_inside_the_output_folder(tmp_path, parts):
    from reports.paths import figure_file

    path, relative = figure_file(tmp_path, *parts)
    assert path.parent == tmp_path / "figures" and relative == f"figures/{path.name}"
    assert not path.name.startswith(".") and "/" not in path.name


def test_a_figures_folder_linked_outside_the_output_folder_is_refused(tmp_path):
    from reports.paths import UnsafePathError, figure_file

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "figures").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="outside the output folder"):
        figure_file(tmp_path / "out", "000/x", "fast", 0)


def rejected(tmp_path, capsys, findings, *extra):
    path = write_findings(tmp_path / "findings.json", findings, {})
    with pytest.raises(SystemExit):
        main([str(path), "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err and not (tmp_path / "out" / "report.html").exists()
    return path, err


def test_an_unknown_verdict_is_an_error_naming_the_file_the_claim_and_the_known_verdicts(tmp_path, capsys):
    path, err = rejected(tmp_path, capsys, [finding("000/x", "bogus")])
    assert f"findings file {path}: claim '000/x' [fast] has verdict 'bogus'" in err
    assert "known verdicts: reproduced, not-reproduced, inconclusive" in err


def test_an_unknown_figure_kind_is_an_error_naming_the_file_the_claim_and_the_known_kinds(tmp_path, capsys):
    path, err = rejected(tmp_path, capsys, [finding(
        "000/x", "reproduced", figures=[Figure(kind="heatmap", title="h", series={"ce": [CURVES_RUN]})])])
    assert f"findings file {path}: claim '000/x' [fast], figure 0 ('h'): unknown figure kind 'heatmap'" in err
    assert "known: curves, pruning, conv-kernels, band" in err


@pytest.mark.parametrize("kind, series, where", [
    ("curves", ["ce"], "series must be a mapping"),
    ("curves", {"ce": "abc123"}, "series['ce'] must be a list of runs"),
    ("curves", {"ce": ["abc123"]}, "series['ce'][0] must be a mapping (a run)"),
    ("curves", {"ce": [{"curves": {"test_acc": [0.3, 0.5]}}]}, "series['ce'][0]['curves']['epoch'] must be a list"),
    ("curves", {"ce": [{"curves": {"epoch": [1, 2], "test_acc": [0.3, "x"]}}]}, "['test_acc'] must be a list of num"),
    ("band", {"BN": {"x": [1, 2], "lo": [0.1], "hi": [0.2, 0.3]}}, "series['BN']['lo'] must be 2 values"),
    ("band", {"BN": [1, 2]}, "series['BN'] must be a mapping"),
    ("pruning", {"SLBI": [{"probes": {"prune_curve": {"ratios": [0, 20], "accuracy": [0.9, 0.8], "method": "o"}}}]},
     "['prune_curve']['accuracy'] must be a mapping"),
    ("conv-kernels", {"SLBI": [{"probes": {"conv_weights": {"kernel_norms": [[0.1], []], "layer": "conv3"}}}]},
     "['kernel_norms'][1] must be a row of 1+ values"),
], ids=["series-list", "runs-not-list", "run-not-mapping", "no-epochs", "not-numbers", "band-short", "band-list",
        "prune-accuracy", "kernel-row"])
def test_a_malformed_figure_is_an_error_naming_the_file_the_claim_and_what_is_wrong(tmp_path, capsys, kind, series,
                                                                                    where):
    path, err = rejected(tmp_path, capsys, [finding(
        "000/x", "reproduced", figures=[Figure(kind=kind, title="t", metric="test_acc", series=series)])])
    assert f"findings file {path}: claim '000/x' [fast], figure 0 ('t'): " in err and where in err, err


def test_a_rehearsal_that_is_not_json_is_an_error_naming_the_file(tmp_path, capsys):
    rehearsal = tmp_path / "rehearsal.json"
    rehearsal.write_text("<html>not a rehearsal</html>")
    _, err = rejected(tmp_path, capsys, [finding("000/x", "reproduced")], "--rehearsal", str(rehearsal))
    assert f"{rehearsal}: not a rehearsal file (not JSON" in err and "--rehearse" in err


def test_every_figure_kind_has_one_drawing_function():
    from reports.build import DRAW
    from harness.figure_kinds import FIGURE_KINDS

    assert sorted(DRAW) == sorted(FIGURE_KINDS)


# -- the grader's report: scorecard first, labels that cannot be misread, units of the reports, layout --------

def _grader_findings():
    acc = Comparison(label="a - b (best test accuracy)", estimate=0.0675, low=-0.2, high=0.4, n=2, method="t",
                     margin=0.0, outcome="inconclusive")
    return [
        finding("000/params/resnet18", "reproduced", kind="params", rows=[
            {"label": "ResNet-18 parameters (M)", "reported": 11.17, "measured": 11.173962, "n": 1}],
            comparisons=[Comparison(label="ResNet-18 parameters (M)", estimate=11.173962, low=11.173962,
                                    high=11.173962, n=1, method="exact value", margin=0.005, outcome="reproduced",
                                    test="consistent")]),
        finding("000/params/mynet", "expected-not-reproduced", kind="params", rows=[
            {"label": "MyNet parameters", "reported": 4587306, "measured": 4587307, "n": 1}],
            comparisons=[Comparison(label="MyNet parameters", estimate=4587307, low=4587307, high=4587307, n=1,
                                    method="exact value", margin=0, outcome="not-reproduced", test="consistent")]),
        finding("000/acc", "expected-not-reproduced", seeds=2, budget={"train_subset": 1000,
                                                                       "model_args": {"width": 0.0625}},
                rows=[{"label": "a", "reported": 0.875, "measured": 0.2456, "n": 2, "detail": "best test accuracy"},
                      {"label": "b", "reported": 0.80, "measured": 0.18, "n": 2, "detail": "best test accuracy"}],
                comparisons=[acc], notes=["every run of b is at chance"]),
        finding("000/acc", "reproduced", tier="full", seeds=3, rows=[
            {"label": "a", "reported": 0.875, "measured": 0.871, "n": 3, "detail": "best test accuracy"}],
            comparisons=[Comparison(label="a - b (best test accuracy)", estimate=0.05, low=0.01, high=0.09, n=3,
                                    method="t", margin=0.0, outcome="reproduced")]),
        finding("000/gpu-only", "not-run", tier="full", skip_reason="needs a GPU: " + "x" * 300, measured=False),
    ]


def test_verdict_labels_name_their_basis_and_a_full_verdict_decides():
    from reports import verdicts

    fs = _grader_findings()
    assert verdicts.label(fs[1]) == "exact check failed (expected)"
    assert verdicts.label(fs[2]) == "proxy disagrees (expected)"
    assert verdicts.label(fs[3]) == "held (full recipe)"
    views = {v.claim_id: v for v in verdicts.claim_views(fs)}
    assert views["000/acc"].decisive["tier"] == "full" and views["000/acc"].proxy["tier"] == "fast"
    certainty = verdicts.certainty(fs[2])
    assert certainty[0] == "proxy: 1,000 images, 3 epochs, width 1/16" and "few seeds (2)" in certainty
    assert "arm at chance" in certainty
    card = verdicts.scorecard(list(views.values()))["000_9e3337487a7f39ea"]
    assert card["held"] == {"decisive": 2, "proxy": 0} and card["failed"] == {"decisive": 1, "proxy": 0}
    assert card[verdicts.PENDING]["decisive"] == 1


def test_a_suite_check_is_counted_apart_from_the_reports_claims():
    from reports import sections, verdicts

    suite = {**finding("000/suite-identity", "reproduced", kind="identity"), "suite_check": "the report never says it"}
    views = verdicts.claim_views(_grader_findings() + [suite])
    card = verdicts.scorecard(views)["000_9e3337487a7f39ea"]
    assert card["claims"] == 4 and card["held"] == {"decisive": 2, "proxy": 0}
    assert card["suite_checks"][verdicts.HELD] == 1
    usable = {u["view"].claim_id: u["why"] for u in verdicts.usable_now(views)}
    assert "not a claim of the report" in usable["000/suite-identity"]
    line = sections.claim_line(next(v for v in views if v.claim_id == "000/suite-identity"))
    assert line["suite_check"] == "the report never says it"


def test_numbers_are_in_the_reports_units_and_never_break():
    from reports import sections, units, verdicts

    views = {v.claim_id: v for v in verdicts.claim_views(_grader_findings())}
    acc = sections.claim_line(views["000/acc"])
    assert (acc["reported"], acc["ours"]) == ("87.5%", "87.1%")  # fractions shown as the percent the report wrote
    assert acc["interval"] == "[+1.0\u00a0pp, +9.0\u00a0pp]".replace("+", "") and acc["proxy"] == "proxy disagrees (expected)"
    params = sections.claim_line(views["000/params/resnet18"])
    assert (params["reported"], params["ours"]) == ("11.17\u00a0M", "11.174\u00a0M")  # the report's millions, its precision
    assert sections.claim_line(views["000/params/mynet"])["reported"] == "4,587,306"
    for text in (units.number(-0.0125, units.POINTS), units.number(4587306, units.PARAMS), units.number(0.875, "%")):
        assert " " not in text and "-" not in text  # nothing a line may break at inside a number


def test_the_report_shows_scorecard_first_and_groups_not_run_claims(tmp_path):
    path = write_findings(tmp_path / "findings.json", _grader_findings(), {"reports": {
        "000_9e3337487a7f39ea": {"title": "ResNet-18 searches", "summary": "a search", "source": "000.txt"}}})
    html = render_html(*[[f.to_dict() for f in x] if i == 0 else x for i, x in enumerate(read_findings([path]))],
                       tmp_path / "out").read_text()
    assert html.index('id="scorecard"') < html.index('id="usable"') < html.index('id="report-000')
    assert "held (full recipe)" in html and "exact check failed (expected)" in html and "x" * 300 not in html
    assert 'src="figures/' not in html and "data:image/svg+xml;base64," in html  # one self-contained file
    assert "Appendix A" in html and html.index("Appendix A") > html.index('id="provenance"')


def test_every_figure_has_axis_labels_and_a_legend(tmp_path):
    import xml.etree.ElementTree as ET

    from reports import figures

    runs = [{"key": "k1", "curves": {"epoch": [1, 2], "test_acc": [0.3, 0.5]}},
            {"key": "k2", "curves": {"epoch": [1, 2], "test_acc": [0.35, 0.45]}}]
    curves = figures.curves_figure({"metric": "test_acc", "series": {"a": runs, "b": runs[:1]}}, tmp_path / "c.svg")
    forest = figures.forest_figure([{"estimate": 0.05, "low": 0.01, "high": 0.09, "margin": 0.0, "outcome": "reproduced",
                                     "label": "a - b", "reported_effect": 0.07}], {"reproduced": "#2e7d32"},
                                   tmp_path / "f.svg", xlabel="difference in accuracy (percentage points)")
    for path, words in ((curves, ("epoch", "test accuracy (%)", "mean of 2 seeds")),
                        (forest, ("percentage points", "margin the claim must clear", "the report's own effect"))):
        text = " ".join(t for t in ET.parse(path).getroot().itertext())
        ids = {e.get("id") for e in ET.parse(path).getroot().iter()}
        assert "legend_1" in ids and all(w in text or w in path.read_text() for w in words), (path, text[:300])


@pytest.mark.slow
def test_no_number_wraps_and_every_table_fits_the_page_width_in_the_pdf(tmp_path):
    path = write_findings(tmp_path / "findings.json", _grader_findings(), {})
    out = build_report([path], tmp_path / "out")
    reader = pypdf.PdfReader(str(out["pdf"]))
    width = float(reader.pages[0].mediabox.width)
    for page in reader.pages:
        xs = []
        page.extract_text(visitor_text=lambda text, cm, tm, font, size: xs.append(tm[4] * cm[0] + cm[4])
                          if text.strip() else None)
        assert all(0 <= x <= width - 16 * 72 / 25.4 + 2 for x in xs)  # nothing starts in the right margin
    text = "\n".join(p.extract_text() for p in reader.pages)
    for number in ("4,587,306", "87.5%", "11.17\u00a0M"):
        assert number in text  # whole, on one line


def test_the_scorecard_counts_the_verdicts_that_may_be_wrong_by_chance():
    from harness.error_rates import ERROR_RATES
    from reports import verdicts

    def finding(cid, verdict, kind="training", comparisons=()):
        return {"claim_id": cid, "report": "005_x", "tier": "fast", "kind": kind, "verdict": verdict,
                "rows": [{"what": "x"}], "comparisons": list(comparisons)}

    proxy = finding("005/a", "reproduced", comparisons=[{"test": "better", "n": 3, "outcome": "reproduced"}])
    undecided = finding("005/b", "inconclusive", comparisons=[{"test": "better", "n": 3, "outcome": "inconclusive"}])
    exact = finding("005/params/x", "not-reproduced", kind="params",
                    comparisons=[{"test": "consistent", "n": 1, "outcome": "not-reproduced"}])
    table = verdicts.wrong_by_chance(verdicts.claim_views([proxy, undecided, exact]))
    assert table["all"]["decided"] == 2 and table["all"]["uncounted"] == 0
    assert table["all"]["expected"] == pytest.approx(ERROR_RATES["better"][3]["reproduced"])
