"""Every output a smoke path reads is in the synthesized stack, once, under the name the path asks for."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from tools.smoke import churn, model_quality, redshift_ml
from tools.smoke.core import StackOutputs

PATHS = [redshift_ml, model_quality, churn]


def _template(kit_app, stack_name: str) -> dict:
    return Template.from_stack(kit_app.app.node.find_child(stack_name)).to_json()


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__.rsplit(".", 1)[-1])
def test_every_output_the_path_reads_is_deployed(kit_app, path):
    outputs = StackOutputs(path.STACK, _template(kit_app, path.STACK).get("Outputs", {}))
    for name in path.OUTPUTS:
        assert outputs[name] is not None  # raises, naming the stack's outputs, when missing or ambiguous


def _environments(template: dict) -> list[dict]:
    return [
        resource["Properties"].get("Environment", {}).get("Variables", {})
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    ]


def test_the_recommendations_table_is_in_the_schema_the_lifecycle_uses(kit_app):
    template = _template(kit_app, redshift_ml.STACK)
    [schema] = {env["SCHEMA"] for env in _environments(template) if "MODEL_PREFIX" in env}
    value = StackOutputs(redshift_ml.STACK, template["Outputs"])["RecommendationsTable"]["Value"]
    assert value == f"{schema}.recommendations"


def test_the_metrics_endpoint_is_the_dimension_the_publisher_uses(kit_app):
    template = _template(kit_app, model_quality.STACK)
    [endpoint] = {env["ENDPOINT_NAME"] for env in _environments(template) if "RESULTS_BUCKET" in env}
    assert StackOutputs(model_quality.STACK, template["Outputs"])["MetricsEndpointName"]["Value"] == endpoint
