"""Files the harness writes and reads: atomic writes, versioned JSON, and the shape check of what is read.

Writing: one way to write a file so that a reader sees the old file or the new one, never a part.

Results, checkpoints and findings are written to a temporary file next to the target, synced
and renamed over it. A failure (full disk, read-only or foreign directory) removes the
temporary file, leaves the old target untouched and raises StorageError, which names the file
and the fix. The file gets the mode the umask gives (like `open`), not mkstemp's 0600, so a
run store shared by a group stays readable by the group.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import types
import typing
from pathlib import Path
from typing import Any, BinaryIO, Callable


class StorageError(OSError):
    """A file could not be written; the message names the file and what to do."""


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object], *, what: str | None = None,
                 fix: str = "free some space or choose another directory") -> Path:
    """Call `write(handle)` on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask decides the mode
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        cause = _os_error(exc)
        if cause is None:
            raise
        error = StorageError(f"could not write {what or path.name} to {path} ({cause.strerror or cause}); {fix}")
        error.errno = cause.errno
        raise error from exc
    return path


def atomic_write_text(path: str | os.PathLike, text: str, **kwargs) -> Path:
    """`atomic_write` of a UTF-8 text."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda handle: handle.write(data), **kwargs)


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind a failure: itself, or the one a writer such as torch.save turned into a
    RuntimeError ("unexpected pos ...") while handling it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def read_versioned(path: str | os.PathLike, kind: str, expected: int, option: str) -> dict[str, Any]:
    """A JSON object of `kind` in format `expected` (a plan, a rehearsal) with its list of runs and its
    summary; a file that is missing or not one, or is of another format, is a ValueError naming the file
    and the option of pytest that writes it again."""
    fix = f"write it again with pytest ... {option}"
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:  # missing, a folder, unreadable
        raise ValueError(f"{path}: cannot read the {kind} ({exc.strerror or exc}); {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a {kind} file (not JSON: {exc}); {fix}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a {kind} file (a JSON {type(doc).__name__}, not an object); {fix}")
    if doc.get("format") != expected:
        raise ValueError(f"{path}: {kind} format {doc.get('format')!r}, expected {expected}; {fix}")
    if not isinstance(doc.get("runs"), list) or not all(isinstance(r, dict) for r in doc["runs"]) \
            or not isinstance(doc.get("summary"), dict):
        raise ValueError(f"{path}: not a {kind} file (no list of runs or no summary); {fix}")
    return doc


# -- the shape of what is read --------------------------------------------------
# Does a value read from JSON or YAML fit a dataclass field's type hint?
#
# Reference budgets (Spec fields) and stored results (RunResult fields) arrive as
# plain JSON/YAML values; a wrong type there must be an error at load time, naming
# the field, not a TypeError deep inside a run. Only the hints those two dataclasses
# use are understood: str, int, float, bool, None, Any, unions, list/tuple and dict.


def is_number(value: Any) -> bool:
    """int or float, but not bool (YAML's `yes` and JSON's `true` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def conforms(value: Any, hint: Any) -> bool:
    """True when `value` (as JSON/YAML gives it: lists for tuples) fits `hint`."""
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if hint is float:
        return is_number(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return isinstance(value, hint)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:  # fixed-length tuple
            return len(value) == len(args) and all(conforms(v, a) for v, a in zip(value, args))
        return all(conforms(v, args[0]) for v in value) if args else True
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            return False
        return all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()) if args else True
    raise TypeError(f"conforms() does not understand the type hint {hint!r}")


def describe(hint: Any) -> str:
    """A short human name for a hint: 'int', 'int or None', 'list of str'."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if hint is float:
        return "a number"
    if origin in (list, tuple):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
