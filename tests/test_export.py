"""run-store export / import: finished runs travel as one tar.gz and arrive checked and unchanged."""
import hashlib
import io
import json
import re
import tarfile

import pytest

from harness.runs.export import ArchiveRefused, Limits, export_store, import_archive, main
from harness.runs.store import RunStore
from harness.runs.spec import Spec
from harness.train.loop import train
from harness.train.loop import train
from tests.test_collection import run_pytest, scratch

TINY = Spec(model="lenet_mnist", dataset="synthetic_mnist", normalize="none", epochs=1, batch_size=100,
            train_subset=200, test_subset=100)
SPECS = [TINY.replace(seed=s) for s in (0, 1)]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two finished runs, one run still training (checkpoint, no result) and one tampered entry."""
    root = tmp_path_factory.mktemp("store")
    runs = RunStore(root, trainer=train, train_kwargs={"device": "cpu", "progress": False}, keep_checkpoints=True)
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


def _archive_with(tmp_path, members: dict[str, bytes], manifest: dict | None = None, unlisted=(), first=(),
                  name="crafted.tar.gz"):
    """An archive of `members` whose manifest lists each one's true hash (but those in `unlisted`),
    written before them unless `manifest` is given; `first` members come before the manifest."""
    if manifest is None:
        manifest = {"format": 1, "runs": sorted({m.split("/")[0] for m in members if re.match("[0-9a-f]{16}/", m)}),
                    "sha256": {m: hashlib.sha256(d).hexdigest() for m, d in members.items() if m not in unlisted}}
    ordered = {**{m: members[m] for m in first}, "MANIFEST.json": json.dumps(manifest).encode(), **members}
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for member, data in ordered.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _entry(store, key=None):
    key = key or SPECS[0].key
    return key, (store / key / "result.json").read_bytes(), (store / key / "spec.json").read_bytes()


def _refused(crafted, dest, *problems, limits=Limits()):
    with pytest.raises(ArchiveRefused, match="nothing was imported") as refusal:
        import_archive(crafted, dest, limits)
    for problem in problems:
        assert problem in str(refusal.value)
    assert not dest.exists() or not any(dest.iterdir())
    return str(refusal.value)


def test_an_archive_with_a_bad_entry_is_refused_whole(store, tmp_path):
    good, result, spec = _entry(store)
    wrong = "0123456789abcdef"
    crafted = _archive_with(tmp_path, {f"{wrong}/result.json": result, f"{wrong}/spec.json": spec,
                                       f"{good}/result.json": result, f"{good}/spec.json": spec,
                                       "../escape.json": b"{}"})
    _refused(crafted, tmp_path / "dest", f"run {wrong}: result.json holds run {good}", "../escape.json: not a run file")
    assert not (tmp_path / "escape.json").exists()


def test_a_damaged_file_is_caught_by_the_manifest(store, tmp_path):
    good, result, spec = _entry(store)
    crafted = _archive_with(tmp_path, {f"{good}/result.json": result, f"{good}/spec.json": spec},
                            {"format": 1, "runs": [good], "sha256": {f"{good}/result.json": "0" * 64,
                                                                     f"{good}/spec.json": "0" * 64}})
    _refused(crafted, tmp_path / "dest", f"{good}/result.json: SHA-256 differs")


def _forged(result: bytes) -> bytes:
    data = json.loads(result)
    data["best_test_acc"] = 0.99
    return json.dumps(data).encode()


def test_a_forged_result_missing_from_the_manifest_is_refused(store, tmp_path):
    good, result, spec = _entry(store)
    crafted = _archive_with(tmp_path, {f"{good}/result.json": _forged(result), f"{good}/spec.json": spec},
                            unlisted=[f"{good}/result.json"])
    _refused(crafted, tmp_path / "dest", f"{good}/result.json: not listed in MANIFEST.json")


def test_a_member_placed_before_the_manifest_is_still_checked_against_it(store, tmp_path):
    good, result, spec = _entry(store)
    members = {f"{good}/result.json": _forged(result), f"{good}/spec.json": spec}
    manifest = {"format": 1, "runs": [good], "sha256": {f"{good}/result.json": hashlib.sha256(result).hexdigest(),
                                                        f"{good}/spec.json": hashlib.sha256(spec).hexdigest()}}
    crafted = _archive_with(tmp_path, members, manifest, first=[f"{good}/result.json"])
    _refused(crafted, tmp_path / "dest", "SHA-256 differs")


def test_a_file_listed_in_the_manifest_but_absent_is_refused(store, tmp_path):
    (good, result, spec), (other, *_) = _entry(store), _entry(store, SPECS[1].key)
    manifest = {"format": 1, "runs": [good, other],
                "sha256": {f"{good}/result.json": hashlib.sha256(result).hexdigest(),
                           f"{good}/spec.json": hashlib.sha256(spec).hexdigest(), f"{other}/result.json": "0" * 64}}
    crafted = _archive_with(tmp_path, {f"{good}/result.json": result, f"{good}/spec.json": spec}, manifest)
    _refused(crafted, tmp_path / "dest", f"{other}/result.json: listed in MANIFEST.json but not in the archive")


def test_links_and_duplicates_are_refused(store, tmp_path):
    good, result, spec = _entry(store)
    path = tmp_path / "links.tar.gz"
    members = {f"{good}/result.json": result, f"{good}/spec.json": spec}
    manifest = {"format": 1, "runs": [good], "sha256": {m: hashlib.sha256(d).hexdigest() for m, d in members.items()}}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"MANIFEST.json": json.dumps(manifest).encode(), **members}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"{SPECS[1].key}/result.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
        again = tarfile.TarInfo(f"{good}/spec.json")
        again.size = len(spec)
        tar.addfile(again, io.BytesIO(spec))
    _refused(path, tmp_path / "dest", f"{SPECS[1].key}/result.json: not a run file", f"{good}/spec.json: in the archive twice")


# -- decompression bombs: tiny archives that unpack big --------------------------------------------------------------

def test_a_member_over_the_size_cap_is_refused_before_it_is_read(store, tmp_path, monkeypatch):
    good, result, spec = _entry(store)
    crafted = _archive_with(tmp_path, {f"{good}/result.json": result + b" " * (3 << 20), f"{good}/spec.json": spec})
    assert crafted.stat().st_size < 100_000
    reads = []
    real = tarfile.TarFile.extractfile
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, m: reads.append(m.name) or real(self, m))
    _refused(crafted, tmp_path / "dest", f"{good}/result.json is over 1048576 bytes", limits=Limits(member=1 << 20))
    assert reads == ["MANIFEST.json"]  # the header of result.json said too big: not a byte of it was read


def test_an_archive_over_the_total_cap_is_refused(store, tmp_path):
    good, result, spec = _entry(store)
    members = {f"{good}/result.json": result, f"{good}/spec.json": spec,
               **{f"{k:016x}/spec.json": b" " * (900 << 10) for k in range(4)}}
    crafted = _archive_with(tmp_path, members)
    _refused(crafted, tmp_path / "dest", "total size", limits=Limits(member=1 << 20, total=3 << 20))


def test_a_huge_header_is_refused_too(store, tmp_path):
    good, result, spec = _entry(store)
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"{good}/spec.json")
        info.size, info.pax_headers = len(spec), {"comment": "x" * (3 << 20)}
        tar.addfile(info, io.BytesIO(spec))
    _refused(path, tmp_path / "dest", "header or member of over", limits=Limits(member=1 << 20))


def test_the_command_line_names_the_cap_it_refuses_by(store, tmp_path, capsys):
    good, result, spec = _entry(store)
    crafted = _archive_with(tmp_path, {f"{good}/result.json": result + b" " * (3 << 20), f"{good}/spec.json": spec})
    assert main(["import", str(crafted), str(tmp_path / "dest"), "--max-member-mb", "1"]) == 2
    err = capsys.readouterr().err
    assert "--max-member-mb" in err and "nothing was imported" in err and "Traceback" not in err
    assert main(["import", str(crafted), str(tmp_path / "dest")]) == 0  # under the default cap: imported


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
