"""The security gates as functions tests call: cdk-nag packs, checkov and cfn-lint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cfnlint.api import lint_all

NAG_PACKS = (AwsSolutionsChecks, NIST80053R5Checks)


def nag_findings(scope: cdk.App) -> list[str]:
    """Every unacknowledged finding of both packs, as 'rule: construct path'."""
    findings = []
    for pack in NAG_PACKS:
        for violation in pack().validate_scope(scope).violations:
            for resource in violation.violating_resources:
                findings.append(f"{violation.rule_name}: {resource.construct_path}")
    return sorted(findings)


def templates(assembly_dir: str | Path) -> list[Path]:
    return sorted(Path(assembly_dir).glob("*.template.json"))


# W3005 flags a DependsOn that a Ref or GetAtt already implies. aws-cdk-lib writes such DependsOn itself
# (every Lambda function on its role's policy, for example); the redundancy is harmless and not the kit's.
CFN_LINT_IGNORED = {"W3005"}


def cfn_lint_findings(template: Path) -> list[str]:
    """cfn-lint errors and warnings, except CFN_LINT_IGNORED."""
    matches = lint_all(template.read_text())
    return [
        f"{m.rule.id} {m.message} ({template.name}:{m.linenumber})"
        for m in matches
        if m.rule.id[0] in "EW" and m.rule.id not in CFN_LINT_IGNORED
    ]


# checkov pins an old boto3, so `make setup` installs it in an environment of its own (requirements-checkov.txt).
CHECKOV = Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"


def checkov_failures(assembly_dir: str | Path) -> list[str]:
    """Failed checkov CloudFormation checks; skips recorded in resource metadata are honoured."""
    if not CHECKOV.is_file():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make setup`.")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory", str(assembly_dir),
            "--framework", "cloudformation",
            "--output", "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov did not run: {result.stderr[-2000:]}")
    reports = json.loads(result.stdout or "[]")
    if isinstance(reports, dict):
        reports = [reports]
    failures = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            failures.append(f"{check['check_id']} {check['resource']} ({Path(check['file_path']).name})")
    return sorted(failures)
