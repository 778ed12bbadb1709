import ast
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.aws_logs import RetentionDays

from stacks.common.config import (
    PROFILES,
    ArchitectureSettings,
    CommonSettings,
    ConfigError,
    ProfileDefaults,
    email_addresses,
    load_settings,
    require_fraction,
    require_range,
)
from stacks.churn_model.settings import ChurnModelSettings
from stacks.model_quality.settings import ModelQualitySettings
from stacks.redshift_ml.settings import RedshiftMlSettings

COMMON = Path(__file__).resolve().parents[2] / "stacks" / "common"


@dataclass(frozen=True)
class ExampleSettings(ArchitectureSettings):
    """An architecture's settings as the mechanism sees them (the real ones are tested in tests/<architecture>)."""

    example_notebook: bool
    example_count: int

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {"example_notebook": False, "example_count": 1},
        "production": {"example_notebook": True, "example_count": 2},
    }

    def __post_init__(self) -> None:
        require_range("example_count", self.example_count, 1, 9)


@dataclass(frozen=True)
class OtherSettings(ArchitectureSettings):
    other_name: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {"sandbox": {"other_name": "a"}, "production": {"other_name": "b"}}


def load_config(context):
    return load_settings(context, CommonSettings)


def test_default_profile_is_sandbox_with_destroyable_cheap_settings():
    config = load_config({})
    assert config.profile == "sandbox"
    assert config.removal_policy == RemovalPolicy.DESTROY
    assert config.auto_delete_objects is True
    assert config.versioned_buckets is False
    assert config.schedules_enabled is False
    assert config.log_retention == RetentionDays.ONE_WEEK


def test_production_retains_data_and_versions_buckets():
    config = load_config({"profile": "production"})
    assert config.removal_policy == RemovalPolicy.RETAIN
    assert config.auto_delete_objects is False
    assert config.versioned_buckets is True
    assert config.schedules_enabled is True
    assert config.log_retention == RetentionDays.ONE_YEAR


def test_config_is_frozen():
    config = load_config({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.retain_data = True


def test_unknown_profile_lists_allowed_profiles():
    with pytest.raises(ConfigError, match=r"Unknown profile 'staging'\. Allowed profiles: sandbox, production"):
        load_config({"profile": "staging"})


def test_overrides_from_cli_strings_are_parsed():
    config = load_config({"kit:schedules_enabled": "true", "kit:log_retention_days": "30"})
    assert config.profile == "sandbox"
    assert config.schedules_enabled is True
    assert config.log_retention == RetentionDays.ONE_MONTH


def test_overrides_from_cdk_json_keep_their_types():
    config = load_config({"profile": "production", "kit:retain_data": False, "kit:key_deletion_window_days": 10})
    assert config.removal_policy == RemovalPolicy.DESTROY
    assert config.key_deletion_window_days == 10


def test_cdk_own_context_keys_are_not_mistaken_for_settings():
    context = {
        "@aws-cdk/core:validateAgainstDefaultRules": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        "cli-telemetry": False,
    }
    assert load_config(context).retain_data is False


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Profile", r"Context key 'Profile' is not read by the kit\. Did you mean profile\?"),
        ("kit-profile", r"Context key 'kit-profile' is not read by the kit\. Did you mean profile\?"),
        ("retain_data", r"Context key 'retain_data' is not read by the kit\. Did you mean kit:retain_data\?"),
        ("Schedules-Enabled", r"Did you mean kit:schedules_enabled\?"),
        ("kit_example_notebok", r"Did you mean kit:example_notebook\?"),
    ],
)
def test_context_keys_that_look_like_the_kits_fail_with_did_you_mean(key, message):
    """CDK ignores unknown context: without this, -c Profile=production silently builds sandbox."""
    with pytest.raises(ConfigError, match=message):
        load_settings({key: "production" if "rofile" in key else "true"}, ExampleSettings)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"kit:retian_data": "true"},
            r"Unknown setting 'kit:retian_data'\. Did you mean kit:retain_data\? Allowed settings: kit:retain_data, ",
        ),
        ({"kit:retain_data": "maybe"}, r"kit:retain_data='maybe' is not a boolean\. Allowed: true, false"),
        ({"kit:log_retention_days": "a week"}, r"kit:log_retention_days='a week' is not a whole number"),
        ({"kit:log_retention_days": "10"}, r"kit:log_retention_days=10 is not allowed\. Allowed: 1, 3, 5, 7, 14, 30"),
        ({"kit:key_deletion_window_days": "3"}, r"kit:key_deletion_window_days=3 is out of range\. Allowed: 7 to 30"),
        ({"kit:access_log_expiry_days": True}, r"kit:access_log_expiry_days=True is not a whole number"),
    ],
)
def test_invalid_settings_name_the_setting_and_what_is_allowed(context, message):
    with pytest.raises(ConfigError, match=message):
        load_config(context)


@pytest.mark.parametrize("value", ["sandbox", "prod", "team-a", "a", "production-eu-west-1", " staging "])
def test_an_environment_prefixes_the_stack_names(value):
    common = load_config({"kit:environment": value})
    assert common.environment == value.strip()
    assert common.stack_name("RedshiftMlStack") == f"{value.strip()}-RedshiftMlStack"


def test_without_an_environment_the_stack_names_are_unchanged():
    assert load_config({}).stack_name("ChurnModelStack") == "ChurnModelStack"


@pytest.mark.parametrize(
    "value",
    ["Prod", "1prod", "-prod", "prod-", "pro--d", "prod_eu", "prod.eu", "production-eu-west-1a", "prod eu"],
)
def test_an_environment_that_cannot_prefix_every_name_is_refused(value):
    """Uppercase (Redshift, Glue and CodeArtifact names are lowercase), a leading digit or hyphen, a trailing or
    doubled hyphen, other characters, or more than 20 characters."""
    with pytest.raises(ConfigError, match=r"kit:environment=.* is not allowed\. Allowed: empty .* 1 to 20 lowercase"):
        load_config({"kit:environment": value})


def test_an_architecture_loads_its_own_and_the_common_overrides_from_context():
    settings = load_settings(
        {"profile": "production", "kit:example_count": "3", "kit:retain_data": "false"}, ExampleSettings
    )
    assert (settings.example_notebook, settings.example_count) == (True, 3)
    assert settings.common == CommonSettings.for_profile("production", retain_data=False)


def test_a_key_of_another_architecture_of_the_app_is_known_but_not_read():
    context = {"kit:other_name": "c", "kit:example_count": "4"}
    assert load_settings(context, ExampleSettings, known=(ExampleSettings, OtherSettings)).example_count == 4
    assert load_settings(context, OtherSettings, known=(ExampleSettings, OtherSettings)).other_name == "c"
    with pytest.raises(
        ConfigError,
        match=r"Unknown setting 'kit:other_name'\. Allowed settings: kit:retain_data, .*kit:environment, "
        r"kit:example_notebook, kit:example_count\.$",
    ):
        load_settings(context, ExampleSettings)


def test_an_architectures_settings_are_built_in_python_without_context():
    settings = ExampleSettings.for_profile("production", example_count=5, log_retention_days=30)
    assert (settings.example_notebook, settings.example_count) == (True, 5)
    assert (settings.common.profile, settings.common.log_retention_days, settings.common.retain_data) == (
        "production",
        30,
        True,
    )
    assert ExampleSettings.for_profile() == load_settings({}, ExampleSettings)
    with pytest.raises(ConfigError, match=r"kit:example_count=10 is out of range\. Allowed: 1 to 9\.$"):
        ExampleSettings.for_profile(example_count=10)
    with pytest.raises(ConfigError, match=r"kit:log_retention_days=8 is not allowed"):
        ExampleSettings.for_profile(log_retention_days=8)
    with pytest.raises(
        ConfigError, match=r"Unknown setting 'kit:example_cont'\. Did you mean kit:example_count\? Allowed settings: "
    ):
        ExampleSettings.for_profile(example_cont=5)
    with pytest.raises(ConfigError, match=r"Unknown profile 'staging'\. Allowed profiles: sandbox, production"):
        ExampleSettings.for_profile("staging")


# Identifiers of an architecture's settings: none belongs in the shared code every architecture copies.
ARCHITECTURE_SETTING = re.compile(r"^(redshift|quality|churn|quicksight)_|^(REDSHIFT|QUALITY|CHURN|QUICKSIGHT)_")


@pytest.mark.parametrize("path", sorted(COMMON.glob("*.py")), ids=lambda path: path.name)
def test_shared_code_names_no_architecture_setting(path):
    tree = ast.parse(path.read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg | ast.keyword) and node.arg}
    names |= {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"\w+", node.value)
    }
    assert not sorted(name for name in names if ARCHITECTURE_SETTING.search(name)), path.name


def test_the_profiles_are_sandbox_and_production():
    # Their defaults, setting by setting, are checked against the docs' tables in test_config_boundaries.py.
    assert PROFILES == ("sandbox", "production")


def test_common_settings_built_in_python_refuse_an_unknown_name():
    assert CommonSettings.for_profile("production", retain_data=False).retain_data is False
    with pytest.raises(ConfigError, match=r"Unknown setting 'kit:retain_dat'\. Did you mean kit:retain_data\?"):
        CommonSettings.for_profile("sandbox", retain_dat=True)


def test_an_unknown_name_lists_the_common_settings_an_architecture_also_takes():
    with pytest.raises(
        ConfigError, match=r"Allowed settings: kit:retain_data, .*kit:example_notebook, kit:example_count\.$"
    ):
        ExampleSettings.for_profile(example_colour="red")


def test_an_unknown_profile_is_reported_before_the_overrides_it_would_type():
    with pytest.raises(ConfigError, match=r"Unknown profile 'prod'"):
        load_settings({"profile": "prod", "kit:example_count": "many"}, ExampleSettings)


def test_a_look_alike_key_after_valid_keys_is_still_refused():
    with pytest.raises(ConfigError, match=r"Context key 'Profile' is not read by the kit"):
        load_config({"profile": "sandbox", "kit:retain_data": "true", "Profile": "production"})


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_a_fraction_accepts_zero_to_one(value):
    require_fraction("example_share", value)


@pytest.mark.parametrize("value", [-0.01, 1.01, 1.5, 2.0])
def test_a_fraction_outside_zero_to_one_is_refused(value):
    with pytest.raises(ConfigError, match=rf"kit:example_share={value!r} is out of range\. Allowed: 0 to 1\.$"):
        require_fraction("example_share", value)


EMAIL_SETTINGS = [
    (RedshiftMlSettings, "redshift_notification_emails"),
    (ModelQualitySettings, "quality_notification_emails"),
    (ChurnModelSettings, "churn_notification_emails"),
]


@pytest.mark.parametrize(("kind", "name"), EMAIL_SETTINGS, ids=[name for _, name in EMAIL_SETTINGS])
def test_each_architecture_takes_one_or_more_notification_addresses(kind, name):
    settings = load_settings({f"kit:{name}": " ml@example.com,oncall@example.com, ML@example.com ,"}, kind)
    assert email_addresses(getattr(settings, name)) == ("ml@example.com", "oncall@example.com")
    assert getattr(load_settings({}, kind), name) == ""
    for value in ("ml-team", "ml@example.com;oncall@example.com", "a@example", ",", "ml@example.com,b c@example.com"):
        with pytest.raises(ConfigError, match=rf"kit:{name}=.* is not an e-mail address\. Allowed: empty"):
            load_settings({f"kit:{name}": value}, kind)
