"""Every spelling a boolean setting accepts, and both edges of every range (issue 22: mutants that read `false` as
True, or move a bound by one, passed tests/common/test_config.py). Each architecture's ranges are in
tests/<architecture>/test_settings.py."""

import dataclasses

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from aws_cdk.aws_logs import RetentionDays

from stacks.common.config import LOG_RETENTION, CommonSettings, ConfigError, load_settings
from tests.common.settings_checks import assert_profile_defaults, assert_range_edges, readme_defaults


def load_config(context):
    return load_settings(context, CommonSettings)


@pytest.mark.parametrize("profile", ["sandbox", "production"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("1", True),
        (1, True),
        (True, True),
        ("false", False),
        ("False", False),
        (" no ", False),
        ("off", False),
        ("0", False),
        (0, False),
        (False, False),
    ],
)
def test_every_boolean_spelling_means_what_it_says_whatever_the_profile_default(profile, raw, expected):
    config = load_config({"profile": profile, "kit:retain_data": raw})
    assert config.retain_data is expected
    assert config.removal_policy == (RemovalPolicy.RETAIN if expected else RemovalPolicy.DESTROY)
    assert config.auto_delete_objects is (not expected)


@pytest.mark.parametrize("raw", ["", "2", "-1", "y", "n", "truthy"])
def test_other_boolean_spellings_are_refused(raw):
    with pytest.raises(ConfigError, match=r"is not a boolean\. Allowed: true, false\.$"):
        load_config({"kit:retain_data": raw})


# Written by hand from the ranges the settings document (not read from config.py), with the context that makes the
# rest of the settings valid at that edge.
RANGES = [
    ("access_log_expiry_days", 1, 3650, {}),
    ("key_deletion_window_days", 7, 30, {}),
]


@pytest.mark.parametrize(("name", "low", "high", "context"), RANGES, ids=[r[0] for r in RANGES])
def test_each_range_accepts_both_edges_and_refuses_one_beyond(name, low, high, context):
    assert_range_edges(load_config, name, low, high, context)


def test_choices_accept_their_edges_and_log_retention_maps_to_the_same_days():
    assert load_config({"kit:log_retention_days": "3653"}).log_retention == RetentionDays.TEN_YEARS
    assert load_config({"kit:log_retention_days": "1"}).log_retention == RetentionDays.ONE_DAY


def test_a_config_built_directly_still_checks_its_profile():
    with pytest.raises(ConfigError, match=r"Unknown profile 'staging'"):
        dataclasses.replace(load_config({}), profile="staging")


def test_each_log_retention_choice_synthesizes_to_that_many_days():
    """aws-cdk-lib's own enum-to-days mapping is the independent reference for the table in config.py."""
    stack = Stack(App(), "Retention")
    for days, retention in LOG_RETENTION.items():
        logs.LogGroup(stack, f"LogGroup{days}", retention=retention)
    synthesized = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    assert sorted(r["Properties"]["RetentionInDays"] for r in synthesized.values()) == sorted(LOG_RETENTION)
    for logical_id, resource in synthesized.items():
        assert logical_id.startswith(f"LogGroup{resource['Properties']['RetentionInDays']}")


def test_the_readme_documents_the_common_defaults():
    assert len(readme_defaults()) >= 10  # every architecture's table is found
    assert_profile_defaults(CommonSettings, load_config)
