import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from stacks.common.config import load_config
from stacks.redshift_ml import RedshiftMlRecommender
from tests.conftest import new_app


@pytest.fixture(scope="module")
def template(kit_app):
    return Template.from_stack(kit_app.app.node.find_child("RedshiftMlStack")), kit_app.config


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


def test_workgroup_is_private_with_profile_capacity_and_routing(template):
    template, config = template
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    props = workgroup["Properties"]
    assert props["PubliclyAccessible"] is False
    assert props["BaseCapacity"] == config.redshift_base_capacity
    assert props["EnhancedVpcRouting"] is config.redshift_enhanced_vpc_routing
    assert len(props["SubnetIds"]) == 3
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in props["ConfigParameters"]


def test_usage_limit_only_where_the_profile_sets_one(template):
    template, config = template
    limits = [r for r in resources(template, "Custom::AWS") if "createUsageLimit" in json.dumps(r["Properties"].get("Create", ""))]
    assert len(limits) == (1 if config.redshift_daily_rpu_hours else 0)
    if limits:
        text = json.dumps(limits[0]["Properties"]["Create"])
        assert f'\\"amount\\":{config.redshift_daily_rpu_hours}' in text and "deactivate" in text


def test_network_has_no_nat_gateway_and_an_s3_gateway_endpoint(template):
    template, _ = template
    assert resources(template, "AWS::EC2::NatGateway") == []
    assert resources(template, "AWS::EC2::InternetGateway") == []
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"})


def test_ml_role_trusts_redshift_and_sagemaker_and_scopes_jobs_to_redshift_names(template):
    template, _ = template
    roles = [r for r in resources(template, "AWS::IAM::Role") if "redshift.amazonaws.com" in json.dumps(r)]
    (role,) = roles
    principals = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["redshift.amazonaws.com", "sagemaker.amazonaws.com"]
    policies = json.dumps([p for p in resources(template, "AWS::IAM::Policy") if "SageMakerJobsNamedRedshift" in json.dumps(p)])
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
    definition = json.loads("".join(p if isinstance(p, str) else "0" for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1]))
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
    for name in ("StartTraining", "CheckExport", "CheckTraining", "Evaluate", "Promote", "Cleanup"):
        assert states[name]["Catch"][0]["Next"] == "NotifyFailure"
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_schedule_is_weekly_and_enabled_only_by_the_profile(template):
    template, config = template
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "cron(0 3 ? * SUN *)", "State": "ENABLED" if config.schedules_enabled else "DISABLED"},
    )


def test_notifications_are_encrypted(template):
    template, _ = template
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_sample_data_is_loaded_only_where_the_profile_asks(template):
    template, config = template
    (bootstrap,) = resources(template, "Custom::RedshiftBootstrap")
    assert ("SampleData" in bootstrap["Properties"]) is config.redshift_sample_data


def test_an_existing_vpc_is_used_instead_of_a_new_one():
    app = new_app()
    stack = cdk.Stack(app, "Stack")
    vpc = cdk.aws_ec2.Vpc(stack, "ExistingVpc", max_azs=3, nat_gateways=1)
    RedshiftMlRecommender(stack, "Recommender", config=load_config({"profile": "production"}), vpc=vpc)
    template = Template.from_stack(stack)
    assert len(template.find_resources("AWS::EC2::VPC")) == 1
    (workgroup,) = resources(template, "AWS::RedshiftServerless::Workgroup")
    private = [stack.resolve(subnet.subnet_id) for subnet in vpc.private_subnets]
    assert workgroup["Properties"]["SubnetIds"] == private
    (group,) = [g for g in resources(template, "AWS::EC2::SecurityGroup") if g["Properties"]["GroupDescription"] == "Redshift Serverless workgroup"]
    assert "SecurityGroupIngress" not in group["Properties"]
    template.resource_count_is("AWS::EC2::VPCEndpoint", 2)  # SageMaker API and runtime, for enhanced routing


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"schema": "Job-Match"}, "schema='Job-Match' is not allowed"),
        ({"model_prefix": "x" * 41}, "model_prefix must be at most 40 characters"),
        ({"top_k": 0}, "top_k=0 is not allowed: use a whole number from 1 to 1000"),
    ],
)
def test_bad_settings_fail_synth_with_a_clear_message(settings, message):
    stack = cdk.Stack(new_app(), "Stack")
    with pytest.raises(ValueError, match=message):
        RedshiftMlRecommender(stack, "Recommender", config=load_config({}), **settings)
