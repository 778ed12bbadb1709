"""The monitor construct alone, per profile: these tests can be copied with stacks/model_quality."""

import json
from functools import cache

import pytest

from stacks.model_quality.monitor import ModelQualityMonitor
from stacks.model_quality.settings import ModelQualitySettings
from tests.construct_app import PROFILES, construct_template


def monitor_template(**context):
    """The monitor's template and settings for `context`, synthesized once per context in a test process: the
    modules of this folder ask for the same few (each profile as it is, production without the hourly run), and a
    Template and frozen settings are only read."""
    return _monitor_template(json.dumps(context, sort_keys=True))


@cache
def _monitor_template(context: str):
    return construct_template(
        "ModelQualityStack",
        ModelQualitySettings,
        lambda stack, settings: ModelQualityMonitor(stack, "Monitor", settings=settings),
        **json.loads(context),
    )


@pytest.fixture(scope="module", params=PROFILES)
def template(request):
    return monitor_template(profile=request.param)
