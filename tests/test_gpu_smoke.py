"""The GPU smoke script's quick mode on the CPU, so that the script cannot rot between GPU sessions."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # a two-minute integration run: CI runs it as its own step


def test_the_gpu_smoke_passes_in_quick_mode_on_the_cpu(tmp_path):
    out = tmp_path / "smoke.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPRO_PROGRESS="0")
    env.pop("REPRO_DEVICE", None)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_smoke.py"), "--device", "cpu", "--quick",
                           "--json", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    checks = json.loads(out.read_text())["checks"]
    sections = {c["section"] for c in checks}
    assert sections == {"families", "probes", "compile", "resume", "xdist", "speed"}
    assert not [c for c in checks if c["status"] == "FAIL"]
    assert sum(c["section"] == "families" for c in checks) == 15  # every optimizer family and schedule kind
