"""pytest entry point `cifar_claims`: the options, the tier markers, the `claim` fixture, and a claim's verdict.

Claim tests carry `@pytest.mark.claim("<report>/<slug>")` and are parametrized over the tiers
(`fast`, `full`; harness/pytest_plugin/collection.py). The `claim` fixture opens the test's
Finding from its reference entry; the outcome of the test closes it, once, in the process that ran
the test: the check's own failure is not-reproduced, an inconclusive interval a skip with verdict
inconclusive, any other exception (a crash, missing data, a bug) an error. The closed finding rides
on the test report to the controller (harness/pytest_plugin/controller.py). Under --plan and
--rehearse (their own entry points) the same bodies only record their runs and no finding is kept.
"""
from __future__ import annotations

import json
import uuid

import pytest
from _pytest.outcomes import Skipped

from .. import settings as settings_module
from ..claim.claim import Claim, ClaimCheckFailed, ClaimContext, ClaimInconclusive
from ..reference.entries import all_claims
from ..train.device import assign_worker_gpu, split_cpu_threads
from . import adaptive, budget, collection
from .config import add_options, can_train_full, make_store, recording, reference, settings_of
from .controller import FINDING_KEY, PENDING_KEY, Controller
from .queue import QueuePlanner, queue_wanted, register_drainer

CLAIM = pytest.StashKey[Claim]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before the plan and rehearse entry points read the settings: GPUs are pinned first
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fast: laptop-CPU tier, tiny budgets")
    config.addinivalue_line("markers", "full: the reports' own recipes (GPU)")
    config.addinivalue_line("markers", "claim(id): the reference/ claim id this test checks")
    config.addinivalue_line("markers", "synthetic_data: the claim trains on synthetic data only (no dataset check)")
    # an xdist worker knows it from its config (an environment variable would also be inherited by a
    # pytest that a test starts in a subprocess, which is a session of its own)
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:  # before anything touches CUDA: one GPU per worker, a share of the cores
        count = int(config.workerinput.get("workercount", 1))
        assign_worker_gpu(int(worker.removeprefix("gw")), worker_count=count)
        split_cpu_threads(count)
    else:
        try:
            given = settings_module.session_id()
        except settings_module.SettingsError as exc:
            raise pytest.UsageError(f"reproducibility options:\n  {exc}") from None
        if not given:  # the workers inherit the controller's session id
            settings_module.set_for_child_processes("session", uuid.uuid4().hex[:12])
    config.pluginmanager.register(collection, "cifar-claims-collection")
    config.pluginmanager.register(collection.DatasetGate(), "cifar-claims-dataset-gate")
    config.pluginmanager.register(adaptive, "cifar-claims-adaptive-seeding")
    if config.getoption("help"):
        return
    settings_of(config)  # bad option values: one usage error now, not one per test
    budget.register(config)  # --budget: plan first, run the claims that fit
    if not worker and not recording(config):
        config.pluginmanager.register(Controller(config), "cifar-claims-controller")
        if queue_wanted(config):
            config.pluginmanager.register(QueuePlanner(config), "cifar-claims-run-queue")
    if worker:
        register_drainer(config)


# -- fixtures ------------------------------------------------------------------

@pytest.fixture
def claim_tier(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def claim_context(pytestconfig: pytest.Config) -> ClaimContext:
    chosen = settings_of(pytestconfig)
    return ClaimContext(store=make_store(pytestconfig), base_seed=chosen.base_seed,
                        can_train_full=can_train_full(pytestconfig), device=chosen.device,
                        data_root=chosen.data_root, download=chosen.download,
                        entries=all_claims(reference(pytestconfig)))


@pytest.fixture
def claim(request: pytest.FixtureRequest, claim_tier: str, claim_context: ClaimContext) -> Claim:
    """The claim under test: its reference entry, tier, runs and checks."""
    reports = reference(request.config)
    entry = all_claims(reports)[collection.claim_id(request.node)]
    current = Claim(entry=entry, tier=claim_tier, context=claim_context, report_title=reports[entry.report].title)
    request.node.stash[CLAIM] = current
    plan = entry.plan(claim_tier)
    if plan is None:
        current.skip(f"no {claim_tier}-tier plan in reference/{entry.source_file}")
    if plan.skip:
        current.skip(plan.skip)
    finding = current.finding
    if finding.expect in ("under-specified", "qualitative"):
        current.skip(f"{finding.expect}: {finding.why}")
    if finding.expect == "not-reproduced":  # only the check's own failure counts as the expected outcome
        request.node.add_marker(pytest.mark.xfail(reason=f"expected not to reproduce: {finding.why}", strict=True,
                                                  raises=ClaimCheckFailed))
    return current


# -- closing a finding from the test's outcome (in the process that ran the test) -----------

def _outcome(call: pytest.CallInfo) -> tuple[str, str | None]:
    if call.excinfo is None:
        return "reproduced", None
    exc = call.excinfo.value
    if isinstance(exc, ClaimInconclusive):
        return "inconclusive", str(exc.msg)
    if isinstance(exc, Skipped):
        return "skipped", str(exc.msg)
    if isinstance(exc, ClaimCheckFailed):
        return "not-reproduced", str(exc)[-2000:]
    return "error", f"{type(exc).__name__}: {exc}"[-2000:]


# A claim test that returns having checked nothing would read as "reproduced": it is an error instead, so a
# test body that is only a docstring (a qualitative or under-specified entry) cannot pass if its entry changes.
NO_CHECK = ("the test returned without making a check; a claim test ends in one of the Claim's checks, and a "
            "qualitative or under-specified entry is skipped by the claim fixture before its body runs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    claim = None if recording(item.config) else item.stash.get(CLAIM, None)  # a recording keeps no finding
    unchecked = False
    if claim is not None and claim.finding.verdict is None and (call.when == "call" or call.excinfo is not None):
        outcome, message = _outcome(call)
        if outcome == "reproduced" and not (claim.finding.rows or claim.finding.comparisons):
            outcome, message, unchecked = "error", NO_CHECK, True
        finding = claim.finding.close(outcome, message=message, duration=call.duration, nodeid=item.nodeid,
                                      session=settings_of(item.config).session or "")
        item.user_properties.append((FINDING_KEY, json.dumps(finding.to_dict(), default=str)))
    elif claim is not None and call.when == "setup" and call.excinfo is None:
        # an open finding travels with the setup report, so a worker that dies mid-test still leaves its claim
        item.user_properties.append((PENDING_KEY, json.dumps(claim.finding.to_dict(), default=str)))
    result = yield
    if unchecked:
        report = result.get_result()
        report.outcome, report.longrepr = "failed", NO_CHECK
