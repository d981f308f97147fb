"""The planned learning rate per epoch of each report's full-tier runs, drawn from a rehearsal.json.

`pytest claims/ -m full --rehearse` steps every run's schedule through the whole run without
training (harness/plan/rehearse.py); one figure per report shows those curves, one line per distinct
curve (runs that share a curve, seeds say, share a line).
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, Iterable, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .figures import save_figure  # noqa: E402
from .paths import figure_file  # noqa: E402

LEGEND_ENTRIES = 12  # more distinct curves than this are drawn without a legend entry of their own


def runs_of_report(report: str, runs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rehearsed runs a claim of `report` uses (claim ids start with the report's number)."""
    number = report.split("_")[0]
    return [r for r in runs if any(c.split("/")[0] == number for c in r.get("claims", ()))]


def _label(spec: Mapping[str, Any]) -> str:
    return f"{spec['model']} {spec['optimizer']} lr {spec['lr']:g} {spec['schedule']}"


def lr_figure(runs: list[Mapping[str, Any]], out: Path) -> Path | None:
    """One line per distinct planned learning-rate curve (log scale when it spans a decade); None without any."""
    curves: dict[tuple[float, ...], list[str]] = collections.defaultdict(list)
    for r in runs:
        if r.get("planned_lr"):
            curves[tuple(r["planned_lr"])].append(_label(r["spec"]))
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.0 + 0.12 * min(len(curves), LEGEND_ENTRIES)))
    for i, (lrs, labels) in enumerate(sorted(curves.items(), key=lambda kv: -len(kv[1]))):
        names = collections.Counter(labels)
        label = ", ".join(f"{n}" + (f" x{k}" if k > 1 else "") for n, k in names.most_common(2))
        if len(names) > 2:
            label += f" (+{len(names) - 2})"
        ax.plot(range(1, len(lrs) + 1), lrs, linewidth=1.3, alpha=0.85, drawstyle="steps-post",
                label=label if i < LEGEND_ENTRIES else None)
    values = [v for lrs in curves for v in lrs if v > 0]
    if values and max(values) / min(values) >= 10:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("planned learning rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=5.5, frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below the axes
    fig.tight_layout()
    save_figure(fig, out)
    return out


def report_lr_figures(rehearsal: Mapping[str, Any], reports: Iterable[str], out_dir: Path) -> dict[str, dict]:
    """Per report: the figure's path relative to `out_dir`, its runs, failed rehearsals and plateau notes."""
    out = {}
    for report in reports:
        runs = runs_of_report(report, rehearsal.get("runs", []))
        path, relative = figure_file(out_dir, "planned_lr", report)
        if lr_figure(runs, path) is None:
            continue
        out[report] = {"path": relative, "runs": len(runs),
                       "failed": [f"{r['spec']['model']} [{r['key']}]: {r['error']}" for r in runs if not r["ok"]],
                       "notes": sorted({r["lr_note"] for r in runs if r.get("lr_note")})}
    return out
