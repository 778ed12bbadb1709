"""The docs' settings tables, generated from the settings themselves.

    scripts/kit-env python -m tools.settings_table     rewrite each table between its page's settings markers

One table for the settings every architecture shares (`CommonSettings`, on docs/profiles.md) and one per architecture
(its `stacks/<architecture>/settings.py`, on its page in docs/architectures/). Names and defaults come from each
class's `PROFILE_DEFAULTS`, meanings from the comment above each field (a comment that introduces several fields
applies to each), so a table cannot leave a setting out; a test checks they are current.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.config import PROFILES, CommonSettings, ProfileSettings
from stacks.model_quality.settings import ModelQualitySettings
from stacks.redshift_ml.settings import RedshiftMlSettings
from tools.synthesis import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
# One table per settings class, on this page, under this title.
TABLES: tuple[tuple[str, type[ProfileSettings], Path], ...] = (
    ("Every architecture", CommonSettings, DOCS / "profiles.md"),
    ("Redshift ML recommender", RedshiftMlSettings, DOCS / "architectures" / "redshift-ml.md"),
    ("Model-quality monitor", ModelQualitySettings, DOCS / "architectures" / "model-quality.md"),
    ("Churn model", ChurnModelSettings, DOCS / "architectures" / "churn-model.md"),
)


def markers(kind: type[ProfileSettings]) -> tuple[str, str]:
    """The comments between which a page holds `kind`'s table."""
    return (
        f"<!-- settings:{kind.__name__}:begin (python -m tools.settings_table writes this) -->",
        f"<!-- settings:{kind.__name__}:end -->",
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


def render(title: str, kind: type[ProfileSettings]) -> str:
    """One class's table under its title and the class that holds it."""
    source = inspect.getfile(kind).removeprefix(str(PROJECT_ROOT) + "/")
    return f"{title} (`{kind.__name__}` in `{source}`):\n\n" + table(kind)


def page_block(text: str, kind: type[ProfileSettings]) -> str:
    """The table currently between `kind`'s markers in a page's text; ValueError when the page has none."""
    begin, end = markers(kind)
    if begin not in text or end not in text:
        raise ValueError(f"no {begin} ... {end} block")
    return text[text.index(begin) + len(begin) : text.index(end)].strip("\n")


def write_block(text: str, kind: type[ProfileSettings], block: str) -> str:
    """`text` with `kind`'s table replaced by `block`."""
    page_block(text, kind)
    begin, end = markers(kind)
    return text[: text.index(begin) + len(begin)] + "\n" + block + "\n" + text[text.index(end) :]


def main() -> None:
    for title, kind, page in TABLES:
        try:
            page.write_text(write_block(page.read_text(), kind, render(title, kind)))
        except ValueError as error:
            sys.exit(f"{page.relative_to(PROJECT_ROOT)}: {error}")
    count = sum(len(kind.setting_names()) for _, kind, _ in TABLES)
    pages = ", ".join(str(page.relative_to(PROJECT_ROOT)) for _, _, page in TABLES)
    print(f"wrote the settings tables ({count} settings) into {pages}")


if __name__ == "__main__":
    main()
