"""Environments and copies side by side: no two resources of one app share a physical name, and no custom-named
resource keeps its name when a create-only value changes.

One app holds the sandbox profile under environment `sandbox`, the production profile under the longest environment
the setting allows (two copies of every architecture, with the notebook and the QuickSight dashboard on), and a stack
with two model-quality monitors. A physical name is a resource's name properties (`tools.replacements.name_properties`:
the schema's writable primary identifier, or the named property such as `AlarmName`, `Name` of a rule,
`LogGroupName`, `DatabaseInput/Name`, `DataSetId`) and every other literal top-level `*Name` property, together
with the name of the resource it lives in (a Glue table's database, a repository's domain, a workgroup's namespace).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import aws_cdk as cdk
import pytest

from app import add_kit_stacks, load_kit_settings
from stacks.common.config import ENVIRONMENT_MAX_LENGTH
from stacks.common.names import create_only_digest
from stacks.model_quality.monitor import ModelQualityMonitor
from stacks.model_quality.settings import ModelQualitySettings
from tests.conftest import QUICKSIGHT_CONTEXT, new_app
from tools.replacements import _schema, create_only, name_properties, values_at

LONGEST_ENVIRONMENT = "production-eu-west-1"
FEATURES = {"kit:churn_notebook": "true", **QUICKSIGHT_CONTEXT}
# Top-level `*Name` properties that do not name the resource they are on: a metric, a database inside the namespace,
# an inline policy (scoped to its role), a VPC endpoint's service, the admin user.
NOT_NAMES = frozenset({"MetricName", "DbName", "PolicyName", "ServiceName", "AdminUsername"})
PSEUDO = re.compile(r"^AWS::")
ABSENT = ["<absent>"]


def _environment_settings(profile: str, environment: str):
    return load_kit_settings({"profile": profile, "kit:environment": environment, **FEATURES})


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    assert len(LONGEST_ENVIRONMENT) == ENVIRONMENT_MAX_LENGTH
    app = new_app()
    add_kit_stacks(app, _environment_settings("sandbox", "sandbox"))
    add_kit_stacks(app, _environment_settings("production", LONGEST_ENVIRONMENT))
    stack = cdk.Stack(app, "TwoMonitorsStack")
    settings = ModelQualitySettings.for_profile("sandbox", quicksight_owner_arn=FEATURES["kit:quicksight_owner_arn"])
    ModelQualityMonitor(stack, "First", settings=settings, endpoint_name="first-endpoint")
    ModelQualityMonitor(stack, "Second", settings=settings, endpoint_name="second-endpoint")
    assembly = app.synth()
    return {each.stack_name: each.template for each in assembly.stacks}


def _literal(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and ("Fn::Join" in value or "Fn::Sub" in value))


def _own_names(resource: dict) -> list[str]:
    """The resource's name values, as canonical JSON."""
    properties = resource.get("Properties", {})
    paths = set(name_properties(resource["Type"]))
    paths |= {
        key for key, value in properties.items() if key.endswith("Name") and key not in NOT_NAMES and _literal(value)
    }
    found = [values_at(properties, path) for path in sorted(paths)]
    return [json.dumps(value, sort_keys=True) for value in found if value != ABSENT and all(map(_literal, value))]


def _named(template: dict) -> dict[str, list[str]]:
    return {logical_id: names for logical_id, r in template["Resources"].items() if (names := _own_names(r))}


def _name_values(resource: dict) -> list[str]:
    """The literal strings of the resource's name properties (its custom name)."""
    properties = resource.get("Properties", {})
    found = [values_at(properties, path) for path in name_properties(resource["Type"])]
    return [each for value in found for each in value if isinstance(each, str) and each != ABSENT[0]]


def _scope(value: Any, template: dict) -> str | None:
    """The name of the custom-named resource `value` refers to or spells (a table's database), else None."""
    resources = template["Resources"]
    if isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value):
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        names = _name_values(resources[target]) if target in resources else []
        return names[0] if names else None
    if isinstance(value, str):
        return next((value for r in resources.values() if value in _name_values(r)), None)
    return None


def _create_only_values(resource: dict) -> list[Any]:
    """The values the resource sets for its create-only properties other than its name."""
    properties = resource.get("Properties", {})
    return [
        value
        for path in create_only(resource["Type"])
        if path not in name_properties(resource["Type"])
        for value in values_at(properties, path)
        if value != ABSENT[0]
    ]


def _identities(templates: dict[str, dict]) -> dict[tuple, list[str]]:
    """Each physical name (type, names, scope names) -> the resources that carry it."""
    carriers: dict[tuple, list[str]] = defaultdict(list)
    for stack_name, template in templates.items():
        named = _named(template)
        for logical_id, names in named.items():
            resource = template["Resources"][logical_id]
            scopes = [
                scope for value in _create_only_values(resource) if (scope := _scope(value, template)) is not None
            ]
            carriers[(resource["Type"], *names, *scopes)].append(f"{stack_name}/{logical_id}")
    return carriers


def test_copies_and_environments_share_no_physical_name(templates):
    """Two environments' copies of every architecture, and two monitors in one stack: every name is their own."""
    carriers = _identities(templates)
    shared = {identity: where for identity, where in carriers.items() if len(where) > 1}
    assert not shared, shared
    assert len(carriers) > 60  # the names of every architecture were read


def test_sandbox_and_production_stack_names_carry_their_environment(templates):
    assert set(templates) == {
        "sandbox-RedshiftMlStack",
        "sandbox-ModelQualityStack",
        "sandbox-ChurnModelStack",
        f"{LONGEST_ENVIRONMENT}-RedshiftMlStack",
        f"{LONGEST_ENVIRONMENT}-ModelQualityStack",
        f"{LONGEST_ENVIRONMENT}-ChurnModelStack",
        "TwoMonitorsStack",
    }


def _schema_rule(resource_type: str, path: str) -> dict:
    """The pattern and length limits of the property at `path` in the type's provider schema."""
    schema = _schema(resource_type)
    node: dict = {"properties": schema.get("properties", {})}
    for step in path.split("/"):
        node = node.get("properties", {}).get(step, {})
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].split("/")[-1]]
    return node


def test_every_derived_name_fits_its_service_under_the_longest_environment(templates):
    """The environment (at its longest) and the path never push a name past its service's pattern or length."""
    checked = 0
    for template in templates.values():
        for resource in template["Resources"].values():
            for path in name_properties(resource["Type"]):
                for value in values_at(resource.get("Properties", {}), path):
                    rule = _schema_rule(resource["Type"], path)
                    if not isinstance(value, str) or value == ABSENT[0] or not rule:
                        continue
                    checked += 1
                    assert len(value) <= rule.get("maxLength", 10**6), (resource["Type"], value)
                    assert re.search(rule.get("pattern", ""), value), (resource["Type"], value, rule.get("pattern"))
    assert checked > 40


def test_every_custom_named_resource_renames_when_a_create_only_value_changes(templates):
    """CloudFormation cannot replace a resource that keeps its custom name. Each create-only value other than the
    name is a pseudo parameter; or the resource's scope (its database, domain, namespace), whose name is in the
    resource's name or whose digest is in its logical id (a renamed scope makes it a new resource); or goes into the
    name's digest."""
    unsafe = []
    for stack_name, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            names = _name_values(resource)
            if not names:
                continue
            digested = []
            for value in _create_only_values(resource):
                if isinstance(value, dict) and PSEUDO.match(str(value.get("Ref", ""))):
                    continue
                scope = _scope(value, template)
                if scope is None:
                    digested.append(value)
                elif not any(scope in name for name in names) and create_only_digest([scope]) not in logical_id:
                    unsafe.append(f"{stack_name}/{logical_id}: {names[0]} keeps its name in a renamed {scope}")
            if digested and not any(name.endswith(create_only_digest(digested)) for name in names):
                unsafe.append(f"{stack_name}/{logical_id} ({resource['Type']}): {names[0]} keeps {digested}")
    assert not unsafe, "\n".join(unsafe)
