"""Checks every settings class gets, written once: range and fraction edges through `kit:` context, and the profile
defaults against the docs' generated settings tables. Each test module calls them with its own `load_config`; the
expected ranges stay written by hand in the test modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stacks.common.config import ConfigError, ProfileSettings

Load = Callable[[dict[str, Any]], Any]
SETTINGS_ROW = re.compile(r"^\| `([a-z_]+)` \| `([^`]*)` \| `([^`]*)` \|", re.MULTILINE)


def readme_defaults() -> dict[str, tuple[str, str]]:
    """Setting name -> the sandbox and production defaults the docs' settings tables document."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    rows = [row for page in sorted(docs.rglob("*.md")) for row in SETTINGS_ROW.findall(page.read_text())]
    return {name: (sandbox, production) for name, sandbox, production in rows}


def assert_range_edges(load: Load, name: str, low: int, high: int, context: dict[str, Any]) -> None:
    """Both edges are accepted (with spaces around them), one beyond either is refused naming the range."""
    for value in (low, high):
        assert getattr(load({**context, f"kit:{name}": f" {value} "}), name) == value
    for value in (low - 1, high + 1):
        with pytest.raises(ConfigError, match=rf"kit:{name}={value} is out of range\. Allowed: {low} to {high}\.$"):
            load({**context, f"kit:{name}": str(value)})


def assert_fraction_edges(load: Load, name: str) -> None:
    """0 and 1 (as text or a number) are accepted, just below 0 and just above 1 refused."""
    assert getattr(load({f"kit:{name}": " 0 "}), name) == 0.0
    assert getattr(load({f"kit:{name}": "1"}), name) == 1.0
    assert getattr(load({f"kit:{name}": 0.25}), name) == 0.25
    for value in ("-0.01", "1.01"):
        with pytest.raises(ConfigError, match=rf"kit:{name}={float(value)} is out of range\. Allowed: 0 to 1\.$"):
            load({f"kit:{name}": value})


def assert_profile_defaults(kind: type[ProfileSettings], load: Load) -> None:
    """Every profile has a default for every setting of `kind`, and the docs document those defaults."""
    for profile in ("sandbox", "production"):
        assert set(kind.PROFILE_DEFAULTS[profile]) == set(kind.setting_names()), profile
    documented = {name: row for name, row in readme_defaults().items() if name in kind.setting_names()}
    assert documented, f"the docs document no setting of {kind.__name__}"
    for name, row in documented.items():
        for profile, value in zip(("sandbox", "production"), row):
            assert str(getattr(load({"profile": profile}), name)).lower() == value.lower(), (name, profile)


KEPT_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def assert_existing_data_settings(load: Load, key_setting: str, bucket_settings: tuple[str, ...]) -> None:
    """The settings that re-attach kept buckets and their key: all or none, each validated by its kind."""
    every = {
        f"kit:{key_setting}": KEPT_KEY_ARN,
        **{f"kit:{name}": f"kept-{i}-bucket" for i, name in enumerate(bucket_settings)},
    }
    loaded = load(every)
    assert getattr(loaded, key_setting) == KEPT_KEY_ARN
    for name in (key_setting, *bucket_settings):
        partial = {key: value for key, value in every.items() if key != f"kit:{name}"}
        with pytest.raises(ConfigError, match=rf"needs kit:{name}: kept buckets are re-attached with the key"):
            load(partial)
    with pytest.raises(
        ConfigError, match=rf"kit:{key_setting}='alias/kept' is not allowed\. Allowed: empty or the ARN"
    ):
        load({**every, f"kit:{key_setting}": "alias/kept"})
    with pytest.raises(
        ConfigError, match=rf"kit:{bucket_settings[0]}='Kept_Bucket' is not allowed\. Allowed: empty or an S3"
    ):
        load({**every, f"kit:{bucket_settings[0]}": "Kept_Bucket"})
