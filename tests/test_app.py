import json
import os
import subprocess
import sys

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

import app as app_module

from tests.conftest import CDK_JSON_CONTEXT, PROJECT_ROOT


def run_app(tmp_path, **context):
    """Run app.py the way the CDK CLI does: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**CDK_JSON_CONTEXT, **context}),
        "CDK_OUTDIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_unknown_profile_fails_synth_with_the_allowed_profiles(tmp_path):
    result = run_app(tmp_path, profile="prod")
    assert result.returncode != 0
    assert (
        "Invalid kit configuration: Unknown profile 'prod'. Allowed profiles: sandbox, production" in result.stderr
    )
    assert not (tmp_path / "manifest.json").exists()


def test_invalid_setting_fails_synth_naming_the_setting(tmp_path):
    result = run_app(tmp_path, **{"kit:log_retention_days": "8"})
    assert result.returncode != 0
    assert "kit:log_retention_days=8 is not allowed" in result.stderr


def test_app_synthesizes_with_both_profiles_through_the_validation_plugins(tmp_path):
    for profile in ("sandbox", "production"):
        outdir = tmp_path / profile
        result = run_app(outdir, profile=profile)
        assert result.returncode == 0, result.stderr
        assert (outdir / "RedshiftMlStack.template.json").exists()


def test_main_fails_synth_on_an_unacknowledged_finding(monkeypatch):
    """app.py registers the nag packs: an insecure construct added to the app stops synth."""

    def build_with_insecure_bucket(app):
        config = app_module.load_config(app.node.get_all_context())
        s3.Bucket(cdk.Stack(app, "InsecureStack"), "PlainBucket")
        return config

    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps(CDK_JSON_CONTEXT))
    monkeypatch.setattr(app_module, "build_app", build_with_insecure_bucket)
    with pytest.raises(Exception, match="ValidationFailed") as failure:
        app_module.main()
    assert "Acknowledge with 'AwsSolutions::AwsSolutions-S1'" in str(failure.value)
    assert "Acknowledge with 'NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled'" in str(failure.value)
