"""Buckets of the model-quality flow: captured predictions, ground truth, results, and job logs."""

from __future__ import annotations

import math
from typing import Any, Sequence

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aws_cdk import aws_kms as kms

from ..common.encryption import DataKey, existing_key
from ..common.storage import AccessLogsBucket, SecureBucket, existing_bucket
from .settings import MINUTES_PER_DAY, ModelQualitySettings, run_end_minutes

CAPTURE_PREFIX = "data-capture"
# Every top-level folder of the results bucket and why it is kept as long as it is (a folder without a rule would
# be kept forever; tests/spark_jobs/model_quality/test_probes.py checks the job writes nowhere else).
DAILY_RESULTS = ("histogram", "curve", "thresholds", "summary", "rollup")  # quality_results_retention_days
REJECTS_PREFIX = "rejects"  # quality_reject_retention_days
EXTRACT_PREFIX = "extract"  # extract_expiry_days: the label window it serves
WORK_PREFIX = "_work"  # a run deletes its own; a run that crashed leaves them
WORK_EXPIRY_DAYS = 2
QUERY_RESULTS_PREFIX = "athena-results"  # Athena's result files of the dashboard's queries
QUERY_RESULTS_EXPIRY_DAYS = 7
# Raw capture and labels are written once under unique keys and expire days later; a version would only keep
# each expired object one more day (noncurrent expiry cannot be shorter), a third more of the largest bill.
RAW_UNVERSIONED = dict(
    versioned=False,
    unversioned_reason=(
        "Raw Data Capture and ground truth are write-once objects under unique keys that expire after the label "
        "window and a re-run; versions would keep every expired object a further day (a third more storage at "
        "150 TB/day). The results bucket, the record of each day, stays versioned."
    ),
)


def capture_expiry_days(settings: ModelQualitySettings) -> int:
    """Days raw capture is kept: until the run that extracts it has ended, its state machine's timeout included.

    S3 expires an object at the first midnight UTC after its creation time + N days
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html), so every
    capture object of UTC day E lives until midnight UTC starting day E + N + 1. The run that reads it starts on
    local day E + 1 and ends at most run_end_minutes after midnight UTC of that day: N days of 1,440 minutes
    must cover that. With the production schedule (04:00 UTC, a 360-minute job) N is 1: a day's capture is kept
    24 to 48 hours. A run that failed is re-run the same UTC day to keep that day; later, its extract is gone.
    """
    return max(1, math.ceil(run_end_minutes(settings) / MINUTES_PER_DAY))


def extract_expiry_days(settings: ModelQualitySettings) -> int:
    """Days the extract of a day is kept: the label window beyond the raw capture's.

    The extract of day E is written on local day E + 1 and read for the last time by the run that scores E, on
    local day E + K + 1: K days after raw capture's last read. Objects written on UTC day E + 1 or later live one
    day more than the capture of day E, which leaves a day to re-run the scoring from the extract.

    Hourly extraction (quality_hourly_extract) writes the extract of day E during day E itself, from 01:15 UTC on:
    those objects expire at midnight UTC starting day E + N + 1 = E + K + 2 (with N = K + 1 in production), after
    the run that scores E on day E + K + 1 and its re-runs that day. A shorter N would expire them before that run:
    the retention cannot drop, but hourly writes spread through the day are billed half a day less on average.
    """
    return settings.quality_label_delay_days + capture_expiry_days(settings)


def raw_data_rule(settings: ModelQualitySettings, retention_days: int) -> s3.LifecycleRule:
    """Raw capture and labels: kept in S3 Standard while the runs read them, then expired or archived for audit.

    With `quality_raw_archive_expiry_days` set they move to S3 Glacier Deep Archive (Standard to any class is a
    supported transition, 0 or more days; an object of under 128 KB stays where it is) and expire later
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html).
    """
    archive = settings.quality_raw_archive_expiry_days
    return s3.LifecycleRule(
        id="ExpireRawData",
        expiration=Duration.days(archive or retention_days),
        transitions=[
            s3.Transition(
                storage_class=s3.StorageClass.DEEP_ARCHIVE,
                transition_after=Duration.days(retention_days),
            )
        ]
        if archive
        else None,
        noncurrent_version_expiration=Duration.days(1),
    )


def results_expiry_days(settings: ModelQualitySettings) -> dict[str, int]:
    """Days each top-level folder of the results bucket is kept, by what it is for."""
    return {
        **dict.fromkeys(DAILY_RESULTS, settings.quality_results_retention_days),
        REJECTS_PREFIX: settings.quality_reject_retention_days,
        EXTRACT_PREFIX: extract_expiry_days(settings),
        WORK_PREFIX: WORK_EXPIRY_DAYS,
        QUERY_RESULTS_PREFIX: QUERY_RESULTS_EXPIRY_DAYS,
    }


def results_rules(settings: ModelQualitySettings) -> list[s3.LifecycleRule]:
    """One expiring rule per folder (the rules do not overlap, so each folder's own applies)."""
    return [
        s3.LifecycleRule(
            id=f"Expire-{folder.strip('_')}",
            prefix=f"{folder}/",
            expiration=Duration.days(days),
            # The extract is derived data, rewritten daily and large next to the results: a versioned results bucket
            # keeps its expired or replaced objects the least S3 allows, not the bucket's week.
            noncurrent_version_expiration=Duration.days(1) if folder == EXTRACT_PREFIX else None,
        )
        for folder, days in results_expiry_days(settings).items()
    ]


class QualityStorage(Construct):
    """KMS-encrypted buckets; raw capture is kept in S3 Standard until its extracting run has ended, ground truth
    `quality_raw_retention_days`.

    Captures land under `capture_uri` (`{capture_uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/`), the layout SageMaker
    Data Capture writes; pass `capture_bucket` (and `capture_prefix`) to read an existing endpoint's captures
    instead of creating a bucket. Ground truth goes to `ground_truth_bucket` under `yyyy/mm/dd/hh/`.
    `quality_existing_*` re-attach the buckets and key a production destroy kept; `capture_key` is the key that
    encrypts the capture bucket (a kept one's key, else `encryption_key`), for the endpoint's DataCaptureConfig.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        encryption_key: DataKey,
        capture_bucket: s3.IBucket | None = None,
        capture_prefix: str = CAPTURE_PREFIX,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs_bucket = AccessLogsBucket(self, "AccessLogsBucket", common=settings.common)
        capture_expiry = [raw_data_rule(settings, capture_expiry_days(settings))]
        label_expiry = [raw_data_rule(settings, settings.quality_raw_retention_days)]

        def bucket(construct_id: str, rules: Sequence[s3.LifecycleRule] = (), **raw: Any) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                common=settings.common,
                encryption_key=encryption_key,
                access_logs_bucket=self.access_logs_bucket,
                lifecycle_rules=rules,
                **raw,
            )

        self.kept_key = existing_key(self, "KeptDataKey", settings.quality_existing_key_arn)

        def kept(construct_id: str, bucket_name: str) -> s3.IBucket | None:
            return existing_bucket(self, construct_id, bucket_name, self.kept_key)

        kept_capture = kept("KeptCaptureBucket", settings.quality_existing_capture_bucket)
        self.capture_bucket = (
            capture_bucket or kept_capture or bucket("CaptureBucket", capture_expiry, **RAW_UNVERSIONED)
        )
        self.capture_key: kms.IKey = encryption_key
        if kept_capture is not None and capture_bucket is None and self.kept_key is not None:
            self.capture_key = self.kept_key
        self.capture_prefix = capture_prefix.strip("/")
        self.ground_truth_bucket = kept(
            "KeptGroundTruthBucket", settings.quality_existing_ground_truth_bucket
        ) or bucket("GroundTruthBucket", label_expiry, **RAW_UNVERSIONED)
        self.results_bucket = kept("KeptResultsBucket", settings.quality_existing_results_bucket) or bucket(
            "ResultsBucket", results_rules(settings)
        )
        self.logs_bucket = bucket(
            "JobLogsBucket",
            [s3.LifecycleRule(id="ExpireJobLogs", expiration=Duration.days(settings.common.log_retention_days))],
        )

    @property
    def capture_uri(self) -> str:
        """Where an endpoint's DataCaptureConfig.DestinationS3Uri points."""
        return self.capture_bucket.s3_url_for_object(self.capture_prefix)
