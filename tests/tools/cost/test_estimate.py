"""The cost arithmetic against hand computations with round prices."""

from __future__ import annotations

import dataclasses

import pytest

from tools.cost import estimate
from tools.cost.estimate import PriceError, PriceTable
from tools.cost.facts import ChurnFacts, ModelQualityFacts, RedshiftFacts, StackOverhead

PRICES = PriceTable(
    region="test-region",
    as_of="2026-11-21",
    unit_prices={
        name: {"usd": usd}
        for name, usd in {
            "redshift_serverless_rpu_hour": 0.5,
            "redshift_managed_storage_gb_month": 0.03,
            "s3_standard_gb_month": 0.02,
            "emr_serverless_vcpu_hour_arm64": 0.04,
            "emr_serverless_gb_hour_arm64": 0.005,
            "kms_key_month": 1.0,
            "secrets_manager_secret_month": 0.5,
            "cloudwatch_alarm_month": 0.1,
            "vpc_interface_endpoint_az_hour": 0.01,
            "quicksight_author_month": 24.0,
            "quicksight_reader_month": 3.0,
            "s3_standard_tiered_gb_month": 0.02,
            "s3_put_copy_post_list_1000": 0.005,
            "s3_get_1000": 0.0004,
            "kms_key_rotation_month": 1.0,
            "sagemaker_notebook_storage_gb_month": 0.1,
            "s3_deep_archive_gb_month": 0.001,
            "s3_deep_archive_transition_1000": 0.05,
        }.items()
    }
    | {
        "redshift_ml_training_million_cells": {
            "usd": 20.0,
            "tiers": [
                {"up_to_million_cells": 10, "usd": 20.0},
                {"up_to_million_cells": 100, "usd": 15.0},
                {"usd": 7.0},
            ],
        }
    },
    instance_hours={
        "processing": {"ml.p.big": 1.0, "ml.p.small": 0.4},
        "training": {"ml.t.big": 2.0},
        "hosting": {"ml.h.small": 0.1},
        "notebook": {"ml.n.small": 0.05},
    },
)
NO_OVERHEAD = StackOverhead(kms_keys=0, alarms=0, secrets=0, interface_endpoint_azs=0)


def test_overhead_is_billed_idle_and_busy_alike():
    lines = estimate.overhead_lines(
        StackOverhead(kms_keys=2, alarms=3, secrets=1, interface_endpoint_azs=4), PRICES, hours=100
    )
    assert [(line.item, line.idle) for line in lines] == [
        ("KMS keys", 2.0),
        ("Secrets Manager", 0.5),
        ("CloudWatch alarms", pytest.approx(0.3)),
        ("Interface VPC endpoints", pytest.approx(4.0)),
    ]
    assert all(line.idle == line.workload for line in lines)


@pytest.mark.parametrize(("millions", "expected"), [(5, 100.0), (10, 200.0), (15, 275.0), (150, 1900.0)])
def test_redshift_ml_cells_are_priced_by_tier(millions, expected):
    # 150M: 10 x $20 + 90 x $15 + 50 x $7
    assert PRICES.tiered("redshift_ml_training_million_cells", millions) == pytest.approx(expected)


def test_redshift_in_database_against_export_pipeline():
    usage = {
        "storage_gb": 100,
        "pairs_scored_per_day": 1000,
        "scoring_minutes_per_day": 3,
        "training_runs_per_month": 3,
        "training_rows": 1_000_000,
        "training_columns": 5,
        "training_query_minutes": 6,
        "training_wait_minutes": 0,
        "export": {
            "unload_minutes_per_day": 3,
            "copy_back_minutes_per_day": 3,
            "exported_gb_per_day": 2,
            "export_retention_days": 5,
            "inference_instance_type": "ml.h.small",
            "training_instance_type": "ml.t.big",
            "training_hours_per_run": 0.5,
        },
    }
    section, options = estimate.redshift(
        RedshiftFacts(base_rpu=8, daily_rpu_hour_limit=None), NO_OVERHEAD, usage, PRICES, hours=100
    )
    # storage 100 GB x 0.03 = 3; scoring 8 RPU x 0.05 h x 30 days x 0.5 = 6
    # CREATE MODEL: 3 runs x 5M cells = 15M -> 275; query 3 x 8 RPU x 0.1 h x 0.5 = 1.2
    assert section.idle == pytest.approx(3.0)
    assert section.workload == pytest.approx(3.0 + 6.0 + 276.2)
    create_model, create_model_by_time, byom, export = options
    assert (create_model.inference, create_model.training) == (pytest.approx(6.0), pytest.approx(276.2))
    # AUTO OFF's billing basis is not confirmed: the same run priced as SageMaker training time, 3 x 0.5 h x $2 + 1.2
    assert (create_model_by_time.inference, create_model_by_time.training) == (pytest.approx(6.0), pytest.approx(4.2))
    assert "$276.20 a month by cells, $4.20 by ml.t.big time" in section.notes[-1]
    # BYOM: SageMaker training 3 x 0.5 h x $2 = 3, plus the import query time 1.2
    assert (byom.inference, byom.training) == (pytest.approx(6.0), pytest.approx(4.2))
    # export: UNLOAD + COPY 8 RPU x 0.1 h x 30 x 0.5 = 12; CSV 2 GB x 5 days x 0.02 = 0.2; instance 0.1 x 100 h = 10
    assert (export.inference, export.training) == (pytest.approx(22.2), pytest.approx(3.0))
    assert export.total == pytest.approx(25.2)


def test_redshift_scoring_above_the_usage_limit_is_called_out():
    usage = {
        "storage_gb": 0,
        "pairs_scored_per_day": 1,
        "scoring_minutes_per_day": 120,
        "training_runs_per_month": 0,
        "training_rows": 0,
        "training_columns": 0,
        "training_query_minutes": 0,
        "training_wait_minutes": 0,
        "export": {
            "unload_minutes_per_day": 0,
            "copy_back_minutes_per_day": 0,
            "exported_gb_per_day": 0,
            "export_retention_days": 0,
            "inference_instance_type": "ml.h.small",
            "training_instance_type": "ml.t.big",
            "training_hours_per_run": 0,
        },
    }
    section, _ = estimate.redshift(RedshiftFacts(base_rpu=8, daily_rpu_hour_limit=8), NO_OVERHEAD, usage, PRICES, 100)
    assert section.notes[:1] == [
        "Daily scoring needs 16.0 RPU-hours, above the template's usage limit of 8: the workgroup would be deactivated."
    ]


def test_model_quality_job_storage_and_dashboard():
    facts = ModelQualityFacts(
        architecture="ARM64", max_vcpu=4, worker_gb_per_vcpu=4.0, capture_retention_days=10, has_dashboard=True
    )
    usage = {
        "captured_tb_per_day": 0.09,
        "runs_per_month": 30,
        "results_gb": 5,
        "quicksight_authors": 1,
        "quicksight_readers": 2,
        "capture_object_mb": 90,
    }
    overhead = StackOverhead(kms_keys=2, alarms=3, secrets=0, interface_endpoint_azs=0)
    # 0.09 TB = 90,000 MB at 25 MB/s per vCPU = 3,600 vCPU-seconds = 1 vCPU-hour a day
    assert estimate.emr_vcpu_hours_per_day(0.09, 25.0) == pytest.approx(1.0)
    section = estimate.model_quality(facts, overhead, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
    # idle: results 5 GB x 0.02 = 0.1; QuickSight 24 + 2 x 3 = 30; keys 2; alarms 0.3
    assert section.idle == pytest.approx(32.4)
    # job: 30 runs x 1 vCPU-h x (0.04 + 4 GB x 0.005) = 1.8; captures: 0.09e12 bytes/day is 83.82 GB of 2^30 bytes,
    # x 10.5 days (10, rounded up to the next midnight UTC: half a day on average) x 0.02 = 17.60; requests (1,000 objects of 90 MB a day): 30,000 PUT x 0.005/1000 = 0.15,
    # 30 runs x 1,000 GET x 0.0004/1000 = 0.012, 30 runs x 24 hour prefixes LIST x 0.005/1000 = 0.0036
    assert section.workload == pytest.approx(32.4 + 1.8 + 0.09e12 / 2**30 * 10.5 * 0.02 + 0.15 + 0.012 + 0.0036)
    assert (
        section.notes[0]
        == "One day's run is 1.0 vCPU-hours: 0.25 h at the application's maximum of 4 vCPU, $0.06 a run."
    )


def test_model_quality_without_dashboard_and_a_job_longer_than_a_day():
    facts = ModelQualityFacts(
        architecture="ARM64", max_vcpu=1, worker_gb_per_vcpu=4.0, capture_retention_days=1, has_dashboard=False
    )
    usage = {
        "captured_tb_per_day": 2.25,
        "runs_per_month": 1,
        "results_gb": 0,
        "quicksight_authors": 1,
        "quicksight_readers": 2,
        "capture_object_mb": 1,
    }
    section = estimate.model_quality(facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
    assert next(line for line in section.lines if line.item == "QuickSight").workload == 0.0
    assert "more than a day" in section.notes[1]  # 25 vCPU-hours on 1 vCPU


CHURN = ChurnFacts(
    processing_instance_type="ml.p.big",
    processing_instance_count=2,
    training_instance_type="ml.t.big",
    evaluation_instance_type="ml.p.small",
    endpoint_instance_type="ml.h.small",
    endpoint_instance_count=2,
    endpoint_max_instances=5,
    invocations_per_instance=100,
    notebook_instance_type="ml.n.small",
    notebook_idle_minutes=60,
)
CHURN_USAGE = {
    "runs_per_month": 4,
    "processing_hours": 0.5,
    "training_hours": 1.0,
    "evaluation_hours": 0.25,
    "invocations_per_minute": 350,
    "notebook_hours_per_month": 40,
}


def test_churn_run_endpoint_and_notebook():
    # run: 2 x 0.5 h x $1 + 1 h x $2 + 0.25 h x $0.4 = 3.1
    assert estimate.churn_run(CHURN, CHURN_USAGE, PRICES) == pytest.approx(3.1)
    section = estimate.churn(CHURN, NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100)
    # endpoint idle: 2 x 0.1 x 100 = 20; 350/min at 100 per instance -> 4 instances = 40; notebook 40 h x 0.05 = 2
    assert section.idle == pytest.approx(20.0)
    assert section.workload == pytest.approx(4 * 3.1 + 40.0 + 2.0)


def test_an_idle_guard_bills_an_unused_endpoint_for_its_window_only():
    guarded = dataclasses.replace(CHURN, idle_hours=4, idle_check_hours=1.0)
    section = estimate.churn(guarded, NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100)
    # idle: 2 instances x $0.1 x (4 h window + 1 h until the hourly check) = 1.0; busy traffic keeps it up all month
    assert section.idle == pytest.approx(1.0)
    assert section.workload == pytest.approx(4 * 3.1 + 40.0 + 2.0)
    endpoint = next(line for line in section.lines if line.item == "Real-time endpoint")
    assert "deleted after 4 h without invocations" in endpoint.basis and "idle guard deletes it" in section.notes[0]
    # A window longer than the month bills the month.
    assert estimate.idle_endpoint_hours(dataclasses.replace(guarded, idle_hours=200), hours=100) == 100
    # A guard without a known check interval bills its window alone.
    assert estimate.idle_endpoint_hours(dataclasses.replace(guarded, idle_check_hours=None), hours=100) == 4


@pytest.mark.parametrize(("per_minute", "instances"), [(0, 2), (10, 2), (201, 3), (350, 4), (10_000, 5)])
def test_endpoint_instances_stay_within_the_template_bounds(per_minute, instances):
    assert estimate.endpoint_instances(CHURN, per_minute) == instances


def test_a_missing_price_names_what_to_add():
    with pytest.raises(PriceError, match=r"no SageMaker hosting price for ml.x.huge .*has: ml.h.small"):
        PRICES.instance("hosting", "ml.x.huge")
    with pytest.raises(PriceError, match="no price 'glacier_gb_month'"):
        PRICES("glacier_gb_month")


def test_s3_standard_is_billed_by_volume_tier_in_gb_of_2_30_bytes():
    prices = PriceTable.load()  # the committed tiers: $0.023 to 50 TB (51,200 GB), $0.022 to 500 TB, $0.021 above
    assert estimate.billed_gb(1) == pytest.approx(1e12 / 1_073_741_824)  # 931.32 GB
    # 150 TB/day kept 30 days = 4.5e15 bytes = 4,190,951.6 GB: 51,200 x 0.023 + 460,800 x 0.022 + 3,678,951.6 x 0.021
    held = estimate.billed_gb(150) * 30
    assert held == pytest.approx(4_190_951.6, abs=0.1)
    assert estimate.s3_standard_storage(held, prices) == pytest.approx(1177.6 + 10137.6 + 3_678_951.6 * 0.021, abs=0.01)
    # The flat first-tier rate on decimal GB said $103,500: the tiers and the GB size take off about 14%.
    assert estimate.s3_standard_storage(held, prices) < 0.87 * 4.5e6 * 0.023
    assert estimate.s3_standard_storage(40_000, prices) == pytest.approx(40_000 * 0.023)  # inside the first tier


def test_capture_requests_follow_the_object_size():
    # 1.5 TB/day in 300 MB objects = 5,000 objects/day: 150,000 PUT a month; each object is 3 Spark splits of
    # 128 MiB, so 15,000 GET a run x 10 runs; 5,000 keys in 24 hour prefixes = 1 LIST each, 240 a month
    requests = estimate.capture_requests(1.5, 300, 10)
    assert requests == (pytest.approx(150_000), pytest.approx(150_000), 240)
    # (150,000 + 240) x $0.005/1000 + 150,000 x $0.0004/1000
    assert estimate.capture_request_cost(requests, PRICES) == pytest.approx(0.7512 + 0.06)
    # The rule of thumb: at 150 TB/day, PUTs alone cost $22,500 a month divided by the object size in MB.
    for object_mb in (1, 10, 75):
        puts = estimate.capture_requests(150, object_mb, 30)[0]
        assert puts * 0.005 / 1000 == pytest.approx(22_500 / object_mb)


def test_capture_requests_and_the_spark_driver_are_lines_of_the_quality_job():
    facts = ModelQualityFacts(
        architecture="ARM64",
        max_vcpu=4,
        worker_gb_per_vcpu=4.0,
        capture_retention_days=1,
        has_dashboard=False,
        driver_vcpu=2,
        driver_gb=8,
    )
    usage = {
        "captured_tb_per_day": 0.09,
        "runs_per_month": 30,
        "results_gb": 0,
        "quicksight_authors": 0,
        "quicksight_readers": 0,
        "capture_object_mb": 90,
    }
    section = estimate.model_quality(facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
    lines = {line.item: line for line in section.lines}
    # 1 vCPU-hour a day over 4 vCPU = 0.25 h a run; driver 0.25 h x (2 x 0.04 + 8 GB x 0.005) = 0.03; 30 runs = 0.9
    assert lines["Spark driver"].workload == pytest.approx(0.9)
    assert lines["S3 requests on captures"].workload == pytest.approx(0.15 + 0.012 + 0.0036)
    assert "1,000 objects/day of 90 MB" in lines["S3 requests on captures"].basis
    assert lines["Spark driver"].idle == lines["S3 requests on captures"].idle == 0.0
    # 1 MB objects: 90,000 objects a day -> 2.7M PUT (13.5) + 2.7M GET (1.08) + 30 x 24 x 4 LIST (0.0144)
    assert section.notes[-1].endswith("At 1 MB objects the S3 requests would cost $14.59 a month.")
    without_size = {key: value for key, value in usage.items() if key != "capture_object_mb"}
    with pytest.raises(KeyError, match="capture_object_mb"):  # the assumption must be stated, not defaulted
        estimate.model_quality(facts, NO_OVERHEAD, without_size, PRICES, hours=100, mb_per_s_per_core=25.0)


def test_rotated_keys_are_priced_at_their_steady_state():
    lines = estimate.overhead_lines(
        StackOverhead(
            kms_keys=3, alarms=0, secrets=0, interface_endpoint_azs=0, rotating_keys=2, key_rotation_days=365
        ),
        PRICES,
        hours=100,
    )
    rotations = next(line for line in lines if line.item == "KMS key rotations")
    # 2 keys x 2 billed rotations x $1; a third rotation adds nothing
    assert (rotations.idle, rotations.workload) == (4.0, 4.0)
    assert "steady state from day 730 ($0 before day 365, $2.00 until the second)" in rotations.basis
    assert sum(line.idle for line in lines) == 3.0 + 4.0
    no_rotation = estimate.overhead_lines(
        StackOverhead(kms_keys=1, alarms=0, secrets=0, interface_endpoint_azs=0), PRICES, hours=100
    )
    assert [line.item for line in no_rotation] == ["KMS keys"]


def test_each_training_check_carries_the_serverless_minimum_charge():
    facts = RedshiftFacts(base_rpu=8, daily_rpu_hour_limit=None, training_poll_seconds=300)
    usage = {
        "storage_gb": 0,
        "pairs_scored_per_day": 0,
        "scoring_minutes_per_day": 0,
        "training_runs_per_month": 2,
        "training_rows": 0,
        "training_columns": 0,
        "training_query_minutes": 0,
        "training_wait_minutes": 90,
        "export": {
            "unload_minutes_per_day": 0,
            "copy_back_minutes_per_day": 0,
            "exported_gb_per_day": 0,
            "export_retention_days": 0,
            "inference_instance_type": "ml.h.small",
            "training_instance_type": "ml.t.big",
            "training_hours_per_run": 0,
        },
    }
    # 90 min / 5 min = 18 checks a run; each 60 s of 8 RPU at $0.5 = $0.0667; 2 runs = $2.40
    assert estimate.lifecycle_checks(facts, usage) == 18
    section, _ = estimate.redshift(facts, NO_OVERHEAD, usage, PRICES, hours=100)
    checks = next(line for line in section.lines if line.item == "Lifecycle training checks")
    assert (checks.idle, checks.workload) == (0.0, pytest.approx(2.4))
    assert estimate.lifecycle_checks(dataclasses.replace(facts, training_poll_seconds=None), usage) == 0


def test_a_stopped_notebook_still_bills_its_volume():
    section = estimate.churn(
        dataclasses.replace(CHURN, notebook_volume_gb=20), NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100
    )
    volume = next(line for line in section.lines if line.item == "Notebook storage volume")
    assert (volume.idle, volume.workload) == (pytest.approx(2.0), pytest.approx(2.0))  # 20 GB x $0.1
    assert section.idle == pytest.approx(20.0 + 2.0)
    assert not any(
        line.item == "Notebook storage volume"
        for line in estimate.churn(CHURN, NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100).lines
    )


def test_the_cheapest_option_is_one_priced_on_a_documented_basis():
    from tools.cost.report import ProfileEstimate, render

    options = [estimate.Option("documented", 1.0, 2.0), estimate.Option("unconfirmed", 0.5, 0.5, confirmed=False)]
    text = render([ProfileEstimate("production", [], options)], PRICES)
    assert "| unconfirmed | $0.50 | $0.50 | $1.00 |" in text and "- Cheapest here: documented." in text


# 1 TB (10^12 bytes) is 931.32 GB of the 2^30 bytes S3 bills.
TB_GB = 1e12 / 2**30


def test_raw_capture_storage_standard_then_deep_archive():
    # 2 TB/day = 1,862.6 GB x 3 days x $0.02 = 111.76; no archive
    assert estimate.raw_capture_storage(2, 3, 0, 1000, PRICES) == (pytest.approx(2 * TB_GB * 3 * 0.02), 0.0)
    standard, archive = estimate.raw_capture_storage(2, 3, 100, 1000, PRICES)
    # archive: 1,862.6 GB x 100 days x $0.001 = 186.26; 100,000 objects x (32 KB x 0.001 + 8 KB x 0.02) per GB;
    # transitions 1,000/day x 30 days / 1,000 x $0.05 = 1.5
    overhead = 100_000 * (32 * 0.001 + 8 * 0.02) / 1024**2
    assert (standard, archive) == (
        pytest.approx(2 * TB_GB * 3 * 0.02),
        pytest.approx(2 * TB_GB * 100 * 0.001 + overhead + 1.5),
    )
    # Many small objects: the per-object index (32 KB at the archive rate) and metadata (8 KB at the Standard rate)
    # dominate: 10^7 objects a day x 100 days x (32 x 0.001 + 8 x 0.02) / 1024^2 GB = 183.1; transitions 15,000.
    _, small_objects = estimate.raw_capture_storage(0.001, 3, 100, 10_000_000, PRICES)
    per_object = 10_000_000 * 100 * (32 * 0.001 + 8 * 0.02) / 1024**2
    assert small_objects - 10_000_000 * 30 / 1000 * 0.05 == pytest.approx(0.001 * TB_GB * 100 * 0.001 + per_object)


QUALITY_USAGE = {
    "captured_tb_per_day": 1.0,
    "runs_per_month": 30,
    "results_gb": 0,
    "quicksight_authors": 0,
    "quicksight_readers": 0,
    "capture_object_mb": 1000,
    "audit_archive_expiry_days": 103,
}


def test_versioned_capture_is_billed_for_its_noncurrent_day_and_the_retention_options_are_compared():
    facts = ModelQualityFacts(
        architecture="ARM64",
        max_vcpu=100,
        worker_gb_per_vcpu=4.0,
        capture_retention_days=3,
        has_dashboard=False,
        noncurrent_days=1,
    )
    section = estimate.model_quality(facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0)
    standard = next(line for line in section.lines if line.item == "Captured data on S3 Standard")
    assert standard.workload == pytest.approx(TB_GB * 4.5 * 0.02)  # 3 days + half a day to midnight + 1 noncurrent
    assert "kept 3 day(s), 3.5 on average (expiry at the next midnight UTC) + 1 as noncurrent version" in standard.basis
    assert not any("Deep Archive" in line.item for line in section.lines)
    _, archive = estimate.raw_capture_storage(1.0, 3, 101, 1000, PRICES)
    (note,) = [note for note in section.notes if note.startswith("Raw capture")]
    assert note == (
        f"Raw capture at 1 TB/day: ${TB_GB * 31.5 * 0.02:,.0f} a month kept 30 days in S3 Standard (the earlier "
        f"default); $84 as deployed; ${TB_GB * 3.5 * 0.02 + archive:,.0f} with 3 days in Standard and an audit archive in Deep "
        "Archive to day 103 (kit:quality_raw_archive_expiry_days=103; restores take up to 48 hours)."
    )


def test_a_deployed_archive_is_its_own_line():
    facts = ModelQualityFacts(
        architecture="ARM64",
        max_vcpu=100,
        worker_gb_per_vcpu=4.0,
        capture_retention_days=3,
        has_dashboard=False,
        capture_archive_expiry_days=200,
        noncurrent_days=1,
    )
    section = estimate.model_quality(facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0)
    lines = {line.item: line.workload for line in section.lines}
    # 3 days and half a day on average to the next midnight UTC; the noncurrent day is archived
    assert lines["Captured data on S3 Standard"] == pytest.approx(TB_GB * 3.5 * 0.02)
    assert lines["Audit archive (S3 Glacier Deep Archive)"] == pytest.approx(
        estimate.raw_capture_storage(1.0, 3, 198, 1000, PRICES)[1]
    )


@pytest.mark.parametrize(
    ("half_width", "capture_mb", "tb", "target", "percent"),
    [
        (0.01, 1e6, 1.0, 0.01, 100),  # the measured day is the production day: 100%
        (0.02, 1e6, 1.0, 0.01, 100),  # even full capture misses the target
        (0.01, 1e5, 1.0, 0.01, 10),  # ten times the rows: a tenth suffices
        (0.01, 900, 150, 0.01, 1),  # 150 TB/day: never below 1%
    ],
)
def test_sampling_percent_scales_the_measured_interval(half_width, capture_mb, tb, target, percent):
    assert estimate.sampling_percent(half_width, capture_mb, tb, target) == percent


def test_the_sampled_figure_prices_the_job_and_storage_at_that_percent():
    facts = ModelQualityFacts(
        architecture="ARM64",
        max_vcpu=100,
        worker_gb_per_vcpu=4.0,
        capture_retention_days=3,
        has_dashboard=False,
        target_half_width=0.01,
    )
    usage = {**QUALITY_USAGE, "audit_archive_expiry_days": None}
    section = estimate.model_quality(
        facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0, interval=(0.01, 1e5)
    )
    # 1 TB/day at 25 MB/s per vCPU: 11.11 vCPU-h x (0.04 + 4 x 0.005) x 30 = 20; storage 931.32 GB x 3.5 x 0.02 = 65.19;
    # requests: 1,000 objects of 1,000 MB a day = 30,000 PUT ($0.15), 8 GETs each (128 MiB splits) x 30 runs
    # = 240,000 GET ($0.096), one LIST per hour prefix = 720 LIST ($0.0036)
    assert section.workload == pytest.approx(20 + TB_GB * 3.5 * 0.02 + 0.15 + 0.096 + 0.0036)
    # sampled: 2 (job) + 6.52 (storage of 0.1 TB/day) = $9; full: 20 + 65.19 = $85
    assert section.notes[-1].startswith(
        "Sampling: scaled from the benchmark day, 10% capture keeps every 95% "
        "interval within +-0.01 at 1 TB/day; job and raw storage would cost $9 a "
        "month instead of $85 at 100%"
    )


def test_rotations_scale_with_the_rotation_price():
    """With a rotation price other than $1, multiplying and dividing by it differ: 3 keys x 2 billed rotations x $1.50."""
    prices = dataclasses.replace(PRICES, unit_prices={**PRICES.unit_prices, "kms_key_rotation_month": {"usd": 1.5}})
    overhead = StackOverhead(
        kms_keys=3, alarms=0, secrets=0, interface_endpoint_azs=0, rotating_keys=3, key_rotation_days=365
    )
    rotations = next(line for line in estimate.overhead_lines(overhead, prices, hours=100) if "rotations" in line.item)
    assert (rotations.idle, rotations.workload) == (9.0, 9.0)
    assert "$4.50 until the second" in rotations.basis


def test_a_notebook_that_nothing_stops_is_priced_always_on():
    """Without the idle stop (churn_notebook_idle_minutes=0) the usage profile's notebook hours do not apply: it
    bills every hour of the month, idle or not."""
    section = estimate.churn(
        dataclasses.replace(CHURN, notebook_idle_minutes=0), NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100
    )
    notebook = next(line for line in section.lines if line.item == "Notebook instance")
    assert (notebook.idle, notebook.workload) == (pytest.approx(5.0), pytest.approx(5.0))  # 100 h x $0.05
    assert "always on" in notebook.basis
    stopping = estimate.churn(CHURN, NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100)
    notebook = next(line for line in stopping.lines if line.item == "Notebook instance")
    assert (notebook.idle, notebook.workload) == (0.0, pytest.approx(2.0)) and "after 60 idle minutes" in notebook.basis


def test_the_extract_is_priced_from_the_measured_bytes_per_record_and_its_expiry():
    """Issue 30: 1 TB/day of 500-byte capture records is 2e9 records; at 25 measured bytes each, 50e9 bytes
    (46.57 GB of 2^30 bytes) a day, kept its 3 days and up to one more to the next midnight: 186.26 GB x 0.02."""
    facts = ModelQualityFacts(
        architecture="ARM64",
        max_vcpu=100,
        worker_gb_per_vcpu=4.0,
        capture_retention_days=1,
        has_dashboard=False,
        extract_expiry_days=3,
    )
    size = {"extract_bytes_per_record": 25.0, "capture_bytes_per_record": 500.0}
    section = estimate.model_quality(
        facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0, extract_size=size
    )
    lines = {line.item: line for line in section.lines}
    extract = lines["Daily extract on S3 Standard"]
    assert extract.workload == pytest.approx(50e9 / 2**30 * 4 * 0.02)
    assert "2,000,000,000 records/day" in extract.basis and "25 bytes (measured" in extract.basis
    without = estimate.model_quality(facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0)
    assert "Daily extract on S3 Standard" not in {line.item for line in without.lines}


def test_capture_the_run_deletes_is_billed_until_that_run_not_until_the_lifecycle_midnight():
    """Issue 30: 0.09 TB/day on 4 vCPU at 25 MB/s is a 0.25 h run; started at 04:00 UTC the next day, a capture
    object is billed half its day, then 4.25 h at most: 0.5 + 4.25 / 24 days, not the lifecycle's 1.5."""
    kept = ModelQualityFacts(
        architecture="ARM64", max_vcpu=4, worker_gb_per_vcpu=4.0, capture_retention_days=1, has_dashboard=False
    )
    deleting = dataclasses.replace(kept, deletes_extracted_capture=True, run_start_utc_hours=4.0)
    usage = {**QUALITY_USAGE, "captured_tb_per_day": 0.09}

    def capture_line(facts):
        section = estimate.model_quality(facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
        return next(line for line in section.lines if line.item == "Captured data on S3 Standard")

    gb = 0.09e12 / 2**30
    assert capture_line(kept).workload == pytest.approx(gb * 1.5 * 0.02)
    assert capture_line(deleting).workload == pytest.approx(gb * (0.5 + 4.25 / 24) * 0.02)
    assert "until the run that extracts it deletes it: 0.68 days" in capture_line(deleting).basis
    archived = dataclasses.replace(deleting, capture_archive_expiry_days=200)  # the archive keeps it: no deletion
    assert (
        capture_line(archived).workload
        == capture_line(dataclasses.replace(kept, capture_archive_expiry_days=200)).workload
    )
    # A run longer than the lifecycle allows: the expiry at the next midnight UTC comes first.
    slow = dataclasses.replace(deleting, max_vcpu=0.005)  # 1 vCPU-hour over 0.005 vCPU: a 200 h run
    assert capture_line(slow).workload == pytest.approx(capture_line(kept).workload)


# A daily run that deletes the capture it extracted, and the same with hourly extraction on 4 of its 100 vCPUs.
DELETING_DAILY = ModelQualityFacts(
    architecture="ARM64",
    max_vcpu=100,
    worker_gb_per_vcpu=4.0,
    capture_retention_days=1,
    has_dashboard=False,
    driver_vcpu=2,
    driver_gb=8,
    extract_expiry_days=3,
    deletes_extracted_capture=True,
    run_start_utc_hours=4.0,
)
DELETING_HOURLY = dataclasses.replace(
    DELETING_DAILY, hourly_start_minute=15, hourly_executor_vcpu=4, daily_executor_vcpu=96
)
EXTRACT_SIZE = {"extract_bytes_per_record": 25.0, "capture_bytes_per_record": 500.0}


def test_hourly_extraction_bills_raw_capture_about_an_hour_and_moves_the_extract_cpu_out_of_the_daily_run():
    """Issue 30 item 4: 1 TB/day at 25 MB/s per vCPU is 11.11 vCPU-hours; extraction is 36% of it, 0.1667 vCPU-hours
    an hour, 2.5 min on 4 executor vCPUs. A capture object is billed half its hour, the 15 minutes to the run and
    the run: (0.5 + 0.25 + 2.5 / 60) / 24 days instead of half a day plus the daily run. The executors' vCPU-hours
    are the same; each of the 720 hourly runs adds its driver (2 vCPU x $0.04 + 8 GB x $0.005 = $0.12 an hour) for
    its 2.5 min; the daily run's driver runs 64% of the vCPU-hours over its 96 vCPUs. The extract, written through
    the day, is kept its 3 days and half a day on average to the next midnight UTC."""
    daily, hourly, size = DELETING_DAILY, DELETING_HOURLY, EXTRACT_SIZE

    def lines(facts, share=0.36):
        section = estimate.model_quality(
            facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, 100, 25.0, extract_size=size, extract_share=share
        )
        return {line.item: line for line in section.lines}

    before, after = lines(daily), lines(hourly)
    vcpu_hours = 1e6 / 25 / 3600
    assert after["Captured data on S3 Standard"].workload == pytest.approx(TB_GB * (0.5 + 0.25 + 2.5 / 60) / 24 * 0.02)
    assert "0.79 h on average" in after["Captured data on S3 Standard"].basis
    job = "EMR Serverless precision-recall job"
    assert after[job].workload == before[job].workload
    drivers = after["Hourly extraction runs (their drivers; executors are in the job line)"]
    assert drivers.workload == pytest.approx(720 * 2.5 / 60 * 0.12)
    assert after["Spark driver"].workload == pytest.approx(30 * vcpu_hours * 0.64 / 96 * 0.12)
    assert "Hourly extraction runs (their drivers; executors are in the job line)" not in before
    assert after["Daily extract on S3 Standard"].workload == pytest.approx(50e9 / 2**30 * 3.5 * 0.02)
    assert before["Daily extract on S3 Standard"].workload == pytest.approx(50e9 / 2**30 * 4 * 0.02)
    # A run shorter than a minute is billed the minute; without a measured share all of the CPU is moved.
    fast = lines(dataclasses.replace(hourly, hourly_executor_vcpu=400))
    assert fast["Hourly extraction runs (their drivers; executors are in the job line)"].workload == pytest.approx(
        720 / 60 * 0.12
    )
    unmeasured = lines(hourly, share=None)  # the daily run's driver then only bills its minimum
    assert unmeasured["Spark driver"].workload == pytest.approx(30 / 60 * 0.12)
    # An archive keeps raw capture: no hourly run is priced, whatever the template says.
    archived = lines(dataclasses.replace(hourly, capture_archive_expiry_days=200))
    assert "Hourly extraction runs (their drivers; executors are in the job line)" not in archived


def test_each_run_bills_its_fixed_part_on_every_executor_vcpu_it_may_use():
    """The benchmark's marginal throughput leaves out what every run spends whatever its input (start-up, planning,
    commits): 36 s (0.01 h) a run on the daily run's 96 executor vCPUs and each hourly run's 4 is
    0.01 x (96 + 24 x 4) = 1.92 vCPU-hours a day more (2 vCPU x $0.04 + 4 GB x $0.005 = $0.06 each), and every
    driver runs 0.01 h longer."""

    def lines(fixed_seconds):
        section = estimate.model_quality(
            DELETING_HOURLY,
            NO_OVERHEAD,
            QUALITY_USAGE,
            PRICES,
            100,
            25.0,
            extract_size=EXTRACT_SIZE,
            extract_share=0.36,
            run_fixed_seconds=fixed_seconds,
        )
        return {line.item: line for line in section.lines}

    without, with_fixed = lines(0.0), lines(36.0)
    job = "EMR Serverless precision-recall job"
    assert with_fixed[job].workload - without[job].workload == pytest.approx(30 * 1.92 * (0.04 + 4 * 0.005))
    assert "36 s of each run's fixed part" in with_fixed[job].basis
    assert with_fixed["Spark driver"].workload - without["Spark driver"].workload == pytest.approx(30 * 0.01 * 0.12)
    hourly = "Hourly extraction runs (their drivers; executors are in the job line)"
    assert with_fixed[hourly].workload - without[hourly].workload == pytest.approx(720 * 0.01 * 0.12)


def test_a_daily_run_shorter_than_a_minute_bills_its_driver_for_the_minute():
    """EMR Serverless bills every worker of a run for at least a minute (JobRun billedResourceUtilization): a
    sandbox-sized day (0.01 TB at 25 MB/s on 100 vCPU is 4 s of work) still bills its driver 1/60 h a run."""
    section = estimate.model_quality(
        DELETING_DAILY, NO_OVERHEAD, {**QUALITY_USAGE, "captured_tb_per_day": 0.01}, PRICES, 100, 25.0
    )
    driver = next(line for line in section.lines if line.item == "Spark driver")
    assert driver.workload == pytest.approx(30 / 60 * 0.12)
    assert "at least the one-minute minimum" in driver.basis
