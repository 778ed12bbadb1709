"""IAM for a function that runs SQL through the Data API as the namespace admin (Redshift-managed secret)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from ..common.acknowledgments import acknowledge
from .warehouse import ServerlessWarehouse


def grant_data_api(grantee: iam.IGrantable, warehouse: ServerlessWarehouse, encryption_key: kms.IKey) -> None:
    """Run statements on this workgroup only, and read or cancel only the statements the caller started."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
            resources=[warehouse.workgroup_arn],
        )
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"],
            resources=["*"],
            conditions={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        )
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[warehouse.admin_secret_arn])
    )
    encryption_key.grant_decrypt(grantee)
    acknowledge(
        grantee.grant_principal,
        "DescribeStatement, GetStatementResult and CancelStatement have no resource type; the condition "
        "limits them to statements this role started.",
        "AwsSolutions-IAM5[Resource::*]",
    )
