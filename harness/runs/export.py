"""Ship finished runs between run stores: `run-store export STORE ARCHIVE` and `run-store import ARCHIVE STORE`.

An archive is one tar.gz holding, per finished run, `<key>/result.json` and
`<key>/spec.json` (no checkpoints, no half-trained runs), plus MANIFEST.json with
each file's SHA-256. Importing checks every entry before it is written: the file
hashes, the result format, and that the spec hashes to the run's key
(`Spec.from_dict(spec).key` equals the folder name and the result's key). Bad
entries are reported and skipped; an entry already in the store is left alone
(counted as identical, or reported as a conflict when it differs).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import cpu
from .result import RunResult
from .store import atomic_write_text
from .spec import Spec

MANIFEST = "MANIFEST.json"
ARCHIVE_FORMAT = 1
FILES = ("result.json", "spec.json")
MEMBER = re.compile(r"^(?P<key>[0-9a-f]{16})/(?P<file>result\.json|spec\.json)$")


@dataclass
class Outcome:
    """What an export or import did, entry by entry."""

    written: list[str] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)  # already in the store, byte for byte
    conflicts: dict[str, str] = field(default_factory=dict)  # key -> why the store's copy was kept
    bad: dict[str, str] = field(default_factory=dict)  # key or member -> what is wrong with it

    def lines(self, verb: str) -> list[str]:
        out = [f"{verb} {len(self.written)} run(s); {len(self.identical)} already present and identical; "
               f"{len(self.conflicts)} conflict(s); {len(self.bad)} bad entr(y/ies) skipped"]
        out += [f"  conflict {k}: {why}" for k, why in self.conflicts.items()]
        out += [f"  bad {k}: {why}" for k, why in self.bad.items()]
        return out


def check_entry(key: str, result_text: str, spec_text: str) -> RunResult:
    """The entry's RunResult, or ValueError saying why it cannot be trusted."""
    try:
        spec = Spec.from_dict(json.loads(spec_text))
        result = RunResult.from_dict(json.loads(result_text))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if spec.key != key:
        hint = (" (a store from native-kernel CPU runs imports under REPRO_CPU_KERNELS=native)"
                if cpu.mode() == "portable" else "")
        raise ValueError(f"spec.json hashes to {spec.key} here, not to its folder name{hint}")
    if result.key != key:
        raise ValueError(f"result.json holds run {result.key}")
    if Spec.from_dict(result.spec) != spec:
        raise ValueError("result.json's spec differs from spec.json")
    return result


def export_store(store: str | Path, archive: str | Path) -> Outcome:
    """Pack every finished, valid run of `store` into the tar.gz `archive`."""
    root, outcome, files = Path(store), Outcome(), {}
    if not root.is_dir():
        raise FileNotFoundError(f"run store {root} does not exist; name the folder given to --runs")
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"[0-9a-f]{16}", p.name)):
        if not (run_dir / "result.json").is_file():
            continue  # not finished (perhaps training now): nothing to ship
        texts = {}
        try:
            texts = {name: (run_dir / name).read_text() for name in FILES}
            check_entry(run_dir.name, texts["result.json"], texts["spec.json"])
        except (OSError, ValueError) as exc:
            outcome.bad[run_dir.name] = str(exc)
            continue
        files.update({f"{run_dir.name}/{name}": text.encode() for name, text in texts.items()})
        outcome.written.append(run_dir.name)
    manifest = {"format": ARCHIVE_FORMAT, "runs": outcome.written,
                "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
    archive = Path(archive)
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_name(f".{archive.name}.part")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=1).encode()), *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(archive)
    return outcome


def _read_archive(archive: Path, outcome: Outcome) -> tuple[dict, dict[str, dict[str, str]]]:
    """(manifest, {key: {file: text}}) of the archive's regular files that look like run entries."""
    entries: dict[str, dict[str, str]] = {}
    manifest: dict = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name == MANIFEST and member.isfile():
                manifest = json.loads(tar.extractfile(member).read())
                continue
            match = MEMBER.match(member.name)
            if not match or not member.isfile():  # never extract paths or links we did not write
                outcome.bad[member.name] = "not a run entry (expected <key>/result.json or <key>/spec.json)"
                continue
            data = tar.extractfile(member).read()
            want = manifest.get("sha256", {}).get(member.name)
            if want is not None and hashlib.sha256(data).hexdigest() != want:
                outcome.bad[member.name] = "SHA-256 differs from MANIFEST.json (damaged archive)"
                continue
            entries.setdefault(match["key"], {})[match["file"]] = data.decode()
    return manifest, entries


def import_archive(archive: str | Path, store: str | Path) -> Outcome:
    """Add the archive's valid runs to `store`, never overwriting a run already there."""
    archive, root, outcome = Path(archive), Path(store), Outcome()
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist")
    manifest, entries = _read_archive(archive, outcome)
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{archive}: no {MANIFEST} of format {ARCHIVE_FORMAT}; make it with run-store export")
    for key, texts in sorted(entries.items()):
        missing = [name for name in FILES if name not in texts]
        try:
            if missing:
                raise ValueError(f"{', '.join(missing)} missing")
            check_entry(key, texts["result.json"], texts["spec.json"])
        except ValueError as exc:
            outcome.bad[key] = str(exc)
            continue
        target = root / key
        existing = target / "result.json"
        if existing.exists():
            if existing.read_text() == texts["result.json"]:
                outcome.identical.append(key)
            else:
                outcome.conflicts[key] = f"{existing} differs; the store's copy is kept"
            continue
        atomic_write_text(target / "spec.json", texts["spec.json"])
        atomic_write_text(existing, texts["result.json"])  # last: a run counts as stored once result.json is there
        outcome.written.append(key)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-store", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="pack the finished runs of STORE into ARCHIVE (tar.gz)")
    exp.add_argument("store")
    exp.add_argument("archive")
    imp = sub.add_parser("import", help="add the runs of ARCHIVE to STORE (checked, never overwriting)")
    imp.add_argument("archive")
    imp.add_argument("store")
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            outcome = export_store(args.store, args.archive)
            lines = outcome.lines(f"exported to {args.archive}:")
        else:
            outcome = import_archive(args.archive, args.store)
            lines = outcome.lines(f"imported into {args.store}:")
    except (OSError, ValueError, tarfile.TarError) as exc:
        print(f"run-store {args.command}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 1 if outcome.bad or outcome.conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
