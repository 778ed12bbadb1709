import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

import app as app_module

from tests.app_runs import APP_RUNS_GROUP, BATCH, AppRun, Prepared
from tests.background import in_background
from tests.conftest import CDK_JSON_CONTEXT
from tests.test_retained_data import KEPT_VALUES
from tools.synthesis import PROJECT_ROOT


# A redeploy after a production destroy, with every kept bucket, key, group and database re-attached
# (tests/test_retained_data.py): imported buckets change the ARNs that the nag acknowledgments name.
REATTACHED = {f"kit:{name}": value for name, value in KEPT_VALUES.items()}

# app.py's runs, by name: its context over cdk.json's.
APP_RUNS = {
    "unknown profile": {"profile": "prod"},
    "invalid setting": {"kit:log_retention_days": "8"},
    "sandbox": {"profile": "sandbox"},
    "production": {"profile": "production"},
    "production-reattached": {"profile": "production", **REATTACHED},
}


def prepare_app_runs(root: Path) -> Prepared:
    """app.py run as the CDK CLI runs it, once per entry of APP_RUNS, in the run's app batch (tests/app_runs.py):
    per run, its error (None when synth succeeded) and the files it wrote."""
    runs = [AppRun(PROJECT_ROOT, {**CDK_JSON_CONTEXT, **context}, root / name) for name, context in APP_RUNS.items()]

    def finish(errors: list[str | None]) -> dict[str, tuple[str | None, set[str]]]:
        return {
            name: (error, {path.name for path in run.out.glob("*")}) for name, run, error in zip(APP_RUNS, runs, errors)
        }

    return Prepared(runs, finish)


BATCH.add("app.py", prepare_app_runs)


def run_app(workdir, run):
    """One of the app.py runs; the first job of the group runs the whole batch."""
    return BATCH.result("app.py")[run]


@pytest.mark.parametrize("run", ["unknown profile"])
@in_background(run_app, group=APP_RUNS_GROUP)
def test_unknown_profile_fails_synth_with_the_allowed_profiles(run, background_result):
    error, written = background_result
    expected = "SystemExit: Invalid kit configuration: Unknown profile 'prod'. Allowed profiles: sandbox, production"
    assert error is not None and expected in error, error
    assert "manifest.json" not in written


@pytest.mark.parametrize("run", ["invalid setting"])
@in_background(run_app, group=APP_RUNS_GROUP)
def test_invalid_setting_fails_synth_naming_the_setting(run, background_result):
    error, _ = background_result
    assert error is not None and "SystemExit: Invalid kit configuration:" in error, error
    assert "kit:log_retention_days=8 is not allowed" in error


@pytest.mark.parametrize("run", ["sandbox", "production", "production-reattached"])
@in_background(run_app, group=APP_RUNS_GROUP)
def test_app_synthesizes_through_the_validation_plugins(run, background_result):
    error, written = background_result
    assert error is None, f"{run}: {error}"
    assert "RedshiftMlStack.template.json" in written, (run, written)


def test_main_fails_synth_on_an_unacknowledged_finding(monkeypatch):
    """app.py registers the nag packs and CfnGuard: an insecure construct added to the app stops synth."""

    def build_with_insecure_bucket(app):
        settings = app_module.load_kit_settings(app.node.get_all_context())
        s3.Bucket(cdk.Stack(app, "InsecureStack"), "PlainBucket")
        return settings

    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps(CDK_JSON_CONTEXT))
    monkeypatch.setattr(app_module, "build_app", build_with_insecure_bucket)
    with pytest.raises(Exception, match="ValidationFailed") as failure:
        app_module.main()
    assert "Acknowledge with 'AwsSolutions::AwsSolutions-S1'" in str(failure.value)
    assert "Acknowledge with 'NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled'" in str(failure.value)
    assert "Acknowledge with 'cdk-validator-cfnguard::s3_bucket_versioning_enabled_check'" in str(failure.value)


def test_churn_data_capture_goes_to_the_model_quality_capture_location(kit_app):
    """The app wires the churn endpoint's Data Capture to the monitor's capture bucket, key and endpoint name."""
    churn = Template.from_stack(kit_app.app.node.find_child("ChurnModelStack"))
    (deployer,) = churn.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "deployer.handler"}}
    ).values()
    env = deployer["Properties"]["Environment"]["Variables"]
    quality = kit_app.app.node.find_child("ModelQualityStack")
    capture_bucket_id = quality.get_logical_id(quality.monitor.storage.capture_bucket.node.default_child)
    assert capture_bucket_id in json.dumps(env["CAPTURE_URI"]) and "/data-capture" in json.dumps(env["CAPTURE_URI"])
    assert quality.get_logical_id(quality.monitor.key.node.default_child) in json.dumps(env["CAPTURE_KEY_ARN"])
    # The quality job reads and reports the endpoint the churn stack deploys.
    (metrics,) = (
        Template.from_stack(quality)
        .find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "metrics_publisher.handler"}})
        .values()
    )
    assert (
        env["ENDPOINT_NAME"]
        == metrics["Properties"]["Environment"]["Variables"]["ENDPOINT_NAME"]
        == "ChurnModelStack-endpoint"
    )


def test_every_function_logs_to_an_expiring_encrypted_log_group_of_its_stack(kit_app):
    """Issue 29: CDK's singleton providers (S3 auto-delete, default security group) logged to /aws/lambda/<fn>, which
    Lambda creates on first run: never expiring, and left behind by destroy. Every function of the kit app, CDK's
    included, names a log group of its own stack that expires and uses a customer-managed key."""
    for stack in kit_app.assembly.stacks:
        resources = stack.template["Resources"]
        for logical_id, function in resources.items():
            if function["Type"] != "AWS::Lambda::Function":
                continue
            group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
            assert isinstance(group, dict) and "Ref" in group, f"{stack.stack_name}/{logical_id} logs to {group}"
            log_group = resources[group["Ref"]]
            assert log_group["Type"] == "AWS::Logs::LogGroup"
            assert log_group["Properties"]["RetentionInDays"] == kit_app.settings.common.log_retention_days
            assert "KmsKeyId" in log_group["Properties"], f"{stack.stack_name}/{group['Ref']}"


def test_model_quality_stack_cannot_be_deleted_while_the_churn_stack_captures_into_it(kit_app):
    """Every value the churn stack reads from the model-quality stack (capture bucket, its key) is a strong
    reference (an export and Fn::ImportValue) wherever a resource uses it: CloudFormation refuses to delete an
    exporting stack while another imports from it, so the capture bucket cannot go while the endpoint writes to it. A
    weak one (Fn::GetStackOutput, what cdk.json's default gives) blocks nothing."""
    churn = json.dumps(kit_app.assembly.get_stack_by_name("ChurnModelStack").template)
    quality = kit_app.assembly.get_stack_by_name("ModelQualityStack").template
    assert "Fn::GetStackOutput" not in churn
    exports = {output["Export"]["Name"] for output in quality["Outputs"].values() if "Export" in output}
    imported = {name for name in exports if json.dumps({"Fn::ImportValue": name}) in churn}
    assert len(imported) >= 2 and imported == exports, (exports, imported)
