"""The monitor construct alone, per profile: these tests can be copied with stacks/model_quality."""

import pytest

from stacks.model_quality.monitor import ModelQualityMonitor
from stacks.model_quality.settings import ModelQualitySettings
from tests.construct_app import PROFILES, construct_template


def monitor_template(**context):
    return construct_template(
        "ModelQualityStack",
        ModelQualitySettings,
        lambda stack, settings: ModelQualityMonitor(stack, "Monitor", settings=settings),
        **context,
    )


@pytest.fixture(scope="module", params=PROFILES)
def template(request):
    return monitor_template(profile=request.param)
