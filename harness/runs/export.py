"""Ship finished runs between run stores: `run-store export STORE ARCHIVE` and `run-store import ARCHIVE STORE`.

An archive is one tar.gz holding, per finished run, `<key>/result.json` and
`<key>/spec.json` (no checkpoints, no half-trained runs), plus MANIFEST.json with
each file's SHA-256. Importing reads the whole archive as data (never extracting a
path or a link) and checks all of it before writing anything: every member is a run
file listed in the manifest with a matching hash, every listed file is there, each
result validates and its spec hashes to its key. Any failure refuses the archive,
naming each problem, and nothing is imported. Sizes are capped (per member, read from
its header and again while reading; in all, decompressed), so a small archive cannot
fill the memory. A run already in the store is left alone (counted as identical, or
reported as a conflict when it differs).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write_text
from .result import RunResult
from .store import parse_result

MANIFEST = "MANIFEST.json"
ARCHIVE_FORMAT = 1
FILES = ("result.json", "spec.json")
MEMBER = re.compile(r"^(?P<key>[0-9a-f]{16})/(?P<file>result\.json|spec\.json)$")
MiB = 1 << 20
MAX_MEMBER_BYTES = 64 * MiB  # a result is KB to a few MB (per-step probe series); bundles carry no checkpoints
MAX_TOTAL_BYTES = 1024 * MiB  # the whole archive, decompressed
MAX_MEMBERS = 100_000
MAX_PROBLEMS_SHOWN = 20


class ArchiveRefused(ValueError):
    """The archive failed a check: nothing of it was imported."""


@dataclass(frozen=True)
class Limits:
    """Size caps on an imported archive (bytes, after decompression)."""

    member: int = MAX_MEMBER_BYTES
    total: int = MAX_TOTAL_BYTES
    members: int = MAX_MEMBERS


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
    """The entry's RunResult, or ValueError saying why it cannot be trusted: the result validates, holds
    run `key`, its spec hashes to `key` and equals spec.json."""
    return parse_result(key, result_text, spec_text)


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


class _Capped(io.RawIOBase):
    """A decompressed stream that refuses to go past `total` bytes or to hand out more than `chunk` at once,
    so neither a member nor a header tarfile reads whole (long names, pax records) can exhaust the memory."""

    def __init__(self, raw: gzip.GzipFile, total: int, chunk: int, archive: Path) -> None:
        self.raw, self.total, self.chunk, self.archive = raw, total, chunk, archive

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _over(self) -> ArchiveRefused:
        return ArchiveRefused(f"{self.archive} unpacks to more than {self.total} bytes, the cap on an archive's "
                              f"total size (--max-total-mb); nothing was imported")

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self.chunk:
            raise ArchiveRefused(f"{self.archive} holds a header or member of over {self.chunk} bytes "
                                 f"(--max-member-mb); nothing was imported")
        if self.raw.tell() + size > self.total + tarfile.RECORDSIZE:
            raise self._over()
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self.raw.tell()}.get(whence)
        if target is None:
            raise OSError("a gzip stream cannot seek from its end")
        if target + offset > self.total + tarfile.RECORDSIZE:
            raise self._over()
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def _member_data(tar: tarfile.TarFile, member: tarfile.TarInfo, limits: Limits) -> bytes:
    """The member's bytes, refused past the per-member cap: by its header first, then while reading."""
    too_big = ArchiveRefused(f"member {member.name} is over {limits.member} bytes, the cap per member "
                             f"(--max-member-mb); nothing was imported")
    if member.size > limits.member:
        raise too_big
    data = tar.extractfile(member).read(limits.member + 1)
    if len(data) > limits.member:
        raise too_big
    return data


def _read_archive(archive: Path, limits: Limits) -> tuple[dict[str, bytes], list[str]]:
    """({name: bytes} of the archive's regular run files and MANIFEST.json, problems with its other members)."""
    files: dict[str, bytes] = {}
    problems: list[str] = []
    with gzip.open(archive, "rb") as raw, \
            tarfile.open(fileobj=_Capped(raw, limits.total, limits.member + 2 * tarfile.BLOCKSIZE, archive),
                         mode="r:") as tar:
        for count, member in enumerate(tar, 1):
            if count > limits.members:
                raise ArchiveRefused(f"{archive} holds over {limits.members} members; nothing was imported")
            if not member.isfile() or not (member.name == MANIFEST or MEMBER.match(member.name)):
                # never extract paths or links we did not write
                problems.append(f"{member.name}: not a run file (expected {MANIFEST}, <key>/result.json or "
                                f"<key>/spec.json as regular files)")
                continue
            if member.name in files:
                problems.append(f"{member.name}: in the archive twice")
                continue
            files[member.name] = _member_data(tar, member, limits)
    return files, problems


def _manifest(files: dict[str, bytes], archive: Path) -> dict:
    try:
        manifest = json.loads(files.pop(MANIFEST))
    except KeyError:
        raise ArchiveRefused(f"{archive} has no {MANIFEST}; make archives with run-store export") from None
    except ValueError as exc:
        raise ArchiveRefused(f"{archive}: {MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveRefused(f"{archive}: {MANIFEST} is not of format {ARCHIVE_FORMAT}; make it with run-store export")
    if not isinstance(manifest.get("sha256"), dict):
        raise ArchiveRefused(f"{archive}: {MANIFEST} lists no SHA-256 per file")
    return manifest


def _checked_entries(archive: Path, limits: Limits) -> dict[str, dict[str, str]]:
    """{key: {file: text}} of an archive that passed every check, or ArchiveRefused naming every problem."""
    files, problems = _read_archive(archive, limits)
    manifest = _manifest(files, archive)
    listed = manifest["sha256"]
    for name, data in sorted(files.items()):
        want = listed.get(name)
        if want is None:
            problems.append(f"{name}: not listed in {MANIFEST}")
        elif hashlib.sha256(data).hexdigest() != want:
            problems.append(f"{name}: SHA-256 differs from {MANIFEST} (damaged or altered)")
    problems += [f"{name}: listed in {MANIFEST} but not in the archive" for name in sorted(set(listed) - set(files))]
    entries: dict[str, dict[str, str]] = {}
    for name, data in sorted(files.items()):
        key, file = name.split("/")
        try:
            entries.setdefault(key, {})[file] = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{name}: not UTF-8 text")
    runs = manifest.get("runs")
    if not isinstance(runs, list) or set(map(str, runs)) != set(entries):
        problems.append(f"{MANIFEST}'s list of runs does not match the runs in the archive")
    for key, texts in sorted(entries.items()):
        missing = [name for name in FILES if name not in texts]
        try:
            if missing:
                raise ValueError(f"{', '.join(missing)} missing")
            check_entry(key, texts["result.json"], texts["spec.json"])
        except ValueError as exc:
            problems.append(f"run {key}: {exc}")
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise ArchiveRefused(f"{archive} refused, nothing was imported; {len(problems)} problem(s):\n  "
                             + "\n  ".join(shown) + (f"\n  ... and {more} more" if more else ""))
    return entries


def import_archive(archive: str | Path, store: str | Path, limits: Limits = Limits()) -> Outcome:
    """Add the archive's runs to `store`, never overwriting a run already there; ArchiveRefused (nothing
    written) unless every member of the archive passes its checks."""
    archive, root, outcome = Path(archive), Path(store), Outcome()
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist")
    for key, texts in sorted(_checked_entries(archive, limits).items()):
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


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of MB") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return int(value * MiB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-store", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="pack the finished runs of STORE into ARCHIVE (tar.gz)")
    exp.add_argument("store")
    exp.add_argument("archive")
    imp = sub.add_parser("import", help="add the runs of ARCHIVE to STORE (checked, never overwriting)")
    imp.add_argument("archive")
    imp.add_argument("store")
    imp.add_argument("--max-member-mb", type=_megabytes, default=MAX_MEMBER_BYTES, metavar="MB",
                     help=f"refuse an archive with a file over this size (default {MAX_MEMBER_BYTES // MiB})")
    imp.add_argument("--max-total-mb", type=_megabytes, default=MAX_TOTAL_BYTES, metavar="MB",
                     help=f"refuse an archive that unpacks to more (default {MAX_TOTAL_BYTES // MiB})")
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            outcome = export_store(args.store, args.archive)
            lines = outcome.lines(f"exported to {args.archive}:")
        else:
            limits = Limits(member=args.max_member_mb, total=args.max_total_mb)
            outcome = import_archive(args.archive, args.store, limits)
            lines = outcome.lines(f"imported into {args.store}:")
    except (OSError, ValueError, EOFError, zlib.error, tarfile.TarError) as exc:
        print(f"run-store {args.command}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 1 if outcome.bad or outcome.conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
