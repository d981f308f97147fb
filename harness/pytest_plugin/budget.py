"""--budget in a session: plan the selection before any test, run the claims that fit, list the others.

The controller (or the only process) plans the selection in a `--plan` subprocess over the same
arguments (harness/plan/run_queue.py start_plan, for the device the runs train on) before the
workers start, chooses the claims with harness/plan/budget.py, and hands the choice to each
worker, which deselects the other claim tests at collection (so every worker collects alike).
Under -n N the run queue then trains only the chosen claims' runs (harness/pytest_plugin/queue.py
reads `queue_runs`). The end of the session lists what was left out and what each would add.
Under --plan the budget only prints the selection it would make from the plan just written.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ..plan import run_queue
from ..plan.budget import Selection, select
from ..plan.cost import load_plan
from . import collection
from .config import settings_of

WORKERINPUT_KEY = "cifar_claims_budget"
STATE = pytest.StashKey[dict]()  # {"selection": Selection, "queue": [queued runs]}


def workers_of(config: pytest.Config) -> int:
    n = getattr(config.option, "numprocesses", None)
    return n if isinstance(n, int) and n > 0 else 1


def _label(item: pytest.Item) -> str | None:
    """The plan's name for a claim test: "<claim id> [<tier>]" (harness/pytest_plugin/plan.py)."""
    cid, tier = collection.claim_id(item), collection.tier_of(item)
    return f"{cid} [{tier}]" if cid and tier else None


def plan_and_select(config: pytest.Config) -> dict[str, Any]:
    """Plan the session's selection once (seconds to minutes of one core) and choose the claims that fit."""
    if STATE in config.stash:
        return config.stash[STATE]
    chosen = settings_of(config)
    params = config.invocation_params
    plan_dir = Path(tempfile.mkdtemp(prefix="cifar-claims-budget-"))
    try:
        process = run_queue.start_plan(list(params.args), params.dir, plan_dir,
                                       plan_device="cpu" if chosen.device == "cpu" else None)
        rows = run_queue.read_plan_rows(process, plan_dir)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        raise pytest.UsageError(f"--budget: the selection could not be planned ({exc})") from None
    finally:
        shutil.rmtree(plan_dir, ignore_errors=True)
    selection = select(rows, chosen.budget, workers_of(config))
    config.stash[STATE] = {"selection": selection,
                           "queue": [r for r in run_queue.queued(rows) if r["key"] in selection.runs]}
    return config.stash[STATE]


def queue_runs(config: pytest.Config) -> list[dict[str, Any]] | None:
    """The runs the queue should train under the budget (longest first), or None without a budget."""
    if settings_of(config).budget is None:
        return None
    return plan_and_select(config)["queue"]


def deselect(config: pytest.Config, items: list[pytest.Item], selection: Selection) -> None:
    """Keep the chosen claims' tests, the claims the plan saw train nothing, and every other test."""
    left = {c.claim for c in selection.left_out}
    dropped = [i for i in items if _label(i) in left]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if _label(i) not in left]


class BudgetSession:
    """Controller (or single-process) side: plan first, hand the choice to the workers, list what was left out."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)  # before xdist starts the workers
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        plan_and_select(self.config)

    def pytest_configure_node(self, node) -> None:
        node.workerinput[WORKERINPUT_KEY] = json.dumps(self.config.stash[STATE]["selection"].to_dict())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config: pytest.Config, items: list[pytest.Item]) -> None:
        deselect(config, items, config.stash[STATE]["selection"])

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.section("budget")
        for line in self.config.stash[STATE]["selection"].lines():
            terminalreporter.write_line(line)


class BudgetWorker:
    """xdist worker side: deselect what the controller left out (every worker alike)."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config: pytest.Config, items: list[pytest.Item]) -> None:
        deselect(config, items, self.selection)


class BudgetOfPlan:
    """--plan --budget: the selection the budget would make from the plan just written."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_terminal_summary(self, terminalreporter) -> None:  # after the plan's sessionfinish wrote it
        chosen = settings_of(self.config)
        path = Path(chosen.plan_dir) / "plan.json"
        if not path.exists():
            return
        plan = load_plan(path)
        workers = chosen.plan_workers or workers_of(self.config)
        terminalreporter.section("budget")
        terminalreporter.write_line(f"on {plan['summary']['device']}:")
        for line in select(plan["runs"], chosen.budget, workers).lines():
            terminalreporter.write_line(line)


def register(config: pytest.Config) -> None:
    """Called from the claims entry point's pytest_configure: the part of --budget this process plays."""
    if config.getoption("help", default=False) or config.option.collectonly:
        return
    chosen = settings_of(config)
    if chosen.budget is None or chosen.rehearse:
        return
    workerinput = getattr(config, "workerinput", None)
    if chosen.plan:
        if workerinput is None:
            config.pluginmanager.register(BudgetOfPlan(config), "cifar-claims-budget")
    elif workerinput is not None:
        if WORKERINPUT_KEY in workerinput:
            selection = Selection.from_dict(json.loads(workerinput[WORKERINPUT_KEY]))
            config.pluginmanager.register(BudgetWorker(selection), "cifar-claims-budget")
    else:
        config.pluginmanager.register(BudgetSession(config), "cifar-claims-budget")
