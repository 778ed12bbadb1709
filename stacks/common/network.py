"""Private networks whose endpoints carry only this account's requests (a data perimeter on every endpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, cast

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .acknowledgments import acknowledge


@dataclass(frozen=True)
class EndpointPerimeter:
    """How far one service's endpoint policy can hold requests to this account, and the page that says so."""

    resource_account: bool
    source: str


# Every endpoint service the kit creates, by its short name (com.amazonaws.<region>.<short name>). An endpoint policy
# grants nothing; it bounds what any principal may do through the endpoint
# (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html). Each allows only this account's
# principals (aws:PrincipalAccount): credentials of another account brought into a private subnet cannot use the
# endpoint. Where AWS's data-perimeter guidance documents the resource side for the service's endpoint, it also
# allows only this account's resources (aws:ResourceAccount), so this account's roles cannot move data to another
# account's resources. A service missing here fails synth: decide and cite its perimeter first.
ENDPOINT_PERIMETERS = {
    "s3": EndpointPerimeter(
        True,
        "VPC endpoint policy example 'Restrict access to buckets in a specific AWS account', "
        "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html#edit-vpc-endpoint-policy-s3; "
        "nothing in the kit's VPCs needs an AWS-owned bucket (see limit_endpoint_to_account).",
    ),
    "sts": EndpointPerimeter(
        True,
        "Data perimeter examples, vpc_endpoint_policies/sts_endpoint_policy.json (aws:ResourceOrgID on every "
        "action) and service_specific_guidance/sts-specific-guidance.md (no additional considerations for "
        "'only trusted resources can be accessed from my network'), "
        "https://github.com/aws-samples/data-perimeter-policy-examples; the notebook only reads its own identity.",
    ),
    "logs": EndpointPerimeter(
        True,
        "Data perimeter examples, service_specific_guidance/logs-specific-guidance.md: no additional "
        "considerations for either perimeter applied on the network (VPC endpoint policy); the notebook writes only "
        "this account's /aws/sagemaker/* log groups.",
    ),
    "sagemaker.api": EndpointPerimeter(
        False,
        "SageMaker supports endpoint policies (https://docs.aws.amazon.com/sagemaker/latest/dg/"
        "interface-vpc-endpoint.html#api-private-link-policy), but AWS's data-perimeter guidance has no SageMaker "
        "page confirming aws:ResourceAccount for every call (List* and Search take no resource): principals only.",
    ),
    "sagemaker.runtime": EndpointPerimeter(
        False,
        "As sagemaker.api (the same SageMaker page documents InvokeEndpoint in endpoint policies); the resource side "
        "of runtime calls is not documented in the data-perimeter guidance: principals only.",
    ),
    "codeartifact.api": EndpointPerimeter(
        False,
        "CodeArtifact's own endpoint policy example limits principals only, and GetAuthorizationToken is checked "
        "with sts:GetServiceBearerToken, which takes no resource "
        "(https://docs.aws.amazon.com/codeartifact/latest/ug/create-vpc-endoint-policy.html); the data-perimeter "
        "guidance (codeartifact-specific-guidance.md) says the service does not support endpoint policies for the "
        "perimeter, so where AWS does not apply it this policy changes nothing.",
    ),
    "codeartifact.repositories": EndpointPerimeter(
        False,
        "As codeartifact.api: package reads authenticate with the bearer token "
        "(https://docs.aws.amazon.com/codeartifact/latest/ug/create-vpc-endoint-policy.html).",
    ),
}


def limit_endpoint_to_account(endpoint: ec2.InterfaceVpcEndpoint | ec2.GatewayVpcEndpoint, service: str) -> None:
    """The endpoint's policy (ENDPOINT_PERIMETERS): only this account's principals, and for services that document
    it, only this account's resources. `service` is the short name, e.g. "sagemaker.api" or "s3".

    Nothing that runs in the kit's VPCs needs an AWS-owned bucket through the S3 gateway endpoint: Redshift ML reads
    and writes its S3_BUCKET and COPY reads this account's buckets
    (https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html); the notebook installs Python
    packages from CodeArtifact, which needs no S3 endpoint for Python
    (https://docs.aws.amazon.com/codeartifact/latest/ug/create-s3-gateway-endpoint.html), and reads its example from
    the CDK assets bucket, also this account's. SageMaker training and Redshift ML's training jobs run in the
    services' own networks, not through these endpoints."""
    perimeter = ENDPOINT_PERIMETERS.get(service)
    if perimeter is None:
        raise ValueError(
            f"No endpoint perimeter is defined for {service!r}: add it to ENDPOINT_PERIMETERS in "
            "stacks/common/network.py, with the page that says whether its endpoint policy can use aws:ResourceAccount."
        )
    account = Stack.of(endpoint).account
    conditions = {"aws:PrincipalAccount": account}
    if perimeter.resource_account:
        conditions["aws:ResourceAccount"] = account
    # Gateway endpoints take only Principal "*" (the same page, "Principals for gateway endpoints"); the account
    # conditions name whose requests pass.
    endpoint.add_to_policy(
        iam.PolicyStatement(
            sid="OnlyThisAccount",
            principals=[iam.AnyPrincipal()],
            actions=["*"],
            resources=["*"],
            conditions={"StringEquals": conditions},
        )
    )


def limit_s3_gateway_endpoint(vpc: ec2.Vpc) -> None:
    """The endpoint policy of the VPC's S3 gateway endpoint, created by `gateway_endpoints={"S3": ...}`."""
    limit_endpoint_to_account(cast(ec2.GatewayVpcEndpoint, vpc.node.find_child("S3")), "s3")


def add_interface_endpoints(
    scope: Construct,
    vpc: ec2.IVpc,
    services: Sequence[tuple[str, ec2.InterfaceVpcEndpointAwsService]],
    *,
    security_groups: Sequence[ec2.ISecurityGroup],
    subnets: ec2.SubnetSelection | None = None,
) -> list[ec2.InterfaceVpcEndpoint]:
    """Interface endpoints with private DNS, closed to everything but `security_groups`, each with its perimeter
    policy (limit_endpoint_to_account). `services`: (construct id prefix, service); each endpoint is
    `<prefix>Endpoint` under `scope`."""
    endpoints = []
    for name, service in services:
        endpoint = ec2.InterfaceVpcEndpoint(
            scope,
            f"{name}Endpoint",
            vpc=vpc,
            service=service,
            subnets=subnets,
            private_dns_enabled=True,
            security_groups=list(security_groups),
            open=False,
        )
        limit_endpoint_to_account(endpoint, service.short_name)
        endpoints.append(endpoint)
    return endpoints


def s3_prefix_list(scope: Construct, log_group: logs.ILogGroup, construct_id: str = "S3PrefixListLookup") -> ec2.IPeer:
    """The region's AWS-managed S3 prefix list (com.amazonaws.<region>.s3), the destination a security group uses for
    traffic to an S3 gateway endpoint
    (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html#vpc-endpoints-security-groups).
    Its ID differs per region and CloudFormation cannot look it up, so an SDK call does at deployment
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeManagedPrefixLists.html).
    `log_group` is the stack's `aws_sdk_calls_log_group`."""
    name = f"com.amazonaws.{Stack.of(scope).region}.s3"
    call = cr.AwsSdkCall(
        service="EC2",
        action="describeManagedPrefixLists",
        parameters={"Filters": [{"Name": "prefix-list-name", "Values": [name]}]},
        physical_resource_id=cr.PhysicalResourceId.of("s3-prefix-list"),
        output_paths=["PrefixLists.0.PrefixListId"],
    )
    lookup = cr.AwsCustomResource(
        scope,
        construct_id,
        on_create=call,
        on_update=call,
        resource_type="Custom::S3PrefixList",
        # Describe* calls support no resource-level permissions (Service Authorization Reference, Amazon EC2).
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [iam.PolicyStatement(actions=["ec2:DescribeManagedPrefixLists"], resources=["*"])]
        ),
        install_latest_aws_sdk=False,
        log_group=log_group,
    )
    acknowledge(
        lookup,
        "ec2:DescribeManagedPrefixLists has no resource type; the call only reads the AWS-managed S3 prefix list ID.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    return ec2.Peer.prefix_list(lookup.get_response_field("PrefixLists.0.PrefixListId"))
