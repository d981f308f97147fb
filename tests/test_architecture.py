"""The layout's rules, read from the source (ast, nothing imported): the flow runs one way.

reference -> claim -> runs -> train, a catalog of named parts below them, a plan wing and the pytest
glue on top, and a report that reads findings alone. A rule broken here is a tangle that every
later change pays for, so each is a test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "reports")
# Who may read REPRO_* variables: the settings, the CPU kernel choice (read before torch starts) and the
# worker pinning (GPU ids handed from the controller to its workers).
ENV_READERS = {"harness/settings.py", "harness/cpu.py", "harness/train/device.py"}
# What the report builder may import from the harness: the findings and the files they live in.
REPORT_MAY_IMPORT = {"harness/__init__.py", "harness/cpu.py", "harness/files.py", "harness/findings.py",
                     "harness/figure_kinds.py", "harness/error_rates.py", "harness/plan/__init__.py",
                     "harness/plan/rehearsal_files.py"}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the packages that `name` imports (a `from pkg import mod` names the submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:
                    found.add(f"{target}.{alias.name}")
                elif target in modules:
                    found.add(target)
    found.discard(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_sees_relative_imports(graph):
    assert "harness.runs.spec" in graph["harness.runs.store"]
    assert "harness.train.data" in graph["harness.claim.claim"]


def test_no_import_cycles_in_the_harness_or_the_report(graph):
    assert cycles(graph) == []


def _below(graph: dict[str, set[str]], prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in graph.items() if m.startswith(prefix)
                  for t in targets if t.startswith(forbidden))


def test_the_run_store_never_imports_training(graph):
    """The store gets its trainer passed in: loading a cached run never needs torch's training code."""
    assert _below(graph, "harness.runs", ("harness.train", "harness.claim", "harness.plan", "harness.pytest_plugin")) == []


def test_the_catalog_imports_neither_runs_nor_training(graph):
    assert _below(graph, "harness.catalog", ("harness.runs", "harness.train", "harness.claim", "harness.plan",
                                             "harness.pytest_plugin", "harness.reference")) == []


def test_only_the_pytest_glue_imports_the_pytest_glue(graph):
    assert _below(graph, "harness.", ("harness.pytest_plugin",)) == \
        _below(graph, "harness.pytest_plugin", ("harness.pytest_plugin",))


def test_the_report_reads_findings_and_files_only(graph):
    allowed = {".".join(Path(p).with_suffix("").parts).removesuffix(".__init__") for p in REPORT_MAY_IMPORT}
    used = {t for m, targets in graph.items() if m.startswith("reports") for t in targets if t.startswith("harness")}
    assert used <= allowed, sorted(used - allowed)


def _repro_names(path: Path, root: Path = ROOT) -> list[str]:
    """Every string constant that is a whole REPRO_* variable name (a read or a declaration of one)."""
    return [f"{path.relative_to(root)}:{node.lineno}: {node.value}" for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith("REPRO_") and node.value.replace("_", "").isalnum()]


def test_repro_variables_are_read_in_settings_only():
    readers = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
               if str(path.relative_to(ROOT)) not in ENV_READERS for hit in _repro_names(path)]
    assert readers == []


def test_the_repro_scan_sees_a_read_and_not_a_sentence(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text('import os\nos.environ.get("REPRO_DATA")\nprint("set $REPRO_DATA to a folder")\n')
    assert _repro_names(sample, tmp_path) == ["x.py:2: REPRO_DATA"]
