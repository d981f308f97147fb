"""run-store export / import: finished runs travel as one tar.gz and arrive checked and unchanged."""
import io
import json
import tarfile

import pytest

from harness.runs.export import export_store, import_archive, main
from harness.runs.store import RunStore
from harness.runs.spec import Spec
from tests.test_collection import run_pytest, scratch

TINY = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=1, batch_size=100,
            train_subset=200, test_subset=100)
SPECS = [TINY.replace(seed=s) for s in (0, 1)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two finished runs, one run still training (checkpoint, no result) and one tampered entry."""
    root = tmp_path_factory.mktemp("store")
    runs = RunStore(root, train_kwargs={"device": "cpu", "progress": False}, keep_checkpoints=True)
    for spec in SPECS:
        runs.get(spec)
    unfinished = TINY.replace(seed=7)
    (root / unfinished.key).mkdir()
    (root / unfinished.key / "spec.json").write_text(json.dumps(unfinished.to_dict()))
    (root / unfinished.key / "checkpoint.pt").write_bytes(b"half-trained")
    tampered = TINY.replace(seed=8)
    RunStore(root, trainer=lambda s, **kw: runs.load(SPECS[0]).__class__(
        **{**runs.load(SPECS[0]).to_dict(), "key": s.key, "spec": s.to_dict()})).get(tampered)
    spec_file = root / tampered.key / "spec.json"
    spec_file.write_text(spec_file.read_text().replace('"lr": 0.1', '"lr": 0.2'))
    return root


@pytest.fixture(scope="module")
def archive(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("ship") / "runs.tar.gz"
    outcome = export_store(store, path)
    assert sorted(outcome.written) == sorted(s.key for s in SPECS)
    assert list(outcome.bad) == [TINY.replace(seed=8).key]
    return path


def test_the_archive_holds_results_and_specs_only(archive):
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    assert names == sorted(["MANIFEST.json"] + [f"{s.key}/{f}" for s in SPECS for f in ("result.json", "spec.json")])


def test_round_trip_into_an_empty_store_gives_identical_results(store, archive, tmp_path):
    outcome = import_archive(archive, tmp_path / "new")
    assert sorted(outcome.written) == sorted(s.key for s in SPECS) and not outcome.bad
    old, new = RunStore(store, "cached-only"), RunStore(tmp_path / "new", "cached-only")
    for spec in SPECS:
        assert new.get(spec) == old.get(spec)


def test_importing_twice_finds_identical_runs_and_never_overwrites(archive, tmp_path):
    import_archive(archive, tmp_path)
    again = import_archive(archive, tmp_path)
    assert sorted(again.identical) == sorted(s.key for s in SPECS) and not again.written
    changed = tmp_path / SPECS[0].key / "result.json"
    changed.write_text(changed.read_text().replace('"status": "completed"', '"status": "completed" '))
    before = changed.read_text()
    third = import_archive(archive, tmp_path)
    assert list(third.conflicts) == [SPECS[0].key] and changed.read_text() == before


def _archive_with(tmp_path, members: dict[str, bytes], manifest: dict | None = None):
    path = tmp_path / "crafted.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"MANIFEST.json": json.dumps(manifest or {"format": 1}).encode(), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_entries_whose_spec_does_not_hash_to_their_key_are_reported_and_skipped(store, tmp_path):
    good = SPECS[0].key
    result, spec = (store / good / "result.json").read_bytes(), (store / good / "spec.json").read_bytes()
    wrong = "0123456789abcdef"
    crafted = _archive_with(tmp_path, {f"{wrong}/result.json": result, f"{wrong}/spec.json": spec,
                                       f"{good}/result.json": result, f"{good}/spec.json": spec,
                                       "../escape.json": b"{}"})
    outcome = import_archive(crafted, tmp_path / "dest")
    assert outcome.written == [good]
    assert "hashes to" in outcome.bad[wrong] and "not a run entry" in outcome.bad["../escape.json"]
    assert not (tmp_path / "escape.json").exists() and not (tmp_path / "dest" / wrong).exists()


def test_a_damaged_file_is_caught_by_the_manifest(store, tmp_path):
    good = SPECS[0].key
    spec = (store / good / "spec.json").read_bytes()
    crafted = _archive_with(tmp_path, {f"{good}/result.json": b"{}", f"{good}/spec.json": spec},
                            {"format": 1, "sha256": {f"{good}/result.json": "0" * 64}})
    outcome = import_archive(crafted, tmp_path / "dest")
    assert "SHA-256" in outcome.bad[f"{good}/result.json"] and not outcome.written


def test_the_command_line_reports_and_sets_its_exit_status(store, tmp_path, capsys):
    assert main(["export", str(store), str(tmp_path / "a.tar.gz")]) == 1  # the tampered entry is reported
    assert "exported to" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "a.tar.gz"), str(tmp_path / "dest")]) == 0
    assert main(["import", str(tmp_path / "missing.tar.gz"), str(tmp_path / "dest")]) == 2


ENTRY = """
report: 999_scratch
title: Scratch
claims:
  - id: 999/seed-noise
    statement: "Two seeds agree within a point."
    location: Table 1
    kind: metric
    reported: 0.0
    tiers:
      fast: {seeds: 2, tolerance: {abs: 1.0, why: loose on purpose}}
"""

TEST = '''
import pytest
from harness.runs.spec import Spec

TINY = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=1, batch_size=100,
            train_subset=200, test_subset=100)

@pytest.mark.synthetic_data
@pytest.mark.claim("999/seed-noise")
def test_seed_noise(claim):
    a, b = claim.runs(TINY)
    claim.check_within("seed 0 - seed 1", a.best_test_acc - b.best_test_acc, claim.reported)
'''

SESSION_FIELDS = ("duration",)


def _findings(path):
    findings = json.loads(path.read_text())["findings"]
    return [{k: v for k, v in f.items() if k not in SESSION_FIELDS} for f in findings]


@pytest.mark.slow
def test_cached_only_findings_are_identical_after_a_round_trip(tmp_path):
    project = scratch(tmp_path, entry=ENTRY, test=TEST)
    trained = run_pytest(project, "claims", "-m", "fast", "--no-report", "--report-dir", "first")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert export_store(project / "runs", tmp_path / "ship.tar.gz").written
    assert import_archive(tmp_path / "ship.tar.gz", tmp_path / "elsewhere").written
    for name, runs in (("a", project / "runs"), ("b", tmp_path / "elsewhere")):
        done = run_pytest(project, "claims", "-m", "fast", "--no-report", "--run-mode", "cached-only",
                          "--report-dir", name, f"--runs={runs}")
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
    assert _findings(project / "a" / "findings.json") == _findings(project / "b" / "findings.json")
