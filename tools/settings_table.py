"""The README's settings table, generated from the settings themselves.

    scripts/kit-env python -m tools.settings_table     rewrite the table between the README's settings markers

One table for the settings every architecture shares (`CommonSettings`) and one per architecture (its
`stacks/<architecture>/settings.py`). Names and defaults come from each class's `PROFILE_DEFAULTS`, meanings from the
comment above each field (a comment that introduces several fields applies to each), so a table cannot leave a
setting out; a test checks they are current.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys

from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.config import PROFILES, CommonSettings, ProfileSettings
from stacks.model_quality.settings import ModelQualitySettings
from stacks.redshift_ml.settings import RedshiftMlSettings
from tools.synthesis import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BEGIN = "<!-- settings:begin (python -m tools.settings_table writes this) -->"
END = "<!-- settings:end -->"
# One table per settings class, in this order, under this title.
TABLES: tuple[tuple[str, type[ProfileSettings]], ...] = (
    ("Every architecture", CommonSettings),
    ("Redshift ML recommender", RedshiftMlSettings),
    ("Model-quality monitor", ModelQualitySettings),
    ("Churn model", ChurnModelSettings),
)


def field_comments(kind: type[ProfileSettings]) -> dict[str, str]:
    """Each field's comment: the comment lines right above it, else the previous field's."""
    lines, first = inspect.getsourcelines(kind)
    tree = ast.parse(inspect.getsource(kind))
    comments: dict[str, str] = {}
    previous = ""
    (definition,) = tree.body
    assert isinstance(definition, ast.ClassDef)
    for node in definition.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        index = node.lineno - 2
        while index >= 0 and lines[index].strip().startswith("#"):
            above.insert(0, lines[index].strip().lstrip("#").strip())
            index -= 1
        previous = " ".join(above) or previous
        comments[node.target.id] = previous
    return comments


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`" if value != "" else "empty"


def table(kind: type[ProfileSettings]) -> str:
    """The Markdown table of one class's settings: name, each profile's default, meaning."""
    comments = field_comments(kind)
    rows = [
        "| setting (`-c kit:<name>=<value>`) | " + " | ".join(PROFILES) + " | meaning |",
        "| --- | " + " | ".join("---" for _ in PROFILES) + " | --- |",
    ]
    for name in kind.setting_names():
        values = " | ".join(_cell(kind.PROFILE_DEFAULTS[p][name]) for p in PROFILES)
        meaning = re.sub(r"\s+", " ", comments.get(name, "")).replace("|", "\\|")
        rows.append(f"| `{name}` | {values} | {meaning} |")
    return "\n".join(rows)


def render() -> str:
    """A table per settings class, each under its title and the class that holds it."""
    return "\n\n".join(
        f"{title} (`{kind.__name__}` in `{inspect.getfile(kind).removeprefix(str(PROJECT_ROOT) + '/')}`):\n\n"
        + table(kind)
        for title, kind in TABLES
    )


def readme_block(text: str) -> str:
    """The table currently between the markers."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n")


def main() -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md has no {BEGIN} ... {END} block")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + render() + "\n" + text[end:])
    count = sum(len(kind.setting_names()) for _, kind in TABLES)
    print(f"wrote the settings tables ({count} settings) into README.md")


if __name__ == "__main__":
    main()
