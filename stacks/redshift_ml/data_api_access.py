"""IAM for a function that runs SQL through the Data API: as the namespace admin (the Redshift-managed secret), or
as its own IAM identity mapped to database roles."""

from __future__ import annotations

from typing import Sequence, cast

from aws_cdk import Tags
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ..common.acknowledgments import acknowledge
from .warehouse import ServerlessWarehouse


def grant_data_api(
    grantee: iam.IGrantable,
    warehouse: ServerlessWarehouse,
    *,
    database_roles: Sequence[str] = (),
) -> None:
    """Run statements on this workgroup only, and read or cancel only the statements the caller started.

    Without `database_roles`, as the namespace admin: the Data API reads the admin secret with the caller's
    credentials. With them, as the caller's own IAM identity: the Data API gets temporary credentials through
    redshift-serverless:GetCredentials, the database user is "IAMR:<role name>" (created at first sign-in), and
    Redshift Serverless grants it the database roles the role's `RedshiftDbRoles` tag lists, colon-separated
    (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html, temporary credentials
    for a serverless workgroup; https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-iam-access-federated-db-roles.html
    and its worked example serverless-iam-credentials-use-case.html, which also gives the role tag:GetResources
    and tag:GetTagKeys)."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
            resources=[warehouse.workgroup_arn],
        )
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "redshift-data:DescribeStatement",
                "redshift-data:GetStatementResult",
                "redshift-data:CancelStatement",
            ],
            resources=["*"],
            conditions={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        )
    )
    acknowledge(
        cast(IConstruct, grantee.grant_principal),  # a role or user of the app: its policy takes the grants
        "DescribeStatement, GetStatementResult and CancelStatement have no resource type; the condition "
        "limits them to statements this role started.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    if not database_roles:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[warehouse.admin_secret_arn])
        )
        # Redshift encrypts the secret with the key the namespace was created with: a kept namespace's is the kept key.
        warehouse.admin_secret_key.grant_decrypt(grantee)
        return
    role = grantee.grant_principal
    if not isinstance(role, iam.Role):
        raise TypeError("Database roles are passed by a tag on the IAM role: the grantee must be an iam.Role.")
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["redshift-serverless:GetCredentials"], resources=[warehouse.workgroup_arn])
    )
    # tag:GetResources and tag:GetTagKeys support no resource-level permissions (Service Authorization Reference,
    # Resource Groups Tagging API).
    role.add_to_principal_policy(iam.PolicyStatement(actions=["tag:GetResources", "tag:GetTagKeys"], resources=["*"]))
    Tags.of(role).add("RedshiftDbRoles", ":".join(database_roles))
