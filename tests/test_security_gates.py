"""cdk-nag (AwsSolutions, NIST 800-53 rev 5), CfnGuard, checkov and cfn-lint over everything the kit synthesizes."""

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from tests.conftest import new_app
from tests.gates import cfn_lint_findings, checkov_failures, guard_findings, nag_findings, templates


def test_kit_app_has_no_unacknowledged_nag_findings(kit_app):
    assert nag_findings(kit_app.app) == []


def test_kit_app_has_no_unacknowledged_cfn_guard_findings(kit_app):
    assert guard_findings(kit_app.assembly.directory) == []


def test_shared_constructs_have_no_unacknowledged_cfn_guard_findings(shared_constructs):
    synthesized_app, _ = shared_constructs
    assert guard_findings(synthesized_app.assembly.directory) == []


def test_kit_app_templates_pass_cfn_lint_and_checkov(kit_app):
    for template in templates(kit_app.assembly.directory):
        assert cfn_lint_findings(template) == []
    assert checkov_failures(kit_app.assembly.directory) == []


def test_shared_constructs_have_no_unacknowledged_nag_findings(shared_constructs):
    synthesized_app, _ = shared_constructs
    assert nag_findings(synthesized_app.app) == []


def test_shared_constructs_pass_cfn_lint_and_checkov(shared_constructs):
    synthesized_app, _ = shared_constructs
    (template,) = templates(synthesized_app.assembly.directory)
    assert cfn_lint_findings(template) == []
    assert checkov_failures(synthesized_app.assembly.directory) == []


@pytest.fixture(scope="module")
def insecure_app():
    app = new_app()
    stack = cdk.Stack(app, "InsecureStack")
    s3.Bucket(stack, "PlainBucket", encryption=s3.BucketEncryption.UNENCRYPTED)
    return app


def test_nag_packs_report_an_unencrypted_bucket(insecure_app):
    findings = nag_findings(insecure_app)
    for rule in ("AwsSolutions-S1", "AwsSolutions-S10", "NIST.800.53.R5-S3DefaultEncryptionKMS"):
        assert f"{rule}: InsecureStack/PlainBucket/Resource" in findings


def test_cfn_guard_reports_an_unversioned_bucket_without_kms(insecure_app):
    findings = guard_findings(insecure_app.synth().directory)
    for rule in ("s3_bucket_versioning_enabled_check", "s3_bucket_default_encryption_kms_check"):
        assert f"{rule}: InsecureStack/PlainBucket/Resource" in findings, findings


def test_checkov_reports_an_unlogged_unversioned_bucket(insecure_app):
    failures = checkov_failures(insecure_app.synth().directory)
    assert any(failure.startswith("CKV_AWS_18 AWS::S3::Bucket.PlainBucket") for failure in failures), failures
    assert any(failure.startswith("CKV_AWS_21 AWS::S3::Bucket.PlainBucket") for failure in failures), failures


def test_cfn_lint_reports_an_invalid_template(tmp_path):
    template = tmp_path / "Broken.template.json"
    template.write_text(
        json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}})
    )
    assert any(finding.startswith("E3002") for finding in cfn_lint_findings(template))
