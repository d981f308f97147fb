"""harness/catalog/: one import registers every name a Spec may use, the catalog has no import cycles and
depends on no later stage of the flow, and unknown names are errors that list the known ones."""
from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.catalog.losses import get_loss
from harness.catalog.models import create_model
from harness.catalog.optim import build_optimizer, build_schedule
from harness.catalog.probes import (PROBES, MissingPlaceholderError, PlannedRun, Probe, build_probes,
                                    placeholder_results)

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "harness" / "catalog"
LATER_STAGES = ("harness.runs", "harness.train", "harness.claim", "harness.plan", "harness.pytest_plugin")

# The registries and the modules that define them (read from sys.modules, so nothing else is imported).
REGISTRIES = {"MODELS": "harness.catalog.models.registry", "LOSSES": "harness.catalog.losses",
              "OPTIMIZERS": "harness.catalog.optim", "SCHEDULES": "harness.catalog.optim",
              "PROBES": "harness.catalog.probes"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _catalog_files() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CATALOG.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `path` imports (at any depth of the file), relative imports resolved; names imported
    from a package count as its submodule where such a module exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                out.add(sub if sub in known or any(sub.startswith(p) for p in LATER_STAGES) else source)
    return out


def _graph() -> dict[str, set[str]]:
    """Catalog module -> the catalog modules running it runs first: its imports and their parent packages
    (Python runs a package's __init__ before its submodules). harness.catalog itself is left out: it is the
    one module that imports the registrants, and it runs before all of them."""
    files = _catalog_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {t for t in _imports(name, path, known) if t in known}
        for target in list(targets):
            while "." in target:
                target = target.rpartition(".")[0]
                if target in known:
                    targets.add(target)
        graph[name] = {t for t in targets if t != "harness.catalog" and t != name}
    graph.pop("harness.catalog")
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import path back to its start for every module that reaches itself."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(path + [start])
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


def _registrations() -> set[tuple[str, str]]:
    """(registry, name) of every literal registration in the catalog's source: `@PROBES.register("x")`,
    `OPTIMIZERS.add("x", ...)`, `@register_model("x")`."""
    found = set()
    for path in _catalog_files().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "register_model":
                found.add(("MODELS", node.args[0].value))
            elif (isinstance(func, ast.Attribute) and func.attr in ("register", "add")
                  and isinstance(func.value, ast.Name) and func.value.id in REGISTRIES):
                found.add((func.value.id, node.args[0].value))
    return found


def test_importing_the_probes_module_alone_registers_every_name():
    code = ("import json, sys\nimport harness.catalog.probes\n"
            f"print(json.dumps({{r: getattr(sys.modules.get(m), r).names() if m in sys.modules else []\n"
            f"                  for r, m in {REGISTRIES!r}.items()}}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    registered = json.loads(out.stdout.splitlines()[-1])
    assert {"slbi_support", "prune_curve", "conv_weights", "grad_change", "line_search"} <= set(registered["PROBES"])
    assert {"slbi", "slbi_adam"} <= set(registered["OPTIMIZERS"])
    expected = _registrations()
    assert {"MODELS", "LOSSES", "SCHEDULES", "PROBES", "OPTIMIZERS"} == {r for r, _ in expected}
    missing = sorted((r, n) for r, n in expected if n not in registered[r])
    assert not missing, f"registered in the source but not by importing the catalog (harness/catalog/__init__.py): " \
                        f"{missing}"


def test_the_catalog_imports_no_later_stage():
    files = _catalog_files()
    bad = {name: sorted(t for t in _imports(name, path, set(files)) if t.startswith(LATER_STAGES))
           for name, path in files.items()}
    assert not {k: v for k, v in bad.items() if v}


def test_the_catalog_has_no_import_cycles():
    graph = _graph()
    assert "harness.catalog.probes" in graph["harness.catalog.bn_probes"]  # the scan sees relative imports
    assert "harness.catalog.models.registry" in graph["harness.catalog.models.resnet"]
    assert _cycles(graph) == []


def test_the_cycle_scan_finds_a_registry_that_imports_its_registrant():
    graph = {"a.probes": {"a.bn_probes"}, "a.bn_probes": {"a.probes"}, "a.losses": set()}
    assert _cycles(graph) == [["a.bn_probes", "a.probes", "a.bn_probes"], ["a.probes", "a.bn_probes", "a.probes"]]


@pytest.mark.parametrize("build,match", [
    (lambda: create_model("resnet19"), r"unknown model 'resnet19'.*Known models: .*resnet18"),
    (lambda: get_loss("crossentropy"), r"unknown loss 'crossentropy'.*Known losses: .*cross_entropy"),
    (lambda: build_optimizer("sgdd", torch.nn.Linear(2, 2), lr=0.1), r"unknown optimizer 'sgdd'.*Known .*slbi"),
    (lambda: build_schedule("cosin", torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1), 1, 1),
     r"unknown schedule 'cosin'.*Known schedules: .*cosine"),
    (lambda: build_probes(("line_serch",)), r"unknown probe 'line_serch'.*Known probes: .*line_search"),
])
def test_an_unknown_name_lists_the_known_ones(build, match):
    with pytest.raises(KeyError, match=match):
        build()


def test_a_probe_without_a_placeholder_is_an_error_naming_it(monkeypatch):
    class Silent(Probe):
        def result(self):
            return None

    monkeypatch.setitem(PROBES._items, "silent_for_test", Silent)
    run = PlannedRun(epochs=2, steps_per_epoch=3, optimizer="sgd", meta_model=lambda: torch.nn.Linear(2, 2))
    assert len(placeholder_results(("step_loss",), None, run, random.Random(0))["step_loss"]) == 6
    with pytest.raises(MissingPlaceholderError, match="'silent_for_test' define no placeholder"):
        placeholder_results(("step_loss", "silent_for_test"), None, run, random.Random(0))
