"""The security gates as functions tests call: cdk-nag packs, the CfnGuard validator, checkov and cfn-lint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cfnlint.api import lint_all

from stacks.common.validation import TypeScopedCfnGuardValidator

NAG_PACKS = (AwsSolutionsChecks, NIST80053R5Checks)


def nag_findings(scope: cdk.App) -> list[str]:
    """Every unacknowledged finding of both packs, as 'rule: construct path'."""
    findings = []
    for pack in NAG_PACKS:
        for violation in pack().validate_scope(scope).violations:
            for resource in violation.violating_resources:
                findings.append(f"{violation.rule_name}: {resource.construct_path}")
    return sorted(findings)


@jsii.implements(cdk.IPolicyValidationContextBeta1)
class _TemplatesContext:
    def __init__(self, paths: list[str]) -> None:
        self._paths = paths

    @property
    def template_paths(self) -> list[str]:
        return self._paths


def guard_findings(assembly_dir: str | Path) -> list[str]:
    """Every CfnGuard finding (bundled Control Tower rules, run as app.py runs them) not acknowledged on its construct
    or an ancestor, as 'rule: construct path'. aws-cdk-lib applies the same acknowledgments (recorded in the assembly's
    metadata as '<plugin>::<rule>') when app.py registers the plugin."""
    directory = Path(assembly_dir)
    paths, acknowledged = {}, {}
    for metadata_file in directory.glob("*.metadata.json"):
        template = metadata_file.name.replace(".metadata.json", ".template.json")
        for construct_path, entries in json.loads(metadata_file.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:logicalId":
                    paths[(template, entry["data"])] = construct_path.lstrip("/")
                elif entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule in entry["data"]:
                        acknowledged.setdefault(rule, []).append(construct_path.lstrip("/"))
    plugin = TypeScopedCfnGuardValidator()
    try:
        report = plugin.validate(_TemplatesContext([str(t) for t in templates(directory)]))
    except (jsii.errors.JavaScriptError, RuntimeError) as error:
        # The plugin cannot name the resource of some findings (a rule's CloudFormation-hook form); the report then
        # does not cross into Python. app.py's synth still reports them, in cdk.out/validation-report.json.
        return [f"CfnGuard reported a finding it could not attribute to a resource; run make synth: {error}"[:500]]
    findings = []
    for violation in report.violations:
        for resource in violation.violating_resources:
            construct_path = paths.get((Path(resource.template_path).name, resource.resource_logical_id), "")
            covered = acknowledged.get(f"{plugin.name}::{violation.rule_name}", [])
            if not any(construct_path == p or construct_path.startswith(p + "/") for p in covered):
                findings.append(f"{violation.rule_name}: {construct_path or resource.resource_logical_id}")
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
            "--directory",
            str(assembly_dir),
            "--framework",
            "cloudformation",
            "--output",
            "json",
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
