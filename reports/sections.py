"""The report's content, computed from findings: claim lines in the students' units, not-run claims grouped by
reason, recipes printed once per study, cross-report topics, and provenance that reproduces."""
from __future__ import annotations

import collections
import re
from typing import Any

from . import units, verdicts
from .verdicts import ClaimView

TOPICS = {  # topic -> words in a claim's id or statement that put it there
    "BatchNorm": ("batchnorm", "batch norm", "/bn", "bn-", "-bn", "+bn", " bn ", "normalization"),
    "Optimizers": ("optimi", "adam", "sgd", "rmsprop", "adagrad", "momentum", "slbi-sgd", "learning rate"),
    "Losses": ("loss", "cross-entropy", "mse", "nll", "hinge", "label smoothing"),
    "Activations": ("activation", "relu", "gelu", "elu", "tanh", "sigmoid", "swish", "mish"),
    "Depth and width": ("depth", "width", "wide", "deeper", "layers", "resnet-34", "resnet34", "blocks", "params",
                        "filters", "channels"),
    "Pruning": ("prun", "sparsi", "slbi", "support"),
}
ROWS_PER_TOPIC = 10  # a topic page stays one page; the rest are on each report's pages


def short_id(claim_id: str) -> str:
    return claim_id.split("/", 1)[1] if "/" in claim_id else claim_id


def _first_row(f: dict[str, Any]) -> dict[str, Any]:
    return next((r for r in f.get("rows") or [] if r.get("measured") is not None), {})


def _first_interval(f: dict[str, Any]) -> dict[str, Any]:
    comps = f.get("comparisons") or []
    return next((c for c in comps if c.get("low") is not None and c.get("high") is not None), comps[0] if comps else {})


def _ours_decimals(digits: int | None, unit: str) -> int | None:
    """Our value at the report's precision; one digit more for counts in millions (11.17 vs 11.174)."""
    if digits is None or unit != units.MILLIONS:
        return digits
    return min(digits + 1, 3)


def claim_line(view: ClaimView, proxy_tag: str | None = None) -> dict[str, Any]:
    """One line of a report's claim table: the student's words, reported vs ours in the report's unit,
    interval, seeds, certainty labels (a proxy's with `proxy_tag`, how often proxies agreed with the full
    recipe) and the verdict label."""
    f = view.decisive
    row, comp = _first_row(f), _first_interval(f)
    what = row.get("label") or comp.get("label") or ""
    reading = f"{what} {row.get('detail') or ''}" if row else what
    unit = units.row_unit(reading, f.get("kind", ""), row.get("reported"), row.get("measured"))
    digits = units.reported_decimals(row.get("reported"), unit)
    if comp and comp.get("test") == "consistent":
        c_unit, c_digits = unit, digits
    else:
        c_unit = units.comparison_unit(comp.get("label", ""), f.get("kind", ""), comp.get("estimate"), comp.get("low"),
                                       comp.get("high"))
        c_digits = None
    measured = row.get("measured")
    mde = comp.get("mde")
    proxy = view.proxy if view.basis != verdicts.PROXY else None
    return {
        "id": short_id(view.claim_id), "claim_id": view.claim_id, "statement": f.get("statement", ""),
        "what": what, "reported": units.number(row.get("reported"), unit, digits) if row else "–",
        "ours": units.number(measured, unit, _ours_decimals(digits, unit)) if row else
        units.number(comp.get("estimate"), c_unit, c_digits, sign=c_unit == units.POINTS),
        "interval": units.interval(comp.get("low"), comp.get("high"), c_unit, c_digits) if comp else "",
        "interval_of": comp.get("label", "") if comp and comp.get("test") != "consistent" else "",
        "seeds": comp.get("n") or f.get("seeds") or row.get("n"),
        "certainty": (verdicts.certainty(f) + ([proxy_tag] if proxy_tag and view.basis == verdicts.PROXY else []))
        if view.basis else [], "label": verdicts.label(f), "category": view.category,
        "mde": units.number(mde, c_unit, None) if mde is not None else None,
        "seeds_needed": comp.get("seeds_needed"), "looks": looks_text(f),
        "proxy": verdicts.label(proxy) if proxy else None, "tier": f.get("tier"),
        "suite_check": view.suite_check,  # a check the suite added (why), shown apart from the report's claims
    }


def looks_text(f: dict[str, Any]) -> str:
    """Adaptive seeding's outcome in words: the look that decided (its seeds and the interval's level), or how
    far it went undecided; '' for a claim checked at its fixed seeds."""
    ran = [look for look in f.get("looks") or [] if "confidence" in look]
    if not ran:
        return ""
    last = ran[-1]
    if last["outcome"] in ("reproduced", "not-reproduced"):
        return (f"decided at look {last['look']} ({last['seeds']} seeds per arm; its interval at "
                f"{last['confidence']:.1%})")
    cut = "; a later look could not run" if len(f["looks"]) > len(ran) else ""
    return f"undecided after look {last['look']} ({last['seeds']} seeds per arm){cut}"


def reason_key(text: str) -> str:
    """What a skip reason says, without the claim-specific detail: the first clause, numbers removed."""
    text = re.sub(r"\(.*?\)", "", str(text or "no reason given"))
    first = re.split(r"[;:.]\s", text, maxsplit=1)[0]
    return re.sub(r"\s+", " ", re.sub(r"\d[\d.,]*", "N", first)).strip()[:140]


def not_run_groups(views: list[ClaimView]) -> list[dict[str, Any]]:
    """The report's claims with nothing measured, grouped by why: the reason once, then the claims; the suite's
    own checks in groups of their own."""
    groups: dict[str, dict[str, Any]] = {}
    for v in views:
        f = v.decisive
        if f.get("verdict") not in verdicts.NO_EVIDENCE:
            continue
        why = f.get("skip_reason") or f.get("why") or f.get("verdict")
        key = (f.get("verdict"), reason_key(why), bool(v.suite_check))
        g = groups.setdefault(key, {"verdict": f.get("verdict"), "reason": str(why), "claims": [], "tiers": set(),
                                    "suite_check": bool(v.suite_check)})
        g["claims"].append(v.claim_id)
        g["tiers"] |= {f.get("tier")} | {o.get("tier") for o in v.others}
    out = sorted(groups.values(), key=lambda g: -len(g["claims"]))
    for g in out:
        g["tiers"] = ", ".join(sorted(t for t in g["tiers"] if t))
    return out


def _flat_recipe(f: dict[str, Any]) -> dict[str, str]:
    recipe = f.get("recipe") or {}
    out = {}
    for part in ("said", "assumed"):
        value = recipe.get(part)
        if isinstance(value, dict):
            for k, v in value.items():
                out[f"{k}{'*' if part == 'assumed' else ''}"] = str(v)
        elif value:
            out[part] = str(value)
    return out


def recipes(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A report's recipe printed once (the values most of its claims share) and each claim's differences only."""
    flats = {f["claim_id"]: _flat_recipe(f) for f in items if f.get("recipe")}
    counts = collections.Counter((k, v) for flat in flats.values() for k, v in flat.items())
    base: dict[str, str] = {}
    for (k, v), n in counts.most_common():
        if n >= 2 and k not in base:
            base[k] = v
    diffs = {cid: {k: v for k, v in flat.items() if base.get(k) != v} for cid, flat in flats.items()}
    return {"base": dict(sorted(base.items())), "diffs": diffs}


def topic_of(f: dict[str, Any]) -> list[str]:
    text = f" {f['claim_id'].lower()} {str(f.get('statement', '')).lower()} "
    return [t for t, words in TOPICS.items() if any(w in text for w in words)]


def topics(views: list[ClaimView], titles: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """One entry per topic: each report's claims on it (linked claims first), how the setups differ, and where
    the evidence stands; conflicts_with / agrees_with links name the other side."""
    out = []
    by_id = {v.claim_id: v for v in views}
    for topic in TOPICS:
        members = [v for v in views if topic in topic_of(v.decisive)]
        if not members:
            continue
        linked = [v for v in members if v.decisive.get("conflicts_with") or v.decisive.get("agrees_with")
                  or any(v.claim_id in (by_id[o].decisive.get("conflicts_with") or []) for o in by_id
                         if o != v.claim_id)]
        has_evidence = [v for v in members if v.decisive.get("verdict") not in verdicts.NO_EVIDENCE]
        # linked claims first; a linked claim without evidence yet is one line under the table, not a row
        shown = ([v for v in linked if v in has_evidence] + [v for v in has_evidence if v not in linked])[:ROWS_PER_TOPIC]
        awaiting = [v for v in linked if v not in has_evidence]
        rest = [v for v in members if v not in shown and v not in awaiting]
        reports = sorted({v.report for v in members})
        counts = collections.Counter(v.category for v in members if not v.suite_check)
        lines = []
        for v in sorted(shown, key=lambda v: (v.report, v.claim_id)):
            line = claim_line(v)
            f = v.decisive
            line["conflicts"] = [c for c in f.get("conflicts_with") or [] if c in by_id]
            line["agrees"] = [c for c in f.get("agrees_with") or [] if c in by_id]
            line["report"] = v.report[:3]
            lines.append(line)
        waiting_links = [{"claim": v.claim_id, "links": [c for c in (v.decisive.get("conflicts_with") or [])
                                                          + (v.decisive.get("agrees_with") or []) if c in by_id]}
                         for v in sorted(awaiting, key=lambda v: v.claim_id)]
        out.append({"topic": topic, "claims": sum(not v.suite_check for v in members),
                    "suite_checks": sum(bool(v.suite_check) for v in members), "shown": len(shown), "lines": lines,
                    "waiting": len(rest),
                    "awaiting_links": waiting_links, "with_evidence": len(has_evidence),
                    "counts": {c: counts.get(c, 0) for c in verdicts.CATEGORIES},
                    "setups": [{"report": r[:3], "title": (titles.get(r) or {}).get("title", ""),
                                "summary": (titles.get(r) or {}).get("summary", "")} for r in reports]})
    return out


def provenance(findings: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """What reproduces the report: commits, packages, data checksums, reference hash, devices and kernels once,
    the commands; fields an older findings file lacks are shown as not recorded."""
    runs = {r["key"]: r for f in findings for r in f.get("runs", [])}
    devices = collections.Counter(str(r.get("hardware") or r.get("device") or "?") for r in runs.values())
    kernels = collections.Counter(str(r.get("cpu_kernels")) for r in runs.values() if r.get("cpu_kernels"))
    torch = sorted({str(r.get("torch")) for r in runs.values() if r.get("torch")})
    dates = sorted(str(r.get("created") or "")[:10] for r in runs.values() if r.get("created"))

    def collect(name: str) -> list[Any]:
        values = []
        for s in sessions:
            if s.get(name) and s[name] not in values:
                values.append(s[name])
        return values

    return {"commits": collect("commit"), "packages": collect("packages"), "checksums": collect("data_checksums"),
            "reference": collect("reference_hash"),
            "commands": [s.get("command") or ("python -m pytest " + " ".join(s.get("args") or [])) for s in sessions],
            "devices": dict(devices), "kernels": dict(kernels), "torch": torch,
            "dates": (dates[0], dates[-1]) if dates else None, "runs": len(runs),
            "hours": sum(r.get("wall_time") or 0 for r in runs.values()) / 3600}
