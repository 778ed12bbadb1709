"""The README's settings tables are generated from each settings class (defaults and field comments), and must be
current."""

from tools.settings_table import README, TABLES, readme_block, render, table


def test_readme_settings_table_is_current():
    assert readme_block(README.read_text()) == render(), (
        "README's settings table is stale: run scripts/kit-env python -m tools.settings_table"
    )


def test_each_table_lists_every_setting_of_its_class_with_a_meaning():
    for _, kind in TABLES:
        rows = {line.split("|")[1].strip(" `"): line.split("|")[-2].strip() for line in table(kind).splitlines()[2:]}
        assert list(rows) == list(kind.setting_names())
        assert all(rows.values()), [name for name, meaning in rows.items() if not meaning]


def test_the_tables_cover_every_settings_class_of_the_app():
    from app import SETTINGS
    from stacks.common.config import CommonSettings

    assert [kind for _, kind in TABLES] == [CommonSettings, *SETTINGS]
