import json
import shutil
import subprocess

import pytest

from harness.findings import read_findings, write_findings
from reports.build import build_report, main

pypdf = pytest.importorskip("pypdf")


def finding(cid, verdict, tier="fast", **extra):
    base = {"claim_id": cid, "report": "000_9e3337487a7f39ea", "kind": "ordering", "tier": tier,
            "statement": f"statement of {cid}", "location": "Table 1", "expect": "reproduced", "why": None,
            "rows": [{"label": "a", "reported": 0.9, "measured": 0.88, "delta": -0.02, "tolerance": 0.01, "ok": False}],
            "runs": [], "notes": [], "figures": [], "seeds": 1, "verdict": verdict, "command": f"pytest -k {cid}"}
    base.update(extra)
    return base


@pytest.fixture
def run_store(tmp_path):
    runs = tmp_path / "runs"
    (runs / "abc123").mkdir(parents=True)
    (runs / "abc123" / "result.json").write_text(json.dumps(
        {"curves": {"epoch": [1, 2, 3], "test_acc": [0.3, 0.5, 0.6]}}))
    return runs


def pdf_text(path):
    reader = pypdf.PdfReader(str(path))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_report_from_a_small_findings_file(tmp_path, run_store):
    findings = [
        finding("000/losses-ce-best", "reproduced", runs=[{"key": "abc123", "label": "ce", "seed": 0, "wall_time": 3.0,
                                                          "device": "cpu", "status": "completed"}],
                figures=[{"kind": "curves", "title": "Loss curves", "metric": "test_acc",
                          "series": {"ce": ["abc123"]}}]),
        finding("000/params/resnet18", "not-reproduced", kind="params"),
        finding("000/table1/mse/best-test-acc", "not-run", tier="full", skip_reason="needs a GPU"),
    ]
    path = write_findings(tmp_path / "findings.json", findings, {"args": ["claims"]})
    out = build_report([path], run_store, tmp_path / "out")
    pages, text = pdf_text(out["pdf"])
    assert pages >= 4
    for heading in ("Reproducibility report", "Contents", "Summary", "Provenance"):
        assert heading in text
    for f in findings:
        assert f["claim_id"] in text
    assert "needs a GPU" in text
    assert f"page 2 of {pages}" in text  # the print stylesheet took effect (page numbers in the footer)
    toc = text.split("Contents", 1)[1].split("Summary", 2)
    assert toc[1].lstrip(" .").split()[0].isdigit()  # the table of contents gives each chapter's page
    assert (tmp_path / "out" / "figures").glob("*.svg")
    assert len(list((tmp_path / "out" / "figures").glob("000_losses-ce-best_fast_0.svg"))) == 1
    assert out["csv"].read_text().count("\n") == 1 + 3  # header + one row per finding row


def test_report_builds_with_zero_findings(tmp_path):
    path = write_findings(tmp_path / "findings.json", [], {})
    out = build_report([path], tmp_path / "runs", tmp_path / "out")
    pages, text = pdf_text(out["pdf"])
    assert pages >= 1 and "Summary" in text


def test_merging_sessions_keeps_the_newest_result_per_claim(tmp_path):
    old = write_findings(tmp_path / "old.json", [finding("000/x", "not-run")], {"finished": "2026-01-01T00:00:00"})
    new = write_findings(tmp_path / "new.json", [finding("000/x", "reproduced")], {"finished": "2026-02-01T00:00:00"})
    merged, sessions = read_findings([new, old])
    assert [f["verdict"] for f in merged] == ["reproduced"] and len(sessions) == 2


def test_command_line_rejects_a_missing_findings_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.json")])
    assert "run pytest claims/ first" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_first_pages_render_to_png(tmp_path):
    path = write_findings(tmp_path / "findings.json", [finding("000/x", "reproduced")], {})
    out = build_report([path], tmp_path / "runs", tmp_path / "out")
    subprocess.run(["pdftoppm", "-r", "40", "-l", "2", "-png", str(out["pdf"]), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page*.png"))) == 2


@pytest.mark.parametrize("verdicts", [["not-run", "not-run"], ["not-reproduced", "expected-not-reproduced"]])
def test_report_builds_with_only_skipped_or_only_failed_claims(tmp_path, verdicts):
    findings = [finding(f"000/c{i}", v, failure="AssertionError: measured 0.5" if v == "not-reproduced" else None,
                        skip_reason="needs a GPU" if v == "not-run" else None) for i, v in enumerate(verdicts)]
    path = write_findings(tmp_path / "findings.json", findings, {})
    out = build_report([path], tmp_path / "runs", tmp_path / "out")
    _, text = pdf_text(out["pdf"])
    assert all(f["claim_id"] in text for f in findings)


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
    (lambda p: {**p, "version": 2}, r"findings.json has version 2; this build-report reads version 1"),
    (lambda p: {k: v for k, v in p.items() if k != "version"}, r"findings.json has version None"),
    (lambda p: {**p, "findings": [{("outcome" if k == "verdict" else k): v for k, v in p["findings"][0].items()}]},
     r"findings.json: finding '000/x' lacks verdict"),
    (lambda p: {**p, "findings": [{k: v for k, v in p["findings"][0].items() if k != "claim_id"}]},
     r"findings.json: finding '#0' lacks claim_id"),
    (lambda p: {**p, "findings": ["000/x"]}, r"finding #0 is not an object"),
    (lambda p: {**p, "session": None}, r"'session' is not an object"),
], ids=["future-version", "no-version", "renamed-field", "no-claim-id", "not-an-object", "null-session"])
def test_command_line_rejects_a_findings_file_it_cannot_read(tmp_path, capsys, edit, expected):
    path = findings_file(tmp_path, edit)
    (tmp_path / "runs").mkdir()
    with pytest.raises(SystemExit):
        main([str(path), "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(path) in err
    assert __import__("re").search(expected, err), err


def test_command_line_rejects_a_run_store_that_is_not_there(tmp_path, capsys):
    path = findings_file(tmp_path, lambda p: p)
    with pytest.raises(SystemExit):
        main([str(path), "--runs", str(tmp_path / "no-runs"), "--out", str(tmp_path / "out")])
    assert f"run store {tmp_path / 'no-runs'} is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["null", "[1, 2]", '{"curves": [1]}', '{"curves": {"epoch": [1], "test_acc": 5}}'])
def test_a_result_json_that_is_not_a_result_leaves_its_figure_out_instead_of_crashing(tmp_path, content):
    (tmp_path / "runs" / "bad").mkdir(parents=True)
    (tmp_path / "runs" / "bad" / "result.json").write_text(content)
    figure = {"kind": "curves", "title": "t", "metric": "test_acc", "series": {"a": ["bad"]}}
    findings = [finding("000/x", "reproduced", figures=[figure]),
                finding("000/y", "reproduced", figures=[{**figure, "kind": "pruning"}])]
    from reports.build import render_html

    render_html(findings, [{}], tmp_path / "runs", tmp_path / "out")
    assert all(f["drawn_figures"] == [] for f in findings)
