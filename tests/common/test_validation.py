"""The type-scoped CfnGuard plugin reports what the plugin with every Control Tower rule reports."""

import json
import re
import tarfile
from pathlib import Path

from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from stacks.common import validation
from tests.gates import TemplatesContext
from stacks.common.validation import (
    TypeScopedCfnGuardValidator,
    control_tower_rule_types,
    resource_types,
    rules_without_resources,
)


def findings(plugin, paths: list[str]) -> set[tuple[str, str, str]]:
    report = plugin.validate(TemplatesContext(paths))
    return {
        (violation.rule_name, Path(resource.template_path).name, resource.resource_logical_id)
        for violation in report.violations
        for resource in violation.violating_resources
    }


def write_template(path: Path, resources: dict) -> str:
    path.write_text(json.dumps({"Resources": resources}))
    return str(path)


# Defects of resource types an app is likely to hold, in two templates: a plain bucket (unversioned, no KMS, no
# logging), a queue with no dead-letter queue, a function outside any VPC and a log group with a week's retention.
DEFECTS = {
    "Bucket.template.json": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}},
    "Compute.template.json": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Runtime": "python3.12", "Handler": "index.handler", "Role": "arn", "Code": {}},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
    },
}


def test_scoped_plugin_reports_exactly_the_findings_of_every_rule(tmp_path):
    paths = [write_template(tmp_path / name, resources) for name, resources in DEFECTS.items()]
    everything = findings(CfnGuardValidator(), paths)
    assert {"s3_bucket_versioning_enabled_check", "sqs_dlq_check", "lambda_inside_vpc_check"} <= {
        rule for rule, _, _ in everything
    }
    assert findings(TypeScopedCfnGuardValidator(), paths) == everything
    # ...while running only the rules that name a type of these templates.
    assert len(rules_without_resources(resource_types(paths))) > len(control_tower_rule_types()) / 2


def test_scoped_plugin_keeps_the_plugins_name_so_acknowledgments_match():
    assert TypeScopedCfnGuardValidator().name == CfnGuardValidator().name == "cdk-validator-cfnguard"


def test_a_rule_file_is_disabled_only_when_it_names_none_of_the_types():
    rules = control_tower_rule_types()
    disabled = set(rules_without_resources({"AWS::S3::Bucket", "AWS::KMS::Key"}))
    for rule, named in rules.items():
        assert (rule in disabled) == bool(named and not named & {"AWS::S3::Bucket", "AWS::KMS::Key"}), rule
    assert "ct-s3-pr-1" not in disabled and "ct-kms-pr-1" not in disabled and "ct-ec2-pr-4" in disabled


# A query over resources that does not select by type, e.g. `Resources.*[ Properties.X exists ]`, would let a rule
# find something in a template without its types: the filter rests on every bundled query selecting by Type (or by
# the key of a resource that a selected one references, `%doc.Resources[ keys == ... ]`).
RESOURCE_QUERY = re.compile(r"(?<![\w.%])Resources\s*(?P<step>\.\*\s*\[|\[|\.)(?P<rest>[^\]\n]*\n?[^\]\n]*)")
# An EKS cluster's EncryptionConfig has a list of its own called Resources (CT.EKS.PR.2 reads it inside the cluster).
NOT_TEMPLATE_RESOURCES = {("ct-eks-pr-2", "[*")}


def test_every_bundled_rule_selects_resources_by_type():
    bundle = next(Path(str(validation.guard_bundle.__file__)).parent.glob("*.jsii.tgz"))
    queries = 0
    with tarfile.open(bundle) as archive:
        for member in archive:
            if member.name.startswith(validation.CONTROL_TOWER_RULES) and member.name.endswith(".guard"):
                file = archive.extractfile(member)
                assert file is not None
                lines = file.read().decode().splitlines()
                code = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
                for query in RESOURCE_QUERY.finditer(code):
                    if (Path(member.name).stem, (query["step"] + query["rest"]).strip()) in NOT_TEMPLATE_RESOURCES:
                        continue
                    assert query["step"] != "." and query["rest"].strip().startswith("Type =="), (member.name, query[0])
                    queries += 1
    assert queries >= len(control_tower_rule_types())
