"""Fixtures for the harness's own tests."""
import os
from pathlib import Path

import pytest

from harness.train.data import REQUIRED_FILES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_root(pytestconfig) -> Path:
    """The real datasets (--data-root, $REPRO_DATA, or ../shared/datasets); skips when absent."""
    for candidate in (pytestconfig.getoption("data_root"), os.environ.get("REPRO_DATA"), SHARED):
        if candidate and all((Path(candidate) / f).is_file() for f in REQUIRED_FILES["cifar10"]):
            return Path(candidate)
    pytest.skip("CIFAR-10 not found: pass --data-root or set REPRO_DATA")
