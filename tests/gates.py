"""The security gates as functions tests call: cdk-nag packs, the CfnGuard validator, checkov and cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cfnlint.helpers import REGIONS

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
class TemplatesContext:
    """The template paths a validation plugin reads, as aws-cdk-lib hands them to it at synth."""

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
        report = plugin.validate(TemplatesContext([str(t) for t in templates(directory)]))
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
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def cfn_lint_findings(template_paths: list[Path]) -> dict[Path, list[str]]:
    """cfn-lint errors and warnings per template, except CFN_LINT_IGNORED: one CLI run over every template (a run
    loads the rules and schemas once: 2-3 s), configured as `cfnlint.api.lint_all` (all regions, informational and
    experimental rules)."""
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", *REGIONS, "--include-checks", "I", "--include-experimental"]
        + ["--", *map(str, template_paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    # The exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a failed run.
    if result.returncode & 1 or not result.stdout.strip():
        raise RuntimeError(f"cfn-lint did not run ({result.returncode}): {result.stderr[-2000:]}")
    findings: dict[Path, list[str]] = {path: [] for path in template_paths}
    by_name = {str(path): path for path in template_paths}
    for match in json.loads(result.stdout):
        rule = match["Rule"]["Id"]
        if rule[0] in "EW" and rule not in CFN_LINT_IGNORED:
            path = by_name[match["Filename"]]
            line = match["Location"]["Start"]["LineNumber"]
            findings[path].append(f"{rule} {match['Message']} ({path.name}:{line})")
    return findings


# checkov pins an old boto3, so `make setup` installs it in an environment of its own (requirements-checkov.txt).
CHECKOV = Path(__file__).resolve().parents[1] / ".venv-checkov" / "bin" / "checkov"


def checkov_failures(assembly_dirs: dict[str, Path]) -> dict[str, list[str]]:
    """Failed checkov CloudFormation checks per named assembly folder, from one run over all of them (a run costs
    ~2 s to start); skips recorded in resource metadata are honoured.

    checkov 3.3's repeated `--directory` reports the first folder again for each further one, so the run reads one
    root that links each folder's files under its name."""
    if not CHECKOV.is_file():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make setup`.")
    with tempfile.TemporaryDirectory(prefix="checkov-") as root:
        for name, folder in assembly_dirs.items():
            for file in Path(folder).rglob("*"):
                if file.is_file():
                    link = Path(root, name, file.relative_to(folder))
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(file.resolve())
        result = subprocess.run(
            [str(CHECKOV), "--directory", root, "--framework", "cloudformation", "--output", "json", "--quiet"]
            + ["--skip-download"],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov did not run: {result.stderr[-2000:]}")
    reports = json.loads(result.stdout or "[]")
    if isinstance(reports, dict):
        reports = [reports]
    failures: dict[str, list[str]] = {name: [] for name in assembly_dirs}
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            # file_path is relative to the root: /<name>/<file>
            name, file_name = Path(check["file_path"]).parts[1], Path(check["file_path"]).name
            failures[name].append(f"{check['check_id']} {check['resource']} ({file_name})")
    return {name: sorted(found) for name, found in failures.items()}


@dataclass
class Scanned:
    templates: list[str]  # the file names cfn-lint read in the folder
    cfn_lint: list[str]
    checkov: list[str]


class TemplateScan:
    """cfn-lint and checkov, each run once over every assembly folder the run's tests ask for, in the background lane
    (tests/background.py): the main thread provides the folders after collection, the first job scans them all."""

    def __init__(self) -> None:
        self._folders: dict[str, Path] = {}
        self._provided = threading.Event()
        self._lock = threading.Lock()
        self._results: dict[str, Scanned] | None = None

    def provide(self, folders: dict[str, Path]) -> None:
        self._folders = {name: Path(folder) for name, folder in folders.items()}
        self._provided.set()

    def results(self) -> dict[str, Scanned]:
        if not self._provided.wait(timeout=600):
            raise RuntimeError("no assembly folders were provided to scan")
        with self._lock:
            if self._results is None:
                lint = cfn_lint_findings([t for folder in self._folders.values() for t in templates(folder)])
                checkov = checkov_failures(self._folders)
                self._results = {
                    name: Scanned(
                        templates=[t.name for t in templates(folder)],
                        cfn_lint=[f for t in templates(folder) for f in lint[t]],
                        checkov=checkov[name],
                    )
                    for name, folder in self._folders.items()
                }
            return self._results


SCAN = TemplateScan()
# The lane group of every ScanJob: the scan is per process, so one lane must take all of them (tests/background.py).
SCAN_GROUP = "template-scan"


@dataclass(frozen=True)
class ScanJob:
    """A background job that returns the session scan's findings for the folder `folder_name(**test parameters)`
    names; tests/conftest.py reads `folder_name` to know which folders to synthesize and provide."""

    folder_name: Callable[..., str]

    def __call__(self, workdir: Path, **params: object) -> Scanned:
        return SCAN.results()[self.folder_name(**params)]
