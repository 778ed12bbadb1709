"""The cost arithmetic: template facts x usage assumptions x prices -> monthly dollars, idle and under workload.

Every function is pure, so a test can check it against a hand computation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from spark_jobs.model_quality.metrics import capture_percent_for
from tools.cost.facts import ChurnFacts, ModelQualityFacts, RedshiftFacts, StackOverhead

COST_DIR = Path(__file__).resolve().parent
DAYS_PER_MONTH = 30


class PriceError(KeyError):
    """A price the estimate needs is not in the price table."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    unit_prices: dict[str, dict]
    instance_hours: dict[str, dict[str, float]]

    @classmethod
    def load(cls, path: Path = COST_DIR / "prices.json") -> PriceTable:
        data = json.loads(path.read_text())
        instances = {use: prices for use, prices in data["sagemaker_instance_hour"].items() if use != "source"}
        return cls(region=data["region"], as_of=data["as_of"], unit_prices=data["prices"], instance_hours=instances)

    def __call__(self, name: str) -> float:
        if name not in self.unit_prices:
            raise PriceError(f"no price '{name}' in the price table; add it with its unit and source")
        return self.unit_prices[name]["usd"]

    def tiered(self, name: str, quantity_millions: float) -> float:
        """Cost of a month's quantity under a price with volume tiers (each tier's price applies to its band)."""
        tiers = self.unit_prices[name].get("tiers") if name in self.unit_prices else None
        if not tiers:
            return quantity_millions * self(name)
        cost, lower = 0.0, 0.0
        for tier in tiers:
            upper = tier.get("up_to_million_cells", math.inf)
            cost += max(0.0, min(quantity_millions, upper) - lower) * tier["usd"]
            lower = upper
        return cost

    def instance(self, use: str, instance_type: str) -> float:
        prices = self.instance_hours.get(use, {})
        if instance_type not in prices:
            raise PriceError(f"no SageMaker {use} price for {instance_type} in the price table "
                             f"(has: {', '.join(sorted(prices)) or 'none'}); add it under sagemaker_instance_hour.{use}")
        return prices[instance_type]


@dataclass(frozen=True)
class Line:
    item: str
    basis: str
    idle: float  # USD a month with no work done
    workload: float  # USD a month under the stated workload (always-on items count in both)


@dataclass(frozen=True)
class Option:
    """One way to serve the recommender's scores: what inference and training cost a month."""

    name: str
    inference: float
    training: float

    @property
    def total(self) -> float:
        return self.inference + self.training


@dataclass
class Section:
    title: str
    lines: list[Line]
    notes: list[str] = field(default_factory=list)

    @property
    def idle(self) -> float:
        return sum(line.idle for line in self.lines)

    @property
    def workload(self) -> float:
        return sum(line.workload for line in self.lines)


def overhead_lines(overhead: StackOverhead, prices: PriceTable, hours: float) -> list[Line]:
    """Keys, secrets, alarms and interface endpoints bill every hour, used or not."""
    lines = []
    if overhead.kms_keys:
        cost = overhead.kms_keys * prices("kms_key_month")
        lines.append(Line("KMS keys", f"{overhead.kms_keys} key(s)", cost, cost))
    if overhead.secrets:
        cost = overhead.secrets * prices("secrets_manager_secret_month")
        lines.append(Line("Secrets Manager", f"{overhead.secrets} secret(s)", cost, cost))
    if overhead.alarms:
        cost = overhead.alarms * prices("cloudwatch_alarm_month")
        lines.append(Line("CloudWatch alarms", f"{overhead.alarms} alarm(s)", cost, cost))
    if overhead.interface_endpoint_azs:
        cost = overhead.interface_endpoint_azs * hours * prices("vpc_interface_endpoint_az_hour")
        lines.append(Line("Interface VPC endpoints", f"{overhead.interface_endpoint_azs} endpoint-AZs x {hours:g} h",
                          cost, cost))
    return lines


def redshift(facts: RedshiftFacts, overhead: StackOverhead, usage: dict, prices: PriceTable,
             hours: float) -> tuple[Section, list[Option]]:
    """The recommender, and what its ML part costs against the export pipeline it replaces."""
    rpu_hour = prices("redshift_serverless_rpu_hour")
    rpu = facts.base_rpu
    runs = usage["training_runs_per_month"]
    scoring_cost = rpu * usage["scoring_minutes_per_day"] / 60 * DAYS_PER_MONTH * rpu_hour
    cells = usage["training_rows"] * usage["training_columns"]
    training_query_cost = runs * rpu * usage["training_query_minutes"] / 60 * rpu_hour
    create_model_cost = prices.tiered("redshift_ml_training_million_cells", runs * cells / 1e6) + training_query_cost
    storage = usage["storage_gb"] * prices("redshift_managed_storage_gb_month")
    recommender = Section("Redshift ML recommender (RedshiftMlStack)", [
        Line("Redshift Serverless compute", f"base {rpu} RPU, nothing while idle", 0.0, 0.0),
        Line("Managed storage", f"{usage['storage_gb']:,} GB", storage, storage),
        Line("In-database scoring", f"{rpu} RPU x {usage['scoring_minutes_per_day']} min/day "
             f"({usage['pairs_scored_per_day']:,} pairs)", 0.0, scoring_cost),
        Line("CREATE MODEL refresh", f"{runs} run(s) x {cells:,} cells (tiered) + {usage['training_query_minutes']} "
             f"min of {rpu} RPU each", 0.0, create_model_cost),
        *overhead_lines(overhead, prices, hours)])
    daily_rpu_hours = rpu * usage["scoring_minutes_per_day"] / 60
    if facts.daily_rpu_hour_limit is not None and daily_rpu_hours > facts.daily_rpu_hour_limit:
        recommender.notes.append(f"Daily scoring needs {daily_rpu_hours:.1f} RPU-hours, above the template's "
                                 f"usage limit of {facts.daily_rpu_hour_limit:g}: the workgroup would be deactivated.")

    export = usage["export"]
    move_minutes = export["unload_minutes_per_day"] + export["copy_back_minutes_per_day"]
    export_inference = (rpu * move_minutes / 60 * DAYS_PER_MONTH * rpu_hour
                        + export["exported_gb_per_day"] * export["export_retention_days"] * prices("s3_standard_gb_month")
                        + prices.instance("hosting", export["inference_instance_type"]) * hours)
    sagemaker_training = runs * export["training_hours_per_run"] * prices.instance(
        "training", export["training_instance_type"])
    options = [
        Option("In-database, CREATE MODEL (the kit's default)", scoring_cost, create_model_cost),
        Option(f"In-database, bring your own model ({export['training_instance_type']} training job, "
               "then CREATE MODEL FROM the job)", scoring_cost, sagemaker_training + training_query_cost),
        Option(f"Export pipeline: UNLOAD {move_minutes} min/day of {rpu} RPU, CSV on S3, "
               f"{export['inference_instance_type']} always on, COPY back", export_inference, sagemaker_training)]
    return recommender, options


def emr_vcpu_hours_per_day(captured_tb_per_day: float, mb_per_s_per_core: float) -> float:
    """vCPU-hours the precision-recall job needs for a day of captures, at the benchmark's measured throughput."""
    return captured_tb_per_day * 1e6 / mb_per_s_per_core / 3600


# S3 Glacier Deep Archive keeps 32 KB of index per object at its own rate and 8 KB of metadata at the S3 Standard
# rate (https://aws.amazon.com/s3/pricing/, "Storage pricing" notes).
DEEP_ARCHIVE_INDEX_GB = 32 / 1024**2
DEEP_ARCHIVE_METADATA_GB = 8 / 1024**2
PREVIOUS_RETENTION_DAYS = 30  # the production default before issue 17, for the comparison


def raw_capture_storage(tb_per_day: float, standard_days: float, archive_days: float, objects_per_day: float,
                        prices: PriceTable) -> tuple[float, float]:
    """(S3 Standard, Deep Archive) USD a month in steady state: each day's captures held that many days.

    The archive part is storage, the per-object overhead and one lifecycle transition request per object.
    """
    gb = tb_per_day * 1000
    standard = gb * standard_days * prices("s3_standard_gb_month")
    if not archive_days:
        return standard, 0.0
    objects = objects_per_day * archive_days
    archive = (gb * archive_days * prices("s3_deep_archive_gb_month")
               + objects * (DEEP_ARCHIVE_INDEX_GB * prices("s3_deep_archive_gb_month")
                            + DEEP_ARCHIVE_METADATA_GB * prices("s3_standard_gb_month"))
               + objects_per_day * DAYS_PER_MONTH / 1000 * prices("s3_deep_archive_transition_1000"))
    return standard, archive


def sampling_percent(widest_half_width: float, measured_capture_mb: float, captured_tb_per_day: float,
                     target_half_width: float) -> int:
    """Capture percent that keeps the widest 95% interval within the target at this volume.

    A half-width shrinks as 1/sqrt(rows); rows grow with captured bytes, so the benchmark day's widest interval
    is scaled by sqrt(its capture MB / the day's capture MB), then metrics.capture_percent_for applies.
    """
    half = widest_half_width * math.sqrt(measured_capture_mb / (captured_tb_per_day * 1e6))
    return capture_percent_for([(0.0, 2 * half)], target_half_width)


def model_quality(facts: ModelQualityFacts, overhead: StackOverhead, usage: dict, prices: PriceTable, hours: float,
                  mb_per_s_per_core: float, interval: tuple[float, float] | None = None) -> Section:
    """`interval` is the benchmark day's widest 95% half-width and its capture MB, for the sampled figure."""
    architecture = facts.architecture.lower().replace("-", "_")
    vcpu_price = prices(f"emr_serverless_vcpu_hour_{architecture}")
    gb_price = prices(f"emr_serverless_gb_hour_{architecture}")
    tb_per_day = usage["captured_tb_per_day"]
    vcpu_hours = emr_vcpu_hours_per_day(tb_per_day, mb_per_s_per_core)
    per_run = vcpu_hours * (vcpu_price + facts.worker_gb_per_vcpu * gb_price)
    job = usage["runs_per_month"] * per_run
    s3 = prices("s3_standard_gb_month")
    objects = usage.get("capture_objects_per_day", 0)
    archived = facts.capture_archive_expiry_days is not None
    # Expired objects of a versioned bucket stay as noncurrent versions for noncurrent_days (in the archive when
    # there is one, where the minimum duration already covers them).
    standard_days = facts.capture_retention_days + (0 if archived else facts.noncurrent_days)
    archive_days = (facts.capture_archive_expiry_days - facts.capture_retention_days + facts.noncurrent_days
                    if archived else 0)
    standard, archive = raw_capture_storage(tb_per_day, standard_days, archive_days, objects, prices)
    if facts.has_dashboard:
        seats = usage["quicksight_authors"] * prices("quicksight_author_month") \
            + usage["quicksight_readers"] * prices("quicksight_reader_month")
        quicksight = Line("QuickSight", f"{usage['quicksight_authors']} author(s), {usage['quicksight_readers']} "
                          "reader(s)", seats, seats)
    else:
        quicksight = Line("QuickSight", "no dashboard in this synth (quicksight_owner_arn unset)", 0.0, 0.0)
    kept = (f"{facts.capture_retention_days} days" + (f" + {facts.noncurrent_days} as noncurrent version"
                                                         if standard_days > facts.capture_retention_days else ""))
    lines = [
        Line("EMR Serverless precision-recall job",
             f"{usage['runs_per_month']} run(s) x {vcpu_hours:,.1f} vCPU-h ({tb_per_day:g} TB/day at "
             f"{mb_per_s_per_core:g} MB/s per vCPU) + {facts.worker_gb_per_vcpu:g} GB per vCPU, {facts.architecture}",
             0.0, job),
        Line("Captured data on S3 Standard", f"{tb_per_day:g} TB/day kept {kept} (capture bucket lifecycle)",
             0.0, standard)]
    if archived:
        lines.append(Line("Audit archive (S3 Glacier Deep Archive)",
                          f"days {facts.capture_retention_days} to {facts.capture_archive_expiry_days}, "
                          f"{objects:,} objects/day (transitions, 40 KB overhead each)", 0.0, archive))
    lines += [Line("Results on S3", f"{usage['results_gb']:g} GB", usage["results_gb"] * s3, usage["results_gb"] * s3),
              quicksight, *overhead_lines(overhead, prices, hours)]
    section = Section("Daily model-quality job (ModelQualityStack)", lines)
    run_hours = vcpu_hours / facts.max_vcpu
    section.notes.append(f"One day's run is {vcpu_hours:,.1f} vCPU-hours: {run_hours:,.2f} h at the application's "
                         f"maximum of {facts.max_vcpu} vCPU, ${per_run:,.2f} a run.")
    if run_hours > 24:
        section.notes.append("That is more than a day: raise quality_max_vcpu or the runs fall behind.")
    audit_until = facts.capture_archive_expiry_days or usage.get("audit_archive_expiry_days")
    if audit_until:
        previous = raw_capture_storage(tb_per_day, PREVIOUS_RETENTION_DAYS + facts.noncurrent_days, 0, objects,
                                       prices)[0]
        retention = facts.capture_retention_days
        with_archive = sum(raw_capture_storage(tb_per_day, retention, audit_until - retention + facts.noncurrent_days,
                                               objects, prices))
        section.notes.append(
            f"Raw capture at {tb_per_day:g} TB/day: ${previous:,.0f} a month kept {PREVIOUS_RETENTION_DAYS} days in S3 "
            f"Standard (the earlier default); ${standard + archive:,.0f} as deployed; ${with_archive:,.0f} with "
            f"{retention} days in Standard and an audit archive in Deep Archive to day {audit_until} "
            f"(kit:quality_raw_archive_expiry_days={audit_until}; restores take up to 48 hours).")
    if interval and facts.target_half_width:
        percent = sampling_percent(*interval, tb_per_day, facts.target_half_width)
        share = percent / 100
        sampled_standard, sampled_archive = raw_capture_storage(tb_per_day * share, standard_days, archive_days,
                                                                objects * share, prices)
        full = job + standard + archive
        sampled = job * share + sampled_standard + sampled_archive
        section.notes.append(
            f"Sampling: scaled from the benchmark day, {percent}% capture keeps every 95% interval within "
            f"+-{facts.target_half_width:g} at {tb_per_day:g} TB/day; job and raw storage would cost "
            f"${sampled:,.0f} a month instead of ${full:,.0f} at 100% (kit:churn_capture_percent; full capture "
            "stays the default, and each day's summary reports the percent from its own data).")
    return section


def endpoint_instances(facts: ChurnFacts, invocations_per_minute: float) -> int:
    """Instances target tracking settles on: enough for the per-instance target, within the template's bounds."""
    needed = math.ceil(invocations_per_minute / facts.invocations_per_instance)
    return min(max(needed, facts.endpoint_instance_count), facts.endpoint_max_instances)


def churn_run(facts: ChurnFacts, usage: dict, prices: PriceTable) -> float:
    """One pipeline execution: Spark processing, XGBoost training, evaluation (billed per second while they run)."""
    return (facts.processing_instance_count * usage["processing_hours"]
            * prices.instance("processing", facts.processing_instance_type)
            + usage["training_hours"] * prices.instance("training", facts.training_instance_type)
            + usage["evaluation_hours"] * prices.instance("processing", facts.evaluation_instance_type))


def churn(facts: ChurnFacts, overhead: StackOverhead, usage: dict, prices: PriceTable, hours: float) -> Section:
    per_run = churn_run(facts, usage, prices)
    hosting = prices.instance("hosting", facts.endpoint_instance_type)
    busy = endpoint_instances(facts, usage["invocations_per_minute"])
    lines = [
        Line("Training pipeline", f"{usage['runs_per_month']} run(s) x ${per_run:,.2f} "
             f"({facts.processing_instance_count} x {facts.processing_instance_type} processing, "
             f"{facts.training_instance_type} training, {facts.evaluation_instance_type} evaluation)",
             0.0, usage["runs_per_month"] * per_run),
        Line("Real-time endpoint", f"{facts.endpoint_instance_type}: {facts.endpoint_instance_count} idle, {busy} at "
             f"{usage['invocations_per_minute']:,}/min (target {facts.invocations_per_instance}/instance, "
             f"max {facts.endpoint_max_instances}) x {hours:g} h",
             facts.endpoint_instance_count * hosting * hours, busy * hosting * hours)]
    if facts.notebook_instance_type:
        lines.append(Line("Notebook instance", f"{facts.notebook_instance_type} x {usage['notebook_hours_per_month']} h "
                          "(stopped when idle)", 0.0,
                          usage["notebook_hours_per_month"] * prices.instance("notebook", facts.notebook_instance_type)))
    section = Section("SageMaker Spark churn model (ChurnModelStack)", [*lines, *overhead_lines(overhead, prices, hours)])
    section.notes.append(f"One pipeline run: ${per_run:,.2f}. The endpoint bills from the first approved model "
                         "until the stack is destroyed.")
    return section
