"""Build the reproducibility report from findings files and the run store.

    build-report report/findings.json [more.json ...] --runs .runs --out report

Several findings files merge (the newest session wins per claim and tier), so a
fast-tier laptop session and a full-tier GPU session make one report.
"""
from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

import jinja2

from harness.findings import VERDICTS, read_findings
from harness.reference import ReferenceError, load_all
from . import bn_figures, figures, slbi_figures

TEMPLATES = Path(__file__).resolve().parent / "templates"
VERDICT_COLORS = {
    "reproduced": "#2e7d32", "not-reproduced": "#c62828", "expected-not-reproduced": "#ef6c00",
    "not-run": "#757575", "under-specified": "#6a1b9a", "qualitative": "#1565c0",
}
TABLE_COLUMNS = ("claim_id", "tier", "verdict", "label", "reported", "measured", "delta", "tolerance", "spread", "n")


def _reference_titles() -> dict[str, Any]:
    try:
        return load_all()
    except ReferenceError:
        return {}


def _group(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_report: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in findings:
        by_report[f["report"]].append(f)
    return dict(sorted(by_report.items()))


def _summary(findings: list[dict[str, Any]]) -> dict[str, Any]:
    overall = collections.Counter(f["verdict"] for f in findings)
    per_report = collections.defaultdict(collections.Counter)
    per_kind = collections.defaultdict(collections.Counter)
    per_tier = collections.defaultdict(collections.Counter)
    for f in findings:
        per_report[f["report"]][f["verdict"]] += 1
        per_kind[f["kind"]][f["verdict"]] += 1
        per_tier[f["tier"]][f["verdict"]] += 1
    return {
        "overall": {v: overall.get(v, 0) for v in VERDICTS},
        "per_report": {k: dict(v) for k, v in sorted(per_report.items())},
        "per_kind": {k: dict(v) for k, v in sorted(per_kind.items())},
        "per_tier": {k: dict(v) for k, v in sorted(per_tier.items())},
    }


def _tables(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The report's own tables re-created: every measured row, grouped by the claim's location."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for f in items:
        for row in f.get("rows", []):
            tables.setdefault(f["location"], []).append({"claim_id": f["claim_id"], "tier": f["tier"],
                                                         "verdict": f["verdict"], **row})
    return tables


def _conflicts(findings: list[dict[str, Any]], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Each pair of claims that contradict each other, both sides' words and numbers, and our findings."""
    by_claim = collections.defaultdict(list)
    for f in findings:
        by_claim[f["claim_id"]].append(f)
    entries = {cid: e for rep in reference.values() for cid, e in rep.claims.items()}
    pairs, seen = [], set()
    for cid, entry in entries.items():
        for other in entry.conflicts_with:
            key = tuple(sorted((cid, other)))
            if key in seen or other not in entries:
                continue
            seen.add(key)
            pairs.append({"sides": [{"entry": entries[c], "findings": by_claim.get(c, [])} for c in key]})
    return pairs


def _compute(findings: list[dict[str, Any]]) -> dict[str, Any]:
    runs = {r["key"]: r for f in findings for r in f.get("runs", [])}
    devices = sorted({str(r.get("hardware") or r.get("device")) for r in runs.values() if r.get("device")})
    return {"runs": len(runs), "hours": sum(r.get("wall_time") or 0 for r in runs.values()) / 3600,
            "devices": devices}


def _write_csv(findings: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for f in findings:
            for row in f.get("rows", []):
                writer.writerow({"claim_id": f["claim_id"], "tier": f["tier"], "verdict": f["verdict"], **row})
    return path


def _figures(findings: list[dict[str, Any]], runs_dir: Path, out_dir: Path) -> None:
    """Draw each finding's requested figures; attach their relative paths to the finding."""
    for f in findings:
        drawn = []
        for i, spec in enumerate(f.get("figures", [])):
            name = f"{f['claim_id'].replace('/', '_')}_{f['tier']}_{i}.svg"
            draw = bn_figures.band_figure if spec.get("kind") == "band" else figures.curves_figure
            draw = slbi_figures.FIGURES.get(spec.get("kind"), draw)
            path = draw(spec, runs_dir, out_dir / "figures" / name)
            if path is not None:
                drawn.append({"path": f"figures/{name}", "title": spec.get("title", ""), "kind": spec.get("kind")})
        f["drawn_figures"] = drawn


def render_html(findings: list[dict[str, Any]], sessions: list[dict[str, Any]], runs_dir: Path,
                out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    _figures(findings, runs_dir, out_dir)
    summary = _summary(findings)
    chart = figures.verdict_chart(summary["overall"], VERDICT_COLORS, out_dir / "figures" / "verdicts.svg")
    reference = _reference_titles()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    html = env.get_template("report.html.j2").render(
        findings=findings, by_report=_group(findings), summary=summary, verdicts=VERDICTS,
        tables={report: _tables(items) for report, items in _group(findings).items()},
        conflicts=_conflicts(findings, reference),
        colors=VERDICT_COLORS, sessions=sessions, compute=_compute(findings), reference=reference,
        verdict_chart="figures/verdicts.svg" if chart else None,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        css=(TEMPLATES / "report.css").read_text(),
    )
    path = out_dir / "report.html"
    path.write_text(html)
    return path


def _num(value: Any, digits: int = 4) -> str:
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def build_report(findings_paths: Iterable[str | Path], runs_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write report.html, report.pdf and findings.csv into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    findings, sessions = read_findings([Path(p) for p in findings_paths])
    html = render_html(findings, sessions, Path(runs_dir), out_dir)
    from weasyprint import HTML  # deferred: heavy import, only needed here

    warn_if_cjk_cannot_render(html.read_text())
    pdf = out_dir / "report.pdf"
    HTML(filename=str(html), base_url=str(out_dir)).write_pdf(str(pdf))
    table = _write_csv(findings, out_dir / "findings.csv")
    return {"html": html, "pdf": pdf, "csv": table}


CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


class MissingFontWarning(UserWarning):
    """The report quotes text that no installed font can draw; the PDF shows empty boxes there."""


def warn_if_cjk_cannot_render(html: str) -> None:
    """Report 002 quotes Chinese; without a CJK font the PDF shows boxes, so say which package fixes it."""
    if not CJK.search(html) or not shutil.which("fc-list"):
        return
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if not fonts.strip():
        warnings.warn("the report quotes Chinese text but no CJK font is installed, so the PDF shows boxes there; "
                      "install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei or fonts-noto-cjk)",
                      MissingFontWarning, stacklevel=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build-report", description=__doc__.split("\n\n")[0])
    parser.add_argument("findings", nargs="+", type=Path, help="findings.json file(s) written by pytest claims/")
    parser.add_argument("--runs", type=Path, default=Path(".runs"), help="run store directory (default .runs)")
    parser.add_argument("--out", type=Path, default=Path("report"), help="output directory (default report)")
    args = parser.parse_args(argv)
    missing = [p for p in args.findings if not p.is_file()]
    if missing:
        parser.error(f"findings file(s) not found: {', '.join(map(str, missing))} (run pytest claims/ first)")
    if not args.runs.is_dir():  # without it every figure would silently be left out
        parser.error(f"run store {args.runs} is not a directory; give the one the findings were made with "
                     f"(--runs DIR, as given to pytest)")
    start = time.perf_counter()
    try:
        out = build_report(args.findings, args.runs, args.out)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {out['html']}, {out['pdf']} and {out['csv']} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
