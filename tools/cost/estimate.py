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
# S3 bills GB of 2^30 bytes (the storage examples on https://aws.amazon.com/s3/pricing/ and
# https://aws.amazon.com/s3/faqs/ divide byte-hours by 1,073,741,824 and write 10 TB as 10,995,116,277,760 bytes);
# usage.json states volumes in decimal TB (10^12 bytes), the unit capture sizes are measured in.
BYTES_PER_BILLED_GB = 2**30
# ListObjectsV2 returns at most 1,000 keys a request
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html, MaxKeys).
LIST_KEYS_PER_REQUEST = 1000
# Spark reads a file larger than spark.sql.files.maxPartitionBytes (128 MiB by default) as several splits, each a
# ranged GET (https://spark.apache.org/docs/3.5.6/sql-performance-tuning.html).
SPARK_SPLIT_BYTES = 128 * 2**20
# Redshift Serverless bills compute per second with a 60-second minimum (https://aws.amazon.com/redshift/pricing/).
REDSHIFT_MINIMUM_SECONDS = 60
# A KMS key's price rises $1/month with each of its first two rotations, then stays
# (https://aws.amazon.com/blogs/security/the-curious-case-of-faster-aws-kms-symmetric-key-rotation/).
KMS_BILLED_ROTATIONS = 2


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

    def tiered(self, name: str, quantity: float) -> float:
        """Cost of a month's quantity under a price with volume tiers (each tier's price applies to its band).

        A tier's upper bound is its `up_to_<unit>` key, in the unit `quantity` is given in (million cells, GB).
        """
        tiers = self.unit_prices[name].get("tiers") if name in self.unit_prices else None
        if not tiers:
            return quantity * self(name)
        cost, lower = 0.0, 0.0
        for tier in tiers:
            upper = next((bound for key, bound in tier.items() if key.startswith("up_to_")), math.inf)
            cost += max(0.0, min(quantity, upper) - lower) * tier["usd"]
            lower = upper
        return cost

    def instance(self, use: str, instance_type: str) -> float:
        prices = self.instance_hours.get(use, {})
        if instance_type not in prices:
            raise PriceError(
                f"no SageMaker {use} price for {instance_type} in the price table "
                f"(has: {', '.join(sorted(prices)) or 'none'}); add it under sagemaker_instance_hour.{use}"
            )
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
    confirmed: bool = True  # False: priced on a billing basis AWS's documentation does not state

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
    if overhead.rotating_keys:
        cost = overhead.rotating_keys * KMS_BILLED_ROTATIONS * prices("kms_key_rotation_month")
        first_year = overhead.rotating_keys * prices("kms_key_rotation_month")
        lines.append(
            Line(
                "KMS key rotations",
                f"{overhead.rotating_keys} rotating key(s) x {KMS_BILLED_ROTATIONS} billed rotations: steady "
                f"state from day {KMS_BILLED_ROTATIONS * overhead.key_rotation_days} ($0 before day "
                f"{overhead.key_rotation_days}, ${first_year:,.2f} until the second)",
                cost,
                cost,
            )
        )
    if overhead.secrets:
        cost = overhead.secrets * prices("secrets_manager_secret_month")
        lines.append(Line("Secrets Manager", f"{overhead.secrets} secret(s)", cost, cost))
    if overhead.alarms:
        cost = overhead.alarms * prices("cloudwatch_alarm_month")
        lines.append(Line("CloudWatch alarms", f"{overhead.alarms} alarm(s)", cost, cost))
    if overhead.interface_endpoint_azs:
        cost = overhead.interface_endpoint_azs * hours * prices("vpc_interface_endpoint_az_hour")
        lines.append(
            Line("Interface VPC endpoints", f"{overhead.interface_endpoint_azs} endpoint-AZs x {hours:g} h", cost, cost)
        )
    return lines


def redshift(
    facts: RedshiftFacts, overhead: StackOverhead, usage: dict, prices: PriceTable, hours: float
) -> tuple[Section, list[Option]]:
    """The recommender, and what its ML part costs against the export pipeline it replaces."""
    rpu_hour = prices("redshift_serverless_rpu_hour")
    rpu = facts.base_rpu
    runs = usage["training_runs_per_month"]
    scoring_cost = rpu * usage["scoring_minutes_per_day"] / 60 * DAYS_PER_MONTH * rpu_hour
    cells = usage["training_rows"] * usage["training_columns"]
    training_query_cost = runs * rpu * usage["training_query_minutes"] / 60 * rpu_hour
    create_model_cost = prices.tiered("redshift_ml_training_million_cells", runs * cells / 1e6) + training_query_cost
    storage = usage["storage_gb"] * prices("redshift_managed_storage_gb_month")
    checks = lifecycle_checks(facts, usage)
    polling_cost = runs * checks * rpu * REDSHIFT_MINIMUM_SECONDS / 3600 * rpu_hour
    recommender = Section(
        "Redshift ML recommender (RedshiftMlStack)",
        [
            Line("Redshift Serverless compute", f"base {rpu} RPU, nothing while idle", 0.0, 0.0),
            Line("Managed storage", f"{usage['storage_gb']:,} GB", storage, storage),
            Line(
                "In-database scoring",
                f"{rpu} RPU x {usage['scoring_minutes_per_day']} min/day ({usage['pairs_scored_per_day']:,} pairs)",
                0.0,
                scoring_cost,
            ),
            Line(
                "CREATE MODEL refresh",
                f"{runs} run(s) x {cells:,} cells (tiered) + {usage['training_query_minutes']} min of {rpu} RPU each",
                0.0,
                create_model_cost,
            ),
            Line(
                "Lifecycle training checks",
                f"{runs} run(s) x {checks} SVV_ML_MODEL_INFO check(s) "
                f"({usage['training_wait_minutes']} min of training, one every "
                f"{(facts.training_poll_seconds or 0) / 60:g} min), each at most the {REDSHIFT_MINIMUM_SECONDS} s minimum "
                f"of {rpu} RPU",
                0.0,
                polling_cost,
            ),
            *overhead_lines(overhead, prices, hours),
        ],
    )
    daily_rpu_hours = rpu * usage["scoring_minutes_per_day"] / 60
    if facts.daily_rpu_hour_limit is not None and daily_rpu_hours > facts.daily_rpu_hour_limit:
        recommender.notes.append(
            f"Daily scoring needs {daily_rpu_hours:.1f} RPU-hours, above the template's "
            f"usage limit of {facts.daily_rpu_hour_limit:g}: the workgroup would be deactivated."
        )

    export = usage["export"]
    move_minutes = export["unload_minutes_per_day"] + export["copy_back_minutes_per_day"]
    export_inference = (
        rpu * move_minutes / 60 * DAYS_PER_MONTH * rpu_hour
        + export["exported_gb_per_day"] * export["export_retention_days"] * prices("s3_standard_gb_month")
        + prices.instance("hosting", export["inference_instance_type"]) * hours
    )
    sagemaker_training = (
        runs * export["training_hours_per_run"] * prices.instance("training", export["training_instance_type"])
    )
    instance_basis = sagemaker_training + training_query_cost
    recommender.notes.append(
        "Billing basis of CREATE MODEL ... AUTO OFF: Redshift ML's cost page "
        "(https://docs.aws.amazon.com/redshift/latest/dg/cost.html) says CREATE MODEL's SageMaker cost grows with the "
        "training cells and that MAX_RUNTIME bounds AUTO ON and OFF training; it does not say whether AUTO OFF is "
        "billed per cell or per training instance-hour, so both are shown: "
        f"${create_model_cost:,.2f} a month by cells, ${instance_basis:,.2f} by {export['training_instance_type']} "
        f"time ({export['training_hours_per_run']:g} h a run). By cells, CREATE MODEL is "
        f"{'more' if create_model_cost > instance_basis else 'less'} than the instance-time basis."
    )
    options = [
        Option("In-database, CREATE MODEL (the kit's default)", scoring_cost, create_model_cost),
        Option(
            f"In-database, CREATE MODEL if AUTO OFF is billed as {export['training_instance_type']} training time "
            "(basis unconfirmed)",
            scoring_cost,
            instance_basis,
            confirmed=False,
        ),
        Option(
            f"In-database, bring your own model ({export['training_instance_type']} training job, "
            "then CREATE MODEL FROM the job)",
            scoring_cost,
            sagemaker_training + training_query_cost,
        ),
        Option(
            f"Export pipeline: UNLOAD {move_minutes} min/day of {rpu} RPU, CSV on S3, "
            f"{export['inference_instance_type']} always on, COPY back",
            export_inference,
            sagemaker_training,
        ),
    ]
    return recommender, options


def lifecycle_checks(facts: RedshiftFacts, usage: dict) -> int:
    """SVV_ML_MODEL_INFO queries the lifecycle runs while one model trains: one per Wait of the template's interval."""
    if not facts.training_poll_seconds:
        return 0
    return math.ceil(usage["training_wait_minutes"] * 60 / facts.training_poll_seconds)


def billed_gb(decimal_tb: float) -> float:
    """Decimal TB (as usage.json states volumes) in the GB of 2^30 bytes that S3 bills."""
    return decimal_tb * 1e12 / BYTES_PER_BILLED_GB


def s3_standard_storage(gb_months: float, prices: PriceTable) -> float:
    """S3 Standard storage of one bucket by volume tier (other Standard storage of the account is not counted)."""
    return prices.tiered("s3_standard_tiered_gb_month", gb_months)


def capture_requests(captured_tb_per_day: float, object_mb: float, runs_per_month: float) -> tuple[float, float, float]:
    """(PUT, GET, LIST) requests a month: Data Capture writes each object once; each daily run lists the day's 24
    hour prefixes (1,000 keys a LIST) and reads every object, a ranged GET per Spark split."""
    objects_per_day = captured_tb_per_day * 1e12 / (object_mb * 1e6)
    gets_per_object = max(1, math.ceil(object_mb * 1e6 / SPARK_SPLIT_BYTES))
    lists_per_run = 24 * math.ceil(objects_per_day / 24 / LIST_KEYS_PER_REQUEST)
    return (
        objects_per_day * DAYS_PER_MONTH,
        objects_per_day * gets_per_object * runs_per_month,
        lists_per_run * runs_per_month,
    )


def capture_request_cost(requests: tuple[float, float, float], prices: PriceTable) -> float:
    puts, gets, lists = requests
    return ((puts + lists) * prices("s3_put_copy_post_list_1000") + gets * prices("s3_get_1000")) / 1000


def emr_vcpu_hours_per_day(captured_tb_per_day: float, mb_per_s_per_core: float) -> float:
    """vCPU-hours the precision-recall job needs for a day of captures, at the benchmark's measured throughput."""
    return captured_tb_per_day * 1e6 / mb_per_s_per_core / 3600


# S3 Glacier Deep Archive keeps 32 KB of index per object at its own rate and 8 KB of metadata at the S3 Standard
# rate (https://aws.amazon.com/s3/pricing/, "Storage pricing" notes).
DEEP_ARCHIVE_INDEX_GB = 32 / 1024**2
DEEP_ARCHIVE_METADATA_GB = 8 / 1024**2
PREVIOUS_RETENTION_DAYS = 30  # the production default before issue 17, for the comparison
# S3 expires an object at the first midnight UTC after creation + N days
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html), so capture
# written evenly through a UTC day stays N to N + 1 days: N + 0.5 on average.
MIDNIGHT_ROUNDING_DAYS = 0.5


def deleted_capture_days(run_start_utc_hours: float, run_hours: float) -> float:
    """Average days a capture object is billed when the run that extracts it deletes it: half its UTC day (written
    evenly through it), then the hours until the run that starts the next day has ended (an upper bound: it deletes
    once the extract is written, before it scores)."""
    return MIDNIGHT_ROUNDING_DAYS + (run_start_utc_hours + run_hours) / 24


def extract_gb_months(
    captured_tb_per_day: float, extract_size: dict, expiry_days: int, rounding_days: float = 1.0
) -> tuple[float, float]:
    """(records a day, GB-months held) of the daily extract: records from the capture volume at the measured
    capture bytes per record, each kept its expiry days plus the rounding to the next midnight UTC: at most 1 when
    a daily run writes it, 0.5 on average when hourly runs write it evenly through the day."""
    records = captured_tb_per_day * 1e12 / extract_size["capture_bytes_per_record"]
    gb_per_day = records * extract_size["extract_bytes_per_record"] / BYTES_PER_BILLED_GB
    return records, gb_per_day * (expiry_days + rounding_days)


# EMR Serverless bills a worker's vCPU, memory and storage per second (a job's TotalResourceUtilization is
# "rounded up to the nearest second", https://docs.aws.amazon.com/emr-serverless/latest/APIReference/
# API_TotalResourceUtilization.html) with a one-minute minimum per worker (a job run's billed resources "include a
# 1-minute minimum usage for workers": JobRun billedResourceUtilization, https://docs.aws.amazon.com/emr-serverless/
# latest/APIReference/API_JobRun.html, and https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/
# considerations.html). The estimate applies it to each run's driver; the executors' vCPU-hours are priced as the
# work they do, since how many executor workers a run starts is Spark's dynamic allocation's choice.
MINIMUM_BILLED_HOURS = 1 / 60
HOURLY_RUNS_PER_DAY = 24


def hourly_capture_days(start_minute: int, run_hours: float) -> float:
    """Average days a capture object is billed when the hourly run deletes it: half its hour (written evenly
    through it), the minutes until the run starts after the hour, and the run (an upper bound: it deletes once the
    extract is written)."""
    return (0.5 + start_minute / 60 + run_hours) / 24


def raw_capture_storage(
    tb_per_day: float, standard_days: float, archive_days: float, objects_per_day: float, prices: PriceTable
) -> tuple[float, float]:
    """(S3 Standard, Deep Archive) USD a month in steady state: each day's captures held that many days.

    The archive part is storage, the per-object overhead and one lifecycle transition request per object.
    """
    gb = billed_gb(tb_per_day)
    standard = s3_standard_storage(gb * standard_days, prices)
    if not archive_days:
        return standard, 0.0
    objects = objects_per_day * archive_days
    archive = (
        gb * archive_days * prices("s3_deep_archive_gb_month")
        + objects
        * (
            DEEP_ARCHIVE_INDEX_GB * prices("s3_deep_archive_gb_month")
            + DEEP_ARCHIVE_METADATA_GB * prices("s3_standard_gb_month")
        )
        + objects_per_day * DAYS_PER_MONTH / 1000 * prices("s3_deep_archive_transition_1000")
    )
    return standard, archive


def sampling_percent(
    widest_half_width: float, measured_capture_mb: float, captured_tb_per_day: float, target_half_width: float
) -> int:
    """Capture percent that keeps the widest 95% interval within the target at this volume.

    A half-width shrinks as 1/sqrt(rows); rows grow with captured bytes, so the benchmark day's widest interval
    is scaled by sqrt(its capture MB / the day's capture MB), then metrics.capture_percent_for applies.
    """
    half = widest_half_width * math.sqrt(measured_capture_mb / (captured_tb_per_day * 1e6))
    return capture_percent_for([(0.0, 2 * half)], target_half_width)


def model_quality(
    facts: ModelQualityFacts,
    overhead: StackOverhead,
    usage: dict,
    prices: PriceTable,
    hours: float,
    mb_per_s_per_core: float,
    interval: tuple[float, float] | None = None,
    extract_size: dict | None = None,
    extract_share: float | None = None,
    run_fixed_seconds: float = 0.0,
) -> Section:
    """`interval` is the benchmark day's widest 95% half-width and its capture MB, for the sampled figure;
    `extract_size` the measured bytes per record of the daily extract and of the capture it was made from;
    `extract_share` the measured share of the job's CPU that extraction takes (what hourly runs move out of the
    daily run; None: all of it, the upper bound of their length); `run_fixed_seconds` the part of a run's wall time
    that does not grow with its input (start-up, planning, commits), billed on every executor vCPU the run may use."""
    architecture = facts.architecture.lower().replace("-", "_")
    vcpu_price = prices(f"emr_serverless_vcpu_hour_{architecture}")
    gb_price = prices(f"emr_serverless_gb_hour_{architecture}")
    tb_per_day = usage["captured_tb_per_day"]
    archived = facts.capture_archive_expiry_days is not None
    hourly = facts.hourly_start_minute is not None and facts.deletes_extracted_capture and not archived
    daily_vcpu = facts.daily_executor_vcpu or facts.max_vcpu
    hourly_vcpu = facts.hourly_executor_vcpu or facts.max_vcpu
    fixed_vcpu_hours = run_fixed_seconds / 3600 * (daily_vcpu + (HOURLY_RUNS_PER_DAY * hourly_vcpu if hourly else 0))
    marginal_vcpu_hours = emr_vcpu_hours_per_day(tb_per_day, mb_per_s_per_core)
    vcpu_hours = marginal_vcpu_hours + fixed_vcpu_hours
    per_run = vcpu_hours * (vcpu_price + facts.worker_gb_per_vcpu * gb_price)
    job = usage["runs_per_month"] * per_run
    s3 = prices("s3_standard_gb_month")
    object_mb = usage["capture_object_mb"]
    requests = capture_requests(tb_per_day, object_mb, usage["runs_per_month"])
    objects = requests[0] / DAYS_PER_MONTH
    share = (1.0 if extract_share is None else extract_share) if hourly else 0.0
    # The driver runs as long as the job: the executors' vCPU-hours spread over the vCPUs the run may use (the
    # application's maximum, or the daily run's share of it next to the hourly runs). Hourly runs take the
    # extraction's share of the CPU: the same vCPU-hours, moved. Each run has its fixed part too.
    fixed_hours = run_fixed_seconds / 3600
    run_hours = max(MINIMUM_BILLED_HOURS, marginal_vcpu_hours * (1 - share) / daily_vcpu + fixed_hours)
    driver_price = facts.driver_vcpu * vcpu_price + facts.driver_gb * gb_price
    driver_per_run = run_hours * driver_price
    hourly_run_hours = (
        max(
            MINIMUM_BILLED_HOURS,
            marginal_vcpu_hours * share / HOURLY_RUNS_PER_DAY / hourly_vcpu + fixed_hours,
        )
        if hourly
        else 0.0
    )
    # Expired objects of a versioned bucket stay as noncurrent versions for noncurrent_days (in the archive when
    # there is one, where the minimum duration already covers them).
    standard_days = facts.capture_retention_days + MIDNIGHT_ROUNDING_DAYS + (0 if archived else facts.noncurrent_days)
    if facts.deletes_extracted_capture and not archived:
        # S3 bills storage by byte-hours (https://aws.amazon.com/s3/faqs/, billing): capture written evenly over a UTC
        # day, deleted by the run that extracts it, at the latest when that run ends (or the lifecycle expiry, sooner).
        standard_days = min(
            standard_days,
            hourly_capture_days(facts.hourly_start_minute, hourly_run_hours)
            if hourly and facts.hourly_start_minute is not None
            else deleted_capture_days(facts.run_start_utc_hours, run_hours),
        )
    archive_days = (
        facts.capture_archive_expiry_days - facts.capture_retention_days + facts.noncurrent_days if archived else 0
    )
    standard, archive = raw_capture_storage(tb_per_day, standard_days, archive_days, objects, prices)
    if facts.has_dashboard:
        seats = usage["quicksight_authors"] * prices("quicksight_author_month") + usage["quicksight_readers"] * prices(
            "quicksight_reader_month"
        )
        quicksight = Line(
            "QuickSight",
            f"{usage['quicksight_authors']} author(s), {usage['quicksight_readers']} reader(s)",
            seats,
            seats,
        )
    else:
        quicksight = Line("QuickSight", "no dashboard in this synth (quicksight_owner_arn unset)", 0.0, 0.0)
    kept = (
        f"until the hourly run that extracts it deletes it: {standard_days * 24:.2f} h on average (half an hour "
        f"written, then the run from {facts.hourly_start_minute} minutes past the next hour for at most "
        f"{hourly_run_hours * 60:.0f} min; what no run read expires after {facts.capture_retention_days} day(s) at "
        "the next midnight UTC, and the daily run extracts an hour an hourly run missed)"
        if hourly
        else f"until the run that extracts it deletes it: {standard_days:.2f} days on average (half a UTC day written, "
        f"then the run from {int(facts.run_start_utc_hours):02d}:{round(facts.run_start_utc_hours % 1 * 60):02d} UTC "
        f"for at most {run_hours:.2f} h; what it did not read "
        f"expires after {facts.capture_retention_days} day(s) at the next midnight UTC)"
        if facts.deletes_extracted_capture and not archived
        else f"{facts.capture_retention_days} day(s), {facts.capture_retention_days + MIDNIGHT_ROUNDING_DAYS:g} on "
        "average (expiry at the next midnight UTC)"
        + (f" + {facts.noncurrent_days} as noncurrent version" if facts.noncurrent_days and not archived else "")
    )
    lines = [
        Line(
            "EMR Serverless precision-recall job",
            f"{usage['runs_per_month']} run(s) x {vcpu_hours:,.1f} vCPU-h ({tb_per_day:g} TB/day at "
            f"{mb_per_s_per_core:g} MB/s per vCPU"
            + (
                f", and {run_fixed_seconds:g} s of each run's fixed part on every executor vCPU it may use"
                if run_fixed_seconds
                else ""
            )
            + f") + {facts.worker_gb_per_vcpu:g} GB per vCPU, {facts.architecture}",
            0.0,
            job,
        ),
        Line(
            "Captured data on S3 Standard",
            f"{tb_per_day:g} TB/day (10^12 bytes) kept {kept} (capture bucket "
            f"lifecycle): {billed_gb(tb_per_day) * standard_days:,.0f} GB of 2^30 bytes, S3 Standard volume tiers",
            0.0,
            standard,
        ),
        Line(
            "S3 requests on captures",
            f"{objects:,.0f} objects/day of {object_mb:g} MB (usage.json "
            f"capture_object_mb): {requests[0]:,.0f} PUT, {requests[1]:,.0f} GET, {requests[2]:,.0f} LIST a month",
            0.0,
            capture_request_cost(requests, prices),
        ),
        Line(
            "Spark driver",
            f"{usage['runs_per_month']} run(s) x {run_hours:,.2f} h (at least the one-minute minimum) x "
            f"{facts.driver_vcpu} vCPU + {facts.driver_gb} GB",
            0.0,
            usage["runs_per_month"] * driver_per_run,
        ),
    ]
    if hourly:
        hourly_runs = usage["runs_per_month"] * HOURLY_RUNS_PER_DAY
        lines.append(
            Line(
                "Hourly extraction runs (their drivers; executors are in the job line)",
                f"{hourly_runs:,} run(s) x {hourly_run_hours * 60:.1f} min (the extraction's "
                f"{share:.0%} of the job's CPU over {facts.hourly_executor_vcpu} executor vCPU, at least the "
                f"one-minute minimum) x {facts.driver_vcpu} vCPU + {facts.driver_gb} GB",
                0.0,
                hourly_runs * hourly_run_hours * driver_price,
            )
        )
    if facts.extract_expiry_days is not None and extract_size is not None:
        rounding = MIDNIGHT_ROUNDING_DAYS if hourly else 1.0
        records, extract_gb = extract_gb_months(tb_per_day, extract_size, facts.extract_expiry_days, rounding)
        cost = s3_standard_storage(extract_gb, prices)
        lines.append(
            Line(
                "Daily extract on S3 Standard",
                f"{records:,.0f} records/day (at {extract_size['capture_bytes_per_record']:g} capture bytes each) x "
                f"{extract_size['extract_bytes_per_record']:g} bytes (measured, benchmarks/results/extract_size.json), "
                f"kept {facts.extract_expiry_days} day(s) (expiry and any noncurrent day, results bucket extract/) + "
                + (
                    "0.5 on average to the next midnight UTC (written hourly)"
                    if hourly
                    else "up to 1 to the next midnight UTC"
                )
                + ": "
                f"{extract_gb:,.0f} GB",
                0.0,
                cost,
            )
        )
    if archived:
        lines.append(
            Line(
                "Audit archive (S3 Glacier Deep Archive)",
                f"days {facts.capture_retention_days} to {facts.capture_archive_expiry_days}, "
                f"{objects:,.0f} objects/day (transitions, 40 KB overhead each)",
                0.0,
                archive,
            )
        )
    lines += [
        Line("Results on S3", f"{usage['results_gb']:g} GB", usage["results_gb"] * s3, usage["results_gb"] * s3),
        quicksight,
        *overhead_lines(overhead, prices, hours),
    ]
    section = Section("Daily model-quality job (ModelQualityStack)", lines)
    section.notes.append(
        f"One day's run is {vcpu_hours:,.1f} vCPU-hours: {run_hours:,.2f} h at the application's "
        f"maximum of {facts.max_vcpu} vCPU, ${per_run:,.2f} a run."
        if not hourly
        else f"One day is {vcpu_hours:,.1f} vCPU-hours (${per_run:,.2f}): {HOURLY_RUNS_PER_DAY} hourly extractions of "
        f"{hourly_run_hours * 60:.0f} min on {facts.hourly_executor_vcpu} executor vCPU and a daily run of "
        f"{run_hours:,.2f} h on {facts.daily_executor_vcpu} (the application's {facts.max_vcpu} vCPU, split)."
    )
    if run_hours > 24:
        section.notes.append("That is more than a day: raise quality_max_vcpu or the runs fall behind.")
    one_mb = capture_request_cost(capture_requests(tb_per_day, 1, usage["runs_per_month"]), prices)
    section.notes.append(
        f"Capture object size is an assumption (capture_object_mb = {object_mb:g}): Data Capture's "
        "documentation does not say how it rolls its files. "
        + (
            f"At 1 MB objects the S3 requests would cost ${one_mb:,.2f} a month."
            if object_mb != 1
            else "PUTs scale with 1 / object size."
        )
    )
    audit_until = facts.capture_archive_expiry_days or usage.get("audit_archive_expiry_days")
    if audit_until:
        previous = raw_capture_storage(
            tb_per_day, PREVIOUS_RETENTION_DAYS + MIDNIGHT_ROUNDING_DAYS + facts.noncurrent_days, 0, objects, prices
        )[0]
        retention = facts.capture_retention_days
        with_archive = sum(
            raw_capture_storage(
                tb_per_day,
                retention + MIDNIGHT_ROUNDING_DAYS,
                audit_until - retention + facts.noncurrent_days,
                objects,
                prices,
            )
        )
        section.notes.append(
            f"Raw capture at {tb_per_day:g} TB/day: ${previous:,.0f} a month kept {PREVIOUS_RETENTION_DAYS} days in S3 "
            f"Standard (the earlier default); ${standard + archive:,.0f} as deployed; ${with_archive:,.0f} with "
            f"{retention} days in Standard and an audit archive in Deep Archive to day {audit_until} "
            f"(kit:quality_raw_archive_expiry_days={audit_until}; restores take up to 48 hours)."
        )
    if interval and facts.target_half_width:
        percent = sampling_percent(*interval, tb_per_day, facts.target_half_width)
        share = percent / 100
        sampled_standard, sampled_archive = raw_capture_storage(
            tb_per_day * share, standard_days, archive_days, objects * share, prices
        )
        full = job + standard + archive
        sampled = job * share + sampled_standard + sampled_archive
        section.notes.append(
            f"Sampling: scaled from the benchmark day, {percent}% capture keeps every 95% interval within "
            f"+-{facts.target_half_width:g} at {tb_per_day:g} TB/day; job and raw storage would cost "
            f"${sampled:,.0f} a month instead of ${full:,.0f} at 100% (kit:churn_capture_percent; full capture "
            "stays the default, and each day's summary reports the percent from its own data)."
        )
    return section


def endpoint_instances(facts: ChurnFacts, invocations_per_minute: float) -> int:
    """Instances target tracking settles on: enough for the per-instance target, within the template's bounds."""
    needed = math.ceil(invocations_per_minute / facts.invocations_per_instance)
    return min(max(needed, facts.endpoint_instance_count), facts.endpoint_max_instances)


def churn_run(facts: ChurnFacts, usage: dict, prices: PriceTable) -> float:
    """One pipeline execution: Spark processing, XGBoost training, evaluation (billed per second while they run)."""
    return (
        facts.processing_instance_count
        * usage["processing_hours"]
        * prices.instance("processing", facts.processing_instance_type)
        + usage["training_hours"] * prices.instance("training", facts.training_instance_type)
        + usage["evaluation_hours"] * prices.instance("processing", facts.evaluation_instance_type)
    )


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
    idle_basis = (
        f"deleted after {facts.idle_hours} h without invocations (idle guard, checked every "
        f"{facts.idle_check_hours:g} h): {idle_hours:g} h idle"
        if facts.idle_hours is not None
        else f"{hours:g} h idle"
    )
    lines = [
        Line(
            "Training pipeline",
            f"{usage['runs_per_month']} run(s) x ${per_run:,.2f} "
            f"({facts.processing_instance_count} x {facts.processing_instance_type} processing, "
            f"{facts.training_instance_type} training, {facts.evaluation_instance_type} evaluation)",
            0.0,
            usage["runs_per_month"] * per_run,
        ),
        Line(
            "Real-time endpoint",
            f"{facts.endpoint_instance_type}: {facts.endpoint_instance_count} x {idle_basis}; "
            f"{busy} at {usage['invocations_per_minute']:,}/min (target {facts.invocations_per_instance}/instance, "
            f"max {facts.endpoint_max_instances}) x {hours:g} h",
            facts.endpoint_instance_count * hosting * idle_hours,
            busy * hosting * hours,
        ),
    ]
    if facts.notebook_instance_type:
        hourly = prices.instance("notebook", facts.notebook_instance_type)
        if facts.notebook_idle_minutes:
            line = Line(
                "Notebook instance",
                f"{facts.notebook_instance_type} x {usage['notebook_hours_per_month']} h "
                f"(stops itself after {facts.notebook_idle_minutes} idle minutes)",
                0.0,
                usage["notebook_hours_per_month"] * hourly,
            )
        else:
            line = Line(
                "Notebook instance",
                f"{facts.notebook_instance_type} x {hours:g} h (always on: nothing stops it, "
                "churn_notebook_idle_minutes=0)",
                hours * hourly,
                hours * hourly,
            )
        lines.append(line)
    if facts.notebook_volume_gb:
        volume = facts.notebook_volume_gb * prices("sagemaker_notebook_storage_gb_month")
        lines.append(
            Line(
                "Notebook storage volume",
                f"{facts.notebook_volume_gb} GB ML storage, billed while stopped too",
                volume,
                volume,
            )
        )
    section = Section(
        "SageMaker Spark churn model (ChurnModelStack)", [*lines, *overhead_lines(overhead, prices, hours)]
    )
    if facts.idle_hours is None:
        section.notes.append(
            f"One pipeline run: ${per_run:,.2f}. The endpoint bills from the first approved model "
            "until the stack is destroyed."
        )
    else:
        section.notes.append(
            f"One pipeline run: ${per_run:,.2f}. Idle, the endpoint bills {idle_hours:g} h after "
            "each approval, then the idle guard deletes it; the next approval creates it again."
        )
    return section
