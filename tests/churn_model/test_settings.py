"""The churn model's settings: every message names the setting and what is allowed, and both edges of each range."""

import pytest

from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.config import ConfigError, load_settings
from tests.common.settings_checks import (
    assert_fraction_edges,
    assert_profile_defaults,
    assert_range_edges,
    assert_existing_data_settings,
)


def load_config(context):
    return load_settings(context, ChurnModelSettings)


@pytest.mark.parametrize(
    ("context", "message"),
    [
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


def test_a_context_key_that_looks_like_a_churn_setting_fails_with_did_you_mean():
    """CDK ignores unknown context: without this, -c kit_churn_notebok=true silently builds no notebook."""
    with pytest.raises(ConfigError, match=r"Did you mean kit:churn_notebook\?"):
        load_config({"kit_churn_notebok": "true"})


# Written by hand from the ranges the settings document (not read from settings.py), with the context that makes the
# rest of the settings valid at that edge.
RANGES = [
    ("churn_processing_instance_count", 1, 100, {}),
    ("churn_endpoint_instance_count", 1, 100, {"kit:churn_endpoint_max_instances": "100", "kit:churn_idle_hours": "0"}),
    ("churn_endpoint_max_instances", 3, 100, {"kit:churn_endpoint_instance_count": "3", "kit:churn_idle_hours": "0"}),
    ("churn_invocations_per_instance", 1, 100_000, {}),
    ("churn_capture_percent", 1, 100, {}),
    ("churn_idle_hours", 0, 720, {}),
]


@pytest.mark.parametrize(("name", "low", "high", "context"), RANGES, ids=[r[0] for r in RANGES])
def test_each_range_accepts_both_edges_and_refuses_one_beyond(name, low, high, context):
    assert_range_edges(load_config, name, low, high, context)


@pytest.mark.parametrize("name", ["churn_min_auc"])
def test_each_fraction_accepts_0_and_1_and_refuses_beyond(name):
    assert_fraction_edges(load_config, name)


def test_idle_guard_needs_an_endpoint_without_auto_scaling():
    scaling = {"kit:churn_endpoint_instance_count": "1", "kit:churn_endpoint_max_instances": "2"}
    with pytest.raises(ConfigError, match=r"kit:churn_idle_hours=1 needs an endpoint without auto scaling"):
        load_config({**scaling, "kit:churn_idle_hours": "1"})
    assert load_config({**scaling, "kit:churn_idle_hours": "0"}).churn_idle_hours == 0
    assert load_config({"kit:churn_endpoint_max_instances": "1", "kit:churn_idle_hours": "1"}).churn_idle_hours == 1


def test_built_in_python_with_the_readme_example():
    settings = ChurnModelSettings.for_profile("sandbox", churn_notebook=True)
    assert (settings.churn_notebook, settings.common.profile) == (True, "sandbox")
    with pytest.raises(ConfigError, match=r"kit:churn_idle_hours=4 needs an endpoint without auto scaling"):
        ChurnModelSettings.for_profile("production", churn_idle_hours=4)


def test_every_profile_has_a_default_and_the_readme_documents_it():
    assert_profile_defaults(ChurnModelSettings, load_config)


def test_kept_data_settings_are_all_or_none_and_validated():
    assert_existing_data_settings(load_config, "churn_existing_key_arn", ("churn_existing_artifacts_bucket",))
    assert load_config({"kit:churn_existing_model_package_group": "churn-models"}).churn_existing_model_package_group
    with pytest.raises(ConfigError, match=r"kit:churn_existing_model_package_group='churn_models' is not allowed"):
        load_config({"kit:churn_existing_model_package_group": "churn_models"})
