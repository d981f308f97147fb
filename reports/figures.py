"""Figures for the report, drawn from the curves stored with each run (SVG files)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

METRIC_LABELS = {"test_acc": "test accuracy", "train_acc": "train accuracy",
                 "train_loss": "training loss", "test_loss": "test loss"}


def load_curves(runs_dir: Path, key: str) -> dict[str, list[float]] | None:
    path = runs_dir / key / "result.json"
    try:
        curves = json.loads(path.read_text())["curves"]
    except (OSError, ValueError, KeyError, TypeError):  # TypeError: a result.json that is not an object
        return None
    return curves if isinstance(curves, dict) else None


def curves_figure(spec: dict[str, Any], runs_dir: Path, out: Path) -> Path | None:
    """One line per run, coloured per series label; None when no run has curves."""
    metric = spec.get("metric", "test_acc")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    drawn = 0
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, keys) in enumerate(spec["series"].items()):
        for j, key in enumerate(keys):
            curves = load_curves(runs_dir, key)
            if not curves or not isinstance(curves.get(metric), list) or not curves[metric]:
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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="svg")
    plt.close(fig)
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
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="svg")
    plt.close(fig)
    return out
