"""The monitor's settings: every message names the setting and what is allowed, and both edges of each range."""

import pytest

from stacks.common.config import ConfigError, load_settings
from stacks.model_quality.settings import ModelQualitySettings
from tests.common.settings_checks import (
    assert_fraction_edges,
    assert_profile_defaults,
    assert_range_edges,
    assert_existing_data_settings,
)


# An audit archive keeps raw capture: production's hourly extraction, which only pays by deleting it, is turned off.
NO_HOURLY = {"kit:quality_hourly_extract": False}


def load_config(context):
    return load_settings(context, ModelQualitySettings)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"kit:quality_max_vcpu": "17"}, r"kit:quality_max_vcpu=17 is not allowed\. Allowed: 4, 8, 16, 32"),
        ({"kit:quality_decision_threshold": "high"}, r"kit:quality_decision_threshold='high' is not a number"),
        (
            {"kit:quality_min_label_coverage": "1.5"},
            r"kit:quality_min_label_coverage=1\.5 is out of range\. Allowed: 0 to 1",
        ),
        ({"kit:quicksight_owner_arn": "bob"}, r"kit:quicksight_owner_arn='bob' is not a QuickSight principal ARN"),
        # Issue 30: an unknown zone failed on the first scheduled run, not at synth.
        (
            {"kit:quality_schedule_time_zone": "Europe/Pariss"},
            r"kit:quality_schedule_time_zone='Europe/Pariss' is not a time zone of the IANA database\. Allowed: an "
            r"IANA name such as UTC",
        ),
        ({"kit:quality_schedule_time_zone": "../etc/passwd"}, r"is not a time zone of the IANA database"),
        (
            {"kit:quicksight_owner_arn": "arn:aws:quicksight:eu-west-1:123456789012:user/default/ana"},
            r"is not in the QuickSight identity region 'us-east-1'\. Allowed: a principal ARN of that region, or set "
            r"kit:quicksight_identity_region",
        ),
        (
            {"kit:quicksight_viewer_group_arn": "arn:aws:quicksight:us-east-1:123456789012:group/default/team"},
            r"kit:quicksight_viewer_group_arn needs kit:quicksight_owner_arn",
        ),
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
        load_config({"profile": "production", "kit:quality_raw_archive_expiry_days": 182, **NO_HOURLY})
    assert (
        load_config(
            {"profile": "production", "kit:quality_raw_archive_expiry_days": 183, **NO_HOURLY}
        ).quality_raw_archive_expiry_days
        == 183
    )


@pytest.mark.parametrize("value", ["0", "0.5", "-0.1"])
def test_target_half_width_is_a_usable_ratio(value):
    with pytest.raises(ConfigError, match=r"quality_target_half_width=.* Allowed: more than 0 and less than 0\.5"):
        load_config({"kit:quality_target_half_width": value})


# Written by hand from the ranges the settings document (not read from settings.py), with the context that makes the
# rest of the settings valid at that edge.
RANGES = [
    # Retention must cover the label window (label delay + 1): each edge is probed with the other setting clear of it.
    ("quality_raw_retention_days", 1, 3650, {"kit:quality_label_delay_days": "0"}),
    ("quality_label_delay_days", 0, 90, {"kit:quality_raw_retention_days": "3650"}),
    ("quality_idle_minutes", 1, 10_080, {}),
    ("quality_job_timeout_minutes", 10, 1_440, {}),
    ("quality_schedule_hour", 0, 23, {}),
    ("quality_reject_sample_size", 0, 1_000, {}),
    ("quality_results_retention_days", 8, 3650, {}),
    ("quality_reject_retention_days", 1, 3650, {}),
]


@pytest.mark.parametrize(("name", "low", "high", "context"), RANGES, ids=[r[0] for r in RANGES])
def test_each_range_accepts_both_edges_and_refuses_one_beyond(name, low, high, context):
    assert_range_edges(load_config, name, low, high, context)


FRACTIONS = [
    "quality_decision_threshold",
    "quality_min_average_precision",
    "quality_max_average_precision_drop",
    "quality_min_label_coverage",
]


@pytest.mark.parametrize("name", FRACTIONS)
def test_each_fraction_accepts_0_and_1_and_refuses_beyond(name):
    assert_fraction_edges(load_config, name)


# The capacities the docs offer, written out rather than read from the module.
OFFERED_VCPUS = (4, 8, 16, 32, 64, 128, 256, 400, 800, 1600, 3200)


@pytest.mark.parametrize("vcpus", OFFERED_VCPUS)
def test_every_offered_capacity_is_accepted(vcpus):
    assert load_config({"kit:quality_max_vcpu": str(vcpus)}).quality_max_vcpu == vcpus


@pytest.mark.parametrize("vcpus", (3, 127, 129, 255, 257, 3201))
def test_capacities_between_the_steps_are_refused(vcpus):
    with pytest.raises(ConfigError, match=rf"kit:quality_max_vcpu={vcpus} is not allowed"):
        load_config({"kit:quality_max_vcpu": str(vcpus)})


def test_an_audit_archive_ends_within_ten_years():
    assert load_config({"kit:quality_raw_archive_expiry_days": 3650}).quality_raw_archive_expiry_days == 3650
    with pytest.raises(ConfigError, match=r"kit:quality_raw_archive_expiry_days=3651 is out of range\. Allowed: 0 to"):
        load_config({"kit:quality_raw_archive_expiry_days": 3651})


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


def test_built_in_python_with_the_readme_example():
    settings = ModelQualitySettings.for_profile("production", quality_max_vcpu=64)
    assert (settings.quality_max_vcpu, settings.common.profile) == (64, "production")
    with pytest.raises(ConfigError, match=r"kit:quality_max_vcpu=17 is not allowed"):
        ModelQualitySettings.for_profile(quality_max_vcpu=17)


def test_every_profile_has_a_default_and_the_readme_documents_it():
    assert_profile_defaults(ModelQualitySettings, load_config)


@pytest.mark.parametrize(
    ("zone", "offsets"),
    [("UTC", (0, 0)), ("America/New_York", (-300, 60)), ("Asia/Kolkata", (330, 0)), ("Australia/Lord_Howe", (630, 30))],
)
def test_a_schedule_zone_gives_its_lowest_utc_offset_and_the_spread_of_the_others(zone, offsets):
    from stacks.model_quality.settings import schedule_offsets

    assert schedule_offsets(zone) == offsets


def test_kept_data_settings_are_all_or_none_and_validated():
    assert_existing_data_settings(
        load_config,
        "quality_existing_key_arn",
        ("quality_existing_capture_bucket", "quality_existing_ground_truth_bucket", "quality_existing_results_bucket"),
    )
    assert load_config({"kit:quality_existing_database": "model_quality"}).quality_existing_database
    with pytest.raises(ConfigError, match=r"kit:quality_existing_database='Model-Quality' is not allowed"):
        load_config({"kit:quality_existing_database": "Model-Quality"})


@pytest.mark.parametrize(
    ("zone", "hour", "allowed"),
    [("UTC", 0, True), ("Asia/Tokyo", 8, False), ("Asia/Tokyo", 9, True), ("America/New_York", 22, True)],
)
def test_the_run_starts_after_the_utc_day_it_extracts_has_ended(zone, hour, allowed):
    """Issue 30: the run extracts yesterday's UTC capture, which expires soon after; started before that day ends
    (04:00 in Tokyo is 19:00 UTC), it would keep a partial day and lose the rest."""
    context = {"kit:quality_schedule_time_zone": zone, "kit:quality_schedule_hour": str(hour)}
    if allowed:
        assert load_config(context).quality_schedule_hour == hour
    else:
        with pytest.raises(ConfigError, match=rf"quality_schedule_hour={hour} in {zone} starts the run before the UTC"):
            load_config(context)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"kit:quality_delete_extracted_capture": False},
            r"kit:quality_hourly_extract=true needs the extracted raw capture deleted .*Allowed: false, or those",
        ),
        (
            {"kit:quality_raw_archive_expiry_days": 400},
            r"kit:quality_hourly_extract=true needs the extracted raw capture deleted",
        ),
        (
            {"kit:quality_max_vcpu": 16},
            r"kit:quality_hourly_extract=true needs kit:quality_max_vcpu of at least 32 .*got 16",
        ),
    ],
)
def test_hourly_extraction_needs_deleted_capture_and_capacity_of_its_own(context, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"profile": "production", **context})
    assert not load_config({"profile": "production", **context, "kit:quality_hourly_extract": False}).hourly_vcpu


def test_hourly_extraction_is_on_in_production_with_a_quarter_of_the_application():
    production = load_config({"profile": "production"})
    assert production.quality_hourly_extract and production.hourly_vcpu == production.quality_max_vcpu // 4
    assert load_config({"profile": "production", "kit:quality_max_vcpu": 32}).hourly_vcpu == 8
    assert not load_config({"profile": "sandbox"}).quality_hourly_extract
