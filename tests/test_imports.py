"""Imports run one way: the import graph of the kit's Python tree has no cycle (issue 34).

Every import counts, at module level or inside a function: a cycle hidden behind a function-level import is still
two modules that cannot be understood, tested or copied apart. A Lambda's sibling import (`import lifecycle`, run
from its own folder) resolves to the module next to it."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.synthesis import PROJECT_ROOT

SKIPPED = {".venv", ".venv-checkov", "node_modules", "cdk.out", ".git", "build", "__pycache__"}


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the tree (a package is its `__init__`)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED & set(relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            found[".".join(parts)] = path
    return found


def imported(name: str, tree: ast.AST, known: dict[str, Path]) -> set[str]:
    """The kit modules the module `name` imports."""
    package = name.rsplit(".", 1)[0] if "." in name else ""

    def resolve(target: str) -> str | None:
        for candidate in (target, f"{package}.{target}" if package else target):
            while candidate:
                if candidate in known:
                    return candidate
                candidate = candidate.rpartition(".")[0]
        return None

    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: -node.level] if node.level else []
                base = ".".join([*parent, base] if base else parent)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        targets |= {resolved for target in names if (resolved := resolve(target)) and resolved != name}
    return targets


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imported(name, ast.parse(path.read_text()), known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_of_the_tree_has_no_cycle():
    edges = graph(PROJECT_ROOT)
    assert "tools.snapshots" in edges and "tools.normalized_templates" in edges["tools.cost.facts"]
    assert cycles(edges) == []


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    """The cycle issue 34 found, in small: facts imports the snapshots, which import the cost report lazily."""
    (tmp_path / "tools" / "cost").mkdir(parents=True)
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "tools" / "cost" / "__init__.py").write_text("")
    (tmp_path / "tools" / "cost" / "facts.py").write_text("from tools.snapshots import normalize\n")
    (tmp_path / "tools" / "cost" / "report.py").write_text("from tools.cost import facts\n")
    (tmp_path / "tools" / "snapshots.py").write_text(
        "def normalize():\n    pass\n\ndef cost():\n    from tools.cost.report import facts\n"
    )
    assert cycles(graph(tmp_path)) == [["tools.cost.facts", "tools.cost.report", "tools.snapshots"]]


def test_a_lambda_sibling_import_resolves_to_the_module_next_to_it(tmp_path):
    (tmp_path / "lambdas" / "job").mkdir(parents=True)
    (tmp_path / "lambdas" / "job" / "handler.py").write_text("import steps\n")
    (tmp_path / "lambdas" / "job" / "steps.py").write_text("import handler\n")
    assert cycles(graph(tmp_path)) == [["lambdas.job.handler", "lambdas.job.steps"]]
