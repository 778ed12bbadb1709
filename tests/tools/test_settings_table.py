"""The README's settings table is generated from PROFILE_DEFAULTS and KitConfig, and must be current."""

from stacks.common.config import SETTING_NAMES
from tools.settings_table import README, readme_block, render


def test_readme_settings_table_is_current():
    assert readme_block(README.read_text()) == render(), (
        "README's settings table is stale: run scripts/kit-env python -m tools.settings_table"
    )


def test_table_lists_every_setting_with_a_meaning():
    rows = {line.split("|")[1].strip(" `"): line.split("|")[-2].strip() for line in render().splitlines()[2:]}
    assert list(rows) == list(SETTING_NAMES)
    assert all(rows.values()), [name for name, meaning in rows.items() if not meaning]
