"""Private networks that reach only this account's S3 buckets and the VPC's own endpoints."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from .acknowledgments import acknowledge


def limit_gateway_endpoint_to_account_buckets(endpoint: ec2.GatewayVpcEndpoint) -> None:
    """Let the S3 gateway endpoint reach only buckets this account owns (`aws:ResourceAccount`, the VPC endpoint
    policy example "Restrict access to buckets in a specific AWS account",
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html#edit-vpc-endpoint-policy-s3), so a
    private subnet cannot copy data to a bucket of another account.

    No AWS-owned bucket is needed by what runs in the kit's VPCs: Redshift ML reads and writes its S3_BUCKET and
    COPY reads this account's buckets (https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html);
    the notebook installs Python packages from CodeArtifact, which needs no S3 endpoint for Python
    (https://docs.aws.amazon.com/codeartifact/latest/ug/create-s3-gateway-endpoint.html), and reads its example from
    the CDK assets bucket, also this account's. SageMaker training and Redshift ML's training jobs run in the
    services' own networks, not through this endpoint."""
    endpoint.add_to_policy(
        iam.PolicyStatement(
            sid="OnlyThisAccountsBuckets",
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=["*"],
            conditions={"StringEquals": {"aws:ResourceAccount": Stack.of(endpoint).account}},
        )
    )


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
