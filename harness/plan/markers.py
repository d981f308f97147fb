"""One caller per key across the processes of a session: an O_EXCL marker file per key in a shared local folder.

The run queue (harness/plan/run_queue.py) hands each run to one worker this way, and the rehearsal
(harness/pytest_plugin/rehearse.py) each recipe.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class TakenKeys:
    """A folder in which each key can be taken once, by whichever process asks first."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, prefix: str):
        return cls(tempfile.mkdtemp(prefix=prefix))

    def take(self, key: str) -> bool:
        """True for exactly one caller per key across processes (O_EXCL on a shared local folder)."""
        try:
            os.close(os.open(self.path / f"{key}.taken", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
