"""benchmarks/compare_runs.py: what makes two run records or findings tables differ."""
import json
from pathlib import Path

import pandas as pd

from harness.runs.result import RunResult
from harness.runs.spec import Spec
from tests.benchmark_scripts import load_benchmark

compare_runs = load_benchmark("compare_runs")


def key_of(name: str) -> str:
    """A genuine run key per name: the stores are read through the harness's validating reader."""
    return Spec(model="lenet_mnist", dataset="synthetic_mnist", seed=int(name[1:])).key


def _record(name="k1", **changes):
    spec = Spec(model="lenet_mnist", dataset="synthetic_mnist", seed=int(name[1:]))
    record = RunResult(key=spec.key, spec=spec.to_dict(), status="completed", diverged_at_step=None,
                       best_test_acc=0.5, final_test_acc=0.5, final_train_acc=0.6, param_count=10, wall_time=1.0,
                       environment={"device": "cpu"}, test_correct={"best": "AAE=", "final": "AAE="},
                       curves={"test_acc": [0.4, 0.5], "test_loss": [1.0, 0.9], "step_time": [1.0, 1.0]}).to_dict()
    for name, value in changes.items():
        if name in record["curves"]:
            record["curves"][name] = value
        else:
            record[name] = value
    return record


def _store(root: Path, *records) -> Path:
    for r in records:
        (root / r["key"]).mkdir(parents=True)
        (root / r["key"] / "result.json").write_text(json.dumps(r))
    return root


def test_timings_do_not_count_and_everything_a_verdict_reads_does():
    base = _record()
    assert compare_runs.run_differences(base, _record(step_time=[9.0, 9.0])) == []
    assert compare_runs.run_differences(base, _record(test_acc=[0.4, 0.501])) == ["test_acc"]
    assert compare_runs.run_differences(base, _record(test_correct={"best": "AAE=", "final": "AQE="})) == ["test_correct"]
    assert compare_runs.run_differences(base, _record(status="diverged", diverged_at_step=3)) == [
        "status", "diverged_at_step"]


def test_the_test_loss_is_bitwise_unless_a_tolerance_is_given():
    base, moved = _record(), _record(test_loss=[1.0, 0.9 * (1 + 1e-7)])
    assert compare_runs.run_differences(base, moved) == ["test_loss"]
    assert compare_runs.run_differences(base, moved, loss_rtol=1e-6) == []
    assert compare_runs.run_differences(base, _record(test_loss=[1.0, 0.8]), loss_rtol=1e-6) == ["test_loss"]


def test_main_fails_on_a_differing_run_and_on_a_differing_finding(tmp_path, capsys):
    a = _store(tmp_path / "a", _record("k1"), _record("k2"))
    b = _store(tmp_path / "b", _record("k1"), _record("k2", best_test_acc=0.51))
    same = _store(tmp_path / "same", _record("k1"), _record("k2"))
    assert compare_runs.main([str(a), str(same)]) == 0
    assert compare_runs.main([str(a), str(b)]) == 1
    assert f"differs: {key_of('k2')} (lenet_mnist): best_test_acc" in capsys.readouterr().out

    rows = {"claim_id": ["x", "y"], "verdict": ["reproduced", "inconclusive"], "session": ["s1", "s1"]}
    pd.DataFrame(rows).to_csv(tmp_path / "f1.csv", index=False)
    pd.DataFrame({**rows, "session": ["s2", "s2"]}).to_csv(tmp_path / "f2.csv", index=False)
    pd.DataFrame({**rows, "verdict": ["reproduced", "reproduced"]}).to_csv(tmp_path / "f3.csv", index=False)
    assert compare_runs.main([str(a), str(same), "--findings", str(tmp_path / "f1.csv"), str(tmp_path / "f2.csv")]) == 0
    assert compare_runs.main([str(a), str(same), "--findings", str(tmp_path / "f1.csv"), str(tmp_path / "f3.csv")]) == 1


def test_stores_with_no_run_in_common_are_not_called_equal(tmp_path):
    a = _store(tmp_path / "a", _record("k1"))
    b = _store(tmp_path / "b", _record("k2"))
    assert compare_runs.main([str(a), str(b)]) == 1
