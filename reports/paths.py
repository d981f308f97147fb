"""The report's file names: each one plain name inside the output folder, whatever the findings say.

A figure's file name is made from a finding's claim id, tier or report name, and findings files are
input: a field such as `tier: "fast/../../../x"` or an absolute path must not steer a write out of
--out. Names keep [A-Za-z0-9._-] and replace the rest, and every path is checked to resolve inside
the output folder before anything is written there.
"""
from __future__ import annotations

import re
from pathlib import Path

UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class UnsafePathError(ValueError):
    """A path the report was about to write lies outside its output folder."""


def safe_name(*parts: object) -> str:
    """The parts joined by '_', each character outside [A-Za-z0-9._-] replaced by '_' (never a hidden or
    dot-only name): "000/x", "fast" -> "000_x_fast"."""
    name = "_".join(UNSAFE.sub("_", str(p)) for p in parts)
    return "_" + name if name.startswith(".") or not name else name


def inside(out_dir: Path, *names: str) -> Path:
    """out_dir / names, or UnsafePathError when it resolves outside `out_dir` (a '..', an absolute
    name, or a symlink under out_dir pointing elsewhere)."""
    path = Path(out_dir).joinpath(*names)
    if not path.resolve().is_relative_to(Path(out_dir).resolve()):
        raise UnsafePathError(f"refusing to write {path}: it lies outside the output folder {out_dir}")
    return path


def figure_file(out_dir: Path, *parts: object) -> tuple[Path, str]:
    """Where a figure named by `parts` goes (out_dir/figures/<safe name>.svg) and its path relative to out_dir."""
    name = f"{safe_name(*parts)}.svg"
    return inside(out_dir, "figures", name), f"figures/{name}"
