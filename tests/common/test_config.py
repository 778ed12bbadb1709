import dataclasses

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.aws_logs import RetentionDays

from stacks.common.config import ConfigError, load_config


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
        ("kit_churn_notebok", r"Did you mean kit:churn_notebook\?"),
    ],
)
def test_context_keys_that_look_like_the_kits_fail_with_did_you_mean(key, message):
    """CDK ignores unknown context: without this, -c Profile=production silently builds sandbox."""
    with pytest.raises(ConfigError, match=message):
        load_config({key: "production" if "rofile" in key else "true"})


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
        ({"kit:redshift_base_capacity": "12"}, r"kit:redshift_base_capacity=12 is not allowed\. Allowed: 4, 8, 16, 24"),
        (
            {"kit:redshift_daily_rpu_hours": "-1"},
            r"kit:redshift_daily_rpu_hours=-1 is out of range\. Allowed: 0 to 100000",
        ),
        ({"kit:quality_max_vcpu": "17"}, r"kit:quality_max_vcpu=17 is not allowed\. Allowed: 4, 8, 16, 32"),
        ({"kit:quality_decision_threshold": "high"}, r"kit:quality_decision_threshold='high' is not a number"),
        (
            {"kit:quality_min_label_coverage": "1.5"},
            r"kit:quality_min_label_coverage=1\.5 is out of range\. Allowed: 0 to 1",
        ),
        ({"kit:quicksight_owner_arn": "bob"}, r"kit:quicksight_owner_arn='bob' is not a QuickSight principal ARN"),
        (
            {"kit:quicksight_owner_arn": "arn:aws:quicksight:eu-west-1:123456789012:user/default/ana"},
            r"is not in the QuickSight identity region 'us-east-1'\. Allowed: a principal ARN of that region, or set "
            r"kit:quicksight_identity_region",
        ),
        (
            {"kit:quicksight_viewer_group_arn": "arn:aws:quicksight:us-east-1:123456789012:group/default/team"},
            r"kit:quicksight_viewer_group_arn needs kit:quicksight_owner_arn",
        ),
        (
            {"kit:churn_endpoint_instance_type": "m5.large"},
            r"kit:churn_endpoint_instance_type='m5.large' is not a SageMaker instance type\. Allowed: ml\.<family>\.<size>",
        ),
        (
            {"profile": "production", "kit:churn_endpoint_max_instances": "1"},
            r"kit:churn_endpoint_max_instances=1 is out of range\. Allowed: 2 to 100",
        ),
        ({"kit:churn_min_auc": "1.2"}, r"kit:churn_min_auc=1\.2 is out of range\. Allowed: 0 to 1"),
        ({"kit:churn_capture_percent": "0"}, r"kit:churn_capture_percent=0 is out of range\. Allowed: 1 to 100"),
        ({"kit:churn_processing_instance_count": "0"}, r"kit:churn_processing_instance_count=0 is out of range"),
    ],
)
def test_invalid_settings_name_the_setting_and_what_is_allowed(context, message):
    with pytest.raises(ConfigError, match=message):
        load_config(context)


def test_production_keeps_raw_quality_data_for_the_run_and_one_re_run():
    config = load_config({"profile": "production"})
    assert config.quality_raw_retention_days == config.quality_label_delay_days + 2
    assert config.quality_raw_archive_expiry_days == 0


@pytest.mark.parametrize("profile", ["sandbox", "production"])
def test_raw_retention_shorter_than_the_label_window_fails(profile):
    with pytest.raises(
        ConfigError,
        match=r"kit:quality_raw_retention_days=3 is shorter than the label window: "
        r"the run for day D reads its captures on day D\+4 .*Allowed: 4 or more",
    ):
        load_config({"profile": profile, "kit:quality_label_delay_days": 3, "kit:quality_raw_retention_days": 3})
    assert (
        load_config(
            {"profile": profile, "kit:quality_label_delay_days": 3, "kit:quality_raw_retention_days": 4}
        ).quality_raw_retention_days
        == 4
    )


def test_an_audit_archive_must_outlast_deep_archive_minimum_duration():
    with pytest.raises(
        ConfigError,
        match=r"quality_raw_archive_expiry_days=182 ends the audit archive before Deep "
        r"Archive's 180-day minimum .*Allowed: 0 \(no archive\), or 183 to 3650",
    ):
        load_config({"profile": "production", "kit:quality_raw_archive_expiry_days": 182})
    assert (
        load_config(
            {"profile": "production", "kit:quality_raw_archive_expiry_days": 183}
        ).quality_raw_archive_expiry_days
        == 183
    )


@pytest.mark.parametrize("value", ["0", "0.5", "-0.1"])
def test_target_half_width_is_a_usable_ratio(value):
    with pytest.raises(ConfigError, match=r"quality_target_half_width=.* Allowed: more than 0 and less than 0\.5"):
        load_config({"kit:quality_target_half_width": value})
