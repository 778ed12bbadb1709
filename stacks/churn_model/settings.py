"""Settings of the churn model: profile defaults and validation (`-c kit:churn_<name>=<value>`).

In an app without profiles or context: `ChurnModelSettings.for_profile("sandbox", churn_notebook=True)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from ..common.config import (
    OVERRIDE_PREFIX,
    ArchitectureSettings,
    ConfigError,
    ProfileDefaults,
    require_emails,
    require_fraction,
    require_existing_data,
    require_pattern,
    require_range,
)

# The `architecture` tag of the churn stack and of the jobs its pipeline starts.
ARCHITECTURE = "churn-model"
MODEL_PACKAGE_GROUP_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")


@dataclass(frozen=True)
class ChurnModelSettings(ArchitectureSettings):
    """The churn model's settings and the common ones (`common`). Defaults live in PROFILE_DEFAULTS, not here."""

    # Churn pipeline: Spark processing instances (type, count) and the XGBoost training instance type.
    churn_processing_instance_type: str
    churn_processing_instance_count: int
    churn_training_instance_type: str
    # Minimum test AUC for a trained model to be registered (the pipeline parameter's default).
    churn_min_auc: float
    # Register passing models as Approved (deploys at once) instead of PendingManualApproval.
    churn_auto_approve: bool
    # Real-time endpoint: instance type and count; auto scaling up to churn_endpoint_max_instances on
    # invocations per instance per minute (a maximum equal to the count turns scaling off).
    churn_endpoint_instance_type: str
    churn_endpoint_instance_count: int
    churn_endpoint_max_instances: int
    churn_invocations_per_instance: int
    # Percent of requests Data Capture records for the model-quality job.
    churn_capture_percent: int
    # Idle guard: delete the endpoint after this many hours without an invocation (the next approval creates it
    # again); 0 turns the guard off. Only for endpoints without auto scaling.
    churn_idle_hours: int
    # A SageMaker notebook instance for the sagemaker_pyspark library path (VPC, no direct internet).
    churn_notebook: bool
    churn_notebook_instance_type: str
    # Minutes without kernel activity after which the notebook instance stops itself (checked every 5 minutes;
    # start it again from the console); 0: it runs until stopped by hand, and `make cost` prices it always on.
    churn_notebook_idle_minutes: int
    # E-mail addresses (comma-separated) subscribed to deployment failures and endpoint alarms; empty: none. Each
    # address is its own subscription: adding one never unsubscribes the others while it awaits confirmation.
    churn_notification_emails: str
    # Re-attach what a production destroy kept (the stack's RedeploySettings output prints the values): the data
    # key's ARN, the artifacts bucket's name, the model package group's name; empty: create new ones.
    churn_existing_key_arn: str
    churn_existing_artifacts_bucket: str
    churn_existing_model_package_group: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {
            "churn_processing_instance_type": "ml.m5.xlarge",
            "churn_processing_instance_count": 1,
            "churn_training_instance_type": "ml.m5.xlarge",
            "churn_min_auc": 0.85,
            "churn_auto_approve": True,
            "churn_endpoint_instance_type": "ml.t2.medium",
            "churn_endpoint_instance_count": 1,
            "churn_endpoint_max_instances": 1,
            "churn_invocations_per_instance": 1000,
            "churn_capture_percent": 100,
            "churn_idle_hours": 4,
            "churn_notebook": False,
            "churn_notebook_instance_type": "ml.t3.medium",
            "churn_notebook_idle_minutes": 60,
            "churn_notification_emails": "",
            "churn_existing_key_arn": "",
            "churn_existing_artifacts_bucket": "",
            "churn_existing_model_package_group": "",
        },
        "production": {
            "churn_processing_instance_type": "ml.m5.4xlarge",
            "churn_processing_instance_count": 2,
            "churn_training_instance_type": "ml.m5.2xlarge",
            "churn_min_auc": 0.85,
            "churn_auto_approve": False,
            "churn_endpoint_instance_type": "ml.m5.large",
            "churn_endpoint_instance_count": 2,
            "churn_endpoint_max_instances": 6,
            "churn_invocations_per_instance": 1000,
            "churn_capture_percent": 100,
            "churn_idle_hours": 0,
            "churn_notebook": True,
            "churn_notebook_instance_type": "ml.t3.medium",
            "churn_notebook_idle_minutes": 60,
            "churn_notification_emails": "",
            "churn_existing_key_arn": "",
            "churn_existing_artifacts_bucket": "",
            "churn_existing_model_package_group": "",
        },
    }

    def __post_init__(self) -> None:
        for name in (
            "churn_processing_instance_type",
            "churn_training_instance_type",
            "churn_endpoint_instance_type",
            "churn_notebook_instance_type",
        ):
            _require_instance_type(name, getattr(self, name))
        require_range("churn_processing_instance_count", self.churn_processing_instance_count, 1, 100)
        require_fraction("churn_min_auc", self.churn_min_auc)
        require_range("churn_endpoint_instance_count", self.churn_endpoint_instance_count, 1, 100)
        require_range(
            "churn_endpoint_max_instances", self.churn_endpoint_max_instances, self.churn_endpoint_instance_count, 100
        )
        require_range("churn_invocations_per_instance", self.churn_invocations_per_instance, 1, 100_000)
        require_range("churn_capture_percent", self.churn_capture_percent, 1, 100)
        require_range("churn_idle_hours", self.churn_idle_hours, 0, 720)
        require_range("churn_notebook_idle_minutes", self.churn_notebook_idle_minutes, 0, 1440)
        require_emails("churn_notification_emails", self.churn_notification_emails)
        require_existing_data(
            "churn_existing_key_arn",
            self.churn_existing_key_arn,
            {"churn_existing_artifacts_bucket": self.churn_existing_artifacts_bucket},
        )
        # SageMaker's ModelPackageGroupName pattern
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html).
        require_pattern(
            "churn_existing_model_package_group",
            self.churn_existing_model_package_group,
            MODEL_PACKAGE_GROUP_PATTERN,
            "a model package group name (1-63 letters, digits and hyphens, starting with a letter or digit)",
        )
        if self.churn_idle_hours and self.churn_endpoint_max_instances > self.churn_endpoint_instance_count:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}churn_idle_hours={self.churn_idle_hours} needs an endpoint "
                "without auto scaling. Allowed: 0 (guard off), or churn_endpoint_max_instances equal to "
                "churn_endpoint_instance_count."
            )


def _require_instance_type(name: str, value: str) -> None:
    if not SAGEMAKER_INSTANCE_TYPE_PATTERN.match(value):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not a SageMaker instance type. "
            "Allowed: ml.<family>.<size>, for example ml.m5.xlarge."
        )
