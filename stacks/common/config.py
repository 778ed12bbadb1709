"""Deployment profiles: one typed, frozen settings object that every stack receives.

A profile (`-c profile=sandbox|production`, default `sandbox`) supplies every default in one place
(`PROFILE_DEFAULTS`). Single settings can be overridden with `-c kit:<setting>=<value>`; each value is
parsed and validated, and an error names the setting and what is allowed, so a bad value fails synth
instead of deploying something unexpected.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from aws_cdk import RemovalPolicy
from aws_cdk.aws_logs import RetentionDays

PROFILE_CONTEXT_KEY = "profile"
OVERRIDE_PREFIX = "kit:"
DEFAULT_PROFILE = "sandbox"

# Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION: dict[int, RetentionDays] = {
    1: RetentionDays.ONE_DAY,
    3: RetentionDays.THREE_DAYS,
    5: RetentionDays.FIVE_DAYS,
    7: RetentionDays.ONE_WEEK,
    14: RetentionDays.TWO_WEEKS,
    30: RetentionDays.ONE_MONTH,
    60: RetentionDays.TWO_MONTHS,
    90: RetentionDays.THREE_MONTHS,
    120: RetentionDays.FOUR_MONTHS,
    150: RetentionDays.FIVE_MONTHS,
    180: RetentionDays.SIX_MONTHS,
    365: RetentionDays.ONE_YEAR,
    400: RetentionDays.THIRTEEN_MONTHS,
    545: RetentionDays.EIGHTEEN_MONTHS,
    731: RetentionDays.TWO_YEARS,
    1096: RetentionDays.THREE_YEARS,
    1827: RetentionDays.FIVE_YEARS,
    2192: RetentionDays.SIX_YEARS,
    2557: RetentionDays.SEVEN_YEARS,
    2922: RetentionDays.EIGHT_YEARS,
    3288: RetentionDays.NINE_YEARS,
    3653: RetentionDays.TEN_YEARS,
}


# Redshift Serverless base capacities (RPUs); 4 only in regions that offer it.
REDSHIFT_BASE_CAPACITIES = (4, *range(8, 513, 8))
# EMR Serverless maximum capacities the kit offers, in vCPUs (16 is a new account's default quota).
EMR_SERVERLESS_VCPU_STEPS = (4, 8, 16, 32, 64, 128, 256, 400, 800, 1600, 3200)
SAGEMAKER_INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
# Redshift Serverless needs subnets in at least three Availability Zones whose AZ IDs it supports
# (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).
REDSHIFT_MIN_AVAILABILITY_ZONES = 3
AVAILABILITY_ZONE_NAME_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")
EMAIL_PATTERN = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
QUICKSIGHT_PRINCIPAL_PATTERN = re.compile(r"^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)/.+$")


class ConfigError(ValueError):
    """A profile or setting that the kit cannot deploy; the message says what is allowed."""


@dataclass(frozen=True)
class KitConfig:
    """Settings shared by every architecture. Defaults live in PROFILE_DEFAULTS, not here."""

    profile: str
    # Keep buckets, keys and log groups when a stack is deleted (production) or destroy them (sandbox).
    retain_data: bool
    # S3 object versioning on data buckets.
    versioned_buckets: bool
    # CloudWatch Logs retention for every log group the kit creates.
    log_retention_days: int
    # Days after which S3 server access logs expire.
    access_log_expiry_days: int
    # Scheduled jobs (model refresh, daily model-quality job) are created disabled unless this is true.
    schedules_enabled: bool
    # Days KMS waits before deleting a key that the stack no longer holds (7-30).
    key_deletion_window_days: int
    # Redshift Serverless base capacity in RPUs: 8 to 512 in steps of 8 (4 where the region offers it).
    redshift_base_capacity: int
    # Daily RPU-hour usage limit that deactivates the workgroup until the next day; 0 sets no limit.
    redshift_daily_rpu_hours: int
    # Route COPY, UNLOAD and Redshift ML traffic through the VPC (needs its endpoints; production).
    redshift_enhanced_vpc_routing: bool
    # Load the synthetic job-matching data at deploy time (replaces the tables' rows on every deploy).
    redshift_sample_data: bool
    # Availability Zone names (comma-separated) of the warehouse's new VPC: at least three, each mapping to an AZ ID
    # Redshift Serverless supports; empty: the region's first three (deploys fail in regions with fewer).
    redshift_availability_zones: str
    # E-mail address subscribed to the Redshift ML lifecycle's failure and rejection notices; empty: none.
    redshift_notification_email: str
    # Days raw Data Capture and ground truth stay in S3 Standard, where the daily run reads them (at 150 TB/day,
    # storage dominates the cost): at least label delay + 1, the run's need; label delay + 2 leaves a day to re-run.
    quality_raw_retention_days: int
    # Audit archive: 0 expires raw data after quality_raw_retention_days; else it moves to S3 Glacier Deep Archive
    # then and expires this many days after creation (at least retention + 180, Deep Archive's minimum duration).
    quality_raw_archive_expiry_days: int
    # Days of label delay: the daily run scores the day before the window D..D+K, i.e. today - K - 1.
    quality_label_delay_days: int
    # EMR Serverless maximum capacity in vCPUs (memory follows at 4 GB per vCPU) and idle minutes before stop.
    quality_max_vcpu: int
    quality_idle_minutes: int
    # Minutes before the daily job run is cancelled and reported failed.
    quality_job_timeout_minutes: int
    # Daily schedule (hour in the time zone, an IANA name such as Europe/Paris).
    quality_schedule_hour: int
    quality_schedule_time_zone: str
    # The production decision threshold, whose precision and recall are published and shown.
    quality_decision_threshold: float
    # Target half-width of the 95% intervals: the job reports the Data Capture sampling percent that keeps
    # every interval of the day within it.
    quality_target_half_width: float
    # Alarms: average precision below this, a drop of more than this fraction below its 7-day average,
    # label coverage below this.
    quality_min_average_precision: float
    quality_max_average_precision_drop: float
    quality_min_label_coverage: float
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
    # QuickSight principals (ARNs in the identity region); without an owner no QuickSight resource is created.
    quicksight_owner_arn: str
    quicksight_viewer_group_arn: str
    quicksight_identity_region: str
    # Without an owner, warn at synth that there is no dashboard; false: no QuickSight wanted, no warning.
    quicksight_warn_unconfigured: bool

    def __post_init__(self) -> None:
        _require_profile(self.profile)
        _require_choice("log_retention_days", self.log_retention_days, tuple(LOG_RETENTION))
        _require_range("access_log_expiry_days", self.access_log_expiry_days, 1, 3650)
        _require_range("key_deletion_window_days", self.key_deletion_window_days, 7, 30)
        _require_choice("redshift_base_capacity", self.redshift_base_capacity, REDSHIFT_BASE_CAPACITIES)
        _require_range("redshift_daily_rpu_hours", self.redshift_daily_rpu_hours, 0, 100_000)
        _require_availability_zones("redshift_availability_zones", self.redshift_availability_zones)
        _require_email("redshift_notification_email", self.redshift_notification_email)
        _require_range("quality_label_delay_days", self.quality_label_delay_days, 0, 90)
        _require_raw_retention(
            self.quality_raw_retention_days, self.quality_label_delay_days, self.quality_raw_archive_expiry_days
        )
        _require_choice("quality_max_vcpu", self.quality_max_vcpu, EMR_SERVERLESS_VCPU_STEPS)
        _require_range("quality_idle_minutes", self.quality_idle_minutes, 1, 10_080)
        _require_range("quality_job_timeout_minutes", self.quality_job_timeout_minutes, 10, 1_440)
        _require_range("quality_schedule_hour", self.quality_schedule_hour, 0, 23)
        for name in (
            "quality_decision_threshold",
            "quality_min_average_precision",
            "quality_max_average_precision_drop",
            "quality_min_label_coverage",
        ):
            _require_fraction(name, getattr(self, name))
        if not 0.0 < self.quality_target_half_width < 0.5:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}quality_target_half_width={self.quality_target_half_width!r} "
                "is out of range. Allowed: more than 0 and less than 0.5 (a half-width of a ratio)."
            )
        for name in (
            "churn_processing_instance_type",
            "churn_training_instance_type",
            "churn_endpoint_instance_type",
            "churn_notebook_instance_type",
        ):
            _require_instance_type(name, getattr(self, name))
        _require_range("churn_processing_instance_count", self.churn_processing_instance_count, 1, 100)
        _require_fraction("churn_min_auc", self.churn_min_auc)
        _require_range("churn_endpoint_instance_count", self.churn_endpoint_instance_count, 1, 100)
        _require_range(
            "churn_endpoint_max_instances", self.churn_endpoint_max_instances, self.churn_endpoint_instance_count, 100
        )
        _require_range("churn_invocations_per_instance", self.churn_invocations_per_instance, 1, 100_000)
        _require_range("churn_capture_percent", self.churn_capture_percent, 1, 100)
        _require_range("churn_idle_hours", self.churn_idle_hours, 0, 720)
        if self.churn_idle_hours and self.churn_endpoint_max_instances > self.churn_endpoint_instance_count:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}churn_idle_hours={self.churn_idle_hours} needs an endpoint "
                "without auto scaling. Allowed: 0 (guard off), or churn_endpoint_max_instances equal to "
                "churn_endpoint_instance_count."
            )
        for name in ("quicksight_owner_arn", "quicksight_viewer_group_arn"):
            _require_quicksight_arn(name, getattr(self, name), self.quicksight_identity_region)
        if self.quicksight_viewer_group_arn and not self.quicksight_owner_arn:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}quicksight_viewer_group_arn needs "
                f"{OVERRIDE_PREFIX}quicksight_owner_arn: the dashboard has to have an owner."
            )

    @property
    def removal_policy(self) -> RemovalPolicy:
        """RETAIN for data that must outlive the stack, DESTROY for a sandbox you can tear down."""
        return RemovalPolicy.RETAIN if self.retain_data else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> RetentionDays:
        return LOG_RETENTION[self.log_retention_days]

    @property
    def redshift_availability_zone_names(self) -> tuple[str, ...]:
        """The configured AZ names, or () for the region's first three."""
        return tuple(name.strip() for name in self.redshift_availability_zones.split(",") if name.strip())

    @property
    def auto_delete_objects(self) -> bool:
        """Empty buckets on stack deletion only when the stack is allowed to destroy them."""
        return not self.retain_data


PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sandbox": {
        "retain_data": False,
        "versioned_buckets": False,
        "log_retention_days": 7,
        "access_log_expiry_days": 30,
        "schedules_enabled": False,
        "key_deletion_window_days": 7,
        "redshift_base_capacity": 8,
        "redshift_daily_rpu_hours": 8,
        "redshift_enhanced_vpc_routing": False,
        "redshift_sample_data": True,
        "redshift_availability_zones": "",
        "redshift_notification_email": "",
        "quality_raw_retention_days": 7,
        "quality_raw_archive_expiry_days": 0,
        "quality_label_delay_days": 1,
        "quality_max_vcpu": 16,
        "quality_idle_minutes": 5,
        "quality_job_timeout_minutes": 60,
        "quality_schedule_hour": 4,
        "quality_schedule_time_zone": "UTC",
        "quality_decision_threshold": 0.5,
        "quality_target_half_width": 0.01,
        "quality_min_average_precision": 0.2,
        "quality_max_average_precision_drop": 0.1,
        "quality_min_label_coverage": 0.5,
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
        "quicksight_owner_arn": "",
        "quicksight_viewer_group_arn": "",
        "quicksight_identity_region": "us-east-1",
        "quicksight_warn_unconfigured": True,
    },
    "production": {
        "retain_data": True,
        "versioned_buckets": True,
        "log_retention_days": 365,
        "access_log_expiry_days": 365,
        "schedules_enabled": True,
        "key_deletion_window_days": 30,
        "redshift_base_capacity": 32,
        # 12 hours a day at the base capacity of 32 RPUs: a runaway query or loop stops instead of billing all day.
        "redshift_daily_rpu_hours": 384,
        "redshift_enhanced_vpc_routing": True,
        "redshift_sample_data": False,
        "redshift_availability_zones": "",
        "redshift_notification_email": "",
        "quality_raw_retention_days": 3,
        "quality_raw_archive_expiry_days": 0,
        "quality_label_delay_days": 1,
        "quality_max_vcpu": 400,
        "quality_idle_minutes": 15,
        "quality_job_timeout_minutes": 360,
        "quality_schedule_hour": 4,
        "quality_schedule_time_zone": "UTC",
        "quality_decision_threshold": 0.5,
        "quality_target_half_width": 0.01,
        "quality_min_average_precision": 0.2,
        "quality_max_average_precision_drop": 0.1,
        "quality_min_label_coverage": 0.5,
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
        "quicksight_owner_arn": "",
        "quicksight_viewer_group_arn": "",
        "quicksight_identity_region": "us-east-1",
        "quicksight_warn_unconfigured": True,
    },
}

SETTING_NAMES = tuple(f.name for f in dataclasses.fields(KitConfig) if f.name != "profile")


def load_config(context: Mapping[str, Any]) -> KitConfig:
    """Build the config from CDK context: the profile's defaults, then validated `kit:` overrides."""
    _reject_lookalike_keys(context)
    profile = context.get(PROFILE_CONTEXT_KEY) or DEFAULT_PROFILE
    _require_profile(profile)
    values = dict(PROFILE_DEFAULTS[profile])
    for key, raw in context.items():
        if not key.startswith(OVERRIDE_PREFIX):
            continue
        name = key[len(OVERRIDE_PREFIX) :]
        if name not in SETTING_NAMES:
            raise ConfigError(
                f"Unknown setting {key!r}.{_did_you_mean(name)} Allowed settings: "
                + ", ".join(OVERRIDE_PREFIX + n for n in SETTING_NAMES)
                + "."
            )
        values[name] = _parse(name, raw, type(PROFILE_DEFAULTS[profile][name]))
    return KitConfig(profile=profile, **values)


def _did_you_mean(name: str) -> str:
    """' Did you mean kit:<closest>?' for a misspelt setting name, or '' when none is close."""
    close = difflib.get_close_matches(name.lower(), SETTING_NAMES, n=1, cutoff=0.75)
    return f" Did you mean {OVERRIDE_PREFIX}{close[0]}?" if close else ""


def _reject_lookalike_keys(context: Mapping[str, Any]) -> None:
    """Fail on context keys that look like the kit's but are not read (`Profile`, `retain_data`, `kit-retain_data`).

    CDK ignores context it does not know, so without this a mistyped key silently builds the sandbox profile.
    Keys of CDK itself (`@aws-cdk/...` feature flags, `aws:cdk:...`, lookups such as `availability-zones:...`) do
    not look like the kit's and pass.
    """
    for key in context:
        if key == PROFILE_CONTEXT_KEY or key.startswith(OVERRIDE_PREFIX) or not isinstance(key, str):
            continue
        bare = re.sub(r"^kit[^a-z0-9]*", "", key.strip().lower())
        if bare == PROFILE_CONTEXT_KEY:
            raise ConfigError(
                f"Context key {key!r} is not read by the kit. Did you mean {PROFILE_CONTEXT_KEY}? "
                f"Set the profile with -c {PROFILE_CONTEXT_KEY}=<{'|'.join(PROFILE_DEFAULTS)}>."
            )
        close = difflib.get_close_matches(bare.replace("-", "_"), SETTING_NAMES, n=1, cutoff=0.85)
        if close:
            raise ConfigError(
                f"Context key {key!r} is not read by the kit. Did you mean {OVERRIDE_PREFIX}{close[0]}? "
                f"Settings are set with -c {OVERRIDE_PREFIX}<setting>=<value>."
            )


def _parse(name: str, raw: Any, kind: type) -> Any:
    """Parse a context value (CLI values arrive as strings) into the setting's type."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a boolean. Allowed: true, false.")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a whole number.")
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a whole number.") from None
    if kind is float:
        try:
            return float(str(raw).strip())
        except ValueError:
            raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={raw!r} is not a number.") from None
    return str(raw).strip()


def _require_profile(profile: Any) -> None:
    if profile not in PROFILE_DEFAULTS:
        raise ConfigError(
            f"Unknown profile {profile!r}. Allowed profiles: {', '.join(PROFILE_DEFAULTS)} "
            f"(set with -c {PROFILE_CONTEXT_KEY}=<profile>)."
        )


def _require_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: {', '.join(map(str, allowed))}."
        )


def _require_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={value!r} is out of range. Allowed: {low} to {high}.")


# S3 Glacier Deep Archive bills at least this many days per object (an earlier delete pays the rest), so a shorter
# stay in the archive costs as much as this one
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html).
DEEP_ARCHIVE_MINIMUM_DAYS = 180


def _require_raw_retention(retention_days: int, label_delay_days: int, archive_expiry_days: int) -> None:
    """Raw data must outlive the run that reads it; an archive must outlive Deep Archive's minimum duration.

    The run for day D starts on day D + K + 1 and reads captures of D and labels of D..D+K. S3 expires an object
    at the first midnight UTC after creation + N days
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html), so
    N = K + 1 keeps day D's captures through day D + K + 1.
    """
    _require_range("quality_raw_retention_days", retention_days, 1, 3650)
    needed = label_delay_days + 1
    if retention_days < needed:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_raw_retention_days={retention_days} is shorter than the label window: "
            f"the run for day D reads its captures on day D+{needed} ({OVERRIDE_PREFIX}quality_label_delay_days="
            f"{label_delay_days}, plus one day). Allowed: {needed} or more; {needed + 1} leaves a day to re-run."
        )
    if archive_expiry_days and archive_expiry_days < retention_days + DEEP_ARCHIVE_MINIMUM_DAYS:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_raw_archive_expiry_days={archive_expiry_days} ends the audit archive "
            f"before Deep Archive's {DEEP_ARCHIVE_MINIMUM_DAYS}-day minimum (objects move there after "
            f"{OVERRIDE_PREFIX}quality_raw_retention_days={retention_days}). Allowed: 0 (no archive), or "
            f"{retention_days + DEEP_ARCHIVE_MINIMUM_DAYS} to 3650."
        )
    _require_range("quality_raw_archive_expiry_days", archive_expiry_days, 0, 3650)


def _require_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"Setting {OVERRIDE_PREFIX}{name}={value!r} is out of range. Allowed: 0 to 1.")


def _require_availability_zones(name: str, value: str) -> None:
    names = [zone.strip() for zone in value.split(",") if zone.strip()]
    if not names:
        return
    bad = [zone for zone in names if not AVAILABILITY_ZONE_NAME_PATTERN.match(zone)]
    if bad or len(set(names)) < REDSHIFT_MIN_AVAILABILITY_ZONES:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not allowed. Allowed: empty (the region's first three), or "
            f"at least {REDSHIFT_MIN_AVAILABILITY_ZONES} distinct Availability Zone names, comma-separated, for "
            "example us-east-1a,us-east-1b,us-east-1c, whose AZ IDs Redshift Serverless supports."
        )


def _require_email(name: str, value: str) -> None:
    if value and not EMAIL_PATTERN.match(value):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not an e-mail address. "
            "Allowed: empty (no subscription) or one address, for example ml-team@example.com."
        )


def _require_instance_type(name: str, value: str) -> None:
    if not SAGEMAKER_INSTANCE_TYPE_PATTERN.match(value):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not a SageMaker instance type. "
            "Allowed: ml.<family>.<size>, for example ml.m5.xlarge."
        )


def _require_quicksight_arn(name: str, value: str, identity_region: str) -> None:
    """QuickSight users and groups live in the account's identity region, whatever region the stack deploys to."""
    if not value:
        return
    if not QUICKSIGHT_PRINCIPAL_PATTERN.match(value):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not a QuickSight principal ARN. Allowed: empty, or "
            "arn:aws:quicksight:<identity-region>:<account>:user/<namespace>/<name> (or group/...)."
        )
    if value.split(":")[3] != identity_region:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}{name}={value!r} is not in the QuickSight identity region "
            f"{identity_region!r}. Allowed: a principal ARN of that region, or set "
            f"{OVERRIDE_PREFIX}quicksight_identity_region to the region of your QuickSight users."
        )
