"""One way to write a file so that a reader sees the old file or the new one, never a part.

Results, checkpoints and findings are written to a temporary file next to the target, synced
and renamed over it. A failure (full disk, read-only or foreign directory) removes the
temporary file, leaves the old target untouched and raises StorageError, which names the file
and the fix. The file gets the mode the umask gives (like `open`), not mkstemp's 0600, so a
run store shared by a group stays readable by the group.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable


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
