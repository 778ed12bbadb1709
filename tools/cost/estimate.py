"""The cost arithmetic: template facts x usage assumptions x prices -> monthly dollars, idle and under workload.

Every function is pure, so a test can check it against a hand computation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

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


def model_quality(facts: ModelQualityFacts, overhead: StackOverhead, usage: dict, prices: PriceTable, hours: float,
                  mb_per_s_per_core: float) -> Section:
    architecture = facts.architecture.lower().replace("-", "_")
    vcpu_price = prices(f"emr_serverless_vcpu_hour_{architecture}")
    gb_price = prices(f"emr_serverless_gb_hour_{architecture}")
    vcpu_hours = emr_vcpu_hours_per_day(usage["captured_tb_per_day"], mb_per_s_per_core)
    per_run = vcpu_hours * (vcpu_price + facts.worker_gb_per_vcpu * gb_price)
    stored_gb = usage["captured_tb_per_day"] * 1000 * facts.capture_retention_days
    s3 = prices("s3_standard_gb_month")
    if facts.has_dashboard:
        seats = usage["quicksight_authors"] * prices("quicksight_author_month") \
            + usage["quicksight_readers"] * prices("quicksight_reader_month")
        quicksight = Line("QuickSight", f"{usage['quicksight_authors']} author(s), {usage['quicksight_readers']} "
                          "reader(s)", seats, seats)
    else:
        quicksight = Line("QuickSight", "no dashboard in this synth (quicksight_owner_arn unset)", 0.0, 0.0)
    section = Section("Daily model-quality job (ModelQualityStack)", [
        Line("EMR Serverless precision-recall job",
             f"{usage['runs_per_month']} run(s) x {vcpu_hours:,.1f} vCPU-h ({usage['captured_tb_per_day']:g} TB/day at "
             f"{mb_per_s_per_core:g} MB/s per vCPU) + {facts.worker_gb_per_vcpu:g} GB per vCPU, {facts.architecture}",
             0.0, usage["runs_per_month"] * per_run),
        Line("Captured data on S3", f"{usage['captured_tb_per_day']:g} TB/day kept {facts.capture_retention_days} days "
             f"(capture bucket expiry)", 0.0, stored_gb * s3),
        Line("Results on S3", f"{usage['results_gb']:g} GB", usage["results_gb"] * s3, usage["results_gb"] * s3),
        quicksight, *overhead_lines(overhead, prices, hours)])
    run_hours = vcpu_hours / facts.max_vcpu
    section.notes.append(f"One day's run is {vcpu_hours:,.1f} vCPU-hours: {run_hours:,.2f} h at the application's "
                         f"maximum of {facts.max_vcpu} vCPU, ${per_run:,.2f} a run.")
    if run_hours > 24:
        section.notes.append("That is more than a day: raise quality_max_vcpu or the runs fall behind.")
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


def idle_endpoint_hours(facts: ChurnFacts, hours: float) -> float:
    """Hours an unused endpoint bills in a month: until the idle guard deletes it (its window plus at most one
    check interval after the last deployment), else the whole month."""
    if facts.idle_hours is None:
        return hours
    return min(hours, facts.idle_hours + (facts.idle_check_hours or 0.0))


def churn(facts: ChurnFacts, overhead: StackOverhead, usage: dict, prices: PriceTable, hours: float) -> Section:
    per_run = churn_run(facts, usage, prices)
    hosting = prices.instance("hosting", facts.endpoint_instance_type)
    busy = endpoint_instances(facts, usage["invocations_per_minute"])
    idle_hours = idle_endpoint_hours(facts, hours)
    idle_basis = (f"deleted after {facts.idle_hours} h without invocations (idle guard, checked every "
                  f"{facts.idle_check_hours:g} h): {idle_hours:g} h idle" if facts.idle_hours is not None
                  else f"{hours:g} h idle")
    lines = [
        Line("Training pipeline", f"{usage['runs_per_month']} run(s) x ${per_run:,.2f} "
             f"({facts.processing_instance_count} x {facts.processing_instance_type} processing, "
             f"{facts.training_instance_type} training, {facts.evaluation_instance_type} evaluation)",
             0.0, usage["runs_per_month"] * per_run),
        Line("Real-time endpoint", f"{facts.endpoint_instance_type}: {facts.endpoint_instance_count} x {idle_basis}; "
             f"{busy} at {usage['invocations_per_minute']:,}/min (target {facts.invocations_per_instance}/instance, "
             f"max {facts.endpoint_max_instances}) x {hours:g} h",
             facts.endpoint_instance_count * hosting * idle_hours, busy * hosting * hours)]
    if facts.notebook_instance_type:
        lines.append(Line("Notebook instance", f"{facts.notebook_instance_type} x {usage['notebook_hours_per_month']} h "
                          "(stopped when idle)", 0.0,
                          usage["notebook_hours_per_month"] * prices.instance("notebook", facts.notebook_instance_type)))
    section = Section("SageMaker Spark churn model (ChurnModelStack)", [*lines, *overhead_lines(overhead, prices, hours)])
    if facts.idle_hours is None:
        section.notes.append(f"One pipeline run: ${per_run:,.2f}. The endpoint bills from the first approved model "
                             "until the stack is destroyed.")
    else:
        section.notes.append(f"One pipeline run: ${per_run:,.2f}. Idle, the endpoint bills {idle_hours:g} h after "
                             "each approval, then the idle guard deletes it; the next approval creates it again.")
    return section
