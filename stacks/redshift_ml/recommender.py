"""RedshiftMlRecommender: the whole in-database recommender as one construct to drop into a stack."""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.config import email_addresses
from ..common.encryption import DataKey, existing_key
from ..common.names import physical_name
from ..common.redeploy import redeploy_settings_output
from ..common.storage import AccessLogsBucket, SecureBucket, existing_bucket
from .database_bootstrap import DatabaseBootstrap
from .ml_role import RedshiftMlRole
from .model_lifecycle import WEEKLY, ModelLifecycle
from .network import WarehouseNetwork
from .sample_data import SampleData
from .settings import RedshiftMlSettings
from .warehouse import ServerlessWarehouse

NAME_RULES = "lowercase letters, digits and underscores, starting with a letter, at most 63 characters"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # the lifecycle's own check (lambdas/redshift_sql/templates.py)
DEFAULT_MAX_RUNTIME = Duration.minutes(90)  # of one CREATE MODEL training (MAX_RUNTIME)


def version_identifiers(model_prefix: str) -> tuple[str, str]:
    """The longest model and function names the lifecycle derives from `model_prefix` (lifecycle.start_training)."""
    model_name = f"{model_prefix}_v{'9' * 14}"
    return model_name, f"predict_{model_name}"


class RedshiftMlRecommender(Construct):
    """Redshift Serverless with Redshift ML, its deploy-time SQL and the model lifecycle.

    Defaults (all keyword arguments):
    - namespace_name None (also the workgroup's name): derived from the stack and the path (`stacks.common.names`),
      so copies never share one; database "dev", schema "jobmatch";
    - database roles ml_role "ml_developer" (CREATE MODEL) and analyst_role "analyst" (EXECUTE ON MODEL);
    - model_prefix "job_match": versions are named job_match_vYYYYMMDDHHMMSS, functions predict_<version>
      (at most 39 characters, so every derived name is a valid identifier);
    - holdout_days 14: the newest 14 days of interactions are the holdout, never trained on;
    - top_k 10: precision@10 decides promotion and recommendations keep 10 jobs per seeker;
    - versions_kept 3, max_runtime 90 minutes (Redshift ML's default), refresh weekly (Sunday 03:00 UTC);
    - vpc None: a new isolated VPC; pass an existing `ec2.IVpc` (and `vpc_subnets`) to use yours.
    Capacity, usage limit, VPC routing, AZs, sample data, the notification e-mail and removal come from `settings`.
    Bring your own model from another training pipeline: `add_model_source(...)`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RedshiftMlSettings,
        namespace_name: str | None = None,
        database_name: str = "dev",
        schema: str = "jobmatch",
        ml_role: str = "ml_developer",
        analyst_role: str = "analyst",
        model_prefix: str = "job_match",
        holdout_days: int = 14,
        top_k: int = 10,
        versions_kept: int = 3,
        max_runtime: Duration = DEFAULT_MAX_RUNTIME,
        refresh_schedule: scheduler.ScheduleExpression = WEEKLY,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_settings(
            schema=schema,
            ml_role=ml_role,
            analyst_role=analyst_role,
            model_prefix=model_prefix,
            database_name=database_name,
            holdout_days=holdout_days,
            top_k=top_k,
            versions_kept=versions_kept,
            max_runtime_seconds=int(max_runtime.to_seconds()),
        )
        self.key = DataKey(
            self, "DataKey", common=settings.common, description="Redshift ML recommender: warehouse, models, logs"
        )
        # A production destroy keeps the ML bucket, the namespace and their key; redshift_existing_* re-attach them
        # (the kept bucket still logs to the access-log bucket its stack gave it).
        kept_key = existing_key(self, "KeptDataKey", settings.redshift_existing_key_arn)
        self.model_key: kms.IKey = kept_key or self.key
        self.model_bucket = existing_bucket(
            self, "KeptModelBucket", settings.redshift_existing_model_bucket, kept_key
        ) or SecureBucket(
            self,
            "ModelBucket",
            common=settings.common,
            encryption_key=self.key,
            access_logs_bucket=AccessLogsBucket(self, "AccessLogsBucket", common=settings.common),
            lifecycle_rules=[s3.LifecycleRule(id="ExpireOldVersions", noncurrent_version_expiration=Duration.days(30))],
        )
        self.role = RedshiftMlRole(
            self,
            "RedshiftMlRole",
            bucket=self.model_bucket,
            encryption_key=self.key,
            enhanced_vpc_routing=settings.redshift_enhanced_vpc_routing,
        )
        self.network = WarehouseNetwork(
            self, "Network", settings=settings, encryption_key=self.key, vpc=vpc, vpc_subnets=vpc_subnets
        )
        # Namespace and workgroup names: 3 to 64 lowercase letters, digits and hyphens
        # (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_CreateNamespace.html).
        namespace_name = namespace_name or physical_name(self, "Warehouse", max_length=64, lowercase=True)
        self.warehouse = ServerlessWarehouse(
            self,
            "Warehouse",
            settings=settings,
            encryption_key=self.key,
            network=self.network,
            default_role=self.role,
            namespace_name=namespace_name,
            database_name=database_name,
            kept_key=kept_key,
        )
        self.sample_data = SampleData(self, "SampleData") if settings.redshift_sample_data else None
        if self.sample_data:
            self.sample_data.grant_read(self.role)
        self.bootstrap = DatabaseBootstrap(
            self,
            "DatabaseBootstrap",
            common=settings.common,
            encryption_key=self.key,
            warehouse=self.warehouse,
            schema=schema,
            ml_role=ml_role,
            analyst_role=analyst_role,
            holdout_days=holdout_days,
            top_k=top_k,
            sample_data=self.sample_data,
            overwrite_sample_data=settings.redshift_sample_data_overwrite,
        )
        self.lifecycle = ModelLifecycle(
            self,
            "ModelLifecycle",
            common=settings.common,
            encryption_key=self.key,
            warehouse=self.warehouse,
            model_bucket_name=self.model_bucket.bucket_name,
            schema=schema,
            ml_role=ml_role,
            analyst_role=analyst_role,
            model_prefix=model_prefix,
            top_k=top_k,
            versions_kept=versions_kept,
            max_runtime=max_runtime,
            refresh_schedule=refresh_schedule,
            notification_emails=email_addresses(settings.redshift_notification_emails),
            warn_without_subscriber=settings.common.profile == "production",
        )
        self.lifecycle.node.add_dependency(self.bootstrap)
        # The bootstrap's COPY runs as the namespace's role: not before the role's policy exists, nor before a kept
        # namespace names it.
        self.bootstrap.resource.node.add_dependency(self.role)
        if self.warehouse.role_attachment:
            self.bootstrap.resource.node.add_dependency(self.warehouse.role_attachment)
        acknowledge(
            self,
            "The kit's roles hold least-privilege statements that CDK grants write as each role's own default "
            "policy; an inline policy belongs to exactly one role, which is what this rule protects.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        CfnOutput(self, "WorkgroupName", value=self.warehouse.workgroup_name)
        CfnOutput(self, "LifecycleStateMachineArn", value=self.lifecycle.state_machine.state_machine_arn)
        CfnOutput(self, "ModelBucketName", value=self.model_bucket.bucket_name)
        redeploy_settings_output(
            self,
            settings.common,
            {
                "redshift_existing_key_arn": self.model_key.key_arn,
                "redshift_existing_model_bucket": self.model_bucket.bucket_name,
                "redshift_existing_namespace": self.warehouse.namespace_name,
            },
        )
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.lifecycle.topic.topic_arn,
            description="Subscribe to receive model refresh failures and rejections",
        )

    def add_model_source(
        self,
        *,
        training_jobs: str,
        artifacts_bucket: s3.IBucket,
        artifacts_prefix: str,
        artifacts_key: kms.IKey | None = None,
    ) -> None:
        """Let bring-your-own-model (`sql/redshift_ml/bring_your_own_model.sql`) use models of training jobs named
        `training_jobs` whose artifacts are under `artifacts_prefix` in `artifacts_bucket`, encrypted with
        `artifacts_key`. For the churn pipeline: training_jobs="pipelines-*", its artifacts bucket, "runs/", its key."""
        self.role.allow_model_source(
            training_jobs=training_jobs,
            artifacts_bucket=artifacts_bucket,
            artifacts_prefix=artifacts_prefix,
            artifacts_key=artifacts_key,
        )


def _check_settings(**settings: object) -> None:
    """Fail synth on names the SQL would reject, instead of failing a deployment or a refresh half-way."""
    for name in ("schema", "ml_role", "analyst_role", "model_prefix", "database_name"):
        if not IDENTIFIER.match(str(settings[name])):
            raise ValueError(f"{name}={settings[name]!r} is not allowed: use {NAME_RULES}.")
    for derived in version_identifiers(str(settings["model_prefix"])):
        if not IDENTIFIER.match(derived):
            raise ValueError(
                f"model_prefix={settings['model_prefix']!r} is too long: the lifecycle derives {derived!r} from it, "
                f"which is not allowed ({NAME_RULES}); use at most 39 characters."
            )
    # The lifecycle refuses the same ranges at run time (lambdas/redshift_sql/templates.py INTEGERS; a test keeps
    # them equal): a value synth let through would fail every refresh instead.
    for name, low, high in (
        ("holdout_days", 1, 365),
        ("top_k", 1, 1000),
        ("versions_kept", 1, 50),
        ("max_runtime_seconds", 1_800, 2_592_000),
    ):
        value = settings[name]
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name}={value!r} is not allowed: use a whole number from {low} to {high}.")
