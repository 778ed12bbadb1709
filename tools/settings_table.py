"""The README's settings table, generated from the settings themselves.

    scripts/kit-env python -m tools.settings_table     rewrite the table between the README's settings markers

Names and defaults come from `PROFILE_DEFAULTS`, meanings from the comment above each `KitConfig` field (a comment
that introduces several fields applies to each), so the table cannot leave a setting out; a test checks it is
current.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys

from stacks.common import config
from tools.synthesis import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
BEGIN = "<!-- settings:begin (python -m tools.settings_table writes this) -->"
END = "<!-- settings:end -->"


def field_comments() -> dict[str, str]:
    """Each KitConfig field's comment: the comment lines right above it, else the previous field's."""
    lines, first = inspect.getsourcelines(config.KitConfig)
    tree = ast.parse(inspect.getsource(config.KitConfig))
    comments: dict[str, str] = {}
    previous = ""
    for node in tree.body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above = []
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


def render() -> str:
    """The Markdown table of every setting: name, each profile's default, meaning."""
    profiles = list(config.PROFILE_DEFAULTS)
    comments = field_comments()
    rows = [
        "| setting (`-c kit:<name>=<value>`) | " + " | ".join(profiles) + " | meaning |",
        "| --- | " + " | ".join("---" for _ in profiles) + " | --- |",
    ]
    for name in config.SETTING_NAMES:
        values = " | ".join(_cell(config.PROFILE_DEFAULTS[p][name]) for p in profiles)
        meaning = re.sub(r"\s+", " ", comments.get(name, "")).replace("|", "\\|")
        rows.append(f"| `{name}` | {values} | {meaning} |")
    return "\n".join(rows)


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
    print(f"wrote the settings table ({len(config.SETTING_NAMES)} settings) into README.md")


if __name__ == "__main__":
    main()
