"""What a production destroy keeps, and that the next deploy can re-attach it: over every stateful resource of every
stack (tools.replacements.STATEFUL), not one bucket at a time.

Each stateful resource of the production profile is either retained and re-attached by a setting (REATTACHED),
retained with a reason it needs no setting (KEPT), or deleted with a reason that loses nothing (NOT_KEPT). A new
stateful resource fails until it is put in one of them. A kept resource of any type that has a name of its own (not
generated) must be in REATTACHED: the next deploy under the same environment would otherwise fail on that name.
"""

from __future__ import annotations

import fnmatch
import json

import aws_cdk as cdk
import pytest

from app import build_app
from tests.conftest import CDK_JSON_CONTEXT, synthesized_kit_app
from tools.replacements import STATEFUL, name_properties, values_at

# Construct path (of the resource) -> the setting that re-attaches it after a destroy. A kept key is used for the kept
# buckets (their objects are encrypted with it); the stack still creates a key of its own for what it creates anew.
REATTACHED = {
    "ChurnModelStack/Churn/DataKey/Resource": "churn_existing_key_arn",
    "ChurnModelStack/Churn/ArtifactsBucket/Resource": "churn_existing_artifacts_bucket",
    "ChurnModelStack/Churn/TrainingPipeline/ModelPackageGroup": "churn_existing_model_package_group",
    "ModelQualityStack/Monitor/DataKey/Resource": "quality_existing_key_arn",
    "ModelQualityStack/Monitor/Storage/CaptureBucket/Resource": "quality_existing_capture_bucket",
    "ModelQualityStack/Monitor/Storage/GroundTruthBucket/Resource": "quality_existing_ground_truth_bucket",
    "ModelQualityStack/Monitor/Storage/ResultsBucket/Resource": "quality_existing_results_bucket",
    "ModelQualityStack/Monitor/ResultsCatalog/Database": "quality_existing_database",
    "RedshiftMlStack/Recommender/DataKey/Resource": "redshift_existing_key_arn",
    "RedshiftMlStack/Recommender/ModelBucket/Resource": "redshift_existing_model_bucket",
    "RedshiftMlStack/Recommender/Warehouse/Namespace": "redshift_existing_namespace",
    # Named by Redshift after the namespace (/aws/redshift/<namespace>/<log type>): re-attached with it.
    **{
        f"RedshiftMlStack/Recommender/Warehouse/AuditLogGroup{log_type}/Resource": "redshift_existing_namespace"
        for log_type in ("userlog", "connectionlog", "useractivitylog")
    },
}
# Construct path pattern -> why it is kept but needs no setting to re-attach.
KEPT = {
    "*/AccessLogsBucket/Resource": "S3 request logs that expire (access_log_expiry_days): a redeploy logs to a new "
    "bucket and the kept one empties itself; delete it when empty.",
    "*/Storage/JobLogsBucket/Resource": "EMR Serverless job logs that expire (log_retention_days): a redeploy writes "
    "to a new bucket and the kept one empties itself.",
    "*LogGroup*": "Generated names: a redeploy creates new groups; the kept ones keep their logs for "
    "log_retention_days, then hold nothing.",
}
# Construct path pattern -> why deleting it on destroy loses no data.
NOT_KEPT = {
    "ChurnModelStack/Churn/Endpoint/EndpointLogGroup/Resource": "SageMaker fixes its name: a kept group would fail "
    "the next deploy; the endpoint is deleted with the stack.",
    "ChurnModelStack/Churn/Endpoint/DeployerDeadLetterQueue/Resource": "Failed deployment events, each also "
    "reported on the notification topic; retried by approving the package again.",
    "ChurnModelStack/Churn/Notebook/PypiRepository*": "A cache of public PyPI packages, fetched again.",
    "ChurnModelStack/Churn/Notebook/NotebookInstance": "Users' notebooks are copied to notebook/home/ of the "
    "artifacts bucket (kept) every 5 minutes and before an idle stop, and restored by the next instance; keeping the "
    "instance itself would keep it without its role, lifecycle configuration and subnet.",
    "RedshiftMlStack/Recommender/Warehouse/Workgroup": "Compute only: the data is in the namespace (kept), and the "
    "workgroup's subnets and security group are deleted with the stack.",
    "ModelQualityStack/Monitor/PrCurveJob/Application": "Holds no data: job logs go to the job logs bucket, results "
    "to the results bucket (both kept).",
    "ModelQualityStack/Monitor/ResultsCatalog/*Table*": "Definitions of the kit's tables over the results bucket (kept); "
    "a redeploy creates them again in the kept database.",
}


def _stateful(assembly: cdk.cx_api.CloudAssembly) -> dict[str, tuple[str, dict]]:
    """Construct path -> (stack name, resource) of every stateful resource, from the assembly's logical id metadata."""
    found = {}
    for stack in assembly.stacks:
        resources = stack.template["Resources"]
        for entry in stack.find_metadata_by_type("aws:cdk:logicalId"):
            body = resources.get(entry.data)
            if body is not None and body["Type"] in STATEFUL:
                found[entry.path.lstrip("/")] = (stack.stack_name, body)
    return found


def _match(path: str, patterns: dict[str, str]) -> str | None:
    return next((pattern for pattern in patterns if fnmatch.fnmatchcase(path, pattern)), None)


def _synth(**context: str) -> cdk.cx_api.CloudAssembly:
    app = cdk.App(context={**CDK_JSON_CONTEXT, "profile": "production", **context})
    build_app(app)
    return app.synth()


@pytest.fixture(scope="module")
def production() -> cdk.cx_api.CloudAssembly:
    return synthesized_kit_app("production").assembly  # the run's one production synth (tests/conftest.py)


def test_every_stateful_resource_of_production_is_kept_or_says_why_not(production):
    unlisted, wrong = [], []
    for path, (_, body) in _stateful(production).items():
        retained = body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")
        if _match(path, NOT_KEPT):
            if retained:
                wrong.append(f"{path}: retained, but listed as deleted")
        elif path in REATTACHED or _match(path, KEPT):
            if not retained:
                wrong.append(f"{path}: listed as kept, but its DeletionPolicy is {body.get('DeletionPolicy')}")
        else:
            unlisted.append(f"{path} ({body['Type']}, DeletionPolicy {body.get('DeletionPolicy')})")
    assert not unlisted, "Stateful resources neither kept nor listed with a reason: " + "; ".join(unlisted)
    assert not wrong, wrong
    assert set(REATTACHED) <= set(_stateful(production)), set(REATTACHED) - set(_stateful(production))
    paths = list(_stateful(production))
    unused = [p for p in (*KEPT, *NOT_KEPT) if not any(fnmatch.fnmatchcase(path, p) for path in paths)]
    assert not unused, f"Listed, but no stateful resource of production matches: {unused}"


def _kept(assembly: cdk.cx_api.CloudAssembly) -> dict[str, dict]:
    """Construct path -> resource, of every resource of any type that the production destroy keeps."""
    kept = {}
    for stack in assembly.stacks:
        resources = stack.template["Resources"]
        for entry in stack.find_metadata_by_type("aws:cdk:logicalId"):
            body = resources.get(entry.data)
            if body is not None and body.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
                kept[entry.path.lstrip("/")] = body
    return kept


def _custom_names(kept: dict[str, dict]) -> dict[str, str]:
    """Construct path -> the name a kept resource is created with (its type's name property set in the template): a
    redeploy that creates it again fails on that name, which the kept one still holds."""
    named = {}
    for path, body in kept.items():
        for name_path in name_properties(body["Type"]):
            value = values_at(body.get("Properties", {}), name_path)[0]
            if value != "<absent>":
                named[path] = json.dumps(value)
    return named


def test_every_kept_resource_with_a_name_of_its_own_has_a_setting_that_re_attaches_it(production):
    """Kept with a fixed name (a namespace, a bucket, a log group named by its service, a role): without a setting
    that re-attaches it, the next deploy under the same environment fails on the name. Generated names (CDK's
    default, as for the namespace's retained role) never collide."""
    kept = _kept(production)
    named = _custom_names(kept)
    assert "RedshiftMlStack/Recommender/Warehouse/Namespace" in named, "the check finds nothing to check"
    assert {path: name for path, name in named.items() if path not in REATTACHED} == {}
    # The retained role of the namespace is checked too: given a fixed name, it would collide with the kept one.
    role = "RedshiftMlStack/Recommender/RedshiftMlRole/Resource"
    assert kept[role]["Type"] == "AWS::IAM::Role" and role not in named
    named_role = {role: {**kept[role], "Properties": {**kept[role]["Properties"], "RoleName": "redshift-ml"}}}
    assert _custom_names(named_role) == {role: '"redshift-ml"'}


def test_production_prints_the_settings_that_re_attach_what_it_keeps(production, kit_app):
    """Each stack's RedeploySettings output names every setting of its kept resources; the sandbox, which destroys
    them, prints none."""
    for stack in production.stacks:
        wanted = {setting for path, setting in REATTACHED.items() if path.startswith(stack.stack_name + "/")}
        outputs = [o for name, o in stack.template["Outputs"].items() if "RedeploySettings" in name]
        assert len(outputs) == 1, stack.stack_name
        printed = json.dumps(outputs[0]["Value"])
        assert {s for s in wanted if f"-c kit:{s}=" in printed} == wanted, (stack.stack_name, printed)
    if kit_app.settings.common.retain_data:
        return
    for stack in kit_app.assembly.stacks:
        assert not [name for name in stack.template.get("Outputs", {}) if "RedeploySettings" in name]


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/{}-1111-2222-3333-444444444444"
KEPT_VALUES = {
    "churn_existing_key_arn": KEY_ARN.format("c0c0c0c0"),
    "churn_existing_artifacts_bucket": "kept-churn-artifacts",
    "churn_existing_model_package_group": "kept-churn-models",
    "quality_existing_key_arn": KEY_ARN.format("a0a0a0a0"),
    "quality_existing_capture_bucket": "kept-quality-capture",
    "quality_existing_ground_truth_bucket": "kept-quality-ground-truth",
    "quality_existing_results_bucket": "kept-quality-results",
    "quality_existing_database": "kept_model_quality",
    "redshift_existing_key_arn": KEY_ARN.format("b0b0b0b0"),
    "redshift_existing_model_bucket": "kept-redshift-models",
    "redshift_existing_namespace": "kept-redshift-warehouse",
}


def test_every_kept_resource_is_re_attached_by_its_setting(production):
    """With the kept names and ARNs passed, no stack creates that resource again and each uses the kept one."""
    assert set(KEPT_VALUES) == set(REATTACHED.values())
    reattached = _synth(**{f"kit:{name}": value for name, value in KEPT_VALUES.items()})
    created = _stateful(reattached)
    for path, setting in REATTACHED.items():
        stack = path.split("/")[0]
        template = json.dumps(reattached.get_stack_by_name(stack).template)
        if not setting.endswith("_key_arn"):
            assert path not in created, f"{setting} set, but {path} is created again"
        assert KEPT_VALUES[setting] in template, f"{stack} does not use the kept {setting}"
    # The churn endpoint captures into the kept capture bucket with the key its objects are encrypted with.
    churn = json.dumps(reattached.get_stack_by_name("ChurnModelStack").template)
    assert "kept-quality-capture" in churn and KEPT_VALUES["quality_existing_key_arn"] in churn
