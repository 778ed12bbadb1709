"""Every prefix the daily run reads for a day outlives the last run that reads it (issue 30, item 4).

Simulated over a year of scheduled runs from the synthesized template: the schedule (hour, zone), the state machine's
timeout, and each bucket's or folder's ExpirationInDays, with S3's rule that an object expires at the first
midnight UTC after its creation time + N days
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
"""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from stacks.model_quality.settings import RUN_OVERHEAD_MINUTES
from stacks.model_quality.storage import EXTRACT_PREFIX
from tests.model_quality.conftest import monitor_template
from tests.model_quality.test_monitor import definition

EPSILON = timedelta(milliseconds=1)
FIRST_DAY = date(2027, 1, 1)


def expires(created: datetime, days: int) -> datetime:
    """S3's expiry: creation + days, rounded to the next midnight UTC."""
    due = created + timedelta(days=days)
    return datetime.combine(due.date() + timedelta(days=1), time(), tzinfo=timezone.utc)


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def lifetimes(template):
    buckets = template.find_resources("AWS::S3::Bucket")

    def raw_expiry(name):
        (days,) = [
            rule["ExpirationInDays"]
            for logical_id, bucket in buckets.items()
            if logical_id.startswith(f"MonitorStorage{name}")
            for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
            if rule["Id"] == "ExpireRawData"
        ]
        return days

    (extract,) = [
        rule["ExpirationInDays"]
        for logical_id, bucket in buckets.items()
        if logical_id.startswith("MonitorStorageResultsBucket")
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if rule.get("Prefix") == f"{EXTRACT_PREFIX}/" and "ExpirationInDays" in rule
    ]
    (schedule,) = [
        body["Properties"]
        for logical_id, body in template.find_resources("AWS::Scheduler::Schedule").items()
        if "DailySchedule" in logical_id
    ]
    (run_date,) = [
        body["Properties"]["Environment"]["Variables"]
        for logical_id, body in template.find_resources("AWS::Lambda::Function").items()
        if "RunDateFunction" in logical_id
    ]
    hour = int(schedule["ScheduleExpression"].split()[1])
    zone = ZoneInfo(schedule["ScheduleExpressionTimezone"])
    run = timedelta(seconds=definition(template)["TimeoutSeconds"])
    return raw_expiry("Capture"), raw_expiry("GroundTruth"), extract, hour, zone, run, int(run_date["LABEL_DELAY_DAYS"])


def check(template, days=366):
    capture_days, label_days, extract_days, hour, zone, run, delay = lifetimes(template)

    def start(local_day: date) -> datetime:
        return datetime.combine(local_day, time(hour), tzinfo=zone).astimezone(timezone.utc)

    for offset in range(days):
        extracted = FIRST_DAY + timedelta(days=offset)  # UTC day E, extracted by the run of local day E + 1
        extract_run = start(extracted + timedelta(days=1))
        assert extract_run >= utc_midnight(extracted + timedelta(days=1)), f"{extracted} is not over at {extract_run}"
        assert extract_run + run <= expires(utc_midnight(extracted) + EPSILON, capture_days), (
            f"raw capture of {extracted} expires before the run that extracts it ends"
        )
        last_scoring = start(extracted + timedelta(days=delay + 1)) + run
        assert last_scoring <= expires(extract_run, extract_days), f"the extract of {extracted} expires too early"
        # Hourly extraction writes an hour's extract soon after the hour: the first one of day E, an hour into it,
        # is the earliest written and the first to expire (issue 30 item 4).
        first_hourly = utc_midnight(extracted) + timedelta(hours=1)
        assert last_scoring <= expires(first_hourly, extract_days), f"the hourly extract of {extracted} expires early"
        # Labels collected on UTC day L are read by the runs of local days L + 1 .. L + K + 1.
        assert last_scoring <= expires(utc_midnight(extracted) + EPSILON, label_days), (
            f"labels of {extracted} expire before the last run that reads them ends"
        )


def test_every_prefix_outlives_its_last_reader_in_each_profile(template):
    template, config = template
    check(template)
    capture_days, _, extract_days, *_ = lifetimes(template)
    assert extract_days == capture_days + config.quality_label_delay_days


@pytest.mark.parametrize(
    "context",
    [
        {"kit:quality_schedule_time_zone": "America/New_York", "kit:quality_schedule_hour": "22"},
        {"kit:quality_schedule_time_zone": "Asia/Tokyo", "kit:quality_schedule_hour": "10"},
        {
            "kit:quality_job_timeout_minutes": "1440",
            "kit:quality_label_delay_days": "3",
            "kit:quality_raw_retention_days": "5",
        },
    ],
)
def test_late_schedules_and_long_runs_keep_the_raw_capture_longer(context):
    template, config = monitor_template(profile="production", **context)
    check(template)


def test_the_production_capture_is_kept_one_day():
    """04:00 UTC and a 360-minute job end within the UTC day after the capture: N = 1 (24 to 48 hours kept)."""
    template, _ = monitor_template(profile="production")
    assert lifetimes(template)[0] == 1


def test_the_state_machine_timeout_stays_within_the_overhead_the_expiry_assumes(template):
    template, config = template
    run_minutes = definition(template)["TimeoutSeconds"] / 60
    assert run_minutes <= config.quality_job_timeout_minutes + RUN_OVERHEAD_MINUTES
