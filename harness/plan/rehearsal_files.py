"""rehearsal.json and rehearsal.csv: the outcome of `--rehearse`, one entry per distinct run.

Each run: its key, Spec, the claims that use it, ok or the error (message and where), the
seconds it took, steps per epoch, and the planned learning rate at the start of every epoch
(with a note where ReduceLROnPlateau was fed a fixed metric). reports/build.py draws the
planned learning rates from this file.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..files import atomic_write_text, read_versioned

REHEARSAL_FORMAT = 1
CSV_COLUMNS = ("key", "ok", "model", "dataset", "epochs", "steps_per_epoch", "precision", "seed", "probes",
               "seconds", "cpu_seconds", "cpu_kernels", "shared_with", "error", "error_at", "lr_first", "lr_last",
               "lr_note", "claims")


def _summary(runs: list[Mapping[str, Any]]) -> dict[str, Any]:
    failed = [r for r in runs if not r["ok"]]
    return {"runs": len(runs), "ok": len(runs) - len(failed), "failed": len(failed),
            "rehearsed": sum(1 for r in runs if not r.get("shared_with")),
            "seconds": sum(r["seconds"] for r in runs), "cpu_seconds": sum(r["cpu_seconds"] for r in runs),
            "failed_runs": [r["key"] for r in failed]}


def write_rehearsal(runs: list[Mapping[str, Any]], selection: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write rehearsal.json and rehearsal.csv into `out_dir`; returns both paths."""
    import pandas as pd

    doc = {"format": REHEARSAL_FORMAT, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "selection": dict(selection), "summary": _summary(list(runs)), "runs": list(runs)}
    fix = "choose another folder with --rehearse-dir (or $REPRO_REHEARSE_DIR)"
    json_path, csv_path = out_dir / "rehearsal.json", out_dir / "rehearsal.csv"
    atomic_write_text(json_path, json.dumps(doc, indent=1, default=str), what="the rehearsal", fix=fix)
    frame = pd.DataFrame([_row(r) for r in runs], columns=list(CSV_COLUMNS))
    atomic_write_text(csv_path, frame.to_csv(index=False), what="the rehearsal table", fix=fix)
    return json_path, csv_path


def _row(run: Mapping[str, Any]) -> dict[str, Any]:
    spec, lrs = run["spec"], run.get("planned_lr") or [None]
    return {**{k: run.get(k) for k in CSV_COLUMNS}, **{k: spec.get(k) for k in ("model", "dataset", "epochs",
                                                                                 "precision", "seed")},
            "probes": " ".join(spec.get("probes", ())), "lr_first": lrs[0], "lr_last": lrs[-1],
            "claims": "; ".join(run.get("claims", ()))}


def load_rehearsal(path: str | Path) -> dict[str, Any]:
    """A rehearsal written by `write_rehearsal`; another format is an error naming the fix."""
    return read_versioned(path, "rehearsal", REHEARSAL_FORMAT, "--rehearse")


def summary_lines(runs: Iterable[Mapping[str, Any]]) -> list[str]:
    runs = list(runs)
    s = _summary(runs)
    lines = [f"rehearsal: {s['runs']} distinct runs ({s['rehearsed']} rehearsed, the rest differ in their seed only), "
             f"{s['ok']} ok, {s['failed']} failed; {s['seconds']:.0f} s ({s['cpu_seconds']:.0f} s CPU)"]
    notes = sorted({r["lr_note"] for r in runs if r.get("lr_note")})
    lines += [f"rehearsal: note: {note}" for note in notes]
    for r in runs:
        if not r["ok"]:
            spec = r["spec"]
            lines.append(f"rehearsal: FAILED {r['key']} {spec['model']} {spec['optimizer']} {spec['schedule']} "
                         f"seed {spec['seed']} ({', '.join(r.get('claims', ())) or 'no claim'}): {r['error']}"
                         f" at {r.get('error_at')}")
    return lines
