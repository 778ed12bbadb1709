import json
import os
import subprocess
import sys

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
        assert json.loads((outdir / "validation-report.json").read_text())["title"] == "Validation Report"
