"""The cost model reads capacities and instance types from the synthesized templates, not from constants."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import aws_cdk as cdk
import pytest

from app import build_app
from stacks.redshift_ml.model_lifecycle import TRAINING_POLL
from tests.conftest import CDK_JSON_CONTEXT
from tools.cost import estimate
from tools.cost.estimate import PriceTable
from stacks.model_quality.storage import capture_expiry_days, extract_expiry_days
from tools.cost.facts import (
    TemplateError,
    churn_facts,
    daily_run_start_utc_hours,
    model_quality_facts,
    redshift_facts,
    stack_overhead,
)
from stacks.model_quality.hourly import HOURLY_MINUTE
from stacks.model_quality.job import max_executors
from tools.cost.report import (
    checked_throughput,
    estimate_profile,
    extract_cpu_share,
    load_usage,
    measured_extract_size,
    measured_throughput,
    render,
)
from tools.synthesis import templates


def test_facts_follow_the_profile_settings(kit_app):
    settings, stacks = kit_app.settings, templates(kit_app.assembly)
    redshift = redshift_facts(stacks["RedshiftMlStack"])
    assert redshift.base_rpu == settings.redshift_ml.redshift_base_capacity
    assert redshift.daily_rpu_hour_limit == (settings.redshift_ml.redshift_daily_rpu_hours or None)
    quality = model_quality_facts(stacks["ModelQualityStack"])
    assert (quality.architecture, quality.max_vcpu) == ("ARM64", settings.model_quality.quality_max_vcpu)
    assert quality.capture_retention_days == capture_expiry_days(settings.model_quality)
    # A versioned results bucket keeps an expired extract a day as a noncurrent version.
    versioned = settings.model_quality.common.versioned_buckets
    assert quality.extract_expiry_days == extract_expiry_days(settings.model_quality) + (1 if versioned else 0)
    assert quality.worker_gb_per_vcpu == 2.0  # 4 cores, 7 GB + 10% overhead billed as an 8 GB worker
    assert quality.executor_heap_gb_per_vcpu == 7 / 4
    assert quality.deletes_extracted_capture == settings.model_quality.deletes_extracted_capture
    assert quality.run_start_utc_hours == settings.model_quality.quality_schedule_hour  # UTC in both profiles
    # Hourly extraction (production): its schedule's minute, and each run's executor share of the application.
    hourly = settings.model_quality.quality_hourly_extract
    assert quality.hourly_start_minute == (HOURLY_MINUTE if hourly else None)
    maximum = settings.model_quality.quality_max_vcpu
    assert (quality.hourly_executor_vcpu, quality.daily_executor_vcpu) == (
        (4 * max_executors(maximum // 4), 4 * max_executors(maximum - maximum // 4)) if hourly else (None, None)
    )
    churn = churn_facts(stacks["ChurnModelStack"])
    assert (churn.processing_instance_type, churn.processing_instance_count) == (
        settings.churn_model.churn_processing_instance_type,
        settings.churn_model.churn_processing_instance_count,
    )
    assert churn.training_instance_type == settings.churn_model.churn_training_instance_type
    assert (churn.endpoint_instance_type, churn.endpoint_instance_count, churn.endpoint_max_instances) == (
        settings.churn_model.churn_endpoint_instance_type,
        settings.churn_model.churn_endpoint_instance_count,
        settings.churn_model.churn_endpoint_max_instances,
    )
    assert churn.invocations_per_instance == settings.churn_model.churn_invocations_per_instance
    assert churn.notebook_instance_type == (
        settings.churn_model.churn_notebook_instance_type if settings.churn_model.churn_notebook else None
    )
    assert churn.notebook_idle_minutes == (
        settings.churn_model.churn_notebook_idle_minutes if settings.churn_model.churn_notebook else 0
    )
    assert churn.idle_hours == (settings.churn_model.churn_idle_hours or None)
    assert churn.idle_check_hours == (1.0 if settings.churn_model.churn_idle_hours else None)


def test_facts_read_the_small_recurring_charges(kit_app):
    stacks = templates(kit_app.assembly)
    assert redshift_facts(stacks["RedshiftMlStack"]).training_poll_seconds == TRAINING_POLL.to_seconds()
    quality = model_quality_facts(stacks["ModelQualityStack"])
    assert (quality.driver_vcpu, quality.driver_gb) == (2, 8)  # spark.driver.memory 7g + 10% billed as 8 GB
    assert churn_facts(stacks["ChurnModelStack"]).notebook_volume_gb == (
        20 if kit_app.settings.churn_model.churn_notebook else 0
    )
    for template in stacks.values():  # every key of the kit rotates yearly, so each pays for two rotations
        overhead = stack_overhead(template)
        assert (overhead.rotating_keys, overhead.key_rotation_days) == (overhead.kms_keys, 365)
        assert overhead.rotating_keys >= 1


def test_overhead_counts_what_the_templates_hold(kit_app):
    stacks = templates(kit_app.assembly)
    redshift, churn = stack_overhead(stacks["RedshiftMlStack"]), stack_overhead(stacks["ChurnModelStack"])
    assert (redshift.kms_keys, redshift.secrets) == (1, 1)  # the data key; the Redshift-managed admin secret
    # five quality alarms and no-predictions; the hourly extraction's failure alarm where it runs (production)
    hourly = kit_app.settings.model_quality.quality_hourly_extract
    assert stack_overhead(stacks["ModelQualityStack"]).alarms == 6 + hourly
    if kit_app.settings.common.profile == "sandbox":
        assert (redshift.interface_endpoint_azs, churn.interface_endpoint_azs) == (0, 0)
    else:  # SageMaker API and runtime endpoints in 3 AZs; the notebook VPC's six endpoints in 2 AZs
        assert (redshift.interface_endpoint_azs, churn.interface_endpoint_azs) == (6, 12)


def test_a_changed_setting_changes_the_estimate():
    app = cdk.App(
        context={
            **CDK_JSON_CONTEXT,
            "profile": "sandbox",
            "kit:churn_endpoint_instance_type": "ml.m5.large",
            "kit:quality_max_vcpu": 32,
        }
    )
    build_app(app)
    stacks = templates(app.synth())
    assert churn_facts(stacks["ChurnModelStack"]).endpoint_instance_type == "ml.m5.large"
    assert model_quality_facts(stacks["ModelQualityStack"]).max_vcpu == 32
    endpoint = next(
        line
        for line in estimate_profile("sandbox", stacks, PriceTable.load(), load_usage("sandbox"), measured_throughput())
        .sections[2]
        .lines
        if line.item == "Real-time endpoint"
    )
    # The sandbox idle guard deletes an unused endpoint after 4 h, checked hourly: 5 billed hours.
    assert endpoint.idle == pytest.approx(0.115 * 5)


def test_sandbox_idles_at_five_dollars_or_less_per_architecture(kit_app):
    if kit_app.settings.common.profile != "sandbox":
        pytest.skip("the idle target is the sandbox's")
    result = estimate_profile(
        "sandbox", templates(kit_app.assembly), PriceTable.load(), load_usage("sandbox"), measured_throughput()
    )
    churn = result.sections[2]
    assert any(line.item == "Real-time endpoint" and line.idle > 0 for line in churn.lines)  # endpoint included
    assert {section.title: round(section.idle, 2) for section in result.sections if section.idle > 5} == {}
    assert "SageMaker Spark churn model $" in render([result], PriceTable.load())


def test_every_profile_is_priced_and_totals_add_up(kit_app):
    profile = kit_app.settings.common.profile
    result = estimate_profile(
        profile, templates(kit_app.assembly), PriceTable.load(), load_usage(profile), measured_throughput()
    )
    assert result.idle == pytest.approx(sum(line.idle for section in result.sections for line in section.lines))
    assert result.workload >= result.idle > 0
    text = render([result], PriceTable.load())
    assert f"**{profile} total: ${result.idle:,.2f} a month idle" in text
    assert ("Sandbox idle total" in text) == (profile == "sandbox")


def test_the_price_table_names_a_source_for_every_price():
    prices = PriceTable.load()
    assert prices.region and prices.as_of
    assert all(entry.get("source", "").startswith("https://") for entry in prices.unit_prices.values())


def test_every_price_has_an_as_of_date_and_every_tier_a_bound():
    prices = PriceTable.load()
    for name, entry in prices.unit_prices.items():
        assert date.fromisoformat(entry.get("as_of", prices.as_of)) <= date.today(), name
        tiers = entry.get("tiers", [])
        bounds = [value for tier in tiers[:-1] for key, value in tier.items() if key.startswith("up_to_")]
        assert len(bounds) == max(len(tiers) - 1, 0) and bounds == sorted(bounds), name


def test_a_job_without_driver_settings_is_not_priced_as_driverless(kit_app):
    template = json.loads(
        json.dumps(templates(kit_app.assembly)["ModelQualityStack"]).replace(
            "spark.driver.cores=", "spark.driver.coresX="
        )
    )
    with pytest.raises(TemplateError, match=r"spark\.driver\.cores"):
        model_quality_facts(template)


def test_the_extract_costs_less_than_the_raw_capture_days_it_lets_go(kit_app):
    """Issue 30: with the extract, raw capture is kept until the extracting run has ended, not the label window and
    a re-run; the model prices that design below the one it replaced, extract included, in each profile."""
    profile = kit_app.settings.common.profile
    template = templates(kit_app.assembly)["ModelQualityStack"]
    facts = model_quality_facts(template)
    assert facts.extract_expiry_days is not None
    before = dataclasses.replace(
        facts,
        capture_retention_days=kit_app.settings.model_quality.quality_raw_retention_days,
        extract_expiry_days=None,
        deletes_extracted_capture=False,
    )
    usage, prices = load_usage(profile)["model_quality"], PriceTable.load()

    def priced(quality_facts):
        return estimate.model_quality(
            quality_facts,
            stack_overhead(template),
            usage,
            prices,
            730,
            measured_throughput()["mb_per_s_per_core"],
            extract_size=measured_extract_size(),
        )

    with_extract = priced(facts)
    assert any(line.item == "Daily extract on S3 Standard" and line.workload > 0 for line in with_extract.lines)
    assert with_extract.workload < priced(before).workload


@pytest.mark.parametrize(
    ("expression", "zone", "hours"),
    [
        ("cron(0 4 * * ? *)", "UTC", 4.0),
        ("cron(30 4 * * ? *)", "America/New_York", 9.5),  # UTC-5 in January, UTC-4 in July: the later one
        ("cron(0 4 * * ? *)", "Europe/Paris", 3.0),  # UTC+1 in January, UTC+2 in July
    ],
)
def test_the_daily_run_starts_at_its_schedule_in_utc(expression, zone, hours):
    schedule = {"Type": "AWS::Scheduler::Schedule", "Properties": {"ScheduleExpression": expression}}
    schedule["Properties"]["ScheduleExpressionTimezone"] = zone
    template = {"Resources": {"MonitorDailyRunDailyScheduleABC": schedule}}
    assert daily_run_start_utc_hours(template) == hours


def test_the_recorded_throughput_was_measured_with_the_deployed_heap_per_core(kit_app):
    """The throughput make cost prices must come from a job that had no more memory than the template gives it:
    lowering the executors' memory without running `make bench-pr` again fails here (and in `make cost`)."""
    quality = model_quality_facts(templates(kit_app.assembly)["ModelQualityStack"])
    recorded = measured_throughput()
    assert recorded["heap_gb_per_core"] == quality.executor_heap_gb_per_vcpu
    assert checked_throughput(recorded, quality.executor_heap_gb_per_vcpu) is recorded
    with pytest.raises(ValueError, match="more than the 1 GB per vCPU.*make bench-pr"):
        checked_throughput(recorded, 1.0)
    with pytest.raises(ValueError, match="no heap_gb_per_core.*make bench-pr"):
        checked_throughput({key: value for key, value in recorded.items() if key != "heap_gb_per_core"}, 2.0)


def test_the_hourly_runs_are_priced_from_the_recorded_extract_share():
    """The benchmark records the extraction's share of the job's CPU from its own phase names; the cost report reads
    that number, never the names (a renamed phase once made the report price hourly runs at 100% of the job)."""
    from benchmarks.pr_bench import JOB_PHASES
    from benchmarks.pr_bench import extract_cpu_share as share_of

    recorded = measured_throughput()
    assert set(JOB_PHASES) <= set(recorded["profile"]), "the recorded profile lacks a phase the share is made from"
    assert recorded["extract_cpu_share"] == share_of(recorded["profile"])
    assert 0 < extract_cpu_share(recorded) < 1
    with pytest.raises(ValueError, match="extract_cpu_share.*make bench-pr"):
        extract_cpu_share({key: value for key, value in recorded.items() if key != "extract_cpu_share"})
