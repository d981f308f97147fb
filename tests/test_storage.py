"""Files the harness writes: a full disk is one clear error with nothing left behind; modes follow the umask.

The full-disk cases run on a real 200 kB tmpfs, filled up, which needs root (mount); elsewhere they skip.
"""
import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.files import StorageError, atomic_write, atomic_write_text, read_versioned
from harness.findings import write_findings
from harness.runs.store import RunStore, UnreadableRunError
from harness.train.loop import train
from tests.test_collection import run_pytest, scratch
from tests.test_runs import SPEC, fake_result
from tests.test_train import TINY

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


@pytest.fixture
def full_disk(tmp_path):
    """A 200 kB tmpfs mounted for this test, filled to the last byte; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        with (disk / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def left_behind(disk: Path) -> list[str]:
    return sorted(str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file() and p.name != "filler")


def test_the_helper_leaves_nothing_behind_and_keeps_the_old_file(full_disk):
    (full_disk / "old.json").touch()  # an empty file still fits on the full disk
    with pytest.raises(StorageError, match=r"could not write old.json to .*old.json \(No space left on device\); "
                                           r"free some space"):
        atomic_write_text(full_disk / "old.json", "new text" * 1000)
    assert left_behind(full_disk) == ["old.json"] and (full_disk / "old.json").read_text() == ""


def test_a_full_disk_while_storing_a_run_is_a_clear_error(full_disk):
    store = RunStore(full_disk / "runs", trainer=lambda spec, **k: fake_result(spec, 0.6))
    with pytest.raises(StorageError, match=rf"run {SPEC.key}.*No space left on device.*--runs"):
        store.get(SPEC)
    assert [p for p in left_behind(full_disk) if not p.endswith(".lock")] == []


def test_a_full_disk_while_checkpointing_is_a_clear_error_and_leaves_no_temporary_file(full_disk):
    checkpoint = full_disk / "run" / "checkpoint.pt"
    with pytest.raises(StorageError, match=r"checkpoint of run .*checkpoint.pt \(No space left on device\).*--runs"):
        train(TINY.replace(epochs=2), device="cpu", progress=False, checkpoint_path=checkpoint)
    assert left_behind(full_disk) == []


@pytest.mark.slow
def test_a_full_disk_under_the_report_dir_is_a_clear_error_not_an_internal_one(tmp_path, full_disk):
    (tmp_path / "project").mkdir()
    project = scratch(tmp_path / "project")
    done = run_pytest(project, "claims", "-m", "fast", "--no-report", f"--report-dir={full_disk / 'report'}")
    out = done.stdout + done.stderr
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    assert "could not write the findings" in out and "No space left on device" in out and "--report-dir" in out, out
    assert done.returncode != 0 and left_behind(full_disk) == []


def free_some(disk: Path, kilobytes: int) -> None:
    """Give back `kilobytes` of the filled disk: room for the findings, not for a whole report."""
    filler = disk / "filler"
    os.truncate(filler, max(0, filler.stat().st_size - kilobytes * 1024))


def test_a_full_disk_while_building_the_report_is_a_clear_error_and_leaves_no_part_file(tmp_path, full_disk):
    from reports.build import build_report, main
    from tests.test_report import CURVES_RUN, finding
    from harness.findings import Figure

    findings = write_findings(tmp_path / "findings.json", [finding(
        "000/x", "reproduced", figures=[Figure(kind="curves", title="c", series={"ce": [CURVES_RUN]})])], {})
    with pytest.raises(StorageError, match=r"could not write .*No space left on device"):
        build_report([findings], full_disk / "report")
    assert left_behind(full_disk) == []
    assert main([str(findings), "--out", str(full_disk / "report")]) == 1
    assert left_behind(full_disk) == [] and json.loads(findings.read_text())["findings"]


@pytest.mark.slow
def test_a_full_disk_under_the_report_dir_while_building_the_report_keeps_the_findings(tmp_path, full_disk):
    (tmp_path / "project").mkdir()
    project = scratch(tmp_path / "project")
    free_some(full_disk, 48)
    done = run_pytest(project, "claims", "-m", "fast", f"--report-dir={full_disk / 'report'}")
    out = done.stdout + done.stderr
    assert "INTERNALERROR" not in out and "Traceback" not in out, out
    assert "report build FAILED (findings are kept in" in out and "No space left on device" in out, out
    assert done.returncode != 0
    kept = json.loads((full_disk / "report" / "findings.json").read_text())["findings"]
    assert [f["claim_id"] for f in kept] == ["999/size"]
    assert not [p for p in left_behind(full_disk) if p.endswith(".tmp")]


# -- modes and readers ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o002, 0o022, 0o077])
def test_every_written_file_gets_the_mode_the_umask_allows(tmp_path, mask):
    with umask(mask):
        RunStore(tmp_path / "runs", trainer=lambda spec, **k: fake_result(spec)).get(SPEC)
        write_findings(tmp_path / "report" / "findings.json", [], {})
        train(TINY.replace(epochs=2), device="cpu", progress=False, checkpoint_path=tmp_path / "checkpoint.pt")
    written = [tmp_path / "runs" / SPEC.key / "result.json", tmp_path / "runs" / SPEC.key / "spec.json",
               tmp_path / "report" / "findings.json", tmp_path / "checkpoint.pt"]
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(0o666 & ~mask) for p in written}


READER = textwrap.dedent("""
    import sys
    from harness.runs.store import RunStore
    from harness.runs.spec import Spec
    try:
        print(RunStore(sys.argv[1], mode="cached-only").get(Spec(model="resnet18", epochs=1, seed=3)).best_test_acc)
    except OSError as exc:
        print(type(exc).__name__, exc)
""")


def read_as_group_member(store: Path) -> str:
    """Load SPEC from `store` as a member of the files' group who does not own them: the files are handed to
    user nobody (group root), and the reader is root without the capabilities that bypass file modes."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("reading as a group member needs root and setpriv (util-linux)")
    for path in [store, *store.rglob("*")]:
        os.chown(path, NOBODY, 0)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", READER,
                           str(store)], env=env, capture_output=True, text=True, timeout=120)
    return (done.stdout + done.stderr).strip()


def test_a_store_shared_by_a_group_is_readable_by_its_members(tmp_path):
    with umask(0o002):
        RunStore(tmp_path / "runs", trainer=lambda spec, **k: fake_result(spec, 0.7)).get(SPEC)
    assert read_as_group_member(tmp_path / "runs") == "0.7"


@pytest.mark.parametrize("entry_dir_mode", [0o775, 0o700])
def test_an_entry_the_reader_may_not_read_is_a_clear_error_naming_the_file(tmp_path, entry_dir_mode):
    with umask(0o077):
        RunStore(tmp_path / "runs", trainer=lambda spec, **k: fake_result(spec, 0.7)).get(SPEC)
    os.chmod(tmp_path / "runs", 0o775)
    os.chmod(tmp_path / "runs" / SPEC.key, entry_dir_mode)  # the file, or already its folder, is closed
    answer = read_as_group_member(tmp_path / "runs")
    assert answer.startswith("UnreadableRunError"), answer
    assert str(tmp_path / "runs" / SPEC.key / "result.json") in answer and "Permission denied" in answer
    assert "umask 002" in answer and "--runs" in answer


def test_an_entry_that_cannot_be_read_names_the_file(tmp_path):
    (tmp_path / SPEC.key / "result.json").mkdir(parents=True)  # a folder where the result should be
    with pytest.raises(UnreadableRunError, match=rf"{SPEC.key}/result.json cannot be read \(Is a directory\)"):
        RunStore(tmp_path).load(SPEC)


def test_a_failure_that_is_not_about_storage_passes_through_unchanged(tmp_path):
    def broken(handle):
        raise KeyError("not a disk problem")

    with pytest.raises(KeyError):
        atomic_write(tmp_path / "x", broken)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, expected", [
    ("<html>", r"not a plan file \(not JSON: "),
    ("[1, 2]", r"not a plan file \(a JSON list, not an object\)"),
    ('{"format": 0}', r"plan format 0, expected 1"),
    (b"\xff\xfe", r"not a plan file \(not JSON: "),
], ids=["html", "list", "old-format", "not-utf8"])
def test_a_versioned_file_that_is_not_one_names_the_file_and_the_option_that_writes_it(tmp_path, text, expected):
    path = tmp_path / "plan.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=expected) as error:
        read_versioned(path, "plan", 1, "--plan")
    assert str(error.value).startswith(f"{path}: ") and "pytest ... --plan" in str(error.value)
    path.write_text('{"format": 1, "runs": []}')
    with pytest.raises(ValueError, match="no list of runs or no summary"):
        read_versioned(path, "plan", 1, "--plan")
    path.write_text('{"format": 1, "runs": [], "summary": {}}')
    assert read_versioned(path, "plan", 1, "--plan") == {"format": 1, "runs": [], "summary": {}}
