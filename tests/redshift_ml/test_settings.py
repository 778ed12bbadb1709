"""The recommender's settings: every message names the setting and what is allowed, and both edges of each range."""

import pytest

from stacks.common.config import ConfigError, load_settings
from stacks.redshift_ml.settings import RedshiftMlSettings
from tests.common.settings_checks import (
    KEPT_KEY_ARN,
    assert_existing_data_settings,
    assert_profile_defaults,
    assert_range_edges,
)


def load_config(context):
    return load_settings(context, RedshiftMlSettings)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"kit:redshift_base_capacity": "12"}, r"kit:redshift_base_capacity=12 is not allowed\. Allowed: 4, 8, 16, 24"),
        (
            {"kit:redshift_daily_rpu_hours": "-1"},
            r"kit:redshift_daily_rpu_hours=-1 is out of range\. Allowed: 0 to 100000",
        ),
    ],
)
def test_invalid_settings_name_the_setting_and_what_is_allowed(context, message):
    with pytest.raises(ConfigError, match=message):
        load_config(context)


# Written by hand from the ranges the settings document (not read from settings.py).
RANGES = [("redshift_daily_rpu_hours", 0, 100_000, {})]


@pytest.mark.parametrize(("name", "low", "high", "context"), RANGES, ids=[r[0] for r in RANGES])
def test_each_range_accepts_both_edges_and_refuses_one_beyond(name, low, high, context):
    assert_range_edges(load_config, name, low, high, context)


def test_choices_accept_their_edges():
    assert load_config({"kit:redshift_base_capacity": "4"}).redshift_base_capacity == 4
    largest = {"kit:redshift_base_capacity": "512", "kit:redshift_max_capacity": "512"}
    assert load_config(largest).redshift_base_capacity == 512
    with pytest.raises(ConfigError, match=r"kit:redshift_base_capacity=520 is not allowed"):
        load_config({"kit:redshift_base_capacity": "520"})


def test_availability_zones_are_three_distinct_ids_of_one_region_returned_trimmed():
    config = load_config({"kit:redshift_availability_zones": " use1-az1, use1-az2 ,use1-az4,"})
    assert config.redshift_availability_zone_ids == ("use1-az1", "use1-az2", "use1-az4")
    assert load_config({}).redshift_availability_zone_ids == ()
    for value in ("use1-az1,use1-az2", "use1-az1,use1-az1,use1-az2", "use1-az1,use2-az2,use1-az4", "use1-az1,use1,x"):
        with pytest.raises(
            ConfigError, match=r"redshift_availability_zones=.* at least 3 distinct Availability Zone IDs"
        ):
            load_config({"kit:redshift_availability_zones": value})


def test_availability_zone_names_are_refused_with_the_reason_and_where_to_find_the_ids():
    """A name maps to a different zone in each account: the setting that works in one would fail in another."""
    with pytest.raises(
        ConfigError,
        match=r"us-east-1a, us-east-1b, us-east-1c are AZ names, which map to different zones in each account: give "
        r"the AZ IDs \(aws ec2 describe-availability-zones",
    ):
        load_config({"kit:redshift_availability_zones": "us-east-1a,us-east-1b,us-east-1c"})


def test_max_capacity_is_none_or_a_step_of_8_no_lower_than_the_base():
    assert load_config({"kit:redshift_max_capacity": "0"}).redshift_max_capacity == 0
    assert load_config({"kit:redshift_max_capacity": "8"}).redshift_max_capacity == 8  # the sandbox base
    for value, context in (("12", {}), ("4", {}), ("24", {"kit:redshift_base_capacity": "32"})):
        with pytest.raises(
            ConfigError,
            match=rf"kit:redshift_max_capacity={value} is not allowed\. Allowed: 0 .* a multiple of 8 no lower than "
            r"redshift_base_capacity",
        ):
            load_config({"kit:redshift_max_capacity": value, **context})


def test_the_single_address_setting_was_renamed_with_a_pointer_to_the_new_name():
    with pytest.raises(
        ConfigError, match=r"'kit:redshift_notification_email'\. Did you mean kit:redshift_notification_emails\?"
    ):
        load_config({"kit:redshift_notification_email": "ml-team@example.com"})


def test_built_in_python_with_the_readme_example():
    settings = RedshiftMlSettings.for_profile("sandbox", redshift_base_capacity=16)
    assert (settings.redshift_base_capacity, settings.common.profile) == (16, "sandbox")
    with pytest.raises(ConfigError, match=r"kit:redshift_base_capacity=12 is not allowed"):
        RedshiftMlSettings.for_profile("production", redshift_base_capacity=12)


def test_every_profile_has_a_default_and_the_readme_documents_it():
    assert_profile_defaults(RedshiftMlSettings, load_config)


def test_sample_data_overwrite_only_with_the_sample_and_never_with_retained_data():
    """Overwriting replaces the tables' rows: refused where data is retained, and meaningless without the sample."""
    assert load_config({"kit:redshift_sample_data_overwrite": "true"}).redshift_sample_data_overwrite is True
    for context in (
        {"kit:redshift_sample_data_overwrite": "true", "kit:retain_data": "true"},
        {"kit:redshift_sample_data_overwrite": "true", "kit:redshift_sample_data": "false"},
        {"profile": "production", "kit:redshift_sample_data_overwrite": "true", "kit:redshift_sample_data": "true"},
    ):
        with pytest.raises(ConfigError, match=r"kit:redshift_sample_data_overwrite=true is not allowed .* Allowed"):
            load_config(context)


def test_kept_data_settings_are_all_or_none_and_validated():
    assert_existing_data_settings(load_config, "redshift_existing_key_arn", ("redshift_existing_model_bucket",))


def test_a_kept_namespace_is_re_attached_only_with_the_kept_key_it_is_encrypted_with():
    kept = {"kit:redshift_existing_namespace": "prod-redshiftmlstack-warehouse-1a2b3c4d"}
    key = {"kit:redshift_existing_key_arn": KEPT_KEY_ARN, "kit:redshift_existing_model_bucket": "kept-models"}
    assert load_config({**kept, **key}).redshift_existing_namespace == kept["kit:redshift_existing_namespace"]
    assert load_config(key).redshift_existing_namespace == "", "a destroyed namespace leaves the kept key usable"
    with pytest.raises(
        ConfigError,
        match=r"kit:redshift_existing_namespace needs kit:redshift_existing_key_arn: a kept namespace .* Allowed: both",
    ):
        load_config(kept)
    with pytest.raises(
        ConfigError,
        match=r"kit:redshift_existing_namespace='Kept_Warehouse' is not allowed\. Allowed: empty or a namespace name",
    ):
        load_config({**key, "kit:redshift_existing_namespace": "Kept_Warehouse"})
