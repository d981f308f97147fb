"""Build the reproducibility report from findings files alone.

    build-report report/findings.json [more.json ...] --out report [--rehearsal rehearsal/rehearsal.json]

Several findings files merge (per claim and tier the newest finding with evidence wins),
so a fast-tier laptop session and a full-tier GPU session make one report. Every finding
carries its recipe, rows, comparisons and figure data, and each session header the
reports' titles, so neither the run store nor reference/ is read here. A rehearsal.json
(`pytest claims/ -m full --rehearse`), given with --rehearsal or lying in the output folder,
adds each report's planned learning rate per epoch of its full-tier runs.
"""
from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import functools
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterable

import jinja2
import pandas as pd

from harness.files import atomic_write, atomic_write_text
from harness.findings import VERDICTS, read_findings
from harness.plan.rehearsal_files import load_rehearsal
from harness import figure_kinds as kinds

from . import agreement, bn_figures, figures, lr_figures, paths, sections, slbi_figures, units, verdicts

TEMPLATES = Path(__file__).resolve().parent / "templates"
VERDICT_COLORS = {
    "reproduced": "#2e7d32", "not-reproduced": "#c62828", "inconclusive": "#f9a825",
    "expected-not-reproduced": "#ef6c00", "error": "#000000", "not-run": "#757575",
    "under-specified": "#6a1b9a", "qualitative": "#1565c0",
}
TABLE_COLUMNS = ("claim_id", "tier", "verdict", "label", "reported", "measured", "delta", "tolerance", "spread", "n",
                 "estimate", "low", "high", "method", "session")
# One drawing function per figure kind of harness/figure_kinds.py; each takes (figure data, output path).
DRAW = {"curves": figures.curves_figure, kinds.BAND: bn_figures.band_figure, **slbi_figures.FIGURES}
# Verdicts with nothing measured behind them: listed compactly, without a box.
NO_EVIDENCE = ("not-run", "under-specified", "qualitative")


def _titles(sessions: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Report titles and summaries from the session headers (the newest session wins)."""
    titles: dict[str, dict[str, str]] = {}
    for session in sorted(sessions, key=lambda s: str(s.get("finished", ""))):
        titles.update(session.get("reports") or {})
    return titles


def _group(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_report: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for f in findings:
        by_report[f["report"]].append(f)
    return dict(sorted(by_report.items()))


def _summary(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Verdict counts overall and per report, kind and tier (pandas pivots)."""
    frame = pd.DataFrame([{k: f[k] for k in ("report", "kind", "tier", "verdict")} for f in findings],
                         columns=["report", "kind", "tier", "verdict"])
    overall = frame["verdict"].value_counts()

    def pivot(by: str) -> dict[str, dict[str, int]]:
        table = frame.pivot_table(index=by, columns="verdict", aggfunc="size", fill_value=0)
        return {str(k): {v: int(n) for v, n in row.items() if n} for k, row in table.iterrows()}

    identities = sorted({f["claim_id"] for f in findings if f["kind"] == "identity" and f["verdict"] == "reproduced"})
    return {"overall": {v: int(overall.get(v, 0)) for v in VERDICTS}, "identities": identities,
            "per_report": pivot("report"), "per_kind": pivot("kind"), "per_tier": pivot("tier")}


def _tables(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The report's own tables re-created: every measured row, grouped by the claim's location."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for f in items:
        for row in f.get("rows", []):
            tables.setdefault(f["location"], []).append({"claim_id": f["claim_id"], "tier": f["tier"],
                                                         "verdict": f["verdict"], **row})
    return tables


def _conflicts(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each pair of claims that contradict each other, both sides' words, and our findings of each."""
    by_claim = collections.defaultdict(list)
    for f in findings:
        by_claim[f["claim_id"]].append(f)
    pairs, seen = [], set()
    for cid, items in by_claim.items():
        for other in items[0].get("conflicts_with") or []:
            key = tuple(sorted((cid, other)))
            if key in seen or other not in by_claim:
                continue
            seen.add(key)
            pairs.append({"sides": [{"claim_id": c, "statement": by_claim[c][0]["statement"],
                                     "location": by_claim[c][0]["location"], "findings": by_claim[c]} for c in key]})
    return pairs


def _agreements(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims of several reports that say the same thing: each group of claims linked by `agrees_with`
    (the links taken both ways, a group is what they connect), each claim's words and our findings of it."""
    by_claim = collections.defaultdict(list)
    for f in findings:
        by_claim[f["claim_id"]].append(f)
    links = collections.defaultdict(set)
    for cid, items in by_claim.items():
        for other in items[0].get("agrees_with") or []:
            if other in by_claim:
                links[cid].add(other)
                links[other].add(cid)
    groups, seen = [], set()
    for start in sorted(links):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            cid = todo.pop()
            if cid not in group:
                group.add(cid)
                todo.extend(links[cid] - group)
        seen |= group
        groups.append({"claims": [{"claim_id": c, "statement": by_claim[c][0]["statement"],
                                   "location": by_claim[c][0]["location"], "findings": by_claim[c]}
                                  for c in sorted(group)]})
    return groups


def _headline(f: dict[str, Any]) -> dict[str, Any]:
    """One line for the per-report overview: ours vs theirs, and the first comparison's interval."""
    row = next((r for r in f.get("rows", []) if r.get("measured") is not None), {})
    comp = next(iter(f.get("comparisons") or []), {})
    return {"reported": row.get("reported"), "measured": row.get("measured"), "estimate": comp.get("estimate"),
            "low": comp.get("low"), "high": comp.get("high"), "n": comp.get("n"), "method": comp.get("method"),
            "what": row.get("label") or comp.get("label")}


def _provenance(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every distinct run once, with the number of claims (x tiers) that use it."""
    runs: dict[str, dict[str, Any]] = {}
    for f in findings:
        for r in f.get("runs", []):
            runs.setdefault(r["key"], {**r, "claims": 0})["claims"] += 1
    return sorted(runs.values(), key=lambda r: (str(r.get("label")), r.get("seed") or 0, r["key"]))


def _compute(findings: list[dict[str, Any]]) -> dict[str, Any]:
    runs = {r["key"]: r for f in findings for r in f.get("runs", [])}
    devices = sorted({str(r.get("hardware") or r.get("device")) for r in runs.values() if r.get("device")})
    return {"runs": len(runs), "hours": sum(r.get("wall_time") or 0 for r in runs.values()) / 3600,
            "devices": devices}


def _write_csv(findings: list[dict[str, Any]], path: Path) -> Path:
    """One line per measured row and per comparison; a claim with neither still gets one line."""
    lines = []
    for f in findings:
        base = {"claim_id": f["claim_id"], "tier": f["tier"], "verdict": f["verdict"], "session": f.get("session")}
        lines += [{**base, **row} for row in f.get("rows", [])]
        lines += [{**base, "label": c["label"], "estimate": c["estimate"], "low": c["low"], "high": c["high"],
                   "n": c["n"], "method": c["method"], "tolerance": c.get("margin")} for c in f.get("comparisons", [])]
        if not f.get("rows") and not f.get("comparisons"):
            lines.append(base)
    return atomic_write_text(path, pd.DataFrame(lines, columns=list(TABLE_COLUMNS)).to_csv(index=False),
                             what="the findings table")


def check_finding(f: dict[str, Any]) -> None:
    """A ValueError naming the claim unless the report can show this finding: a known verdict, and figures
    of known kinds whose data fit their kind (harness/figure_kinds.py)."""
    where = f"claim {f.get('claim_id')!r} [{f.get('tier')}]"
    if f.get("verdict") not in VERDICTS:
        raise ValueError(f"{where} has verdict {f.get('verdict')!r}; known verdicts: {', '.join(VERDICTS)}")
    for i, spec in enumerate(f.get("figures") or []):
        try:
            kinds.check_figure(spec.get("kind"), spec.get("metric"), spec.get("series"), spec.get("options"))
        except ValueError as exc:
            raise ValueError(f"{where}, figure {i} ({spec.get('title', '')!r}): {exc}") from None


def read_checked(findings_paths: Iterable[str | Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The merged findings of these files (harness.findings.read_findings), each file first read and
    checked on its own so that a finding the report cannot show is an error naming its file and claim."""
    findings_paths = [Path(p) for p in findings_paths]
    for path in findings_paths:
        for finding in read_findings([path])[0]:
            try:
                check_finding(finding.to_dict())
            except ValueError as exc:
                raise ValueError(f"findings file {path}: {exc}") from None
    merged, sessions = read_findings(findings_paths)
    return [f.to_dict() for f in merged], sessions


def _figures(findings: list[dict[str, Any]], out_dir: Path) -> None:
    """Draw each finding's figures from their own data; attach the relative paths to the finding."""
    for f in findings:
        drawn = []
        for i, spec in enumerate(f.get("figures", [])):
            out, relative = paths.figure_file(out_dir, f["claim_id"], f["tier"], i)
            if DRAW[spec["kind"]](spec, out) is not None:
                drawn.append({"path": relative, "title": spec.get("title", ""), "kind": spec.get("kind")})
        f["drawn_figures"] = drawn


def _reported_effect(f: dict[str, Any], c: dict[str, Any]) -> float | None:
    """The report's own effect for a comparison 'a - b (...)': its reported a minus its reported b, from the
    finding's rows, in the comparison's scale (percent rows compared as fractions are divided by 100)."""
    label = str(c.get("label") or "")
    if " - " not in label:
        return None
    a, b = (side.split(" (")[0].strip() for side in label.split(" - ", 1))
    reported = {str(r.get("label", "")): r.get("reported") for r in f.get("rows") or []}

    def find(arm: str) -> float | None:
        hits = [v for k, v in reported.items() if isinstance(v, (int, float)) and (k == arm or k.startswith(arm + " "))]
        return hits[0] if len(hits) == 1 else None

    ra, rb = find(a), find(b)
    if ra is None or rb is None:
        return None
    effect = ra - rb
    if max(abs(ra), abs(rb)) > 1 and c.get("estimate") is not None and abs(c["estimate"]) <= 1:
        effect /= 100
    return effect


def _forests(by_report: dict[str, list[dict[str, Any]]], out_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Per report, one forest plot per unit (accuracy points, parameters, other readings), so a 6.29M-parameter
    row never shares an axis with accuracy differences; values in the unit's scale."""
    out: dict[str, list[dict[str, str]]] = {}
    for report, items in by_report.items():
        groups: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for f in items:
            for c in f.get("comparisons", []):
                if c.get("estimate") is None or c.get("test") == "consistent":
                    continue
                unit = units.comparison_unit(c.get("label", ""), f.get("kind", ""), c["estimate"], c.get("low"),
                                             c.get("high"))
                effect = _reported_effect(f, c)
                scaled = {k: units.scale(c.get(k), unit) for k in ("estimate", "low", "high", "margin")}
                groups[unit].append({**c, **scaled, "reported_effect": units.scale(effect, unit),
                                     "row_label": ("[proxy] " if verdicts.basis(f) == verdicts.PROXY else "")
                                     + sections.short_id(f["claim_id"])[:22] + ": " + c.get("label", "").split(" (")[0][:26],
                                     "claim_id": f["claim_id"], "tier": f["tier"]})
        for unit, comparisons in groups.items():
            path, relative = paths.figure_file(out_dir, "forest", report, units.UNIT_NAMES[unit].split(" (")[0])
            name = units.UNIT_NAMES[unit]
            if figures.forest_figure(comparisons, VERDICT_COLORS, path, xlabel=name) \
                    is not None:
                out.setdefault(report, []).append({"path": relative, "unit": name, "rows": len(comparisons)})
    return out


def _main_figures(items: list[dict[str, Any]], limit: int = 4) -> list[dict[str, Any]]:
    """A report's learning curves for the main body: each distinct figure once (same runs, same metric), from
    claims with evidence, full-tier ones first; the rest stay in the appendix."""
    seen, out = set(), []
    for f in sorted(items, key=lambda f: f.get("tier") == "fast"):
        for spec, drawn in zip([s for s in f.get("figures", [])], f.get("drawn_figures", [])):
            if drawn.get("kind") not in ("curves", "pruning", "band"):
                continue
            key = (drawn["kind"], spec.get("metric"), tuple(sorted(
                str(r.get("key")) for runs in (spec.get("series") or {}).values() if isinstance(runs, list)
                for r in runs)) or spec.get("title"))
            if key in seen:
                continue
            seen.add(key)
            out.append({**drawn, "claim_id": f["claim_id"], "tier": f["tier"], "basis": verdicts.basis(f),
                        "budget": verdicts.budget_text(f), "metric": spec.get("metric"),
                        "seeds": max((len(r) for r in (spec.get("series") or {}).values() if isinstance(r, list)),
                                     default=0),
                        "reported": bool((spec.get("options") or {}).get("reported"))})
    return out[:limit]


def _embed(out_dir: Path):
    """A Jinja filter: a figure's relative path as a data URI, so report.html is one file that opens anywhere."""
    cache: dict[str, str] = {}

    def embed(relative: str) -> str:
        if relative not in cache:
            path = paths.inside(out_dir, *relative.split("/"))
            cache[relative] = "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        return cache[relative]
    return embed


def render_html(findings: list[dict[str, Any]], sessions: list[dict[str, Any]], out_dir: Path,
                rehearsal: dict[str, Any] | None = None) -> Path:
    for f in findings:
        check_finding(f)
    out_dir.mkdir(parents=True, exist_ok=True)
    _figures(findings, out_dir)
    summary = _summary(findings)
    chart = figures.verdict_chart(summary["overall"], VERDICT_COLORS, paths.inside(out_dir, "figures", "verdicts.svg"))
    by_report = _group(findings)
    titles = _titles(sessions)
    views = verdicts.claim_views(findings)
    views_by_report: dict[str, list[verdicts.ClaimView]] = collections.defaultdict(list)
    for v in views:
        views_by_report[v.report].append(v)
    agreed = agreement.agreement(views)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["embed"] = _embed(out_dir)
    env.filters["unum"] = units.number
    tiers = sorted({f["tier"] for f in findings})
    html = env.get_template("report.html.j2").render(
        findings=findings, by_report=by_report, summary=summary, verdicts=VERDICTS, tiers=tiers,
        views=views_by_report, scorecard=verdicts.scorecard(views), wrong=verdicts.wrong_by_chance(views), categories=verdicts.CATEGORIES,
        category_colors=verdicts.COLORS, usable=verdicts.usable_now(views),
        line=functools.partial(sections.claim_line, proxy_tag=agreement.tag(agreed)), agreed=agreed,
        not_run=sections.not_run_groups, recipes=sections.recipes, short_id=sections.short_id, looks_text=sections.looks_text,
        topics=sections.topics(views, titles), prov=sections.provenance(findings, sessions),
        main_figures=_main_figures, label=verdicts.label, basis=verdicts.basis, certainty=verdicts.certainty, category=verdicts.category,
        conflicts=_conflicts(findings), agreements=_agreements(findings), headline=_headline, no_evidence=NO_EVIDENCE,
        forests=_forests(by_report, out_dir), titles=titles,
        lr_figures=lr_figures.report_lr_figures(rehearsal, by_report, out_dir) if rehearsal else {},
        colors=VERDICT_COLORS, sessions=sessions, compute=_compute(findings), provenance=_provenance(findings),
        verdict_chart="figures/verdicts.svg" if chart else None,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        css=(TEMPLATES / "report.css").read_text(),
    )
    return atomic_write_text(out_dir / "report.html", html, what="the report")


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


def build_report(findings_paths: Iterable[str | Path], out_dir: str | Path,
                 rehearsal: str | Path | None = None) -> dict[str, Path]:
    """Write report.html, report.pdf and findings.csv into `out_dir`; returns their paths.

    `rehearsal` (default: `out_dir`/rehearsal.json when it exists) adds the planned learning rates.
    """
    out_dir = Path(out_dir)
    findings, sessions = read_checked(findings_paths)
    if rehearsal is None and (out_dir / "rehearsal.json").is_file():
        rehearsal = out_dir / "rehearsal.json"
    html = render_html(findings, sessions, out_dir, load_rehearsal(rehearsal) if rehearsal else None)
    from weasyprint import HTML  # deferred: heavy import, only needed here

    warn_if_cjk_cannot_render(html.read_text())
    pdf = out_dir / "report.pdf"
    document = HTML(filename=str(html), base_url=str(out_dir)).render()
    atomic_write(pdf, document.write_pdf, what="the report's PDF")
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
    parser.add_argument("--runs", type=Path, default=None,
                        help="no longer needed (findings carry their figure data); accepted for one release")
    parser.add_argument("--out", type=Path, default=Path("report"), help="output directory (default report)")
    parser.add_argument("--rehearsal", type=Path, default=None,
                        help="rehearsal.json of pytest claims/ -m full --rehearse: adds each report's planned learning "
                             "rates (default: OUT/rehearsal.json when it exists)")
    args = parser.parse_args(argv)
    missing = [p for p in args.findings + ([args.rehearsal] if args.rehearsal else []) if not p.is_file()]
    if missing:
        parser.error(f"findings file(s) not found: {', '.join(map(str, missing))} (run pytest claims/ first)")
    if args.runs is not None:
        print("build-report: --runs is no longer needed (findings carry their figure data) and is ignored",
              file=sys.stderr)
    start = time.perf_counter()
    try:
        out = build_report(args.findings, args.out, args.rehearsal)
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:  # a full disk under --out, say: the findings files are untouched
        print(f"build-report: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out['html']}, {out['pdf']} and {out['csv']} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
