"""pytest plugin: tier markers, reproducibility options, the `claim` fixture, findings and the report.

Claim tests live in claims/; each carries `@pytest.mark.claim("<report>/<slug>")`
and is parametrized over the tiers its reference entry plans for, marked
`fast` or `full`. Workers attach findings to their test reports; the
controller collects them, writes findings.json and builds the report.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from harness.claim import Claim, ClaimContext
from harness.env import assign_worker_gpu, resolve_device, split_cpu_threads
from harness.findings import session_info, verdict_for, write_findings
from harness.reference import ReferenceError, all_claims, load_all
from harness.runs import RUN_MODE_ENV, RUNS_ENV, SESSION_ENV, MODES, RunStore

pytest_plugins = ["harness.plan_plugin"]  # --plan: the runs a selection needs and their cost

REPORT_DIR_ENV = "REPRO_REPORT_DIR"
BASE_SEED_ENV = "REPRO_BASE_SEED"
FINDING_KEY = "finding"
STATE = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reproducibility", "reproducibility claims")
    group.addoption("--data-root", metavar="DIR", default=None,
                    help="folder with cifar-10-batches-py/ and MNIST/raw/ (env REPRO_DATA; "
                         "default ~/.cache/cifar-claims/data)")
    group.addoption("--no-download", action="store_true", default=False,
                    help="never download missing datasets (env REPRO_DOWNLOAD=0)")
    group.addoption("--runs", metavar="DIR", default=None,
                    help=f"run store directory (env {RUNS_ENV}; default .runs)")
    group.addoption("--run-mode", choices=MODES, default=None,
                    help=f"train missing runs (default), use cached runs only, or retrain (env {RUN_MODE_ENV})")
    group.addoption("--checkpoint-every", metavar="N", type=int, default=None,
                    help="save a resumable checkpoint every N epochs (env REPRO_CHECKPOINT_EVERY; default 1)")
    group.addoption("--keep-checkpoints", action="store_true", default=False,
                    help="keep each run's last checkpoint after it completes (default: removed)")
    group.addoption("--device", metavar="DEV", default=None,
                    help="auto (default), cpu, cuda or cuda:N (env REPRO_DEVICE); naming cpu lets full-tier "
                         "claims train on the CPU")
    group.addoption("--compile", action="store_true", default=None,
                    help="torch.compile each model before training (env REPRO_COMPILE=1; default off); the "
                         "compile time is recorded with each run")
    group.addoption("--report-dir", metavar="DIR", default=None,
                    help=f"where findings.json and the HTML/PDF report go (env {REPORT_DIR_ENV}; default report)")
    group.addoption("--no-report", action="store_true", default=False,
                    help="write findings.json but do not build the HTML/PDF report")
    group.addoption("--base-seed", metavar="N", type=int, default=None,
                    help=f"first seed of every claim's seed list (env {BASE_SEED_ENV}; default 0)")


def _option(config: pytest.Config, name: str, env: str | None = None, default=None):
    value = config.getoption(name)
    if value is None and env:
        value = os.environ.get(env)
    return default if value is None else value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fast: laptop-CPU tier, tiny budgets")
    config.addinivalue_line("markers", "full: the reports' own recipes (GPU)")
    config.addinivalue_line("markers", "claim(id): the reference/ claim id this test checks")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # before anything touches CUDA: one GPU per worker, a share of the cores
        assign_worker_gpu(int(worker.removeprefix("gw")))
        split_cpu_threads(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    else:
        os.environ.setdefault(SESSION_ENV, uuid.uuid4().hex[:12])
    config.stash[STATE] = {"findings": {}, "started": time.time(), "reference": None, "store": None}


def _reference(config: pytest.Config):
    state = config.stash[STATE]
    if state["reference"] is None:
        try:
            state["reference"] = load_all()
        except ReferenceError as exc:
            raise pytest.UsageError(str(exc)) from None
    return state["reference"]


# -- collection: tiers and the test <-> reference check ---------------------------

def _claim_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("claim")
    if marker is None:
        return None
    params = {k: v for k, v in getattr(getattr(item, "callspec", None), "params", {}).items() if k != "claim_tier"}
    return marker.args[0].format(**params)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "claim_tier" in metafunc.fixturenames:
        metafunc.parametrize("claim_tier", [
            pytest.param("fast", marks=pytest.mark.fast, id="fast"),
            pytest.param("full", marks=pytest.mark.full, id="full"),
        ], indirect=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    claim_items = [i for i in items if "claim_tier" in getattr(i, "fixturenames", ())]
    if not claim_items:
        return
    entries = all_claims(_reference(config))
    problems, seen = [], set()
    for item in claim_items:
        cid = _claim_id(item)
        if cid is None:
            problems.append(f"{item.nodeid}: uses the claim fixture but has no @pytest.mark.claim(id)")
        elif cid not in entries:
            problems.append(f"{item.nodeid}: claim {cid!r} has no entry in reference/")
        else:
            seen.add(cid)
            # `-k params`, `-k 000/losses` etc. select by claim id and kind
            item.extra_keyword_matches.update({cid, entries[cid].kind, entries[cid].report})
    if _whole_claims_dir_collected(config, claim_items):  # a partial run cannot tell which entries lack tests
        for cid, entry in entries.items():
            if cid not in seen:
                problems.append(f"reference/{entry.source_file}: claim {cid!r} has no test in claims/")
    if problems:
        raise pytest.UsageError("claims and reference/ disagree:\n  " + "\n  ".join(problems))


def _whole_claims_dir_collected(config: pytest.Config, claim_items: list[pytest.Item]) -> bool:
    if any("::" in str(a) for a in config.args):
        return False
    claims_dir = Path(str(config.rootpath)) / "claims"
    modules = {Path(str(i.path)).resolve() for i in claim_items}
    expected = {p.resolve() for p in claims_dir.glob("test_*.py")}
    return bool(expected) and expected <= modules


# -- fixtures ------------------------------------------------------------------

@pytest.fixture
def claim_tier(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def claim_context(pytestconfig: pytest.Config) -> ClaimContext:
    device_opt = _option(pytestconfig, "device", "REPRO_DEVICE")
    device = resolve_device(device_opt)
    train_kwargs = {
        "device": device,
        "data_root": pytestconfig.getoption("data_root"),
        "download": False if pytestconfig.getoption("no_download") else None,
        "checkpoint_every": int(_option(pytestconfig, "checkpoint_every", "REPRO_CHECKPOINT_EVERY", 1)),
        "compile": pytestconfig.getoption("compile"),  # None: train() reads $REPRO_COMPILE
    }
    store = RunStore(pytestconfig.getoption("runs"), pytestconfig.getoption("run_mode"), train_kwargs=train_kwargs,
                     keep_checkpoints=pytestconfig.getoption("keep_checkpoints"))
    base_seed = int(_option(pytestconfig, "base_seed", BASE_SEED_ENV, 0))
    can_train_full = device.type == "cuda" or device_opt == "cpu"
    return ClaimContext(store=store, base_seed=base_seed, can_train_full=can_train_full)


@pytest.fixture
def claim(request: pytest.FixtureRequest, claim_tier: str, claim_context: ClaimContext) -> Claim:
    """The claim under test: its reference entry, tier, runs and checks."""
    entry = all_claims(_reference(request.config))[_claim_id(request.node)]
    node = request.node

    def publish(finding: dict) -> None:
        node.user_properties[:] = [p for p in node.user_properties if p[0] != FINDING_KEY]
        node.user_properties.append((FINDING_KEY, json.dumps(finding, default=str)))

    current = Claim(entry=entry, tier=claim_tier, context=claim_context, on_change=publish)
    plan = entry.plan(claim_tier)
    if plan is None:
        current.skip(f"no {claim_tier}-tier plan in reference/{entry.source_file}")
    if plan.skip:
        current.skip(plan.skip)
    expect, why = plan.expect or entry.expect, plan.why or entry.why
    current.finding.update(expect=expect, why=why)
    if expect in ("under-specified", "qualitative"):
        current.skip(f"{expect}: {why}")
    if expect == "not-reproduced":
        node.add_marker(pytest.mark.xfail(reason=f"expected not to reproduce: {why}", strict=True))
    return current


# -- findings: collected on the controller, written at the end -------------------

def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    props = dict(report.user_properties)
    if FINDING_KEY not in props:
        return
    if report.when == "call" or report.outcome != "passed":
        finding = json.loads(props[FINDING_KEY])
        was_xfail = hasattr(report, "wasxfail")
        outcome = report.outcome
        finding["verdict"] = verdict_for(outcome, was_xfail, finding["expect"], finding.get("skip_reason"))
        if outcome == "skipped" and not was_xfail:
            finding.setdefault("skip_reason", report.longrepr[2] if isinstance(report.longrepr, tuple) else "")
        if outcome == "failed":
            finding["failure"] = str(report.longrepr)[-2000:]
        finding["duration"] = report.duration
        finding["nodeid"] = report.nodeid
        finding["command"] = f"pytest '{report.nodeid}'"
        _FINDINGS[(finding["claim_id"], finding["tier"])] = finding


# Controller-side findings of this process's session, keyed by (claim id, tier).
_FINDINGS: dict[tuple[str, str], dict] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not _FINDINGS:
        return
    out_dir = Path(_option(config, "report_dir", REPORT_DIR_ENV, "report"))
    info = session_info(
        started=config.stash[STATE]["started"], duration=time.time() - config.stash[STATE]["started"],
        args=list(config.invocation_params.args), markexpr=config.getoption("markexpr"),
        run_mode=config.getoption("run_mode") or os.environ.get(RUN_MODE_ENV) or "train",
        workers=os.environ.get("PYTEST_XDIST_WORKER_COUNT") or getattr(config.option, "numprocesses", None),
    )
    path = write_findings(out_dir / "findings.json", _FINDINGS.values(), info)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if config.getoption("no_report"):
        if terminal:
            terminal.write_line(f"findings: {path}")
        return
    from reports.build import build_report

    runs_dir = _option(config, "runs", RUNS_ENV, ".runs")
    try:
        outputs = build_report([path], runs_dir, out_dir)
    except Exception as exc:  # the report is a product: failing to build it fails the session
        if terminal:
            terminal.write_line(f"report build FAILED: {exc!r}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if terminal:
        terminal.write_line(f"reproducibility report: {outputs['html']} and {outputs['pdf']}")
