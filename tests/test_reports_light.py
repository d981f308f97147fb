"""build-report reads findings files alone, so importing it must not start torch (seconds, and a GPU runtime)."""
import subprocess
import sys


def test_importing_the_report_builder_leaves_torch_unimported():
    code = "import reports.build, sys; assert 'torch' not in sys.modules, 'reports.build imported torch'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
