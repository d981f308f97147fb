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


def curves_figure(spec: dict[str, Any], out: Path) -> Path | None:
    """One line per run, coloured per series label; None when no run has curves."""
    metric = spec.get("metric", "test_acc")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    drawn = 0
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, runs) in enumerate(spec["series"].items()):
        for j, run in enumerate(runs):
            curves = run.get("curves") or {}
            if not curves.get(metric):
                continue
            ax.plot(curves["epoch"], curves[metric], color=colors[i % len(colors)], alpha=0.85,
                    linewidth=1.4, label=label if j == 0 else None, marker="o", markersize=2.5)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, frameon=False)
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


def forest_figure(comparisons: list[dict[str, Any]], colors: dict[str, str], out: Path) -> Path | None:
    """Each comparison's estimate and 95% interval against its margin (one row each), coloured by outcome."""
    rows = [c for c in comparisons if c.get("estimate") is not None and c.get("test") != "consistent"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 0.22 * len(rows) + 0.8))
    for y, c in enumerate(rows):
        est = c["estimate"]
        low = c["low"] if c.get("low") is not None else est
        high = c["high"] if c.get("high") is not None else est
        color = colors.get(c.get("outcome"), "#888")
        ax.plot([low, high], [y, y], color=color, linewidth=1.6)
        ax.plot([est], [y], "o", color=color, markersize=3)
        if c.get("margin") is not None:
            ax.plot([c["margin"]], [y], "|", color="black", markersize=7)
            if c.get("test") == "equivalent":
                ax.plot([-c["margin"]], [y], "|", color="black", markersize=7)
        unbounded = c.get("low") is None or c.get("high") is None
        if unbounded:
            ax.text(est, y, "  no interval", va="center", fontsize=5.5, color="#666")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{c['claim_id']} [{c['tier']}]"[:60] for c in rows], fontsize=5.5)
    ax.axvline(0, color="#999", linewidth=0.6)
    ax.invert_yaxis()
    ax.set_xlabel("estimate and 95% interval (| = margin)", fontsize=7)
    ax.tick_params(axis="x", labelsize=6)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out)
    return out
