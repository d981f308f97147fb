"""Numbers in the students' units: accuracies in percent, differences of accuracies in percentage points,
parameter counts as the report wrote them (an exact count, or millions), never wrapped inside a number.

Findings keep accuracies as fractions wherever the check needed them so (0.875) while the reports
wrote 87.5%; a grader compares what the report says with what we found, so both are shown in the
report's unit. The unit is read from the row's label, the claim's kind and the size of the values.
"""
from __future__ import annotations

import math
import re
from typing import Any

PERCENT, POINTS, PARAMS, MILLIONS, PLAIN = "%", "pp", "params", "M params", ""
NBSP, MINUS = "\u00a0", "\u2212"
ACCURACY = re.compile(r"\bacc|accuracy|test_acc|train_acc", re.IGNORECASE)
PARAM = re.compile(r"param", re.IGNORECASE)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def row_unit(label: str, kind: str, reported: Any, measured: Any) -> str:
    """The unit a row's reported and measured values are shown in."""
    values = [v for v in (reported, measured) if _finite(v)]
    if kind == "params" or PARAM.search(label or ""):
        return PARAMS if any(abs(v) >= 1e4 for v in values) else MILLIONS
    if "(%)" in (label or ""):
        return PERCENT if "/" not in (label or "") else PLAIN
    if ACCURACY.search(label or "") and values and all(0 <= v <= 1 for v in values) and " - " not in (label or ""):
        return PERCENT
    return PLAIN


def comparison_unit(label: str, kind: str, estimate: Any, low: Any = None, high: Any = None) -> str:
    """The unit of a comparison: differences of accuracies in percentage points, counts in millions."""
    values = [v for v in (estimate, low, high) if _finite(v)]
    if kind == "params" or PARAM.search(label or ""):
        return MILLIONS
    if ACCURACY.search(label or "") and values and all(abs(v) <= 1 for v in values):
        return POINTS if (" - " in label or "diff" in label.lower()) else PERCENT
    return PLAIN


def scale(value: Any, unit: str) -> Any:
    """The value in `unit` (fractions to percent or points, counts to millions)."""
    if not _finite(value):
        return value
    if unit in (PERCENT, POINTS):
        return 100 * value
    if unit == MILLIONS and abs(value) >= 1e4:
        return value / 1e6
    return value


def decimals_of(value: Any) -> int | None:
    """Decimal places the value was written with (0.875 -> 3, 91.28 -> 2), None for a non-number."""
    if not _finite(value):
        return None
    if float(value).is_integer():
        return 0
    text = repr(float(value))
    return min(len(text.split(".")[1]), 4) if "e" not in text else 4


def number(value: Any, unit: str = PLAIN, decimals: int | None = None, sign: bool = False) -> str:
    """One unbreakable number in `unit`: '87.5%', '+1.2 pp', '2,799,146', '11.17 M'; '–' for nothing."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return ("+" if value > 0 else MINUS) + "∞"
    v = scale(value, unit)
    if decimals is None:
        if unit == PARAMS or (isinstance(v, int) or float(v).is_integer()) and abs(v) >= 100:
            decimals = 0
        elif unit in (PERCENT, POINTS):
            decimals = 1 if abs(v) >= 1 else 2
        elif unit == MILLIONS:
            decimals = 2
        else:
            magnitude = math.floor(math.log10(abs(v))) if v else 0
            decimals = max(0, min(4, 3 - magnitude))
    text = f"{v:,.{decimals}f}"
    if sign and v > 0:
        text = "+" + text
    text = text.replace("-", MINUS)
    suffix = {PERCENT: "%", POINTS: NBSP + "pp", MILLIONS: NBSP + "M"}.get(unit, "")
    return text + suffix


def reported_decimals(reported: Any, unit: str) -> int | None:
    """Decimals to show a row in: the report's own precision, in the shown unit (0.875 as 87.5%)."""
    d = decimals_of(reported)
    if d is None:
        return None
    if unit in (PERCENT, POINTS) and _finite(reported) and abs(reported) <= 1:
        d = max(d - 2, 1)
    if unit == PARAMS:
        return 0
    return min(d, 3)


def interval(low: Any, high: Any, unit: str = PLAIN, decimals: int | None = None) -> str:
    """'[a, b]' in `unit`, each end unbreakable, or '' without an interval."""
    if not (_finite(low) and _finite(high)):
        return ""
    if low == high:
        return "exact"
    return f"[{number(low, unit, decimals)}, {number(high, unit, decimals)}]"  # may break between, never inside


UNIT_NAMES = {PERCENT: "test accuracy (%)", POINTS: "difference in accuracy (percentage points)",
              MILLIONS: "parameters (millions)", PARAMS: "parameters", PLAIN: "other readings (own units)"}
