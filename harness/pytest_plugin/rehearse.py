"""pytest hooks of `--rehearse`: every distinct run the selected claims need, rehearsed on the CPU.

`--rehearse` uses the plan's recording (harness/pytest_plugin/plan.py: the claim bodies run against a
RecordingStore, outcomes are discarded, no findings are written). After each test has recorded
its runs, the process that ran it rehearses those whose recipe no process of the session has
taken yet (harness/plan/rehearse.py; a marker file per recipe in a folder the controller hands every
worker), and sends the results to the controller in the report's user_properties: `-n N`
spreads the rehearsals over workers, and each recipe is rehearsed once. Runs that differ in
their seed alone share one recipe (the seed only seeds the generators). Workers rehearse with
the machine's own CPU kernels (harness/cpu.py): no verdict rests on a rehearsal's floats. The
controller writes rehearsal.json and rehearsal.csv, prints the summary, and fails the session,
naming the runs, when any rehearsal failed (or was taken by a worker that crashed).

Entry point `cifar_claims_rehearse`; its options are declared with every other in harness/settings.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .. import cpu
from ..plan.markers import TakenKeys
from ..plan.rehearsal_files import summary_lines, write_rehearsal
from ..runs.spec import Spec
from .config import settings_of
from .plan import REQUESTS_KEY
REHEARSAL_KEY = "rehearsals"
TAKEN_INPUT = "rehearsal_taken_dir"  # the workerinput key of the controller's folder of taken recipes


def rehearsing(config: pytest.Config) -> bool:
    return bool(config.getoption("rehearse", default=None))


@dataclass
class Rehearser:
    """Per process: rehearses each recipe (a run's Spec without its seed) that no process has taken yet.

    Every process of the session shares `taken` (harness/plan/markers.py), so under `-n N` each recipe
    is rehearsed once, by whichever worker meets it first.
    """

    data_root: str | None
    download: bool | None
    images: int
    taken: TakenKeys

    def rehearse(self, spec: Spec) -> dict[str, Any]:
        from ..plan.rehearse import rehearse

        return rehearse(spec, data_root=self.data_root, download=self.download, images=self.images).to_dict()


def recipe_key(spec: Spec) -> str:
    """Runs that differ in their seed alone share one rehearsal (the seed only seeds the generators)."""
    return spec.replace(seed=0).key


REHEARSER = pytest.StashKey[Rehearser]()


def pytest_configure(config: pytest.Config) -> None:
    if not rehearsing(config) or config.getoption("help"):
        return
    if not hasattr(config, "workerinput"):
        # before pytest-xdist starts its workers: they rehearse with the machine's own CPU kernels (no verdict
        # depends on a rehearsal's floats, and bf16 convolutions are several times faster there)
        cpu.native_for_child_processes()
        config.pluginmanager.register(RehearsalSession(config), "reproducibility-rehearsal-session")


def _taken(config: pytest.Config) -> TakenKeys:
    """The session's taken recipes: the controller's folder, handed to each worker in its workerinput."""
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        return TakenKeys(worker[TAKEN_INPUT])
    return config.pluginmanager.get_plugin("reproducibility-rehearsal-session").taken


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the plan entry point's wrapper: its requests are recorded by then
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    finally:
        if rehearsing(item.config):
            _rehearse_item(item)


def _rehearse_item(item: pytest.Item) -> None:
    """Rehearse the recipes of this test's runs that no process has taken; send each run's recipe with them."""
    recorded = [json.loads(value) for name, value in item.user_properties if name == REQUESTS_KEY]
    rehearser = _rehearser(item.config)
    recipes, results = {}, []
    for run in (run for entry in recorded for run in entry["runs"]):
        spec = Spec.from_dict(run["spec"])
        recipes[run["key"]] = recipe = recipe_key(spec)
        if rehearser.taken.take(recipe):
            results.append({**rehearser.rehearse(spec), "recipe": recipe})
    if recipes:
        item.user_properties.append((REHEARSAL_KEY, json.dumps({"recipes": recipes, "results": results})))


def _rehearser(config: pytest.Config) -> Rehearser:
    """This process's Rehearser, made on first use (the claims plugin's settings are read by then)."""
    if REHEARSER not in config.stash:
        chosen = settings_of(config)
        config.stash[REHEARSER] = Rehearser(chosen.data_root, chosen.download, chosen.rehearse_images, _taken(config))
    return config.stash[REHEARSER]


class RehearsalSession:
    """Controller side: hand out the folder of taken recipes, gather each run's rehearsal and claims; write,
    print, fail on a failure."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.taken = TakenKeys.create(prefix="rehearsal-taken-")
        self.specs: dict[str, dict[str, Any]] = {}  # run key -> its Spec
        self.recipes: dict[str, str] = {}  # run key -> its recipe
        self.results: dict[str, dict[str, Any]] = {}  # recipe -> the one rehearsal of it
        self.claims: dict[str, set[str]] = {}
        self.lines: list[str] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:  # pytest-xdist, before each worker starts
        node.workerinput[TAKEN_INPUT] = str(self.taken.path)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == REQUESTS_KEY:
                recorded = json.loads(value)
                for run in recorded["runs"]:
                    self.claims.setdefault(run["key"], set()).add(recorded["claim"])
                    self.specs[run["key"]] = run["spec"]
            elif name == REHEARSAL_KEY:
                sent = json.loads(value)
                self.recipes.update(sent["recipes"])
                for result in sent["results"]:
                    self.results.setdefault(result.pop("recipe"), result)

    def _run(self, key: str) -> dict[str, Any]:
        """The run's entry: its recipe's rehearsal, marked as shared when another seed's run was rehearsed."""
        result = self.results.get(self.recipes.get(key, ""))
        if result is None:  # its recipe was taken by a process that never reported it (it crashed)
            return {"key": key, "spec": self.specs[key], "ok": False, "seconds": 0.0, "cpu_seconds": 0.0,
                    "error": "not rehearsed: the process that took its recipe ended before reporting it",
                    "planned_lr": []}
        if result["key"] == key:
            return dict(result)
        return {**result, "key": key, "spec": self.specs[key], "seconds": 0.0, "cpu_seconds": 0.0,
                "shared_with": result["key"]}

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.taken.remove()
        runs = [{**self._run(k), "claims": sorted(self.claims[k])} for k in sorted(self.specs)]
        chosen = settings_of(self.config)
        out_dir = Path(chosen.rehearse_dir)
        selection = {"args": list(self.config.invocation_params.args),
                     "markexpr": self.config.getoption("markexpr"), "keyword": self.config.getoption("keyword"),
                     "images": chosen.rehearse_images,
                     "cpu_kernels": sorted({r.get("cpu_kernels") or "portable" for r in runs})}
        json_path, csv_path = write_rehearsal(runs, selection, out_dir)
        self.lines = summary_lines(runs) + [f"rehearsal: written to {json_path} and {csv_path}"]
        if any(not r["ok"] for r in runs):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.lines:
            terminalreporter.section("rehearsal")
            for line in self.lines:
                terminalreporter.write_line(line, red=line.startswith("rehearsal: FAILED"))
