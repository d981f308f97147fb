"""Figures for the report, drawn from the data each finding carries (SVG files)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from harness.files import atomic_write  # noqa: E402

METRIC_LABELS = {"test_acc": "test accuracy", "train_acc": "train accuracy",
                 "train_loss": "training loss", "test_loss": "test loss"}


def save_figure(fig, out: Path) -> None:
    """Write `fig` whole or not at all (format from the suffix), then free it: a full disk leaves no half SVG."""
    try:
        atomic_write(out, lambda handle: fig.savefig(handle, format=out.suffix.lstrip(".") or "svg"),
                     what="a report figure")
    finally:
        plt.close(fig)


# Fixed colours per arm name across every figure of the report (an arm keeps its colour).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")
_ARM_COLORS: dict[str, str] = {}


def arm_color(label: str) -> str:
    """The colour of an arm: the same label gets the same colour in every figure of one build."""
    if label not in _ARM_COLORS:
        _ARM_COLORS[label] = PALETTE[len(_ARM_COLORS) % len(PALETTE)]
    return _ARM_COLORS[label]


def _mean_band(runs: list[dict[str, Any]], metric: str) -> tuple[list[float], list[float], list[float], list[float]]:
    """Epochs, mean, min and max over the runs that reach each epoch."""
    by_epoch: dict[float, list[float]] = {}
    for run in runs:
        curves = run.get("curves") or {}
        for e, v in zip(curves.get("epoch") or [], curves.get(metric) or []):
            if v is not None:
                by_epoch.setdefault(e, []).append(v)
    epochs = sorted(by_epoch)
    return (epochs, [sum(by_epoch[e]) / len(by_epoch[e]) for e in epochs], [min(by_epoch[e]) for e in epochs],
            [max(by_epoch[e]) for e in epochs])


def curves_figure(spec: dict[str, Any], out: Path) -> Path | None:
    """Per arm, the mean over its seeds with the min..max band, one fixed colour per arm; None without curves."""
    metric = spec.get("metric", "test_acc")
    percent = metric.endswith("acc")
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    drawn = 0
    for label, runs in spec["series"].items():
        epochs, mean, low, high = _mean_band(runs, metric)
        if not epochs:
            continue
        k = 100 if percent else 1
        color = arm_color(label)
        seeds = len(runs)
        ax.plot(epochs, [k * v for v in mean], color=color, linewidth=1.8, marker="o", markersize=3,
                label=f"{label} (mean of {seeds} seed{'s' if seeds != 1 else ''})")
        if seeds > 1:
            ax.fill_between(epochs, [k * v for v in low], [k * v for v in high], color=color, alpha=0.18, linewidth=0)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("epoch", fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + (" (%)" if percent else ""), fontsize=10)
    ax.tick_params(labelsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, frameon=False, title="band: min..max over seeds", title_fontsize=7.5)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def verdict_chart(counts: dict[str, int], colors: dict[str, str], out: Path) -> Path | None:
    """Horizontal bar of claim counts by verdict."""
    items = [(k, v) for k, v in counts.items() if v]
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(items) + 0.6))
    labels, values = zip(*items)
    ax.barh(labels, values, color=[colors.get(k, "#888") for k in labels])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("findings (claim x tier)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def forest_figure(comparisons: list[dict[str, Any]], colors: dict[str, str], out: Path,
                  xlabel: str = "estimate and 95% interval") -> Path | None:
    """One unit's comparisons: estimate and 95% interval per row, the margin as a shaded band, and the
    report's own effect (where the finding knows it) as a black diamond; rows labelled by what they compare."""
    rows = [c for c in comparisons if c.get("estimate") is not None and c.get("test") != "consistent"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.8, 0.3 * len(rows) + 1.3))
    for y, c in enumerate(rows):
        est = c["estimate"]
        low = c["low"] if c.get("low") is not None else est
        high = c["high"] if c.get("high") is not None else est
        color = colors.get(c.get("outcome"), "#888")
        margin = c.get("margin")
        if margin is not None:
            left = -margin if c.get("test") == "equivalent" else min(0.0, margin)
            ax.fill_betweenx([y - 0.4, y + 0.4], left, max(margin, 0.0) if c.get("test") == "equivalent" else margin,
                             color="#bbbbbb", alpha=0.45, linewidth=0)
        ax.plot([low, high], [y, y], color=color, linewidth=1.8)
        ax.plot([est], [y], "o", color=color, markersize=4)
        if c.get("reported_effect") is not None:
            ax.plot([c["reported_effect"]], [y], "D", color="black", markersize=4.5, fillstyle="none")
        if c.get("low") is None or c.get("high") is None:
            ax.text(est, y, "  no interval", va="center", fontsize=7, color="#666")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([str(c.get("row_label") or c.get("label") or c.get("claim_id"))[:58] for c in rows], fontsize=7.5)
    ax.axvline(0, color="#666", linewidth=0.7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=colors.get(o, "#888"), marker="o", linewidth=1.8, label=o.replace("-", " "))
               for o in sorted({str(c.get("outcome")) for c in rows})]
    handles.append(Patch(color="#bbbbbb", alpha=0.45, label="margin the claim must clear"))
    if any(c.get("reported_effect") is not None for c in rows):
        handles.append(Line2D([], [], color="black", marker="D", fillstyle="none", linewidth=0,
                              label="the report's own effect"))
    height = 0.3 * len(rows) + 1.3
    fig.legend(handles=handles, fontsize=7, frameon=False, loc="lower center", ncol=min(len(handles), 4))
    fig.tight_layout(rect=(0, 0.38 / height, 1, 1))
    save_figure(fig, out)
    return out
