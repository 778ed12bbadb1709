"""Every spelling a boolean setting accepts, and both edges of every range (issue 22: mutants that read `false` as
True, or move a bound by one, passed tests/common/test_config.py)."""

import dataclasses
import re
from pathlib import Path

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from aws_cdk.aws_logs import RetentionDays

from stacks.common.config import LOG_RETENTION, ConfigError, load_config


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
    ("redshift_daily_rpu_hours", 0, 100_000, {}),
    # Retention must cover the label window (label delay + 1): each edge is probed with the other setting clear of it.
    ("quality_raw_retention_days", 1, 3650, {"kit:quality_label_delay_days": "0"}),
    ("quality_label_delay_days", 0, 90, {"kit:quality_raw_retention_days": "3650"}),
    ("quality_idle_minutes", 1, 10_080, {}),
    ("quality_job_timeout_minutes", 10, 1_440, {}),
    ("quality_schedule_hour", 0, 23, {}),
    ("churn_processing_instance_count", 1, 100, {}),
    ("churn_endpoint_instance_count", 1, 100, {"kit:churn_endpoint_max_instances": "100", "kit:churn_idle_hours": "0"}),
    ("churn_endpoint_max_instances", 3, 100, {"kit:churn_endpoint_instance_count": "3", "kit:churn_idle_hours": "0"}),
    ("churn_invocations_per_instance", 1, 100_000, {}),
    ("churn_capture_percent", 1, 100, {}),
    ("churn_idle_hours", 0, 720, {}),
]


@pytest.mark.parametrize(("name", "low", "high", "context"), RANGES, ids=[r[0] for r in RANGES])
def test_each_range_accepts_both_edges_and_refuses_one_beyond(name, low, high, context):
    for value in (low, high):
        config = load_config({**context, f"kit:{name}": f" {value} "})
        assert getattr(config, name) == value
    for value in (low - 1, high + 1):
        message = rf"kit:{name}={value} is out of range\. Allowed: {low} to {high}\.$"
        with pytest.raises(ConfigError, match=message):
            load_config({**context, f"kit:{name}": str(value)})


FRACTIONS = [
    "quality_decision_threshold",
    "quality_min_average_precision",
    "quality_max_average_precision_drop",
    "quality_min_label_coverage",
    "churn_min_auc",
]


@pytest.mark.parametrize("name", FRACTIONS)
def test_each_fraction_accepts_0_and_1_and_refuses_beyond(name):
    assert getattr(load_config({f"kit:{name}": " 0 "}), name) == 0.0
    assert getattr(load_config({f"kit:{name}": "1"}), name) == 1.0
    assert getattr(load_config({f"kit:{name}": 0.25}), name) == 0.25
    for value in ("-0.01", "1.01"):
        with pytest.raises(ConfigError, match=rf"kit:{name}={float(value)} is out of range\. Allowed: 0 to 1\.$"):
            load_config({f"kit:{name}": value})


def test_idle_guard_needs_an_endpoint_without_auto_scaling():
    scaling = {"kit:churn_endpoint_instance_count": "1", "kit:churn_endpoint_max_instances": "2"}
    with pytest.raises(ConfigError, match=r"kit:churn_idle_hours=1 needs an endpoint without auto scaling"):
        load_config({**scaling, "kit:churn_idle_hours": "1"})
    assert load_config({**scaling, "kit:churn_idle_hours": "0"}).churn_idle_hours == 0
    assert load_config({"kit:churn_endpoint_max_instances": "1", "kit:churn_idle_hours": "1"}).churn_idle_hours == 1


def test_choices_accept_their_edges_and_log_retention_maps_to_the_same_days():
    assert load_config({"kit:redshift_base_capacity": "4"}).redshift_base_capacity == 4
    assert load_config({"kit:redshift_base_capacity": "512"}).redshift_base_capacity == 512
    with pytest.raises(ConfigError, match=r"kit:redshift_base_capacity=520 is not allowed"):
        load_config({"kit:redshift_base_capacity": "520"})
    assert load_config({"kit:quality_max_vcpu": "3200"}).quality_max_vcpu == 3200
    assert load_config({"kit:log_retention_days": "3653"}).log_retention == RetentionDays.TEN_YEARS
    assert load_config({"kit:log_retention_days": "1"}).log_retention == RetentionDays.ONE_DAY


def test_availability_zones_need_three_distinct_names_and_are_returned_trimmed():
    config = load_config({"kit:redshift_availability_zones": " us-east-1a, us-east-1b ,us-east-1c,"})
    assert config.redshift_availability_zone_names == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert load_config({}).redshift_availability_zone_names == ()
    for value in ("us-east-1a,us-east-1b", "us-east-1a,us-east-1a,us-east-1b", "us-east-1a,us-east-1b,useast1c"):
        with pytest.raises(ConfigError, match=r"redshift_availability_zones=.* at least 3 distinct"):
            load_config({"kit:redshift_availability_zones": value})


def test_email_is_optional_but_must_be_one_address():
    assert (
        load_config({"kit:redshift_notification_email": "ml-team@example.com"}).redshift_notification_email
        == "ml-team@example.com"
    )
    assert load_config({"kit:redshift_notification_email": ""}).redshift_notification_email == ""
    for value in ("ml-team", "a@b.com,c@d.com", "a@example"):
        with pytest.raises(ConfigError, match=r"is not an e-mail address"):
            load_config({"kit:redshift_notification_email": value})


def test_quicksight_arns_of_the_identity_region_are_accepted():
    owner = "arn:aws:quicksight:eu-west-1:123456789012:user/default/ana"
    group = "arn:aws:quicksight:eu-west-1:123456789012:group/default/team"
    config = load_config(
        {
            "kit:quicksight_owner_arn": owner,
            "kit:quicksight_viewer_group_arn": group,
            "kit:quicksight_identity_region": "eu-west-1",
        }
    )
    assert (config.quicksight_owner_arn, config.quicksight_viewer_group_arn) == (owner, group)


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


README_ROW = re.compile(r"^\| `([a-z_]+)` \| `([^`]*)` \| `([^`]*)` \|", re.MULTILINE)


def test_the_profile_defaults_the_readme_documents_are_the_defaults():
    rows = README_ROW.findall((Path(__file__).resolve().parents[2] / "README.md").read_text())
    assert len(rows) >= 10
    for name, sandbox, production in rows:
        for profile, documented in (("sandbox", sandbox), ("production", production)):
            assert str(getattr(load_config({"profile": profile}), name)).lower() == documented.lower(), (name, profile)
