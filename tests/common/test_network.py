import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from stacks.common.network import ENDPOINT_PERIMETERS, add_interface_endpoints


def _vpc() -> tuple[cdk.Stack, ec2.Vpc, ec2.SecurityGroup]:
    stack = cdk.Stack(cdk.App(), "NetworkStack")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    return stack, vpc, ec2.SecurityGroup(stack, "Endpoints", vpc=vpc)


def test_an_endpoint_of_a_service_with_no_decided_perimeter_fails_synth():
    stack, vpc, group = _vpc()
    assert "ssm" not in ENDPOINT_PERIMETERS
    with pytest.raises(ValueError, match="No endpoint perimeter is defined for 'ssm'"):
        add_interface_endpoints(stack, vpc, [("Ssm", ec2.InterfaceVpcEndpointAwsService.SSM)], security_groups=[group])


def test_interface_endpoints_are_private_closed_and_limited_to_this_account():
    stack, vpc, group = _vpc()
    add_interface_endpoints(
        stack,
        vpc,
        [("Sts", ec2.InterfaceVpcEndpointAwsService.STS), ("Api", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API)],
        security_groups=[group],
    )
    endpoints = Template.from_stack(stack).find_resources("AWS::EC2::VPCEndpoint")
    assert set(endpoints) == {
        stack.get_logical_id(stack.node.find_child(f"{n}Endpoint").node.default_child) for n in ("Sts", "Api")
    }
    conditions = {}
    for logical_id, endpoint in endpoints.items():
        props = endpoint["Properties"]
        assert props["PrivateDnsEnabled"] is True
        assert props["SecurityGroupIds"] == [
            {"Fn::GetAtt": [stack.get_logical_id(group.node.default_child), "GroupId"]}
        ]
        (statement,) = props["PolicyDocument"]["Statement"]
        assert (statement["Effect"], statement["Principal"]) == ("Allow", {"AWS": "*"})
        conditions[logical_id[:3]] = statement["Condition"]
    account = {"Ref": "AWS::AccountId"}
    assert conditions == {
        "Sts": {"StringEquals": {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}},
        "Api": {"StringEquals": {"aws:PrincipalAccount": account}},
    }
