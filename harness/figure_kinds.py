"""The figure kinds a finding may carry: which exist, the probe results each draws, and the shape of its data.

Claims record figures (harness/claim/claim.py: `Claim.figure`, `Claim.band_figure`) and the report
draws them (reports/build.py, one drawing function per kind). Both sides check a kind against this
one list, so a kind that one side does not know is an error naming the known ones, never a figure
drawn as another kind or left out. Nothing heavy is imported: every test worker's Claim reads it,
and the report must not pull in torch. It sits beside the Finding record
(harness/findings.py), whose figures it describes, below both the claims and the report.
"""
from __future__ import annotations

from typing import Any, Mapping

from .files import is_number

# Figures drawn from runs (`Claim.figure`): kind -> the probe results of each run it draws, which
# travel in the finding with the figure.
RUN_FIGURES: dict[str, tuple[str, ...]] = {"curves": (), "pruning": ("prune_curve",), "conv-kernels": ("conv_weights",)}
# A fill-between figure of per-step bands whose series the claim computes (`Claim.band_figure`).
BAND = "band"
FIGURE_KINDS: tuple[str, ...] = (*RUN_FIGURES, BAND)


def unknown_kind(kind: Any, known: tuple[str, ...] = FIGURE_KINDS) -> str:
    return f"unknown figure kind {kind!r}; known: {', '.join(known)}"


def check_kind(kind: Any) -> None:
    """A ValueError naming the known kinds unless `kind` is one."""
    if kind not in FIGURE_KINDS:
        raise ValueError(unknown_kind(kind))


def check_figure(kind: Any, metric: Any, series: Any, options: Any) -> None:
    """A ValueError saying what is wrong (and where in the series) unless the figure's data fit its kind:
    what the drawing functions of reports/ read, so a malformed findings file cannot fail inside them."""
    check_kind(kind)
    _expect(isinstance(options, Mapping), "options", "a mapping", options)
    _expect(isinstance(series, Mapping), "series", "a mapping {label: data}", series)
    if kind == BAND:
        for label, band in series.items():
            _band(f"series[{label!r}]", band)
        return
    _expect(isinstance(metric, str), "metric", "a string", metric)
    for label, runs in series.items():
        where = f"series[{label!r}]"
        _expect(isinstance(runs, list), where, "a list of runs", runs)
        for i, run in enumerate(runs):
            _run(kind, metric, f"{where}[{i}]", run)
    reported = options.get("reported")
    _expect(reported is None or isinstance(reported, Mapping), "options['reported']", "a mapping", reported)


def _run(kind: str, metric: str, where: str, run: Any) -> None:
    _expect(isinstance(run, Mapping), where, "a mapping (a run)", run)
    curves = run.get("curves")
    _expect(curves is None or isinstance(curves, Mapping), f"{where}['curves']", "a mapping", curves)
    if curves and curves.get(metric):
        _numbers(f"{where}['curves'][{metric!r}]", curves[metric])
        _numbers(f"{where}['curves']['epoch']", curves.get("epoch"), len(curves[metric]))
    probes = run.get("probes")
    _expect(probes is None or isinstance(probes, Mapping), f"{where}['probes']", "a mapping", probes)
    for probe in RUN_FIGURES[kind]:
        value = (probes or {}).get(probe)
        if value is not None:
            PROBES[probe](f"{where}['probes'][{probe!r}]", value)


def _prune_curve(where: str, curve: Any) -> None:
    _expect(isinstance(curve, Mapping), where, "a mapping", curve)
    if not curve:
        return  # drawn without this run
    _numbers(f"{where}['ratios']", curve.get("ratios"))
    accuracy = curve.get("accuracy")
    _expect(isinstance(accuracy, Mapping), f"{where}['accuracy']", "a mapping {layer set: accuracies}", accuracy)
    for layers, values in accuracy.items():
        _numbers(f"{where}['accuracy'][{layers!r}]", values, len(curve["ratios"]))
    _expect(isinstance(curve.get("method"), str), f"{where}['method']", "a string", curve.get("method"))


def _conv_weights(where: str, summary: Any) -> None:
    _expect(isinstance(summary, Mapping), where, "a mapping", summary)
    norms = summary.get("kernel_norms")
    if not norms:
        return  # drawn without this run
    _expect(isinstance(norms, list), f"{where}['kernel_norms']", "a list of rows", norms)
    for i, row in enumerate(norms):
        _numbers(f"{where}['kernel_norms'][{i}]", row)
        _expect(len(row) == len(norms[0]) > 0, f"{where}['kernel_norms'][{i}]", f"a row of {len(norms[0]) or 1}+ "
                "values like the first", row)
    for key in ("near_zero_share", "threshold") + (("support_share",) if "support_share" in summary else ()):
        _expect(is_number(summary.get(key)), f"{where}[{key!r}]", "a number", summary.get(key))
    _expect(isinstance(summary.get("layer"), str), f"{where}['layer']", "a string", summary.get("layer"))


PROBES = {"prune_curve": _prune_curve, "conv_weights": _conv_weights}


def _band(where: str, band: Any) -> None:
    _expect(isinstance(band, Mapping), where, "a mapping {x, lo, hi[, line]}", band)
    if not band.get("x"):
        return  # nothing to draw: the series is left out
    _numbers(f"{where}['x']", band["x"])
    for key in ("lo", "hi") + (("line",) if band.get("line") else ()):
        _numbers(f"{where}[{key!r}]", band.get(key), len(band["x"]))


def _numbers(where: str, values: Any, length: int | None = None) -> None:
    ok = isinstance(values, list) and all(v is None or is_number(v) for v in values)
    _expect(ok, where, "a list of numbers", values)
    if length is not None:
        _expect(len(values) == length, where, f"{length} values (as many as its x values)", f"{len(values)} values")


def _expect(ok: bool, where: str, what: str, got: Any) -> None:
    if not ok:
        text = repr(got)
        raise ValueError(f"{where} must be {what}, not {text[:60] + '...' if len(text) > 60 else text}")
