"""--rehearse: each distinct run's recipe built and stepped on the CPU, nothing stored, failures named."""
import json
import re

import pytest

from harness import cpu
from harness.plan.rehearsal_files import load_rehearsal, write_rehearsal
from harness.plan.rehearse import rehearse
from harness.runs.spec import Spec
from reports.build import render_html
from reports.lr_figures import report_lr_figures, runs_of_report

from .test_collection import run_pytest, scratch
from .test_plan import ENTRY, TEST
from .test_report import finding

BASE = Spec(model="vgg_a", dataset="synthetic", epochs=3, batch_size=64, train_subset=200, precision="bf16",
            augment=("crop", "flip"), device="cuda")
SMALL = BASE.replace(schedule="step", schedule_args={"step_size": 1, "gamma": 0.1})


@pytest.mark.slow
def test_a_small_recipe_rehearses_with_a_learning_rate_per_epoch():
    out = rehearse(SMALL, images=4)
    assert out.ok, out.error
    assert out.steps_per_epoch == 4  # the whole split at the run's batch size, not the rehearsed images
    assert out.planned_lr == pytest.approx([0.1, 0.01, 0.001])
    assert len(out.loss) == 2 and out.seconds > 0 and out.lr_note is None


@pytest.mark.slow
def test_a_plateau_schedule_is_fed_a_fixed_metric_and_says_so():
    spec = BASE.replace(epochs=6, schedule="plateau", schedule_args={"patience": 1, "factor": 0.5})
    out = rehearse(spec, images=2)
    assert out.ok, out.error
    assert out.planned_lr == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025])
    assert "fixed test_loss" in out.lr_note


@pytest.mark.slow
def test_a_per_batch_schedule_steps_through_every_step_of_the_run():
    spec = BASE.replace(epochs=4, schedule="cyclic",
                         schedule_args={"base_lr": 0.0, "max_lr": 0.4, "step_size_up_epochs": 2.0})
    out = rehearse(spec, images=2)
    assert out.ok, out.error
    assert out.planned_lr == pytest.approx([0.0, 0.2, 0.4, 0.2])


def test_probes_and_the_pooled_split_are_rehearsed():
    spec = SMALL.replace(precision="fp32", split="pool-10:1:1", probes=("step_loss", "grad_change", "line_search"))
    out = rehearse(spec, images=2)
    assert out.ok, out.error


def test_a_broken_recipe_is_a_failure_with_its_message():
    out = rehearse(SMALL.replace(model_args={"no_such_argument": 3}), images=2)
    assert not out.ok and "no_such_argument" in out.error and out.planned_lr == []


BROKEN_TEST = TEST.replace('B = A.replace(model="vgg_a_bn")', 'B = A.replace(model="vgg_a_bn", model_args={"wdith": 2})')


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory):
    project = scratch(tmp_path_factory.mktemp("rehearse"), entry=ENTRY, test=TEST)
    done = run_pytest(project, "claims", "-m", "full", "--rehearse", "--rehearse-dir", "out", "-p", "no:xdist")
    return project, done


@pytest.mark.slow
def test_rehearsal_of_a_selection_writes_every_distinct_run(rehearsed):
    project, done = rehearsed
    assert done.returncode == 0, done.stdout + done.stderr
    doc = load_rehearsal(project / "out" / "rehearsal.json")
    assert doc["summary"]["runs"] == 4 and doc["summary"]["ok"] == 4  # 2 models x 2 seeds
    assert doc["summary"]["rehearsed"] == 2  # the second seed of each shares its model's rehearsal
    for run in doc["runs"]:
        assert Spec.from_dict(run["spec"]).key == run["key"] and len(run["planned_lr"]) == run["spec"]["epochs"]
    assert (project / "out" / "rehearsal.csv").read_text().count("\n") == 5
    assert "rehearsal: 4 distinct runs (2 rehearsed" in done.stdout and "4 ok, 0 failed" in done.stdout


@pytest.mark.slow
def test_under_two_workers_each_recipe_is_rehearsed_once_on_the_machines_own_kernels(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "tmp").mkdir()
    project = scratch(tmp_path / "project", entry=ENTRY, test=TEST)
    done = run_pytest(project, "claims", "-m", "full", "--rehearse", "--rehearse-dir", "out", "-n", "2",
                      env={"TMPDIR": str(tmp_path / "tmp")},
                      drop=(cpu.KERNELS_ENV, *cpu.PORTABLE_KERNELS))  # as in a user's shell
    assert done.returncode == 0, done.stdout + done.stderr
    doc = load_rehearsal(project / "out" / "rehearsal.json")
    rehearsed = [r for r in doc["runs"] if not r.get("shared_with")]
    assert doc["summary"]["runs"] == 4 and len(rehearsed) == 2  # 2 recipes x 2 seeds, each recipe once
    assert len({Spec.from_dict(r["spec"]).replace(seed=0).key for r in rehearsed}) == 2
    assert all(r["seconds"] > 0 for r in rehearsed)
    assert doc["selection"]["cpu_kernels"] == ["native"] and {r["cpu_kernels"] for r in doc["runs"]} == {"native"}
    assert not list((tmp_path / "tmp").glob("rehearsal-taken-*"))  # the markers are cleaned up


@pytest.mark.slow
def test_rehearsal_stores_no_run_and_writes_no_findings(rehearsed):
    project, _ = rehearsed
    assert not list(project.glob("runs/**/result.json")) and not list(project.glob("runs/**/*.pt"))
    assert not (project / "report").exists() and not (project / "plan").exists()


@pytest.mark.slow
def test_a_failed_rehearsal_fails_the_session_naming_the_run(tmp_path):
    project = scratch(tmp_path, entry=ENTRY, test=BROKEN_TEST)
    done = run_pytest(project, "claims", "-m", "full", "-k", "wins", "--rehearse", "--rehearse-dir", "out",
                      "-p", "no:xdist")
    assert done.returncode != 0
    doc = json.loads((project / "out" / "rehearsal.json").read_text())
    failed = [r for r in doc["runs"] if not r["ok"]]
    assert len(failed) == 2 and all("wdith" in r["error"] for r in failed)
    for r in failed:
        assert f"rehearsal: FAILED {r['key']} vgg_a_bn" in done.stdout


def _rehearsal(tmp_path):
    runs = [rehearse(SMALL.replace(seed=s), images=2).to_dict() | {"claims": ["000/x [full]"]} for s in (0, 1)]
    other = rehearse(SMALL.replace(lr=0.5, epochs=5), images=2).to_dict() | {"claims": ["001/y [full]"]}
    write_rehearsal(runs + [other], {}, tmp_path)
    return load_rehearsal(tmp_path / "rehearsal.json")


@pytest.mark.slow
def test_each_report_gets_a_figure_of_its_own_runs_planned_learning_rates(tmp_path):
    doc = _rehearsal(tmp_path)
    assert len(runs_of_report("000_9e3337487a7f39ea", doc["runs"])) == 2
    figures = report_lr_figures(doc, ["000_9e3337487a7f39ea", "001_288ad0623d8579d0", "002_d71c51818ef843f8"],
                                tmp_path / "out")
    assert set(figures) == {"000_9e3337487a7f39ea", "001_288ad0623d8579d0"}  # 002 has no rehearsed run
    assert (tmp_path / "out" / figures["000_9e3337487a7f39ea"]["path"]).stat().st_size > 0
    html = render_html([finding("000/x", "reproduced", tier="full")], [], tmp_path / "out", doc).read_text()
    embedded = re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="planned learning rate 000_9e3337487a7f39ea"', html)
    assert embedded and "its 2 full-tier runs" in html  # the HTML is one file: the figure travels inside it
    assert "planned_lr_001" not in html  # report 001 has no finding, so no section to put it in
