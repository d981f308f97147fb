"""pytest hooks of `--rehearse`: every distinct run the selected claims need, rehearsed on the CPU.

`--rehearse` uses the plan's recording (harness/plan_plugin.py: the claim bodies run against a
RecordingStore, outcomes are discarded, no findings are written). After each test has recorded
its runs, the process that ran it rehearses those it has not rehearsed yet (harness/rehearse.py)
and sends the results to the controller in the report's user_properties, so `-n N` spreads the
rehearsals over workers. Runs that differ in their seed alone share one rehearsal (the seed only
seeds the generators). The controller writes rehearsal.json and rehearsal.csv, prints the
summary, and fails the session, naming the runs, when any rehearsal failed.

Registered by harness/plan_plugin.py (the rehearsal is a mode of its recording).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .rehearsal_files import summary_lines, write_rehearsal
from .spec import Spec

REHEARSE_DIR_ENV = "REPRO_REHEARSE_DIR"
REQUESTS_KEY = "plan_requests"  # harness/plan_plugin.py's user_properties key for a test's runs
REHEARSAL_KEY = "rehearsals"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reproducibility", "reproducibility claims")
    group.addoption("--rehearse", action="store_true", default=False,
                    help="train nothing for real: rehearse every distinct run the selected claims need on the CPU "
                         "(two steps, one evaluation, checkpoint and resume, the planned learning rate); "
                         "writes rehearsal.json and rehearsal.csv, fails naming any run that failed")
    group.addoption("--rehearse-dir", metavar="DIR", default=None,
                    help=f"where --rehearse writes rehearsal.json and rehearsal.csv (env {REHEARSE_DIR_ENV}; "
                         "default rehearsal)")
    group.addoption("--rehearse-images", metavar="N", type=int, default=None,
                    help="images per rehearsed training step (default 2)")


def rehearsing(config: pytest.Config) -> bool:
    return bool(config.getoption("rehearse", default=False))


@dataclass
class Rehearser:
    """Per process: the rehearsals done so far, by the run's key without its seed."""

    data_root: str | None
    download: bool | None
    images: int
    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rehearse(self, spec: Spec) -> dict[str, Any]:
        from .rehearse import rehearse

        recipe = spec.replace(seed=0).key
        if recipe not in self.done:
            self.done[recipe] = rehearse(spec, data_root=self.data_root, download=self.download,
                                         images=self.images).to_dict()
            return self.done[recipe]
        shared = self.done[recipe]
        return {**shared, "key": spec.key, "spec": spec.to_dict(), "seconds": 0.0, "cpu_seconds": 0.0,
                "shared_with": shared["key"]}


REHEARSER = pytest.StashKey[Rehearser]()


def _images(config: pytest.Config) -> int:
    from .rehearse import DEFAULT_IMAGES

    return config.getoption("rehearse_images") or DEFAULT_IMAGES


def pytest_configure(config: pytest.Config) -> None:
    if not rehearsing(config):
        return
    if _images(config) < 1:
        raise pytest.UsageError(f"--rehearse-images must be at least 1, got {config.getoption('rehearse_images')}")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RehearsalSession(config), "reproducibility-rehearsal-session")


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside plan_plugin's wrapper: its requests are recorded by then
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    finally:
        if rehearsing(item.config):
            _rehearse_item(item)


def _rehearse_item(item: pytest.Item) -> None:
    recorded = [json.loads(value) for name, value in item.user_properties if name == REQUESTS_KEY]
    rehearser = _rehearser(item.config)
    results = [rehearser.rehearse(Spec.from_dict(run["spec"])) for entry in recorded for run in entry["runs"]]
    if results:
        item.user_properties.append((REHEARSAL_KEY, json.dumps(results)))


def _rehearser(config: pytest.Config) -> Rehearser:
    """This process's Rehearser, made on first use (the claims plugin's settings are read by then)."""
    if REHEARSER not in config.stash:
        from .plugin import SETTINGS

        config.stash[REHEARSER] = Rehearser(config.getoption("data_root"), config.stash[SETTINGS].download,
                                            _images(config))
    return config.stash[REHEARSER]


class RehearsalSession:
    """Controller side: gather the rehearsals and the claims of each run; write, print, fail on a failure."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.runs: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, set[str]] = {}
        self.lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == REQUESTS_KEY:
                recorded = json.loads(value)
                for run in recorded["runs"]:
                    self.claims.setdefault(run["key"], set()).add(recorded["claim"])
            elif name == REHEARSAL_KEY:
                for result in json.loads(value):
                    self.runs.setdefault(result["key"], result)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        runs = [{**r, "claims": sorted(self.claims.get(k, ()))} for k, r in sorted(self.runs.items())]
        out_dir = Path(self.config.getoption("rehearse_dir") or os.environ.get(REHEARSE_DIR_ENV) or "rehearsal")
        selection = {"args": list(self.config.invocation_params.args),
                     "markexpr": self.config.getoption("markexpr"), "keyword": self.config.getoption("keyword"),
                     "images": _images(self.config)}
        json_path, csv_path = write_rehearsal(runs, selection, out_dir)
        self.lines = summary_lines(runs) + [f"rehearsal: written to {json_path} and {csv_path}"]
        if any(not r["ok"] for r in runs):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.lines:
            terminalreporter.section("rehearsal")
            for line in self.lines:
                terminalreporter.write_line(line, red=line.startswith("rehearsal: FAILED"))
