"""pytest hooks of `--plan` (and the recording `--rehearse` uses): run the selected claim tests against a
RecordingStore and write the plan.

Under `--plan` the `claim_context` fixture's store is swapped for a RecordingStore
(harness/plan/recording.py) and full-tier training counts as allowed, so each claim test
asks for all its runs and gets cached results or placeholders. Test outcomes mean
nothing then: every test that ran reports as passed, no finding is published, so
no findings.json or report is written. Each test's requests travel to the controller
in its report's user_properties (so `-n N` works too); the controller builds the plan
(harness/plan/cost.py), writes plan.json and plan.csv and prints the summary.

Entry point `cifar_claims_plan`; its options are declared with every other in harness/settings.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..claim.claim import ClaimCheckFailed
from ..findings import read_findings
from ..plan.adaptive_cost import adaptive_lines, adaptive_summary
from ..plan.cost import DeviceRate, build_plan, resolve_rate, summary_lines, write_plan
from ..plan.recording import RecordingStore
from ..runs.store import stored_results
from .config import recording, settings_of

REQUESTS_KEY = "plan_requests"  # a test's recorded runs, on its call report (the rehearsal reads them too)


@dataclass
class PlanState:
    store: RecordingStore | None = None
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {spec, claims, cached}
    stopped: dict[str, str] = field(default_factory=dict)  # nodeid -> why its body ended early
    looks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # 'id [tier]' -> looks (adaptive seeding)
    lines: list[str] = field(default_factory=list)  # the summary, printed at the end


STATE = pytest.StashKey[PlanState]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """A plan lists the runs of claims: other tests in the selection (the harness's own) do not run under it."""
    if not recording(config):
        return
    others = [i for i in items if "claim" not in getattr(i, "fixturenames", ())]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [i for i in items if "claim" in getattr(i, "fixturenames", ())]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[STATE] = PlanState()
    if config.getoption("plan", default=None) and not config.getoption("help"):
        config.pluginmanager.register(PlanSession(config), "reproducibility-plan-session")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    value = yield
    if fixturedef.argname == "claim_context" and recording(request.config):
        state = request.config.stash[STATE]
        state.store = RecordingStore(value.store)
        value.store = state.store
        value.can_train_full = True  # planning asks for every run, on any machine
    return value


def _stop_reason(exc: BaseException) -> str | None:
    """Why a test body ended early, or None when the end cannot hide later runs."""
    if isinstance(exc, ClaimCheckFailed):
        return None  # a check on placeholder values; claims make their checks after asking for their runs
    if isinstance(exc, pytest.skip.Exception):
        return f"skipped: {exc}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if not recording(item.config) or "claim" not in getattr(item, "fixturenames", ()):
        return (yield)
    state = item.config.stash[STATE]
    stopped = None
    try:
        yield
    except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
        stopped = _stop_reason(exc)
    claim = item.funcargs["claim"]
    requests = state.store.take() if state.store else []
    item.user_properties.append((REQUESTS_KEY, json.dumps({
        "claim": f"{claim.entry.id} [{claim.tier}]", "stopped": stopped, "looks": claim.finding.looks,
        "runs": [{"key": r.spec.key, "spec": r.spec.to_dict(), "cached": r.cached} for r in requests],
    })))
    return None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if recording(item.config):
        if report.when == "call":  # outcomes on placeholder values mean nothing (strict xfails included)
            report.outcome, report.longrepr = "passed", None
            if hasattr(report, "wasxfail"):
                del report.wasxfail
    return report


class PlanSession:
    """Controller-side hooks under --plan: gather each test's requests, then write and print the plan."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.state = config.stash[STATE]
        self.rate: DeviceRate | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """A named GPU's rate first: an unknown --plan-device is a usage error before any test, not after. This
        machine's own rate (auto, cpu) is measured at the end, so the claim bodies ask the store for their runs
        without waiting for it (the run queue's plan races the first tests)."""
        if hasattr(self.config, "workerinput"):
            return
        if settings_of(self.config).plan_device not in ("auto", "cpu"):
            self.rate = self._resolve_rate()

    def _resolve_rate(self) -> DeviceRate:
        chosen = settings_of(self.config)
        try:
            return resolve_rate(chosen.plan_device, stored_results(chosen.runs) if chosen.runs.is_dir() else [])
        except ValueError as exc:
            raise pytest.UsageError(f"--plan-device: {exc}") from None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if REQUESTS_KEY not in props or report.when != "call":
            return
        recorded = json.loads(props[REQUESTS_KEY])
        if recorded["stopped"]:
            self.state.stopped[report.nodeid] = recorded["stopped"]
        if recorded.get("looks"):
            self.state.looks[recorded["claim"]] = recorded["looks"]
        for run in recorded["runs"]:
            entry = self.state.requests.setdefault(run["key"], {"spec": run["spec"], "claims": set(),
                                                                "cached": run["cached"]})
            entry["claims"].add(recorded["claim"])

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if hasattr(config, "workerinput"):
            return
        chosen = settings_of(config)
        workers = chosen.plan_workers or _xdist_workers(config) or 1
        requests = {k: {**v, "claims": sorted(v["claims"])} for k, v in self.state.requests.items()}
        plan = build_plan(requests, self.rate or self._resolve_rate(), workers, self.state.stopped, selection={
            "args": list(config.invocation_params.args), "markexpr": config.getoption("markexpr"),
            "keyword": config.getoption("keyword"), "runs": str(chosen.runs.expanduser().resolve())})
        lines = summary_lines(plan)
        if chosen.seeds_until_decided:
            plan["adaptive"] = adaptive_summary(plan["runs"], self.state.looks, _last_findings(chosen.report_dir))
            plan["adaptive"]["seeds_until_decided"] = chosen.seeds_until_decided
            lines += adaptive_lines(plan["adaptive"], plan["summary"]["device"])
        json_path, csv_path = write_plan(plan, Path(chosen.plan_dir))
        self.state.lines = lines + [f"plan: written to {json_path} and {csv_path}"]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.state.lines:
            terminalreporter.section("plan")
            for line in self.state.lines:
                terminalreporter.write_line(line)


def _last_findings(report_dir: Path) -> dict[str, dict[str, Any]]:
    """'id [tier]' -> the report directory's last finding of it (none when there is no findings.json yet)."""
    path = Path(report_dir) / "findings.json"
    if not path.is_file():
        return {}
    found, _ = read_findings([path])
    return {f"{f.claim_id} [{f.tier}]": f.to_dict() for f in found}


def _xdist_workers(config: pytest.Config) -> int | None:
    n = getattr(config.option, "numprocesses", None)
    return n if isinstance(n, int) and n > 0 else None
