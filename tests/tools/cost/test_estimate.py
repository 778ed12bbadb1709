"""The cost arithmetic against hand computations with round prices."""

from __future__ import annotations

import pytest

from tools.cost import estimate
from tools.cost.estimate import PriceError, PriceTable
from tools.cost.facts import ChurnFacts, ModelQualityFacts, RedshiftFacts, StackOverhead

PRICES = PriceTable(
    region="test-region", as_of="2026-11-21",
    unit_prices={name: {"usd": usd} for name, usd in {
        "redshift_serverless_rpu_hour": 0.5, "redshift_managed_storage_gb_month": 0.03, "s3_standard_gb_month": 0.02,
        "emr_serverless_vcpu_hour_arm64": 0.04, "emr_serverless_gb_hour_arm64": 0.005, "kms_key_month": 1.0,
        "secrets_manager_secret_month": 0.5, "cloudwatch_alarm_month": 0.1, "vpc_interface_endpoint_az_hour": 0.01,
        "quicksight_author_month": 24.0, "quicksight_reader_month": 3.0, "s3_deep_archive_gb_month": 0.001,
        "s3_deep_archive_transition_1000": 0.05}.items()}
    | {"redshift_ml_training_million_cells": {"usd": 20.0, "tiers": [
        {"up_to_million_cells": 10, "usd": 20.0}, {"up_to_million_cells": 100, "usd": 15.0}, {"usd": 7.0}]}},
    instance_hours={"processing": {"ml.p.big": 1.0, "ml.p.small": 0.4}, "training": {"ml.t.big": 2.0},
                    "hosting": {"ml.h.small": 0.1}, "notebook": {"ml.n.small": 0.05}})
NO_OVERHEAD = StackOverhead(kms_keys=0, alarms=0, secrets=0, interface_endpoint_azs=0)


def test_overhead_is_billed_idle_and_busy_alike():
    lines = estimate.overhead_lines(StackOverhead(kms_keys=2, alarms=3, secrets=1, interface_endpoint_azs=4),
                                    PRICES, hours=100)
    assert [(line.item, line.idle) for line in lines] == [
        ("KMS keys", 2.0), ("Secrets Manager", 0.5), ("CloudWatch alarms", pytest.approx(0.3)),
        ("Interface VPC endpoints", pytest.approx(4.0))]
    assert all(line.idle == line.workload for line in lines)


@pytest.mark.parametrize(("millions", "expected"), [(5, 100.0), (10, 200.0), (15, 275.0), (150, 1900.0)])
def test_redshift_ml_cells_are_priced_by_tier(millions, expected):
    # 150M: 10 x $20 + 90 x $15 + 50 x $7
    assert PRICES.tiered("redshift_ml_training_million_cells", millions) == pytest.approx(expected)


def test_redshift_in_database_against_export_pipeline():
    usage = {"storage_gb": 100, "pairs_scored_per_day": 1000, "scoring_minutes_per_day": 3,
             "training_runs_per_month": 3, "training_rows": 1_000_000, "training_columns": 5,
             "training_query_minutes": 6,
             "export": {"unload_minutes_per_day": 3, "copy_back_minutes_per_day": 3, "exported_gb_per_day": 2,
                        "export_retention_days": 5, "inference_instance_type": "ml.h.small",
                        "training_instance_type": "ml.t.big", "training_hours_per_run": 0.5}}
    section, options = estimate.redshift(RedshiftFacts(base_rpu=8, daily_rpu_hour_limit=None), NO_OVERHEAD, usage,
                                         PRICES, hours=100)
    # storage 100 GB x 0.03 = 3; scoring 8 RPU x 0.05 h x 30 days x 0.5 = 6
    # CREATE MODEL: 3 runs x 5M cells = 15M -> 275; query 3 x 8 RPU x 0.1 h x 0.5 = 1.2
    assert section.idle == pytest.approx(3.0)
    assert section.workload == pytest.approx(3.0 + 6.0 + 276.2)
    create_model, byom, export = options
    assert (create_model.inference, create_model.training) == (pytest.approx(6.0), pytest.approx(276.2))
    # BYOM: SageMaker training 3 x 0.5 h x $2 = 3, plus the import query time 1.2
    assert (byom.inference, byom.training) == (pytest.approx(6.0), pytest.approx(4.2))
    # export: UNLOAD + COPY 8 RPU x 0.1 h x 30 x 0.5 = 12; CSV 2 GB x 5 days x 0.02 = 0.2; instance 0.1 x 100 h = 10
    assert (export.inference, export.training) == (pytest.approx(22.2), pytest.approx(3.0))
    assert export.total == pytest.approx(25.2)


def test_redshift_scoring_above_the_usage_limit_is_called_out():
    usage = {"storage_gb": 0, "pairs_scored_per_day": 1, "scoring_minutes_per_day": 120, "training_runs_per_month": 0,
             "training_rows": 0, "training_columns": 0, "training_query_minutes": 0,
             "export": {"unload_minutes_per_day": 0, "copy_back_minutes_per_day": 0, "exported_gb_per_day": 0,
                        "export_retention_days": 0, "inference_instance_type": "ml.h.small",
                        "training_instance_type": "ml.t.big", "training_hours_per_run": 0}}
    section, _ = estimate.redshift(RedshiftFacts(base_rpu=8, daily_rpu_hour_limit=8), NO_OVERHEAD, usage, PRICES, 100)
    assert section.notes == ["Daily scoring needs 16.0 RPU-hours, above the template's usage limit of 8: "
                             "the workgroup would be deactivated."]


def test_model_quality_job_storage_and_dashboard():
    facts = ModelQualityFacts(architecture="ARM64", max_vcpu=4, worker_gb_per_vcpu=4.0, capture_retention_days=10,
                              has_dashboard=True)
    usage = {"captured_tb_per_day": 0.09, "runs_per_month": 30, "results_gb": 5, "quicksight_authors": 1,
             "quicksight_readers": 2}
    overhead = StackOverhead(kms_keys=2, alarms=3, secrets=0, interface_endpoint_azs=0)
    # 0.09 TB = 90,000 MB at 25 MB/s per vCPU = 3,600 vCPU-seconds = 1 vCPU-hour a day
    assert estimate.emr_vcpu_hours_per_day(0.09, 25.0) == pytest.approx(1.0)
    section = estimate.model_quality(facts, overhead, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
    # idle: results 5 GB x 0.02 = 0.1; QuickSight 24 + 2 x 3 = 30; keys 2; alarms 0.3
    assert section.idle == pytest.approx(32.4)
    # job: 30 runs x 1 vCPU-h x (0.04 + 4 GB x 0.005) = 1.8; captures: 90 GB/day x 10 days x 0.02 = 18
    assert section.workload == pytest.approx(32.4 + 1.8 + 18.0)
    assert section.notes[0] == "One day's run is 1.0 vCPU-hours: 0.25 h at the application's maximum of 4 vCPU, $0.06 a run."


def test_model_quality_without_dashboard_and_a_job_longer_than_a_day():
    facts = ModelQualityFacts(architecture="ARM64", max_vcpu=1, worker_gb_per_vcpu=4.0, capture_retention_days=1,
                              has_dashboard=False)
    usage = {"captured_tb_per_day": 2.25, "runs_per_month": 1, "results_gb": 0, "quicksight_authors": 1,
             "quicksight_readers": 2}
    section = estimate.model_quality(facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0)
    assert next(line for line in section.lines if line.item == "QuickSight").workload == 0.0
    assert "more than a day" in section.notes[1]  # 25 vCPU-hours on 1 vCPU


CHURN = ChurnFacts(processing_instance_type="ml.p.big", processing_instance_count=2, training_instance_type="ml.t.big",
                   evaluation_instance_type="ml.p.small", endpoint_instance_type="ml.h.small",
                   endpoint_instance_count=2, endpoint_max_instances=5, invocations_per_instance=100,
                   notebook_instance_type="ml.n.small")
CHURN_USAGE = {"runs_per_month": 4, "processing_hours": 0.5, "training_hours": 1.0, "evaluation_hours": 0.25,
               "invocations_per_minute": 350, "notebook_hours_per_month": 40}


def test_churn_run_endpoint_and_notebook():
    # run: 2 x 0.5 h x $1 + 1 h x $2 + 0.25 h x $0.4 = 3.1
    assert estimate.churn_run(CHURN, CHURN_USAGE, PRICES) == pytest.approx(3.1)
    section = estimate.churn(CHURN, NO_OVERHEAD, CHURN_USAGE, PRICES, hours=100)
    # endpoint idle: 2 x 0.1 x 100 = 20; 350/min at 100 per instance -> 4 instances = 40; notebook 40 h x 0.05 = 2
    assert section.idle == pytest.approx(20.0)
    assert section.workload == pytest.approx(4 * 3.1 + 40.0 + 2.0)


@pytest.mark.parametrize(("per_minute", "instances"), [(0, 2), (10, 2), (201, 3), (350, 4), (10_000, 5)])
def test_endpoint_instances_stay_within_the_template_bounds(per_minute, instances):
    assert estimate.endpoint_instances(CHURN, per_minute) == instances


def test_a_missing_price_names_what_to_add():
    with pytest.raises(PriceError, match=r"no SageMaker hosting price for ml.x.huge .*has: ml.h.small"):
        PRICES.instance("hosting", "ml.x.huge")
    with pytest.raises(PriceError, match="no price 'glacier_gb_month'"):
        PRICES("glacier_gb_month")


def test_raw_capture_storage_standard_then_deep_archive():
    # 2 TB/day x 3 days x $0.02 = 120; no archive
    assert estimate.raw_capture_storage(2, 3, 0, 1000, PRICES) == (pytest.approx(120.0), 0.0)
    standard, archive = estimate.raw_capture_storage(2, 3, 100, 1000, PRICES)
    # archive: 2,000 GB x 100 days x $0.001 = 200; 100,000 objects x (32 KB x 0.001 + 8 KB x 0.02) per GB;
    # transitions 1,000/day x 30 days / 1,000 x $0.05 = 1.5
    overhead = 100_000 * (32 * 0.001 + 8 * 0.02) / 1024**2
    assert (standard, archive) == (pytest.approx(120.0), pytest.approx(200 + overhead + 1.5))


QUALITY_USAGE = {"captured_tb_per_day": 1.0, "runs_per_month": 30, "results_gb": 0, "quicksight_authors": 0,
                 "quicksight_readers": 0, "capture_objects_per_day": 1000, "audit_archive_expiry_days": 103}


def test_versioned_capture_is_billed_for_its_noncurrent_day_and_the_retention_options_are_compared():
    facts = ModelQualityFacts(architecture="ARM64", max_vcpu=100, worker_gb_per_vcpu=4.0, capture_retention_days=3,
                              has_dashboard=False, noncurrent_days=1)
    section = estimate.model_quality(facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0)
    standard = next(line for line in section.lines if line.item == "Captured data on S3 Standard")
    assert standard.workload == pytest.approx(1000 * 4 * 0.02)  # 3 days + 1 noncurrent day
    assert "kept 3 days + 1 as noncurrent version" in standard.basis
    assert not any("Deep Archive" in line.item for line in section.lines)
    _, archive = estimate.raw_capture_storage(1.0, 3, 101, 1000, PRICES)
    assert section.notes[1] == (
        f"Raw capture at 1 TB/day: ${1000 * 31 * 0.02:,.0f} a month kept 30 days in S3 Standard (the earlier "
        f"default); $80 as deployed; ${60 + archive:,.0f} with 3 days in Standard and an audit archive in Deep "
        "Archive to day 103 (kit:quality_raw_archive_expiry_days=103; restores take up to 48 hours).")


def test_a_deployed_archive_is_its_own_line():
    facts = ModelQualityFacts(architecture="ARM64", max_vcpu=100, worker_gb_per_vcpu=4.0, capture_retention_days=3,
                              has_dashboard=False, capture_archive_expiry_days=200, noncurrent_days=1)
    section = estimate.model_quality(facts, NO_OVERHEAD, QUALITY_USAGE, PRICES, hours=100, mb_per_s_per_core=25.0)
    lines = {line.item: line.workload for line in section.lines}
    assert lines["Captured data on S3 Standard"] == pytest.approx(1000 * 3 * 0.02)  # noncurrent day is archived
    assert lines["Audit archive (S3 Glacier Deep Archive)"] == pytest.approx(
        estimate.raw_capture_storage(1.0, 3, 198, 1000, PRICES)[1])


@pytest.mark.parametrize(("half_width", "capture_mb", "tb", "target", "percent"), [
    (0.01, 1e6, 1.0, 0.01, 100),   # the measured day is the production day: 100%
    (0.02, 1e6, 1.0, 0.01, 100),   # even full capture misses the target
    (0.01, 1e5, 1.0, 0.01, 10),    # ten times the rows: a tenth suffices
    (0.01, 900, 150, 0.01, 1),     # 150 TB/day: never below 1%
])
def test_sampling_percent_scales_the_measured_interval(half_width, capture_mb, tb, target, percent):
    assert estimate.sampling_percent(half_width, capture_mb, tb, target) == percent


def test_the_sampled_figure_prices_the_job_and_storage_at_that_percent():
    facts = ModelQualityFacts(architecture="ARM64", max_vcpu=100, worker_gb_per_vcpu=4.0, capture_retention_days=3,
                              has_dashboard=False, target_half_width=0.01)
    usage = {**QUALITY_USAGE, "audit_archive_expiry_days": None}
    section = estimate.model_quality(facts, NO_OVERHEAD, usage, PRICES, hours=100, mb_per_s_per_core=25.0,
                                     interval=(0.01, 1e5))
    # 1 TB/day at 25 MB/s per vCPU: 11.11 vCPU-h x (0.04 + 4 x 0.005) x 30 = 20; storage 1,000 GB x 3 x 0.02 = 60
    assert section.workload == pytest.approx(20 + 60)
    assert section.notes[-1].startswith("Sampling: scaled from the benchmark day, 10% capture keeps every 95% "
                                        "interval within +-0.01 at 1 TB/day; job and raw storage would cost $8 a "
                                        "month instead of $80 at 100%")
