"""Each architecture copied as its docs page's "Reuse it in your app" table says, into an app whose
cdk.json names only the app, synthesizes with both cdk-nag packs and the CfnGuard validator (as app.py registers
them) without a finding, and gives the same resources as with this kit's cdk.json feature flags.

The table is the one source of what to copy: this test reads it, so a folder the construct needs and the table omits
fails here."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shutil
from functools import cache
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.common.config import load_settings
from tests.app_runs import APP_RUNS_GROUP, BATCH, AppRun, Prepared
from tests.background import in_background
from tests.construct_app import PROFILES, new_app
from tools.synthesis import PROJECT_ROOT

# Each architecture's page holds its row of what to copy.
PAGES = sorted((PROJECT_ROOT / "docs" / "architectures").glob("*.md"))
TABLE_ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| `(?P<construct>\w+)` \(`(?P<package>stacks/\w+)`\) \| (?P<take>.+) \|$", re.MULTILINE
)
PROVIDER_HANDLER = re.compile(r"^Custom\w+CustomResourceProviderHandler[0-9A-F]{8}$")
# What the docs' snippet (docs/copy.md) passes to each construct besides `settings`.
CONSTRUCT_ARGS = {"ModelQualityMonitor": {"endpoint_name": "my-endpoint"}}
APP = """\
import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import load_settings
from {module} import {construct}
from {settings_module} import {settings_class}

app = cdk.App()
settings = load_settings(app.node.get_all_context(), {settings_class})
cdk.Aspects.of(app).add(CdkManagedHelpers())
stack = cdk.Stack(app, "MyMlPlatform")
{construct}(stack, "Copied", settings=settings{args})
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app), CfnGuardValidator())
app.synth()
"""


def copy_table() -> dict[str, dict]:
    """Per construct: its package and the paths its page's table says to take (with `stacks/common/`)."""
    rows = {}
    for row in (row for page in PAGES for row in TABLE_ROW.finditer(page.read_text())):
        paths = [path for path in re.findall(r"`([^`]+)`", row["take"]) if "/" in path]
        rows[row["construct"]] = {"package": row["package"], "paths": ["stacks/common/", *paths]}
    return rows


ARCHITECTURES = copy_table()


def test_table_names_every_architecture():
    packages = {row["package"] for row in ARCHITECTURES.values()}
    assert packages == {
        f"stacks/{path.name}"
        for path in (PROJECT_ROOT / "stacks").iterdir()
        if path.is_dir() and path.name not in ("common", "__pycache__")
    }


def imported_architectures(path: Path) -> set[str]:
    """The architecture packages (stacks/<name>, not common) a module of stacks/<architecture>/ imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level in (0, 2):
            # In stacks/<architecture>/, `..x` is stacks.x; `from .. import x` and `from stacks import x` name x.
            base = "stacks." if node.level == 2 else ""
            if node.module and node.module != "stacks":
                modules = [base + node.module]
            else:
                modules = [f"stacks.{alias.name}" for alias in node.names]
        else:
            continue
        names |= {module.split(".")[1] for module in modules if module.startswith("stacks.")}
    return names - {"common"}


@pytest.mark.parametrize("package", sorted(row["package"] for row in ARCHITECTURES.values()))
def test_an_architecture_imports_no_other_architecture(package):
    """A copy carries stacks/common/ and its own package only: its settings and constructs import no other
    architecture's (app.py does the wiring between them)."""
    own = package.split("/")[1]
    for path in sorted((PROJECT_ROOT / package).glob("*.py")):
        assert imported_architectures(path) <= {own}, f"{path.name} imports {imported_architectures(path) - {own}}"


def test_the_import_check_sees_relative_and_absolute_imports(tmp_path):
    module = tmp_path / "settings.py"
    module.write_text(
        "from ..common.config import ConfigError\nfrom ..churn_model.settings import ChurnModelSettings\n"
        "from .. import model_quality\nimport stacks.redshift_ml.warehouse\nfrom stacks.common import tags\n"
    )
    assert imported_architectures(module) == {"churn_model", "model_quality", "redshift_ml"}


def construct_module(construct: str, package: str) -> str:
    for path in sorted((PROJECT_ROOT / package).glob("*.py")):
        if re.search(rf"^class {construct}\(", path.read_text(), re.MULTILINE):
            return f"{package.replace('/', '.')}.{path.stem}"
    raise AssertionError(f"{construct} is not defined in {package}")


def settings_class(package: str) -> str:
    """The architecture's settings class, in its package's settings.py."""
    found = re.search(
        r"^class (\w+)\(ArchitectureSettings\):", (PROJECT_ROOT / package / "settings.py").read_text(), re.M
    )
    assert found, f"{package}/settings.py defines no ArchitectureSettings"
    return found[1]


def copy_paths(paths: list[str], destination: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for path in paths:
        source = PROJECT_ROOT / path
        assert source.exists(), f"the docs' copy table names {path}, which does not exist"
        target = destination / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)


def app_runs_of(runs: list[tuple[Path, dict, Path]]) -> Prepared:
    """Each (app folder, cdk.json, output folder) as runs of the run's app batch (tests/app_runs.py), all in one
    process; their result is per run the app's stack template, or why synth failed."""
    for app_dir, cdk_json, _ in runs:
        (app_dir / "cdk.json").write_text(json.dumps(cdk_json))

    def finish(errors: list[str | None]) -> list[dict | str]:
        return [
            json.loads((out / "MyMlPlatform.template.json").read_text())
            if error is None
            else f"synth of {app_dir} failed with cdk.json {cdk_json}:\n{error}"
            for (app_dir, cdk_json, out), error in zip(runs, errors)
        ]

    return Prepared([AppRun(app_dir, cdk_json.get("context", {}), out) for app_dir, cdk_json, out in runs], finish)


def _grants(document: dict) -> list[tuple]:
    """A policy document as its sorted single grants, so `@aws-cdk/aws-iam:minimizePolicies` (which merges and
    sorts statements without changing what they allow) does not count as a difference."""

    def listed(value):
        return value if isinstance(value, list) else [value]

    grants = set()
    for statement in document["Statement"]:
        principal = statement.get("Principal")
        principals = (
            [json.dumps({kind: one}) for kind, values in principal.items() for one in listed(values)]
            if isinstance(principal, dict)
            else [json.dumps(principal)]
        )
        for action in listed(statement.get("Action", statement.get("NotAction"))):
            for resource in listed(statement.get("Resource", "-")):
                for who in principals:
                    grants.add(
                        (
                            statement["Effect"],
                            statement.get("Sid", ""),
                            who,
                            action,
                            json.dumps(resource, sort_keys=True),
                            json.dumps(statement.get("Condition"), sort_keys=True),
                        )
                    )
    return sorted(grants)


def resources(template: dict) -> dict:
    def normal(value):
        if isinstance(value, dict):
            if "Statement" in value and "Version" in value:
                return _grants(value)
            return {key: normal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [normal(item) for item in value]
        return value

    return {logical_id: normal(resource) for logical_id, resource in template["Resources"].items()}


def write_copy(app_dir: Path, construct: str) -> None:
    """The architecture copied into a new app folder, with the docs' snippet as its app.py."""
    row = ARCHITECTURES[construct]
    copy_paths(row["paths"], app_dir)
    args = "".join(f", {name}={value!r}" for name, value in CONSTRUCT_ARGS.get(construct, {}).items())
    (app_dir / "app.py").write_text(
        APP.format(
            module=construct_module(construct, row["package"]),
            construct=construct,
            settings_module=f"{row['package'].replace('/', '.')}.settings",
            settings_class=settings_class(row["package"]),
            args=args,
        )
    )


def prepare_copies(root: Path) -> Prepared:
    """Every architecture copied into an app of its own, to be synthesized with a bare cdk.json and with the kit's;
    per construct its two templates, or the error that stopped it."""
    kit_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    runs = []
    for construct in sorted(ARCHITECTURES):
        app_dir = root / construct / "app"
        write_copy(app_dir, construct)
        runs += [(app_dir, {"app": "python3 app.py"}, app_dir.parent / "bare")]
        runs += [(app_dir, kit_json, app_dir.parent / "kit")]
    prepared = app_runs_of(runs)

    def finish(errors: list[str | None]) -> dict[str, list[dict | str]]:
        templates = prepared.finish(errors)
        return {construct: templates[2 * i : 2 * i + 2] for i, construct in enumerate(sorted(ARCHITECTURES))}

    return Prepared(prepared.runs, finish)


BATCH.add("copies", prepare_copies)


def copy_and_synthesize(workdir: Path, construct: str) -> tuple[dict, dict]:
    """The construct's bare and kit templates; the first job of the group synthesizes every copy."""
    bare, kit = BATCH.result("copies")[construct]
    for template in (bare, kit):
        assert isinstance(template, dict), template
    return bare, kit


@pytest.mark.parametrize("construct", sorted(ARCHITECTURES))
@in_background(copy_and_synthesize, group=APP_RUNS_GROUP)
def test_copied_architecture_needs_no_feature_flags(construct, background_result):
    bare, kit = background_result
    assert_same_resources(bare, kit)


def assert_same_resources(bare: dict, kit: dict) -> None:
    bare_resources, kit_resources = resources(bare), resources(kit)
    assert sorted(bare_resources) == sorted(kit_resources), "the kit's feature flags add or remove resources"
    different = [logical_id for logical_id in bare_resources if bare_resources[logical_id] != kit_resources[logical_id]]
    assert not different, f"the kit's feature flags change {different}"


def construct_templates(profile: str, **flags: object) -> list[dict]:
    """Each architecture's construct in one app (one stack each), with the given feature flags."""
    app = new_app(profile=profile, **flags)
    stacks = []
    for construct, row in ARCHITECTURES.items():
        module = importlib.import_module(construct_module(construct, row["package"]))
        stack = cdk.Stack(app, f"{construct}Stack")
        kind = getattr(
            importlib.import_module(f"{row['package'].replace('/', '.')}.settings"), settings_class(row["package"])
        )
        settings = load_settings({"profile": profile}, kind)
        getattr(module, construct)(stack, construct, settings=settings, **CONSTRUCT_ARGS.get(construct, {}))
        stacks.append(stack)
    return [Template.from_stack(stack).to_json() for stack in stacks]


@cache
def _bare_templates(profile: str) -> str:
    """The constructs without the kit's flags, synthesized once per profile for this module's tests (as JSON, so
    no test can change another's copy)."""
    return json.dumps(construct_templates(profile))


@pytest.fixture(scope="module", params=PROFILES)
def bare_templates(request) -> list[dict]:
    return json.loads(_bare_templates(request.param))


@pytest.mark.parametrize("profile", PROFILES)
def test_the_kits_flags_change_no_resource_in_any_profile(profile):
    """The copy test above synthesizes the default profile; this compares every profile (no validation plugins)."""
    context = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    flags = {key: value for key, value in context.items() if key.startswith("@")}
    bare = json.loads(_bare_templates(profile))
    for bare_template, kit_template in zip(bare, construct_templates(profile, **flags)):
        assert_same_resources(bare_template, kit_template)


def test_every_vpc_restricts_its_default_security_group_without_the_flag(bare_templates):
    """Not left to `@aws-cdk/aws-ec2:restrictDefaultSecurityGroup`: the default group loses its allow-all rules."""
    for template in bare_templates:
        resources_ = template["Resources"]
        for logical_id, resource in resources_.items():
            if resource["Type"] == "AWS::EC2::VPC":
                default_group = {"Fn::GetAtt": [logical_id, "DefaultSecurityGroup"]}
                assert any(
                    other["Type"] == "Custom::VpcRestrictDefaultSG"
                    and other["Properties"].get("DefaultSecurityGroupId") == default_group
                    for other in resources_.values()
                ), f"{logical_id} keeps its default security group rules"


def test_every_function_logs_to_an_encrypted_group_without_the_flag(bare_templates):
    """Not left to `@aws-cdk/aws-lambda:useCdkManagedLogGroup` (the AwsCustomResource function included). The
    CustomResourceProvider handlers aws-cdk-lib writes as raw resources (`Custom<Kind>CustomResourceProviderHandler`)
    take no log group; CdkManagedHelpers acknowledges them."""
    for template in bare_templates:
        resources_ = template["Resources"]
        for logical_id, resource in resources_.items():
            properties = resource.get("Properties", {})
            if resource["Type"] != "AWS::Lambda::Function" or PROVIDER_HANDLER.search(logical_id):
                continue
            group = properties.get("LoggingConfig", {}).get("LogGroup")
            assert isinstance(group, dict) and "Ref" in group, f"{logical_id} logs to a group the app's flags decide"
            assert "KmsKeyId" in resources_[group["Ref"]]["Properties"], f"{logical_id} logs to an unencrypted group"


def test_every_access_log_target_grants_delivery_by_policy_without_the_flag(bare_templates):
    """Not left to `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`: no bucket uses an ACL (its ownership is
    BucketOwnerEnforced), and each logging bucket's target lets logging.s3.amazonaws.com put objects under its
    prefix, for that source bucket and account only."""
    for template in bare_templates:
        resources_ = template["Resources"]
        policies = {
            json.dumps(resource["Properties"]["Bucket"]): resource["Properties"]["PolicyDocument"]
            for resource in resources_.values()
            if resource["Type"] == "AWS::S3::BucketPolicy"
        }
        for logical_id, resource in resources_.items():
            if resource["Type"] != "AWS::S3::Bucket":
                continue
            properties = resource["Properties"]
            assert "AccessControl" not in properties, f"{logical_id} grants with an ACL"
            logging_ = properties.get("LoggingConfiguration")
            if not logging_:
                continue
            target = logging_["DestinationBucketName"]
            grants = _grants(policies[json.dumps(target)])
            assert (
                "Allow",
                "",
                json.dumps({"Service": "logging.s3.amazonaws.com"}),
                "s3:PutObject",
                json.dumps(
                    {"Fn::Join": ["", [{"Fn::GetAtt": [target["Ref"], "Arn"]}, f"/{logging_['LogFilePrefix']}*"]]},
                    sort_keys=True,
                ),
                json.dumps(
                    {
                        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [logical_id, "Arn"]}},
                        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                    },
                    sort_keys=True,
                ),
            ) in grants, f"{target['Ref']} does not let S3 deliver {logical_id}'s access logs"


def prepare_isolation_check(root: Path) -> Prepared:
    """Two apps that import `shared.helper`, which only the first one has."""
    app = 'import aws_cdk as cdk\nimport shared.helper\napp = cdk.App()\ncdk.Stack(app, "MyMlPlatform")\napp.synth()\n'
    first, second = root / "first" / "app", root / "second" / "app"
    for app_dir in (first, second):
        (app_dir / "shared").mkdir(parents=True)  # a namespace package, as stacks/ is
        (app_dir / "app.py").write_text(app)
    (first / "shared" / "helper.py").write_text("")
    return app_runs_of([(first, {}, root / "first" / "out"), (second, {}, root / "second" / "out")])


BATCH.add("isolation check", prepare_isolation_check)


def isolation_check(workdir: Path) -> list[dict | str]:
    return BATCH.result("isolation check")


@in_background(isolation_check, group=APP_RUNS_GROUP)
def test_each_copy_imports_only_its_own_files(background_result):
    """tests/app_runs.py runs every copy, and the kit's app.py runs, in one process: a module an earlier app imported
    must not stand in for a file a later app lacks, and the app receives the context and output folder the CLI would
    hand it."""
    bare, missing = background_result
    assert isinstance(bare, dict), bare
    assert isinstance(missing, str) and "No module named 'shared.helper'" in missing, missing
