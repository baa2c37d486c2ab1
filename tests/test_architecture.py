"""The house rules of the code base, checked: modules of modest size, no import circle
(imports inside functions count; only `if TYPE_CHECKING:` ones do not), the one-way flow
(connectors and rules never reach the store or the drafting layer), and stable plugin paths."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = {"harvester": ROOT / "harvester", "harvester.connectors": ROOT / "connectors",
            "harvester.rules": ROOT / "rules"}
MAX_LINES = 400


def module_files() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


MODULES = module_files()


def is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imported_names(module: str, path: Path) -> set[str]:
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:  # `from pkg import submodule` depends on the submodule only
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        targets = set()
        for name in imported_names(module, path):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_walk_sees_imports_inside_functions():
    graph = import_graph()
    assert "harvester.drafting.redraft" in graph["harvester.harvest"] or any(
        "harvester.drafting.redraft" in graph[m] for m in graph if m.startswith("harvester.harvest"))
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_module_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("layer", ["harvester.connectors", "harvester.rules"])
def test_connectors_and_rules_never_reach_the_store_or_drafting(layer):
    graph = import_graph()
    forbidden = ("harvester.store", "harvester.drafting", "harvester.digest", "harvester.report", "harvester.cli")
    reached = {(m, t) for m in graph if m.startswith(layer) for t in graph[m] if t.startswith(forbidden)}
    assert not reached, f"{layer} imports {sorted(reached)}"


@pytest.mark.parametrize("path, names", [
    ("harvester.rules.base", ["Rule", "RollupRule", "RecordGroup", "DetectContext", "FindingKind", "detect_in_groups"]),
    ("harvester.connectors.base", ["Connector", "HarvestWindow"]),
    ("harvester.models", ["Record", "Finding", "Draft", "Entry", "Evidence", "Metric"]),
    ("harvester.errors", ["HarvesterError", "ConfigError", "ConnectorError", "AuthError", "TransientError"]),
])
def test_plugin_import_paths_are_stable(path, names):
    module = importlib.import_module(path)
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{path} lacks {missing}"
