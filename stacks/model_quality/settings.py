"""Settings of the model-quality monitor and its QuickSight dashboard: profile defaults and validation
(`-c kit:quality_<name>=<value>`, `-c kit:quicksight_<name>=<value>`).

In an app without profiles or context: `ModelQualitySettings.for_profile("production", quality_max_vcpu=64)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..common.config import (
    OVERRIDE_PREFIX,
    ArchitectureSettings,
    ConfigError,
    ProfileDefaults,
    require_choice,
    require_emails,
    require_fraction,
    require_existing_data,
    require_pattern,
    require_range,
)

# The `architecture` tag of the model-quality stack and of the job runs its state machine starts.
ARCHITECTURE = "model-quality"
GLUE_DATABASE_PATTERN = re.compile(r"^[a-z0-9_]{1,255}$")
# EMR Serverless maximum capacities the kit offers, in vCPUs (16 is a new account's default quota).
EMR_SERVERLESS_VCPU_STEPS = (4, 8, 16, 32, 64, 128, 256, 400, 800, 1600, 3200)
QUICKSIGHT_PRINCIPAL_PATTERN = re.compile(r"^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)/.+$")
# S3 Glacier Deep Archive bills at least this many days per object (an earlier delete pays the rest), so a shorter
# stay in the archive costs as much as this one
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html).
DEEP_ARCHIVE_MINIMUM_DAYS = 180
# The job limits its rejects sample before the shuffle up to Spark's windowGroupLimitThreshold (default 1000);
# spark_jobs/model_quality/pr_curve.py MAX_REJECT_SAMPLE_SIZE.
MAX_REJECT_SAMPLE_SIZE = 1_000
# A day's results and the seven before it: the rollup's histograms and the drop alarm's summaries.
MIN_RESULTS_RETENTION_DAYS = 8
# What the daily state machine allows beyond the job's own timeout (submission and queueing, the waits between
# its transient-error retries, a margin); orchestration.py's run timeout stays within it (a test checks).
RUN_OVERHEAD_MINUTES = 75
MINUTES_PER_DAY = 24 * 60
# The hourly runs' share of quality_max_vcpu (a quarter): at the production workload, an hour of capture is about a
# third of a day's CPU over 24 (extraction is a third of the job's CPU in `make bench-pr`), 31 vCPU-hours, done in
# about 20 minutes on 100 vCPUs. The smallest application that leaves them a driver and an executor: 32 vCPUs.
HOURLY_VCPU_DIVISOR = 4
MIN_HOURLY_MAX_VCPU = 32


@dataclass(frozen=True)
class ModelQualitySettings(ArchitectureSettings):
    """The monitor's settings and the common ones (`common`). Defaults live in PROFILE_DEFAULTS, not here."""

    # Days raw ground truth stays in S3 Standard, where the daily runs read it: at least label delay + 1, the runs'
    # need; label delay + 2 leaves a day to re-run. Raw Data Capture is read once, by the next day's run, which
    # keeps a compact extract of it: it expires as soon as that run has ended (storage.capture_expiry_days).
    # Lowering it expires (or archives) data already older than the new value, at S3's next lifecycle run.
    quality_raw_retention_days: int
    # Audit archive: 0 expires raw data after quality_raw_retention_days; else it moves to S3 Glacier Deep Archive
    # then and expires this many days after creation (at least retention + 180, Deep Archive's minimum duration).
    # Lowering it, or setting it to 0, deletes archived data older than the new limit at S3's next lifecycle run.
    quality_raw_archive_expiry_days: int
    # The daily run deletes the capture hour folders it has extracted, once the extract is written (a retry reads the
    # extract): raw capture is then billed until the run, not until the lifecycle expiry at the next midnight UTC.
    # false keeps raw capture until that expiry (storage.capture_expiry_days); with the audit archive on, nothing
    # is deleted (the archive keeps it).
    quality_delete_extracted_capture: bool
    # An hourly run extracts each complete UTC hour of raw capture soon after it ends and deletes it, so raw capture
    # is kept about an hour instead of until the daily run; the daily run extracts only the hours still raw. The
    # runs share the EMR Serverless application: the hourly ones get a quarter of quality_max_vcpu (at least 32),
    # the daily one the rest. Needs the extracted capture deleted (quality_delete_extracted_capture, no archive).
    quality_hourly_extract: bool
    # Days of label delay: the daily run scores the day before the window D..D+K, i.e. today - K - 1.
    quality_label_delay_days: int
    # EMR Serverless maximum capacity in vCPUs (the memory cap follows at 4 GB per vCPU: executors use 2, drivers 4)
    # and idle minutes before stop.
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
    # Rejected records the job keeps per reason and day in rejects/ (all are counted in the summary); 0 keeps none.
    quality_reject_sample_size: int
    # Days the daily results (histogram, curve, thresholds, summary, rollup) are kept: at least 8, the day and the
    # seven before it that the rollup and the drop alarm read; the dashboard shows up to 90.
    quality_results_retention_days: int
    # Days the rejects sample is kept.
    quality_reject_retention_days: int
    # E-mail addresses (comma-separated) subscribed to the run's failure notices and alarms; empty: none. Each
    # address is its own subscription: adding one never unsubscribes the others while it awaits confirmation.
    quality_notification_emails: str
    # QuickSight principals (ARNs in the identity region); without an owner no QuickSight resource is created.
    quicksight_owner_arn: str
    quicksight_viewer_group_arn: str
    quicksight_identity_region: str
    # Without an owner, warn at synth that there is no dashboard; false: no QuickSight wanted, no warning.
    quicksight_warn_unconfigured: bool
    # Re-attach what a production destroy kept (the stack's RedeploySettings output prints the values): the data
    # key's ARN, the capture, ground-truth and results buckets' names, the Glue database's name; empty: create new.
    quality_existing_key_arn: str
    quality_existing_capture_bucket: str
    quality_existing_ground_truth_bucket: str
    quality_existing_results_bucket: str
    quality_existing_database: str

    PROFILE_DEFAULTS: ClassVar[ProfileDefaults] = {
        "sandbox": {
            "quality_raw_retention_days": 7,
            "quality_raw_archive_expiry_days": 0,
            "quality_delete_extracted_capture": True,
            # Off: at a sandbox's volume, 24 runs a day cost more than the raw capture they would delete.
            "quality_hourly_extract": False,
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
            "quality_reject_sample_size": 100,
            "quality_results_retention_days": 90,
            "quality_reject_retention_days": 30,
            "quality_notification_emails": "",
            "quicksight_owner_arn": "",
            "quicksight_viewer_group_arn": "",
            "quicksight_identity_region": "us-east-1",
            "quicksight_warn_unconfigured": True,
            "quality_existing_key_arn": "",
            "quality_existing_capture_bucket": "",
            "quality_existing_ground_truth_bucket": "",
            "quality_existing_results_bucket": "",
            "quality_existing_database": "",
        },
        "production": {
            "quality_raw_retention_days": 3,
            "quality_raw_archive_expiry_days": 0,
            "quality_delete_extracted_capture": True,
            "quality_hourly_extract": True,
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
            "quality_reject_sample_size": 100,
            "quality_results_retention_days": 730,
            "quality_reject_retention_days": 30,
            "quality_notification_emails": "",
            "quicksight_owner_arn": "",
            "quicksight_viewer_group_arn": "",
            "quicksight_identity_region": "us-east-1",
            "quicksight_warn_unconfigured": True,
            "quality_existing_key_arn": "",
            "quality_existing_capture_bucket": "",
            "quality_existing_ground_truth_bucket": "",
            "quality_existing_results_bucket": "",
            "quality_existing_database": "",
        },
    }

    @property
    def deletes_extracted_capture(self) -> bool:
        """Whether the run deletes the raw capture it has extracted (never while the audit archive keeps it)."""
        return self.quality_delete_extracted_capture and not self.quality_raw_archive_expiry_days

    @property
    def hourly_vcpu(self) -> int:
        """The application's vCPUs the hourly runs may use (0 without hourly extraction); the daily run uses the
        rest, so neither waits for the other's workers."""
        return self.quality_max_vcpu // HOURLY_VCPU_DIVISOR if self.quality_hourly_extract else 0

    def __post_init__(self) -> None:
        require_range("quality_label_delay_days", self.quality_label_delay_days, 0, 90)
        _require_raw_retention(
            self.quality_raw_retention_days, self.quality_label_delay_days, self.quality_raw_archive_expiry_days
        )
        require_choice("quality_max_vcpu", self.quality_max_vcpu, EMR_SERVERLESS_VCPU_STEPS)
        _require_hourly_extract(self)
        require_range("quality_idle_minutes", self.quality_idle_minutes, 1, 10_080)
        require_range("quality_job_timeout_minutes", self.quality_job_timeout_minutes, 10, 1_440)
        require_range("quality_schedule_hour", self.quality_schedule_hour, 0, 23)
        _require_schedule_after_utc_midnight(self.quality_schedule_hour, self.quality_schedule_time_zone)
        for name in (
            "quality_decision_threshold",
            "quality_min_average_precision",
            "quality_max_average_precision_drop",
            "quality_min_label_coverage",
        ):
            require_fraction(name, getattr(self, name))
        if not 0.0 < self.quality_target_half_width < 0.5:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}quality_target_half_width={self.quality_target_half_width!r} "
                "is out of range. Allowed: more than 0 and less than 0.5 (a half-width of a ratio)."
            )
        require_range("quality_reject_sample_size", self.quality_reject_sample_size, 0, MAX_REJECT_SAMPLE_SIZE)
        require_range(
            "quality_results_retention_days", self.quality_results_retention_days, MIN_RESULTS_RETENTION_DAYS, 3650
        )
        require_range("quality_reject_retention_days", self.quality_reject_retention_days, 1, 3650)
        require_emails("quality_notification_emails", self.quality_notification_emails)
        require_existing_data(
            "quality_existing_key_arn",
            self.quality_existing_key_arn,
            {
                "quality_existing_capture_bucket": self.quality_existing_capture_bucket,
                "quality_existing_ground_truth_bucket": self.quality_existing_ground_truth_bucket,
                "quality_existing_results_bucket": self.quality_existing_results_bucket,
            },
        )
        # Athena reads Glue names of lowercase letters, digits and underscores
        # (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html).
        require_pattern(
            "quality_existing_database",
            self.quality_existing_database,
            GLUE_DATABASE_PATTERN,
            "a Glue database name (1-255 lowercase letters, digits and underscores)",
        )
        for name in ("quicksight_owner_arn", "quicksight_viewer_group_arn"):
            _require_quicksight_arn(name, getattr(self, name), self.quicksight_identity_region)
        if self.quicksight_viewer_group_arn and not self.quicksight_owner_arn:
            raise ConfigError(
                f"Setting {OVERRIDE_PREFIX}quicksight_viewer_group_arn needs "
                f"{OVERRIDE_PREFIX}quicksight_owner_arn: the dashboard has to have an owner."
            )


def _require_raw_retention(retention_days: int, label_delay_days: int, archive_expiry_days: int) -> None:
    """Raw data must outlive the run that reads it; an archive must outlive Deep Archive's minimum duration.

    The run for day D starts on day D + K + 1 and reads captures of D and labels of D..D+K. S3 expires an object
    at the first midnight UTC after creation + N days
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html), so
    N = K + 1 keeps day D's captures through day D + K + 1.
    """
    require_range("quality_raw_retention_days", retention_days, 1, 3650)
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
    require_range("quality_raw_archive_expiry_days", archive_expiry_days, 0, 3650)


def _require_hourly_extract(settings: ModelQualitySettings) -> None:
    """Hourly runs only pay for themselves by deleting the raw capture they read, and need capacity of their own."""
    if not settings.quality_hourly_extract:
        return
    if not settings.deletes_extracted_capture:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_hourly_extract=true needs the extracted raw capture deleted "
            f"({OVERRIDE_PREFIX}quality_delete_extracted_capture=true and "
            f"{OVERRIDE_PREFIX}quality_raw_archive_expiry_days=0): else the hourly runs cost and save nothing. "
            "Allowed: false, or those settings."
        )
    if settings.quality_max_vcpu < MIN_HOURLY_MAX_VCPU:
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_hourly_extract=true needs {OVERRIDE_PREFIX}quality_max_vcpu of at least "
            f"{MIN_HOURLY_MAX_VCPU} (the hourly runs get a quarter of it: a driver and an executor), got "
            f"{settings.quality_max_vcpu}. Allowed: false, or quality_max_vcpu {MIN_HOURLY_MAX_VCPU} or more."
        )


def _require_schedule_after_utc_midnight(hour: int, time_zone: str) -> None:
    """The run extracts the capture of the UTC day before its own local day, so it must start once that UTC day has
    ended: Data Capture's hour folders are UTC, and the raw capture expires before a later run could read it."""
    lowest, span = schedule_offsets(time_zone)
    if hour * 60 - (lowest + span) < 0:
        earliest = -(-(lowest + span) // 60)
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_schedule_hour={hour} in {time_zone} starts the run before the UTC "
            f"day it extracts has ended (Data Capture writes UTC hour folders). Allowed: {earliest} to 23 in this "
            "zone, or another zone."
        )


def run_end_minutes(settings: ModelQualitySettings) -> int:
    """Minutes after midnight UTC of the run's local day by which the day's run has ended at the latest: the
    schedule hour at the zone's lowest UTC offset, plus the state machine's timeout (job timeout and overhead)."""
    lowest, _ = schedule_offsets(settings.quality_schedule_time_zone)
    return settings.quality_schedule_hour * 60 - lowest + settings.quality_job_timeout_minutes + RUN_OVERHEAD_MINUTES


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


# Years of the zone's rules sampled for its UTC offsets, from the current year on.
OFFSET_YEARS = 5


def schedule_offsets(time_zone: str) -> tuple[int, int]:
    """The UTC offset (minutes) the zone uses at its lowest, and how far its other offsets reach above it.

    The run-date and deadline-check Lambdas get these instead of reading time-zone data at run time; an unknown
    zone fails here, at synth, not on the first scheduled run. Python's zoneinfo reads the system's time-zone data
    or the `tzdata` package (https://docs.python.org/3/library/zoneinfo.html#data-sources).
    """
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Setting {OVERRIDE_PREFIX}quality_schedule_time_zone={time_zone!r} is not a time zone of the IANA "
            "database. Allowed: an IANA name such as UTC, Europe/Paris or America/New_York (on a machine "
            "without system time-zone data, `pip install tzdata`)."
        ) from None
    start = datetime(datetime.now(timezone.utc).year, 1, 1, tzinfo=timezone.utc)
    offsets = set()
    for day in range(366 * OFFSET_YEARS):
        for hour in (0, 12):
            offset = (start + timedelta(days=day, hours=hour)).astimezone(zone).utcoffset()
            offsets.add(int(offset.total_seconds()) // 60 if offset is not None else 0)
    return min(offsets), max(offsets) - min(offsets)
