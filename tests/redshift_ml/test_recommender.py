import ipaddress
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from stacks.common.config import ConfigError, load_settings
from stacks.redshift_ml.settings import RedshiftMlSettings
from stacks.common.encryption import DataKey
from stacks.common.image_registries import load_registries
from stacks.common.storage import AccessLogsBucket, SecureBucket
from stacks.redshift_ml import RedshiftMlRecommender
from tests.construct_app import new_app
from tests.gates import cfn_lint_findings, guard_findings, nag_findings, templates

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas" / "redshift_sql"))
import lifecycle  # noqa: E402


def resources(template, kind):
    return list(template.find_resources(kind).values())


def test_namespace_is_encrypted_audited_and_has_no_password_in_the_template(template):
    template, _ = template
    (namespace,) = resources(template, "AWS::RedshiftServerless::Namespace")
    props = namespace["Properties"]
    assert props["ManageAdminPassword"] is True and "AdminUserPassword" not in props
    assert "KmsKeyId" in props and "AdminPasswordSecretKmsKeyId" in props
    assert props["LogExports"] == ["userlog", "connectionlog", "useractivitylog"]
    assert props["DefaultIamRoleArn"] == props["IamRoles"][0]


def test_every_exported_audit_log_has_an_expiring_encrypted_group_made_before_the_namespace(template):
    """Redshift Serverless writes each exported log to /aws/redshift/<namespace>/<log type>, creating a group that
    never expires unless one exists: the kit's groups exist first (the namespace depends on them), kept or destroyed
    with the namespace."""
    template, _ = template
    ((namespace_id, namespace),) = template.find_resources("AWS::RedshiftServerless::Namespace").items()
    groups = {
        logical_id: body
        for logical_id, body in template.find_resources("AWS::Logs::LogGroup").items()
        if str(body["Properties"].get("LogGroupName", "")).startswith("/aws/redshift/")
    }
    name = namespace["Properties"]["NamespaceName"]
    expected = {f"/aws/redshift/{name}/{log_type}" for log_type in namespace["Properties"]["LogExports"]}
    assert {body["Properties"]["LogGroupName"] for body in groups.values()} == expected
    for logical_id, body in groups.items():
        assert "KmsKeyId" in body["Properties"] and body["Properties"]["RetentionInDays"] > 0
        assert body["DeletionPolicy"] == namespace.get("DeletionPolicy", "Delete")
        assert logical_id in namespace.get("DependsOn", [])


def test_workgroup_is_private_with_profile_capacity_and_routing(template):
    template, config = template
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    props = workgroup["Properties"]
    assert props["PubliclyAccessible"] is False
    assert props["BaseCapacity"] == config.redshift_base_capacity
    assert props["MaxCapacity"] == config.redshift_max_capacity > config.redshift_base_capacity
    assert props["EnhancedVpcRouting"] is config.redshift_enhanced_vpc_routing
    assert len(props["SubnetIds"]) == 3
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in props["ConfigParameters"]


def test_production_sets_a_daily_usage_limit():
    assert RedshiftMlSettings.for_profile("production").redshift_daily_rpu_hours > 0


def test_usage_limit_only_where_the_profile_sets_one(template):
    template, config = template
    limits = [
        r
        for r in resources(template, "Custom::AWS")
        if "createUsageLimit" in json.dumps(r["Properties"].get("Create", ""))
    ]
    assert len(limits) == (1 if config.redshift_daily_rpu_hours else 0)
    if limits:
        text = json.dumps(limits[0]["Properties"]["Create"])
        assert f'\\"amount\\":{config.redshift_daily_rpu_hours}' in text and "deactivate" in text


def test_network_has_no_nat_gateway_and_an_s3_gateway_endpoint(template):
    template, _ = template
    assert resources(template, "AWS::EC2::NatGateway") == []
    assert resources(template, "AWS::EC2::InternetGateway") == []
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})


def test_ml_role_trusts_redshift_serverless_redshift_and_sagemaker_and_scopes_jobs_to_redshift_names(template):
    template, _ = template
    roles = [r for r in resources(template, "AWS::IAM::Role") if "redshift.amazonaws.com" in json.dumps(r)]
    (role,) = roles
    # One statement per service, or one listing both where the app merges statements (@aws-cdk/aws-iam:minimizePolicies).
    principals = [
        service
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for service in (
            [statement["Principal"]["Service"]]
            if isinstance(statement["Principal"]["Service"], str)
            else statement["Principal"]["Service"]
        )
    ]
    assert sorted(principals) == [
        "redshift-serverless.amazonaws.com",
        "redshift.amazonaws.com",
        "sagemaker.amazonaws.com",
    ]
    policies = json.dumps(
        [p for p in resources(template, "AWS::IAM::Policy") if "SageMakerJobsNamedRedshift" in json.dumps(p)]
    )
    assert "training-job/*redshift*" in policies and '"sagemaker:*"' not in policies


def test_nothing_uses_managed_full_access_or_star_actions_on_star(template):
    template, _ = template
    text = json.dumps(template.to_json())
    assert "FullAccess" not in text
    for policy in resources(template, "AWS::IAM::Policy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not ("*" in actions and statement["Resource"] == "*")


def test_state_machine_polls_fails_with_a_reason_and_promotes_only_if_at_least_as_good(template):
    template, _ = template
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine")
    definition = json.loads(
        "".join(p if isinstance(p, str) else "0" for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1])
    )
    states = definition["States"]
    assert states["WaitForTraining"]["Next"] == "CheckTraining"
    assert states["CheckTraining"]["Next"] == "TrainingState"
    choices = states["TrainingState"]["Choices"]
    assert {"Variable": "$.training.state", "StringEquals": "READY", "Next": "Evaluate"} in choices
    assert {"Variable": "$.training.state", "StringEquals": "FAILED", "Next": "DescribeFailure"} in choices
    assert states["TrainingState"]["Default"] == "WaitForTraining"
    assert states["DescribeFailure"]["Next"] == "NotifyTrainingFailed"
    assert states["NotifyTrainingFailed"]["Next"] == "TrainingFailed" and states["TrainingFailed"]["Type"] == "Fail"
    rule = states["AtLeastAsGood"]
    assert rule["Choices"][0] == {"Variable": "$.evaluation.serving", "IsPresent": False, "Next": "Promote"}
    assert rule["Choices"][1] == {
        "Variable": "$.evaluation.candidate.precision_at_k",
        "NumericGreaterThanEqualsPath": "$.evaluation.serving.precision_at_k",
        "Next": "Promote",
    }
    assert rule["Default"] == "Reject"
    for name in ("StartTraining", "CheckExport", "CheckTraining", "DescribeFailure", "Evaluate", "Promote", "Reject"):
        assert states[name]["Catch"][0]["Next"] == "NotifyFailure"
    # After Cleanup fails, the notice says which model serves: the promoted one, or the unchanged one after Reject.
    assert states["Cleanup"]["Catch"][0]["Next"] == "CleanupFailedAfter"
    after = states["CleanupFailedAfter"]
    assert after["Choices"] == [{"Variable": "$.promotion", "IsPresent": True, "Next": "NotifyCleanupFailed"}]
    assert after["Default"] == "NotifyFailure"
    assert "unchanged" in states["NotifyFailure"]["Parameters"]["Message.$"]
    assert "was promoted" in states["NotifyCleanupFailed"]["Parameters"]["Message.$"]
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def state_machine_definition(template):
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine")
    return machine, json.loads(
        "".join(p if isinstance(p, str) else "0" for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1])
    )


def test_every_notification_ends_failed_when_it_cannot_be_published(template):
    """A Notify state without a Catch loses the failure it reports when SNS refuses the publish."""
    template, _ = template
    _, definition = state_machine_definition(template)
    states = definition["States"]
    publishing = {
        name: state
        for name, state in states.items()
        if state["Type"] == "Task" and "sns:publish" in json.dumps(state.get("Resource", ""))
    }
    assert len(publishing) >= 4
    for name, state in publishing.items():
        catches = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catches, f"{name} has no Catch"
        assert states[catches[0]["Next"]]["Type"] == "Fail", name


def test_the_role_that_publishes_can_use_the_topics_key(template):
    """Publishing to an SSE-KMS topic needs kms:GenerateDataKey* and kms:Decrypt on its key, not just sns:Publish."""
    template, _ = template
    machine, _ = state_machine_definition(template)
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    for topic_id, topic in template.find_resources("AWS::SNS::Topic").items():
        key = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in resources(template, "AWS::IAM::Policy")
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

        def allowed(action, resource, statements=statements):
            return any(
                action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                and resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
                for s in statements
            )

        assert allowed("sns:Publish", {"Ref": topic_id})
        for action in ("kms:GenerateDataKey*", "kms:Decrypt"):
            assert allowed(action, {"Fn::GetAtt": [key, "Arn"]}), action


def test_schedule_is_weekly_and_enabled_only_by_the_profile(template):
    template, config = template
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0 3 ? * SUN *)",
            "State": "ENABLED" if config.common.schedules_enabled else "DISABLED",
        },
    )


def test_notifications_are_encrypted(template):
    template, _ = template
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_sample_data_is_loaded_only_where_the_profile_asks(template):
    template, config = template
    (bootstrap,) = resources(template, "Custom::RedshiftBootstrap")
    assert ("SampleData" in bootstrap["Properties"]) is config.redshift_sample_data
    if config.redshift_sample_data:
        assert bootstrap["Properties"]["SampleData"]["Overwrite"] == "false"


def test_the_bootstrap_re_runs_when_the_sql_or_its_code_changes(tmp_path, monkeypatch):
    """CloudFormation updates a custom resource only when its properties change: the bootstrap's properties carry a
    hash of every SQL file and handler it runs, so a changed 02_features.sql re-runs it on the next deploy."""
    from stacks.redshift_ml import database_bootstrap

    root = Path(__file__).resolve().parents[2]
    for folder in (database_bootstrap.SQL_DIR, database_bootstrap.HANDLER_DIR):
        (tmp_path / folder).mkdir(parents=True)
        for path in (root / folder).iterdir():
            if path.is_file():
                (tmp_path / folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(database_bootstrap, "PROJECT_ROOT", tmp_path)
    before = database_bootstrap.bootstrap_sql_hash()
    assert database_bootstrap.bootstrap_sql_hash() == before
    features = tmp_path / database_bootstrap.SQL_DIR / "02_features.sql"
    features.write_text(features.read_text() + "-- one more line\n")
    changed_sql = database_bootstrap.bootstrap_sql_hash()
    handler = tmp_path / database_bootstrap.HANDLER_DIR / "bootstrap.py"
    handler.write_text(handler.read_text() + "# one more line\n")
    assert len({before, changed_sql, database_bootstrap.bootstrap_sql_hash()}) == 3


def test_the_bootstraps_properties_carry_the_sql_hash(template):
    from stacks.redshift_ml.database_bootstrap import bootstrap_sql_hash

    template, _ = template
    (bootstrap,) = resources(template, "Custom::RedshiftBootstrap")
    assert bootstrap["Properties"]["SqlHash"] == bootstrap_sql_hash()


def test_an_existing_vpc_is_used_instead_of_a_new_one():
    app = new_app()
    stack = cdk.Stack(app, "Stack")
    vpc = cdk.aws_ec2.Vpc(
        stack, "ExistingVpc", availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"], nat_gateways=1
    )
    RedshiftMlRecommender(stack, "Recommender", settings=RedshiftMlSettings.for_profile("production"), vpc=vpc)
    template = Template.from_stack(stack)
    assert len(template.find_resources("AWS::EC2::VPC")) == 1
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    private = [stack.resolve(subnet.subnet_id) for subnet in vpc.private_subnets]
    assert workgroup["Properties"]["SubnetIds"] == private
    (group,) = [
        g
        for g in resources(template, "AWS::EC2::SecurityGroup")
        if g["Properties"]["GroupDescription"] == "Redshift Serverless workgroup"
    ]
    assert "SecurityGroupIngress" not in group["Properties"]
    template.resource_count_is("AWS::EC2::VPCEndpoint", 2)  # SageMaker API and runtime, for enhanced routing


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"schema": "Job-Match"}, "schema='Job-Match' is not allowed"),
        ({"model_prefix": "x" * 40}, "the lifecycle derives 'predict_x{40}_v99999999999999' from it"),
        ({"top_k": 0}, "top_k=0 is not allowed: use a whole number from 1 to 1000"),
        (
            {"max_runtime": cdk.Duration.minutes(20)},
            "max_runtime_seconds=1200 is not allowed: use a whole number from 1800 to 2592000",
        ),
    ],
)
def test_bad_settings_fail_synth_with_a_clear_message(settings, message):
    stack = cdk.Stack(new_app(), "Stack")
    with pytest.raises(ValueError, match=message):
        RedshiftMlRecommender(stack, "Recommender", settings=RedshiftMlSettings.for_profile(), **settings)


def test_the_longest_allowed_model_prefix_passes_the_lifecycles_own_checks():
    """Synth accepts 39 characters; the lifecycle must then accept every name it derives from them."""
    prefix = "x" * 39
    RedshiftMlRecommender(
        cdk.Stack(new_app(), "Stack"), "Recommender", settings=RedshiftMlSettings.for_profile(), model_prefix=prefix
    )
    settings = lifecycle.Settings(
        {
            "SCHEMA": "jobmatch",
            "MODEL_PREFIX": prefix,
            "ANALYST_ROLE": "analyst",
            "ML_ROLE": "ml_developer",
            "MODEL_BUCKET": "ml-bucket",
            "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
            "MAX_RUNTIME_SECONDS": "5400",
            "TOP_K": "10",
            "VERSIONS_KEPT": "3",
        }
    )

    class Runner:
        def query(self, sql, parameters=None):
            return [{"training_rows": 1000}] if "COUNT(*)" in sql else []

        def run(self, sql, parameters=None):
            return {}

        def submit(self, sql, parameters=None):
            return "statement-1"

    latest = datetime(2999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    result = lifecycle.start_training(Runner(), settings, {}, now=lambda: latest)
    assert len(result["function_name"]) == 63


def test_production_ml_role_may_manage_network_interfaces_for_enhanced_vpc_routing(template):
    """Redshift ML setup page: with enhanced VPC routing the role creates and deletes ENIs for its compilation tasks."""
    template, config = template
    statements = [
        s for p in resources(template, "AWS::IAM::Policy") for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    granted = {
        a
        for s in statements
        if s.get("Sid", "").startswith("EnhancedVpcRouting")
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    needed = {
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
    assert granted == (needed if config.redshift_enhanced_vpc_routing else set())
    for statement in statements:
        if statement.get("Sid") == "EnhancedVpcRoutingNetworkInterfaces":
            assert "*" not in statement["Resource"]


def test_bring_your_own_model_from_the_churn_pipeline_is_granted_its_jobs_bucket_and_key():
    app = new_app()
    config = RedshiftMlSettings.for_profile()
    stack = cdk.Stack(app, "Stack")
    churn_key = DataKey(stack, "ChurnKey", common=config.common, description="churn")
    churn_bucket = SecureBucket(
        stack,
        "ChurnArtifacts",
        common=config.common,
        encryption_key=churn_key,
        access_logs_bucket=AccessLogsBucket(stack, "Logs", common=config.common),
    )
    recommender = RedshiftMlRecommender(stack, "Recommender", settings=config)
    recommender.add_model_source(
        training_jobs="pipelines-*", artifacts_bucket=churn_bucket, artifacts_prefix="runs/", artifacts_key=churn_key
    )
    template = Template.from_stack(stack)
    role_id = stack.get_logical_id(recommender.role.node.default_child)
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    text = json.dumps(statements)
    bucket_id = stack.get_logical_id(churn_bucket.node.default_child)
    key_id = stack.get_logical_id(churn_key.node.default_child)
    assert any(
        s["Action"] == "sagemaker:DescribeTrainingJob" and "training-job/pipelines-*" in json.dumps(s["Resource"])
        for s in statements
    )
    reads = [s for s in statements if "s3:GetObject*" in s["Action"] and bucket_id in json.dumps(s["Resource"])]
    assert reads and '"/runs/*"' in json.dumps(reads)
    assert any("kms:Decrypt" in s["Action"] and s["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]} for s in statements)
    assert "s3:PutObject" not in json.dumps(reads) and key_id in text
    assert [f for f in nag_findings(app) if "RedshiftMlRole" in f] == []


def _subnets(zones: str) -> list[dict]:
    stack = cdk.Stack(new_app(), "Stack")
    config = load_settings({"kit:redshift_availability_zones": zones} if zones else {}, RedshiftMlSettings)
    RedshiftMlRecommender(stack, "Recommender", settings=config)
    return [s["Properties"] for s in Template.from_stack(stack).find_resources("AWS::EC2::Subnet").values()]


def test_the_new_vpc_uses_the_configured_availability_zone_ids_in_any_order():
    """AZ IDs name the same zones in every account; names do not. The subnets take the IDs themselves."""
    subnets = _subnets("use1-az6,use1-az1,use1-az4")
    assert [s["AvailabilityZoneId"] for s in subnets] == ["use1-az1", "use1-az4", "use1-az6"]
    assert not any("AvailabilityZone" in s for s in subnets)
    assert subnets == _subnets("use1-az4,use1-az6,use1-az1"), "the same zones in another order: no change"


def test_each_set_of_zones_puts_its_subnets_on_cidrs_of_its_own():
    """A changed zone replaces the subnet, and CloudFormation creates the new one before deleting the old: on the old
    CIDR it would conflict (AWS::EC2::Subnet AvailabilityZone: 'you must also update the CidrBlock property')."""
    default = {s["CidrBlock"] for s in _subnets("")}
    assert default == {"10.40.0.0/24", "10.40.1.0/24", "10.40.2.0/24"}, "existing deployments keep their subnets"
    first = {s["CidrBlock"] for s in _subnets("use1-az1,use1-az2,use1-az4")}
    second = {s["CidrBlock"] for s in _subnets("use1-az1,use1-az2,use1-az6")}
    assert len(first) == len(second) == 3
    assert not first & default and not second & default and not first & second
    vpc = ipaddress.ip_network("10.40.0.0/16")
    assert all(ipaddress.ip_network(cidr).subnet_of(vpc) for cidr in first | second)


def test_fewer_than_three_availability_zones_fail_synth_with_a_clear_message():
    with pytest.raises(ConfigError, match="at least 3 distinct Availability Zone IDs"):
        load_settings({"kit:redshift_availability_zones": "usw1-az1,usw1-az3"}, RedshiftMlSettings)
    stack = cdk.Stack(new_app(), "Stack")
    two_zones = cdk.aws_ec2.Vpc(stack, "TwoZoneVpc", availability_zones=["us-west-1a", "us-west-1c"], nat_gateways=1)
    with pytest.raises(ValueError, match=r"span 2 Availability Zone\(s\) \(2 subnet\(s\)\); .* at least 3 AZs"):
        RedshiftMlRecommender(stack, "Recommender", settings=RedshiftMlSettings.for_profile(), vpc=two_zones)
    stack = cdk.Stack(new_app(), "Stack")
    vpc = cdk.aws_ec2.Vpc(stack, "Vpc", availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"], nat_gateways=1)
    same_zone = cdk.aws_ec2.SubnetSelection(subnets=[vpc.private_subnets[0]] * 2 + [vpc.private_subnets[1]])
    with pytest.raises(ValueError, match=r"span 2 Availability Zone"):
        RedshiftMlRecommender(
            stack, "Recommender", settings=RedshiftMlSettings.for_profile(), vpc=vpc, vpc_subnets=same_zone
        )


def test_three_subnets_in_two_zones_fail_synth_in_us_west_1_too():
    """The kit's check is three AZs in every region; it has no separate rule for US West (N. California)."""
    stack = cdk.Stack(new_app(), "Stack", env=cdk.Environment(account="123456789012", region="us-west-1"))
    vpc = cdk.aws_ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["us-west-1a", "us-west-1c"],
        nat_gateways=0,
        subnet_configuration=[
            cdk.aws_ec2.SubnetConfiguration(name=name, subnet_type=cdk.aws_ec2.SubnetType.PRIVATE_ISOLATED)
            for name in ("One", "Two")
        ],
    )
    three = cdk.aws_ec2.SubnetSelection(subnets=vpc.isolated_subnets[:3])
    with pytest.raises(ValueError, match=r"span 2 Availability Zone\(s\) \(3 subnet\(s\)\)"):
        RedshiftMlRecommender(
            stack, "Recommender", settings=RedshiftMlSettings.for_profile(), vpc=vpc, vpc_subnets=three
        )


RETAINED = ("Retain", "RetainExceptOnCreate")


def references(value) -> set[str]:
    """Logical ids `value` takes a Ref, Fn::GetAtt or Fn::Sub variable of."""
    if isinstance(value, list):
        return set().union(*(references(item) for item in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "Ref":
            found.add(item)
        elif key == "Fn::GetAtt":
            found.add(item[0])
        elif key == "Fn::Sub":
            text = item[0] if isinstance(item, list) else item
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            found |= references(item[1:] if isinstance(item, list) else [])
        else:
            found |= references(item)
    return found


def test_what_the_stack_retains_keeps_what_it_needs_and_holds_nothing_the_stack_deletes(template):
    """Destroy and rollback finish: a retained resource that references a deleted one (a workgroup in deleted
    subnets) blocks their deletion, and one whose role is deleted is left naming a role that is gone."""
    template, config = template
    resources_by_id = template.to_json()["Resources"]
    for logical_id, resource in resources_by_id.items():
        if resource.get("DeletionPolicy") not in RETAINED:
            continue
        deleted = sorted(
            ref
            for ref in references(resource.get("Properties", {}))
            if ref in resources_by_id and resources_by_id[ref].get("DeletionPolicy") not in RETAINED
        )
        assert not deleted, f"retained {logical_id} references {deleted}, which the stack deletes"
        if resource["Type"] == "AWS::IAM::Role":
            policies = [
                policy
                for policy in resources_by_id.values()
                if policy["Type"] == "AWS::IAM::Policy" and {"Ref": logical_id} in policy["Properties"]["Roles"]
            ]
            assert policies and all(p.get("DeletionPolicy") in RETAINED for p in policies), logical_id
    (namespace,) = resources(template, "AWS::RedshiftServerless::Namespace")
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    # A failed first create deletes the (empty) namespace, or its name would block the retry.
    assert namespace.get("DeletionPolicy") == ("RetainExceptOnCreate" if config.common.retain_data else "Delete")
    assert workgroup["DeletionPolicy"] == "Delete", "compute: it holds no data, and its interfaces sit in the VPC"


def test_each_notification_email_subscribes_to_the_topic():
    stack = cdk.Stack(new_app(), "Stack")
    config = load_settings(
        {"kit:redshift_notification_emails": "ml-team@example.com, oncall@example.com"}, RedshiftMlSettings
    )
    RedshiftMlRecommender(stack, "Recommender", settings=config)
    for address in ("ml-team@example.com", "oncall@example.com"):
        Template.from_stack(stack).has_resource_properties(
            "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": address, "TopicArn": Match.any_value()}
        )
    with pytest.raises(ConfigError, match="is not an e-mail address"):
        load_settings({"kit:redshift_notification_emails": "ml-team"}, RedshiftMlSettings)


def _role_statements(template, role_logical_id):
    return [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _function(template, handler):
    (logical_id,) = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    function = template.find_resources("AWS::Lambda::Function")[logical_id]
    return function, function["Properties"]["Role"]["Fn::GetAtt"][0]


def test_the_lifecycle_runs_as_its_own_identity_with_the_ml_role_not_as_the_admin(template):
    """Only the deploy-time bootstrap reads the namespace admin secret; the weekly lifecycle signs in with IAM
    temporary credentials and gets the ml role through its RedshiftDbRoles tag."""
    template, _ = template
    lifecycle_function, lifecycle_role = _function(template, "lifecycle.handler")
    _, bootstrap_role = _function(template, "bootstrap.handler")
    assert "SECRET_ARN" not in lifecycle_function["Properties"]["Environment"]["Variables"]
    actions = {
        a
        for s in _role_statements(template, lifecycle_role)
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert "secretsmanager:GetSecretValue" not in actions
    (credentials,) = [
        s
        for s in _role_statements(template, lifecycle_role)
        if "redshift-serverless:GetCredentials" in json.dumps(s["Action"])
    ]
    assert credentials["Resource"] == {
        "Fn::GetAtt": [
            next(iter(template.find_resources("AWS::RedshiftServerless::Workgroup"))),
            "Workgroup.WorkgroupArn",
        ]
    }
    tags = template.find_resources("AWS::IAM::Role")[lifecycle_role]["Properties"]["Tags"]
    assert {"Key": "RedshiftDbRoles", "Value": "ml_developer"} in tags
    assert "RedshiftDbRoles" not in json.dumps(template.find_resources("AWS::IAM::Role")[bootstrap_role])
    assert any(s["Action"] == "secretsmanager:GetSecretValue" for s in _role_statements(template, bootstrap_role))


def test_ml_role_pulls_images_only_from_the_regions_xgboost_registry(template):
    """Built-in XGBoost (CREATE MODEL ... MODEL_TYPE XGBOOST) lives in one SageMaker registry account per region."""
    template, _ = template
    mapping = template.to_json()["Mappings"]["XGBoostImageRegistries"]
    assert mapping == {
        region: {"Account": images["XGBoost"]} for region, images in load_registries()["registries"].items()
    }
    pulls = [
        statement
        for policy in resources(template, "AWS::IAM::Policy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ecr:BatchGetImage" in json.dumps(statement["Action"])
    ]
    assert len(pulls) == 1
    assert {"Fn::FindInMap": ["XGBoostImageRegistries", {"Ref": "AWS::Region"}, "Account"]} in pulls[0]["Resource"][
        "Fn::Join"
    ][1]


KEPT_NAMESPACE = "prod-redshiftmlstack-warehouse-0a1b2c3d"
KEPT_KEY = "arn:aws:kms:us-east-1:123456789012:key/b0b0b0b0-1111-2222-3333-444444444444"


@pytest.fixture(scope="module")
def kept_namespace():
    return redeployed_onto_kept_data()


def redeployed_onto_kept_data():
    """The production recommender redeployed onto what a destroy kept: its key, bucket and namespace."""
    stack = cdk.Stack(new_app(), "Stack")
    settings = load_settings(
        {
            "profile": "production",
            "kit:redshift_existing_key_arn": KEPT_KEY,
            "kit:redshift_existing_model_bucket": "kept-models",
            "kit:redshift_existing_namespace": KEPT_NAMESPACE,
        },
        RedshiftMlSettings,
    )
    recommender = RedshiftMlRecommender(stack, "Recommender", settings=settings)
    return Template.from_stack(stack), stack, recommender


def _sdk_calls(template, action):
    """The AwsCustomResource calls (Custom::AWS) whose create or update runs `action`, as resolved JSON text."""
    return [
        (logical_id, body)
        for logical_id, body in template.find_resources("Custom::AWS").items()
        if f'"action\\":\\"{action}\\"' in json.dumps(body["Properties"]["Create"])
    ]


def test_a_kept_namespace_gets_a_new_workgroup_and_no_new_namespace_or_audit_log_groups(kept_namespace):
    """Creating the namespace or its audit log groups again fails the redeploy: their names are taken by the kept
    ones, which Redshift keeps exporting to."""
    template, _, _ = kept_namespace
    template.resource_count_is("AWS::RedshiftServerless::Namespace", 0)
    names = [str(g["Properties"].get("LogGroupName", "")) for g in resources(template, "AWS::Logs::LogGroup")]
    assert not [name for name in names if name.startswith("/aws/redshift/")]
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    assert workgroup["Properties"]["NamespaceName"] == KEPT_NAMESPACE
    (lookup,) = _sdk_calls(template, "getNamespace")
    assert KEPT_NAMESPACE in json.dumps(lookup[1]["Properties"]["Create"])


def test_the_kept_namespace_takes_the_new_ml_role_as_its_default(kept_namespace):
    """The kept namespace names the old stack's role: UpdateNamespace attaches the new one and makes it the default
    (both in one request, as the API requires), after the workgroup and before the bootstrap's COPY uses it."""
    template, stack, recommender = kept_namespace
    role = stack.get_logical_id(recommender.role.node.default_child)
    ((attach_id, attach),) = _sdk_calls(template, "updateNamespace")
    for request in ("Create", "Update"):
        call = json.dumps(attach["Properties"][request])
        assert KEPT_NAMESPACE in call
        assert call.count(f'{{"Fn::GetAtt": ["{role}", "Arn"]}}') == 2, call  # iamRoles and defaultIamRoleArn
        assert '\\"iamRoles\\":[\\"' in call and '\\"defaultIamRoleArn\\":\\"' in call
    assert "Delete" not in attach["Properties"], "a destroy leaves the namespace with the (retained) role"
    workgroup = next(iter(template.find_resources("AWS::RedshiftServerless::Workgroup")))
    assert workgroup in attach["DependsOn"]
    (bootstrap,) = template.find_resources("Custom::RedshiftBootstrap").values()
    assert attach_id in bootstrap["DependsOn"]
    statements = [  # the call's own policy, which it depends on
        s
        for logical_id, p in template.find_resources("AWS::IAM::Policy").items()
        if logical_id in attach["DependsOn"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    update = [s for s in statements if s["Action"] == "redshift-serverless:UpdateNamespace"]
    (lookup_id, _) = _sdk_calls(template, "getNamespace")[0]
    assert update and all(s["Resource"] == {"Fn::GetAtt": [lookup_id, "namespace.namespaceArn"]} for s in update)
    assert {"Fn::GetAtt": [role, "Arn"]} in [s["Resource"] for s in statements if s["Action"] == "iam:PassRole"]


def test_callers_of_the_kept_namespaces_admin_secret_may_decrypt_it_with_the_kept_key(kept_namespace):
    """Redshift encrypted the admin secret with the key the namespace was created with: the kept key, not the new
    stack's."""
    template, stack, recommender = kept_namespace
    _, bootstrap_role = _function(template, "bootstrap.handler")
    decrypts = [
        s["Resource"] for s in _role_statements(template, bootstrap_role) if "kms:Decrypt" in json.dumps(s["Action"])
    ]
    assert KEPT_KEY in decrypts, decrypts
    assert recommender.warehouse.admin_secret_key.key_arn == KEPT_KEY


def test_the_re_attach_passes_cfn_lint_and_cfn_guard(kept_namespace):
    """The gates run over the default templates (tests/test_security_gates.py); the re-attach is a template of its own."""
    _, stack, _ = kept_namespace
    directory = stack.node.root.synth().directory
    assert cfn_lint_findings(templates(directory)) == {path: [] for path in templates(directory)}
    assert guard_findings(directory) == []
