"""The docs' layout page says who runs each module of `tools/` (you, or the kit's own checks) and whether it goes
with a copied app: a module added without a row fails here, and so does a row for a module that is gone."""

from __future__ import annotations

import re

from tools.synthesis import PROJECT_ROOT

LAYOUT = PROJECT_ROOT / "docs" / "layout.md"
ROW = re.compile(r"^\| (`tools/[^|]+`) \| [^|]+ \| [^|]+ \| [^|]+ \|$", re.MULTILINE)


def tools_rows(text: str) -> set[str]:
    section = text[text.index("## tools/: who runs what") :]
    section = section[: section.index("\n## ", 1)]
    return {path for cell in ROW.findall(section) for path in re.findall(r"`(tools/[^`]+)`", cell)}


def tools_files() -> set[str]:
    return {
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "tools").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.name != "__init__.py"
    }


def test_every_tools_module_has_one_row_saying_who_runs_it():
    rows = tools_rows(LAYOUT.read_text())
    assert sorted(tools_files() - rows) == [], "add a row to docs/layout.md, tools/: who runs what"
    assert sorted(rows - tools_files()) == [], "docs/layout.md names tools/ files that do not exist"


def test_a_module_without_a_row_is_caught():
    text = LAYOUT.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `tools/mutation.py` |"))
    assert "tools/mutation.py" not in tools_rows(text.replace(row + "\n", ""))


def test_no_deployed_code_imports_tools():
    """What the layout page says: nothing in `tools/` ships inside an architecture (the app, its stacks, Lambdas,
    Spark and processing jobs, and the data generators its assets bundle import none of it)."""
    from tests.test_imports import graph

    deployed = ("app", "stacks.", "lambdas.", "spark_jobs.", "processing_jobs.", "datagen.")
    imports = {
        (module, target)
        for module, targets in graph(PROJECT_ROOT).items()
        if module.startswith(deployed)
        for target in targets
        if target.startswith("tools")
    }
    assert imports == set()
