"""The recommender construct alone, per profile: these tests can be copied with stacks/redshift_ml."""

import pytest

from stacks.redshift_ml import RedshiftMlRecommender
from stacks.redshift_ml.settings import RedshiftMlSettings
from tests.construct_app import PROFILES, construct_template


@pytest.fixture(scope="module", params=PROFILES)
def template(request):
    return construct_template(
        "RedshiftMlStack",
        RedshiftMlSettings,
        lambda stack, settings: RedshiftMlRecommender(stack, "Recommender", settings=settings),
        profile=request.param,
    )
