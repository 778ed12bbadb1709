"""Redshift Serverless namespace and workgroup: encrypted, private, audited, capacity from the profile."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.encryption import DataKey
from ..common.logs import EncryptedLogGroup, aws_sdk_calls_log_group
from .network import WarehouseNetwork
from .settings import RedshiftMlSettings

AUDIT_LOGS = ["userlog", "connectionlog", "useractivitylog"]


class ServerlessWarehouse(Construct):
    """Namespace (KMS key, admin password managed by Redshift in Secrets Manager, audit logs to CloudWatch,
    default IAM role) and a private workgroup, with a daily RPU-hour usage limit and a maximum capacity when the
    profile sets them.

    The data lives in the namespace; the workgroup is compute. Where the profile retains data, the namespace is
    kept with what it needs (its default role and that role's policy; the key is the profile's to keep), except when
    the stack's first create rolls back. The workgroup is always deleted with the stack, so the VPC, subnets and
    security group its network interfaces sit in can be deleted too, and its usage limit goes with it.

    With `redshift_existing_namespace` the namespace a destroy kept is re-attached instead (`kept_key`: the key it
    and its admin secret are encrypted with): a workgroup on it, and the stack's role made its default."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RedshiftMlSettings,
        encryption_key: DataKey,
        network: WarehouseNetwork,
        default_role: iam.IRole,
        namespace_name: str,
        database_name: str,
        kept_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        # Kept on delete and update in production, but deleted when the stack's first create rolls back: an empty
        # namespace left by a failed create would hold its name against the retry (DeletionPolicy RetainExceptOnCreate:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
        namespace_policy = (
            RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
            if settings.common.removal_policy == RemovalPolicy.RETAIN
            else settings.common.removal_policy
        )
        if namespace_policy == RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE:
            _retain_role(default_role)
        self.namespace: redshift.CfnNamespace | None = None
        self.audit_log_groups: list[EncryptedLogGroup] = []
        if settings.redshift_existing_namespace:
            if kept_key is None:
                raise ValueError("redshift_existing_namespace needs the kept key it is encrypted with (kept_key).")
            # A namespace a destroy kept, with its audit log groups, which Redshift keeps exporting to: creating
            # either again fails on the name. Its admin secret stays encrypted with the key it was created with.
            self.namespace_name = settings.redshift_existing_namespace
            self.admin_secret_key: kms.IKey = kept_key
        else:
            self.namespace = self._create_namespace(
                settings, encryption_key, default_role, namespace_name, database_name, namespace_policy
            )
            self.namespace_name = self.namespace.ref
            self.admin_secret_key = encryption_key
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=namespace_name,
            namespace_name=self.namespace_name,
            base_capacity=settings.redshift_base_capacity,
            max_capacity=settings.redshift_max_capacity or None,
            publicly_accessible=False,
            enhanced_vpc_routing=settings.redshift_enhanced_vpc_routing,
            subnet_ids=network.subnet_ids,
            security_group_ids=[network.security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
                redshift.CfnWorkgroup.ConfigParameterProperty(parameter_key="require_ssl", parameter_value="true"),
            ],
        )
        # Compute only: a retained workgroup would keep its network interfaces in the VPC the stack deletes.
        self.workgroup.apply_removal_policy(RemovalPolicy.DESTROY)
        self._sdk_calls_log_group = aws_sdk_calls_log_group(self, common=settings.common, encryption_key=encryption_key)
        lookup = self._look_up_namespace()
        self._admin_secret_arn = lookup.get_response_field("namespace.adminPasswordSecretArn")
        # The bootstrap's COPY and Redshift ML run as the namespace's default role: the kept namespace must name this
        # stack's before they run.
        self.role_attachment = (
            self._make_default_role(default_role, lookup.get_response_field("namespace.namespaceArn"))
            if self.namespace is None
            else None
        )
        if settings.redshift_daily_rpu_hours:
            self._add_usage_limit(settings.redshift_daily_rpu_hours)

    def _create_namespace(
        self,
        settings: RedshiftMlSettings,
        encryption_key: DataKey,
        default_role: iam.IRole,
        namespace_name: str,
        database_name: str,
        namespace_policy: RemovalPolicy,
    ) -> redshift.CfnNamespace:
        namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=namespace_name,
            db_name=database_name,
            admin_username="admin",
            manage_admin_password=True,
            admin_password_secret_kms_key_id=encryption_key.key_arn,
            kms_key_id=encryption_key.key_arn,
            iam_roles=[default_role.role_arn],
            default_iam_role_arn=default_role.role_arn,
            log_exports=AUDIT_LOGS,
        )
        namespace.apply_removal_policy(namespace_policy)
        # Redshift Serverless exports each audit log to /aws/redshift/<namespace>/<log type>, into a group of that name
        # if one exists, else a new one that never expires
        # (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-audit-logging.html): the kit creates them first,
        # encrypted and expiring, kept or destroyed with the namespace.
        self.audit_log_groups = [
            EncryptedLogGroup(
                self,
                f"AuditLogGroup{log_type}",
                common=settings.common,
                encryption_key=encryption_key,
                log_group_name=f"/aws/redshift/{namespace_name}/{log_type}",
            )
            for log_type in AUDIT_LOGS
        ]
        for log_group in self.audit_log_groups:
            log_group.apply_removal_policy(namespace_policy)  # kept or destroyed with the namespace they log
            namespace.node.add_dependency(log_group)
        return namespace

    def _look_up_namespace(self) -> cr.AwsCustomResource:
        """GetNamespace: the Redshift-managed admin secret's ARN, which CloudFormation's schema does not return
        (aws-cdk#29930), and a kept namespace's ARN, which holds its ID, not its name."""
        call = cr.AwsSdkCall(
            service="RedshiftServerless",
            action="getNamespace",
            parameters={"namespaceName": self.namespace_name},
            physical_resource_id=cr.PhysicalResourceId.of(self.namespace_name),
            output_paths=["namespace.adminPasswordSecretArn", *([] if self.namespace else ["namespace.namespaceArn"])],
        )
        stack = Stack.of(self)
        lookup = cr.AwsCustomResource(
            self,
            "AdminSecretLookup",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["redshift-serverless:GetNamespace"],
                        # A namespace's ARN ends in its ID (Service Authorization Reference, Amazon Redshift
                        # Serverless, resource type namespace), which a kept namespace's name does not give.
                        resources=[
                            self.namespace.attr_namespace_namespace_arn
                            if self.namespace
                            else f"arn:{stack.partition}:redshift-serverless:{stack.region}:{stack.account}:namespace/*"
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=self._sdk_calls_log_group,
        )
        if self.namespace is None:
            acknowledge(
                lookup,
                "A kept namespace is named by the redshift_existing_namespace setting, and its ARN ends in an ID "
                "only GetNamespace returns: the read-only lookup may read this account and region's namespaces; "
                "what changes the namespace is scoped to the ARN the lookup returns.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:redshift-serverless:<AWS::Region>:<AWS::AccountId>:namespace/*]",
            )
        return lookup

    def _make_default_role(self, role: iam.IRole, namespace_arn: str) -> cr.AwsCustomResource:
        """Attach `role` to the kept namespace as its default: UpdateNamespace takes iamRoles and defaultIamRoleArn
        together, and replaces the list, which detaches the destroyed stack's role
        (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_UpdateNamespace.html). Nothing runs
        on delete: `role` is retained with the namespace, which keeps naming a role that exists, and the next redeploy
        attaches its own."""
        call = cr.AwsSdkCall(
            service="RedshiftServerless",
            action="updateNamespace",
            parameters={
                "namespaceName": self.namespace_name,
                "iamRoles": [role.role_arn],
                "defaultIamRoleArn": role.role_arn,
            },
            physical_resource_id=cr.PhysicalResourceId.of(self.namespace_name),
        )
        attachment = cr.AwsCustomResource(
            self,
            "KeptNamespaceDefaultRole",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(actions=["redshift-serverless:UpdateNamespace"], resources=[namespace_arn]),
                    # Giving a service a role to assume is passing it. Unconfirmed, so no iam:PassedToService
                    # condition: AWS documents the principals the role must trust (redshift-serverless.amazonaws.com
                    # and redshift.amazonaws.com, https://docs.aws.amazon.com/redshift/latest/mgmt/
                    # serverless-security-other-services.html) but not the iam:PassedToService value UpdateNamespace
                    # sends, and the Service Authorization Reference lists no iam:PassRole dependency for it
                    # (https://docs.aws.amazon.com/service-authorization/latest/reference/
                    # list_amazonredshiftserverless.html). A wrong value would deny the call: the statement is
                    # scoped to this one role instead.
                    iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=self._sdk_calls_log_group,
        )
        # Not while the workgroup is being created on the namespace. Unconfirmed: the kit assumes UpdateNamespace
        # needs the namespace AVAILABLE (not MODIFYING, a NamespaceStatus value); the API reference lists
        # ConflictException ("The submitted action has conflicts") without saying when
        # (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_UpdateNamespace.html). The kit only
        # makes CloudFormation finish the workgroup first; a call that still conflicts fails the deploy, which rolls
        # back.
        attachment.node.add_dependency(self.workgroup)
        return attachment

    @property
    def workgroup_name(self) -> str:
        return self.workgroup.ref

    @property
    def workgroup_arn(self) -> str:
        return self.workgroup.attr_workgroup_workgroup_arn

    @property
    def admin_secret_arn(self) -> str:
        return self._admin_secret_arn

    def _add_usage_limit(self, rpu_hours: int) -> None:
        """CloudFormation has no usage-limit resource: create it through the API, delete it with the stack."""
        call: dict[str, Any] = dict(service="RedshiftServerless")
        limit = cr.AwsCustomResource(
            self,
            "DailyUsageLimit",
            on_create=cr.AwsSdkCall(
                **call,
                action="createUsageLimit",
                parameters={
                    "resourceArn": self.workgroup_arn,
                    "usageType": "serverless-compute",
                    "amount": rpu_hours,
                    "period": "daily",
                    "breachAction": "deactivate",
                },
                physical_resource_id=cr.PhysicalResourceId.from_response("usageLimit.usageLimitId"),
            ),
            on_update=cr.AwsSdkCall(
                **call,
                action="updateUsageLimit",
                parameters={"usageLimitId": cr.PhysicalResourceIdReference(), "amount": rpu_hours},
                physical_resource_id=cr.PhysicalResourceId.from_response("usageLimit.usageLimitId"),
            ),
            # A limit removed by hand, or never created because the create failed (the delete then names the
            # failed request's placeholder id), is already gone: ResourceNotFoundException is the error the
            # botocore model of DeleteUsageLimit lists for it. Without this, rollback and destroy end
            # ROLLBACK_FAILED / DELETE_FAILED.
            on_delete=cr.AwsSdkCall(
                **call,
                action="deleteUsageLimit",
                parameters={"usageLimitId": cr.PhysicalResourceIdReference()},
                ignore_error_codes_matching="^ResourceNotFoundException$",
            ),
            # Create/Update/DeleteUsageLimit take no resource type and support no service condition key (Service
            # Authorization Reference, Amazon Redshift Serverless:
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonredshiftserverless.html),
            # so IAM evaluates them against "*" and only a "*" statement can allow them.
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        sid="UsageLimitsTakeNoResourceType",
                        actions=[
                            "redshift-serverless:CreateUsageLimit",
                            "redshift-serverless:UpdateUsageLimit",
                            "redshift-serverless:DeleteUsageLimit",
                        ],
                        resources=["*"],
                    ),
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=self._sdk_calls_log_group,
        )
        acknowledge(
            limit,
            "redshift-serverless:Create/Update/DeleteUsageLimit support no resource-level permission and no service "
            "condition key (Service Authorization Reference), so IAM allows them only on '*'.",
            "AwsSolutions-IAM5[Resource::*]",
        )


def _retain_role(role: iam.IRole) -> None:
    """Keep a retained namespace's role and its policy: deleting them leaves the namespace naming a role that is gone."""
    if isinstance(role, iam.Role):
        role.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        policy = role.node.try_find_child("DefaultPolicy")
        if isinstance(policy, iam.Policy):
            policy.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
