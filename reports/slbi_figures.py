"""SLBI figures: accuracy vs pruning ratio, and conv-layer kernel norms (SLBI vs SGD), as SVG.

Both draw the probe results each figure carries from its runs (`extra.probes` at record time):
`prune_curve` for the pruning curves, `conv_weights` for the kernel norms.
A figure spec is what `Claim.figure` records: kind, title, metric (here the
layer set, e.g. "conv3"), series {label: [runs with their probes]}, and optionally
options.reported {ratio: accuracy} to overlay the report's own table (REPORTED_LABEL in the legend).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .figures import save_figure  # noqa: E402

REPORTED_LABEL = "the report's table"  # the legend entry of the overlaid reported values


def load_probe(run: dict[str, Any], probe: str) -> Any:
    """A probe result carried with a figure's run (None when the run has none)."""
    return (run.get("probes") or {}).get(probe)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def pruning_figure(spec: dict[str, Any], out: Path) -> Path | None:
    """Test accuracy vs pruning ratio of one layer set: one line per run, coloured per series label."""
    layer_set = spec.get("metric", "conv3")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = 0
    for i, (label, runs) in enumerate(spec["series"].items()):
        for j, run in enumerate(runs):
            curve = load_probe(run, "prune_curve")
            if not curve or layer_set not in curve.get("accuracy", {}):
                continue
            ax.plot(curve["ratios"], [100 * a for a in curve["accuracy"][layer_set]], color=colors[i % len(colors)],
                    marker="o", markersize=3, linewidth=1.4, alpha=0.85,
                    label=f"{label} ({curve['method']})" if j == 0 else None)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    reported = {float(k): v for k, v in ((spec.get("options") or {}).get("reported") or {}).items() if _is_number(k) and _is_number(v)}
    if reported:
        ratios = sorted(reported)
        ax.plot(ratios, [100 * reported[r] for r in ratios], color="black", linestyle="--",
                marker="s", markersize=3, linewidth=1.2, label=REPORTED_LABEL)
    ax.set_xlabel(f"share of {layer_set} pruned (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, out)
    return out


def kernel_figure(spec: dict[str, Any], out: Path) -> Path | None:
    """One heatmap per series (its first run): L2 norm of every 5x5 kernel of the conv layer,
    input channels down, output filters across, one shared colour scale (dark = near zero)."""
    panels = []
    for label, runs in spec["series"].items():
        summary = next((s for s in (load_probe(r, "conv_weights") for r in runs) if s), None)
        if summary and summary.get("kernel_norms"):
            panels.append((label, summary))
    if not panels:
        return None
    vmax = max(max(max(row) for row in s["kernel_norms"]) for _, s in panels) or 1.0
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 1.8 * len(panels) + 0.5), squeeze=False, sharex=True,
                             constrained_layout=True)
    for ax, (label, s) in zip(axes[:, 0], panels):
        norms = list(zip(*s["kernel_norms"]))  # (in channels) x (out filters)
        image = ax.imshow(norms, aspect="auto", cmap="gray", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{label}: {100 * s['near_zero_share']:.0f}% of weights |w| < {s['threshold']}"
                     + (f", {100 * s['support_share']:.0f}% of filters in Gamma's support"
                        if "support_share" in s else ""), fontsize=8)
        ax.set_ylabel("in ch.", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[-1, 0].set_xlabel(f"output filter of {panels[0][1]['layer']}", fontsize=7)
    fig.colorbar(image, ax=axes[:, 0].tolist(), fraction=0.03, pad=0.01, label="kernel L2 norm").ax.tick_params(
        labelsize=6)
    save_figure(fig, out)
    return out


FIGURES = {"pruning": pruning_figure, "conv-kernels": kernel_figure}
