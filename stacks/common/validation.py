"""The validation plugins `cdk synth` runs, and CfnGuard over only the Control Tower rules that can apply.

The CfnGuard plugin runs every bundled Control Tower rule file (237) over every template in one cfn-guard run. The
binary's cost grows with rule files times template size (about 12 ms per rule file per 80 kB template on this kit's
2-core machine), and most files are about resource types an app has none of: each such rule's queries select
`Resources.*[ Type == '<its type>' ]` (every bundled file is written that way), find nothing and SKIP. So
`TypeScopedCfnGuardValidator` passes the plugin the files that name none of the templates' resource types as
`disabledRules`: the plugin, the binary, the other rules and the report are the plugin's own, and so are the findings.
A rule file that names no resource type at all always runs.
"""

from __future__ import annotations

import json
import re
import tarfile
from functools import cache
from pathlib import Path

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from cdklabs.cdk_validator_cfnguard import _jsii as guard_bundle

# Where the plugin's jsii bundle keeps the rules it runs by default (its `controlTowerRulesEnabled`).
CONTROL_TOWER_RULES = "package/rules/control-tower/cfn-guard/"
RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")


def validation_plugins(app: cdk.App) -> list[cdk.IPolicyValidationPlugin | cdk.IPolicyValidationPluginBeta1]:
    """cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs and CfnGuard with its Control Tower rules, as app.py
    registers them (the synth benchmark's one-bucket app registers the same). aws-cdk-lib takes both plugin
    interfaces (the CfnGuard plugin has only the Beta1 one)."""
    return [AwsSolutionsChecks(app), NIST80053R5Checks(app), TypeScopedCfnGuardValidator()]


@cache
def control_tower_rule_types() -> dict[str, frozenset[str]]:
    """Each bundled Control Tower rule file, by the name `disabledRules` takes ('ct-s3-pr-1'), with the resource
    types its rules name (comments left out: their 'Reports on' lines are prose and sometimes misspell a type)."""
    bundle = next(Path(str(guard_bundle.__file__)).parent.glob("*.jsii.tgz"))
    rules = {}
    with tarfile.open(bundle) as archive:
        for member in archive:
            if member.name.startswith(CONTROL_TOWER_RULES) and member.name.endswith(".guard"):
                file = archive.extractfile(member)
                assert file is not None, member.name
                code = "\n".join(
                    line for line in file.read().decode().splitlines() if not line.lstrip().startswith("#")
                )
                rules[Path(member.name).stem] = frozenset(RESOURCE_TYPE.findall(code))
    if not rules:
        raise RuntimeError(f"No Control Tower rules under {CONTROL_TOWER_RULES} in {bundle}: plugin layout changed")
    return rules


def resource_types(template_paths: list[str]) -> set[str]:
    """Every resource type the templates declare."""
    types: set[str] = set()
    for path in template_paths:
        resources = json.loads(Path(path).read_text()).get("Resources", {})
        types.update(resource["Type"] for resource in resources.values())
    return types


def rules_without_resources(types: set[str]) -> list[str]:
    """The Control Tower rule files that name resource types and none of `types`: they can only SKIP."""
    return sorted(rule for rule, named in control_tower_rule_types().items() if named and not named & types)


@jsii.implements(cdk.IPolicyValidationPluginBeta1)
class TypeScopedCfnGuardValidator:
    """`CfnGuardValidator()` with the rule files about resource types the templates lack turned off per synth.

    Same plugin name (acknowledgments read 'cdk-validator-cfnguard::<rule>'), same binary, same report."""

    def __init__(self) -> None:
        self._plugin = CfnGuardValidator()

    @property
    def name(self) -> str:
        return self._plugin.name

    @property
    def version(self) -> str | None:
        return self._plugin.version

    @property
    def rule_ids(self) -> list[str] | None:
        return self._plugin.rule_ids

    def validate(self, context: cdk.IPolicyValidationContextBeta1) -> cdk.PolicyValidationPluginReportBeta1:
        disabled = rules_without_resources(resource_types(context.template_paths))
        return CfnGuardValidator(disabled_rules=disabled).validate(context)
