"""Band figures of the BatchNorm study: fill-between plots whose data travel in the finding.

A figure spec of kind "band" (written by claims/test_bn_study.py) looks like

    {"kind": "band", "title": ..., "xlabel": ..., "ylabel": ..., "log": bool,
     "series": {label: {"x": [...], "lo": [...], "hi": [...], "line": [...] (optional)}}}

one shaded band per series (min..max over learning rates, or over the line search's step
sizes), with an optional line on top (the band edge the claim compares).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .figures import save_figure  # noqa: E402

COLORS = {"VGG-A": "#1565c0", "VGG-A+BN": "#c62828"}


def _positive(values: list[float]) -> bool:
    return all(v is not None and math.isfinite(v) and v > 0 for v in values)


def band_figure(spec: dict[str, Any], out: Path) -> Path | None:
    """Draw a band figure from the data in `spec`; None when it holds no data."""
    series = {k: v for k, v in (spec.get("series") or {}).items() if v.get("x")}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    fallback = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    options = spec.get("options") or {}
    log = bool(options.get("log")) and all(_positive(s["lo"]) and _positive(s["hi"]) for s in series.values())
    for i, (label, s) in enumerate(series.items()):
        color = COLORS.get(label, fallback[i % len(fallback)])
        ax.fill_between(s["x"], s["lo"], s["hi"], color=color, alpha=0.3, linewidth=0, label=f"{label} (min..max)")
        ax.plot(s["x"], s["lo"], color=color, linewidth=0.6, alpha=0.8)
        ax.plot(s["x"], s["hi"], color=color, linewidth=0.6, alpha=0.8)
        if s.get("line"):
            ax.plot(s["x"], s["line"], color=color, linewidth=1.4, label=f"{label} (compared edge)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(options.get("xlabel", "training step"))
    ax.set_ylabel(options.get("ylabel", ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, out)
    return out
