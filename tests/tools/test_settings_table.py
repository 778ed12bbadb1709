"""The docs' settings tables are generated from each settings class (defaults and field comments), each on its
architecture's page, and must be current."""

import pytest

from tools.settings_table import TABLES, markers, page_block, render, table, write_block
from tools.synthesis import PROJECT_ROOT


@pytest.mark.parametrize(("title", "kind", "page"), TABLES, ids=[kind.__name__ for _, kind, _ in TABLES])
def test_each_page_settings_table_is_current(title, kind, page):
    assert page_block(page.read_text(), kind) == render(title, kind), (
        f"{page.relative_to(PROJECT_ROOT)}: the {kind.__name__} table is stale: "
        "run scripts/kit-env python -m tools.settings_table"
    )


def test_a_page_whose_table_differs_from_its_class_is_caught():
    title, kind, page = TABLES[1]
    stale = page.read_text().replace(f"| `{kind.setting_names()[0]}` |", "| `renamed_setting` |", 1)
    assert page_block(stale, kind) != render(title, kind)


def test_writing_a_table_replaces_only_its_block():
    _, kind, _ = TABLES[0]
    begin, end = markers(kind)
    text = f"# Page\n\nbefore\n{begin}\nold\n{end}\nafter\n"
    assert write_block(text, kind, "new") == f"# Page\n\nbefore\n{begin}\nnew\n{end}\nafter\n"
    with pytest.raises(ValueError, match=f"no <!-- settings:{kind.__name__}:begin"):
        write_block("# Page without markers\n", kind, "new")


def test_the_readme_holds_no_settings_table():
    """The README is the front door: the tables live on the docs pages, once."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "| setting (`-c kit:<name>=<value>`) |" not in readme
    assert "<!-- settings:" not in readme


def test_each_table_lists_every_setting_of_its_class_with_a_meaning():
    for _, kind, _ in TABLES:
        rows = {line.split("|")[1].strip(" `"): line.split("|")[-2].strip() for line in table(kind).splitlines()[2:]}
        assert list(rows) == list(kind.setting_names())
        assert all(rows.values()), [name for name, meaning in rows.items() if not meaning]


def test_the_tables_cover_every_settings_class_of_the_app():
    from app import SETTINGS
    from stacks.common.config import CommonSettings

    assert [kind for _, kind, _ in TABLES] == [CommonSettings, *SETTINGS]
