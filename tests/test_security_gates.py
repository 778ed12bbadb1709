"""cdk-nag (AwsSolutions, NIST 800-53 rev 5), CfnGuard, checkov and cfn-lint over everything the kit synthesizes."""

from tests.background import in_background
from tests.conftest import insecure_app
from tests.gates import SCAN_GROUP, guard_findings, nag_findings, ScanJob, templates


def test_kit_app_has_no_unacknowledged_nag_findings(kit_app):
    assert nag_findings(kit_app.app) == []


def test_kit_app_has_no_unacknowledged_cfn_guard_findings(kit_app):
    assert guard_findings(kit_app.assembly.directory) == []


def test_shared_constructs_have_no_unacknowledged_cfn_guard_findings(shared_constructs):
    synthesized_app, _ = shared_constructs
    assert guard_findings(synthesized_app.assembly.directory) == []


# cfn-lint and checkov run once each over every folder below, in the background lane (tests/gates.py: SCAN).
@in_background(ScanJob(lambda kit_app: f"kit_app[{kit_app}]"), group=SCAN_GROUP)
def test_kit_app_templates_pass_cfn_lint_and_checkov(kit_app, background_result):
    assert background_result.templates == [t.name for t in templates(kit_app.assembly.directory)]
    assert background_result.cfn_lint == []
    assert background_result.checkov == []


def test_shared_constructs_have_no_unacknowledged_nag_findings(shared_constructs):
    synthesized_app, _ = shared_constructs
    assert nag_findings(synthesized_app.app) == []


@in_background(ScanJob(lambda shared_constructs: f"shared_constructs[{shared_constructs}]"), group=SCAN_GROUP)
def test_shared_constructs_pass_cfn_lint_and_checkov(shared_constructs, background_result):
    synthesized_app, _ = shared_constructs
    (template,) = templates(synthesized_app.assembly.directory)
    assert background_result.templates == [template.name]
    assert background_result.cfn_lint == []
    assert background_result.checkov == []


def test_nag_packs_report_an_unencrypted_bucket():
    findings = nag_findings(insecure_app())
    for rule in ("AwsSolutions-S1", "AwsSolutions-S10", "NIST.800.53.R5-S3DefaultEncryptionKMS"):
        assert f"{rule}: InsecureStack/PlainBucket/Resource" in findings


def test_cfn_guard_reports_an_unversioned_bucket_without_kms():
    findings = guard_findings(insecure_app().synth().directory)
    for rule in ("s3_bucket_versioning_enabled_check", "s3_bucket_default_encryption_kms_check"):
        assert f"{rule}: InsecureStack/PlainBucket/Resource" in findings, findings


@in_background(ScanJob(lambda: "insecure_app"), group=SCAN_GROUP)
def test_checkov_reports_an_unlogged_unversioned_bucket(background_result):
    failures = background_result.checkov
    assert all(failure.endswith("(InsecureStack.template.json)") for failure in failures), failures
    assert any(failure.startswith("CKV_AWS_18 AWS::S3::Bucket.PlainBucket") for failure in failures), failures
    assert any(failure.startswith("CKV_AWS_21 AWS::S3::Bucket.PlainBucket") for failure in failures), failures


@in_background(ScanJob(lambda: "broken_template"), group=SCAN_GROUP)
def test_cfn_lint_reports_an_invalid_template(background_result):
    assert any(finding.startswith("E3002") for finding in background_result.cfn_lint), background_result
    # One scan covers every folder: each gets its own template's findings only (the broken bucket is unlogged too).
    assert background_result.checkov and background_result.cfn_lint
    assert all("(Broken.template.json" in f for f in background_result.checkov + background_result.cfn_lint)
