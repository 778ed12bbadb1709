"""What the cost model reads from the synthesized templates: capacities, instance types, counts.

Nothing here is a constant of the kit: change a setting, synthesize, and the estimate follows.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tools.normalized_templates import EXPANDED_JSON, normalize


class TemplateError(ValueError):
    """The templates lack something the cost model reads."""


@dataclass(frozen=True)
class StackOverhead:
    """Always-on items every stack has, priced per month whether or not it does any work."""

    kms_keys: int
    alarms: int
    secrets: int
    interface_endpoint_azs: int  # interface VPC endpoints x the subnets (AZs) each one is in
    rotating_keys: int = 0  # keys with automatic rotation: each of the first two rotations adds a key-month price
    key_rotation_days: int = 365  # the shortest rotation period among them (RotationPeriodInDays, default 365)


@dataclass(frozen=True)
class RedshiftFacts:
    base_rpu: int
    daily_rpu_hour_limit: float | None
    training_poll_seconds: int | None = None  # the lifecycle's wait between SVV_ML_MODEL_INFO checks


@dataclass(frozen=True)
class ModelQualityFacts:
    architecture: str  # ARM64 or X86_64
    max_vcpu: int
    worker_gb_per_vcpu: float
    capture_retention_days: int  # days in S3 Standard (until expiry, or until the move to the archive)
    has_dashboard: bool
    driver_vcpu: int = 0  # the Spark driver, billed for the whole run next to the executors
    driver_gb: int = 0
    capture_archive_expiry_days: int | None = None  # Deep Archive until this day after creation; None: no archive
    noncurrent_days: int = 0  # a versioned bucket keeps an expired object this much longer as a noncurrent version
    target_half_width: float | None = None  # the job's --target-half-width
    # Days the daily extract (results bucket, extract/) is billed: its expiry, plus a day as noncurrent version when
    # the bucket is versioned.
    extract_expiry_days: int | None = None
    # The run deletes the raw capture it has extracted (--delete-extracted-capture), starting this many hours after
    # midnight UTC of the day after the capture (its daily schedule, the latest UTC hour of the year's offsets).
    deletes_extracted_capture: bool = False
    run_start_utc_hours: float = 0.0
    # Hourly extraction: the minute past each UTC hour its runs start (None: no hourly runs), and the executor vCPUs
    # each kind of run may use (spark.dynamicAllocation.maxExecutors x spark.executor.cores; None: the application's).
    hourly_start_minute: int | None = None
    executor_heap_gb_per_vcpu: float = 0.0  # spark.executor.memory / spark.executor.cores: what a task gets
    hourly_executor_vcpu: int | None = None
    daily_executor_vcpu: int | None = None


@dataclass(frozen=True)
class ChurnFacts:
    processing_instance_type: str
    processing_instance_count: int
    training_instance_type: str
    evaluation_instance_type: str
    endpoint_instance_type: str
    endpoint_instance_count: int
    endpoint_max_instances: int
    invocations_per_instance: int
    notebook_instance_type: str | None
    notebook_volume_gb: int = 0  # billed as ML storage while the notebook is stopped too
    # Minutes without kernel activity before the notebook stops itself (its lifecycle configuration's cron); 0:
    # nothing stops it.
    notebook_idle_minutes: int = 0
    # The sandbox idle guard: hours without invocations before it deletes the endpoint, and hours between its
    # checks (None: no guard, the endpoint stays until the stack is deleted).
    idle_hours: int | None = None
    idle_check_hours: float | None = None


def resources(template: dict, resource_type: str, name_part: str = "") -> list[tuple[str, dict]]:
    return [
        (logical_id, body)
        for logical_id, body in sorted(template.get("Resources", {}).items())
        if body["Type"] == resource_type and name_part in logical_id
    ]


def single(template: dict, resource_type: str, name_part: str = "") -> dict:
    found = resources(template, resource_type, name_part)
    if len(found) != 1:
        raise TemplateError(f"expected one {resource_type} named like '{name_part}', found {len(found)}")
    return found[0][1].get("Properties", {})


def stack_overhead(template: dict) -> StackOverhead:
    namespaces = resources(template, "AWS::RedshiftServerless::Namespace")
    endpoints = [
        body["Properties"]
        for _, body in resources(template, "AWS::EC2::VPCEndpoint")
        if body["Properties"].get("VpcEndpointType") == "Interface"
    ]
    rotating = [
        body["Properties"]
        for _, body in resources(template, "AWS::KMS::Key")
        if body["Properties"].get("EnableKeyRotation")
    ]
    return StackOverhead(
        kms_keys=len(resources(template, "AWS::KMS::Key")),
        alarms=len(resources(template, "AWS::CloudWatch::Alarm")),
        # A namespace with a Redshift-managed admin password keeps it in Secrets Manager.
        secrets=len(resources(template, "AWS::SecretsManager::Secret"))
        + sum(1 for _, body in namespaces if body["Properties"].get("ManageAdminPassword")),
        interface_endpoint_azs=sum(len(endpoint.get("SubnetIds", [])) for endpoint in endpoints),
        rotating_keys=len(rotating),
        key_rotation_days=min((int(key.get("RotationPeriodInDays", 365)) for key in rotating), default=365),
    )


def redshift_facts(template: dict) -> RedshiftFacts:
    workgroup = single(template, "AWS::RedshiftServerless::Workgroup")
    limits = [body["Properties"]["Create"] for _, body in resources(template, "Custom::AWS", "UsageLimit")]
    limit = None
    for create in limits:
        call = normalize({"Resources": {"Limit": {"Type": "Custom::AWS", "Properties": {"Create": create}}}})
        parameters = call["Resources"]["Limit"]["Properties"]["Create"][EXPANDED_JSON]["parameters"]
        if parameters.get("period") == "daily" and parameters.get("usageType") == "serverless-compute":
            limit = float(parameters["amount"])
    # The lifecycle's Wait state between training checks, in the expanded (or plain-string) state machine definition.
    poll = re.search(r'\\?"WaitForTraining\\?":\s*\{[^{}]*?\\?"Seconds\\?":\s*(\d+)', json.dumps(normalize(template)))
    return RedshiftFacts(
        base_rpu=int(workgroup["BaseCapacity"]),
        daily_rpu_hour_limit=limit,
        training_poll_seconds=int(poll.group(1)) if poll else None,
    )


def daily_run_start_utc_hours(template: dict) -> float:
    """Hours after midnight UTC at which the daily run starts: its schedule's cron minute and hour in its time zone,
    the later of January's and July's UTC offsets (0 without a daily schedule)."""
    schedules = resources(template, "AWS::Scheduler::Schedule", "DailySchedule")
    if not schedules:
        return 0.0
    properties = schedules[0][1].get("Properties", {})
    cron = re.match(r"cron\((\d+) (\d+) ", properties.get("ScheduleExpression", ""))
    if not cron:
        return 0.0
    local = int(cron.group(2)) + int(cron.group(1)) / 60
    zone = ZoneInfo(properties.get("ScheduleExpressionTimezone", "UTC"))
    offsets = [datetime(2026, month, 15, tzinfo=zone).utcoffset() or timedelta(0) for month in (1, 7)]
    return max((local - offset.total_seconds() / 3600) % 24 for offset in offsets)


def hourly_start_minute(template: dict) -> int | None:
    """The minute of the hourly extraction schedule's `cron(M * * * ? *)`, None without one."""
    schedules = resources(template, "AWS::Scheduler::Schedule", "HourlySchedule")
    if not schedules:
        return None
    cron = re.match(r"cron\((\d+) \* ", schedules[0][1].get("Properties", {}).get("ScheduleExpression", ""))
    if not cron:
        raise TemplateError("the hourly extraction schedule is not a cron at a minute of every hour")
    return int(cron.group(1))


def executor_vcpu(template: dict, state_machine: str, cores: int) -> int | None:
    """The executor vCPUs a state machine's job runs may use: its maxExecutors x cores (None: not capped)."""
    found = resources(template, "AWS::StepFunctions::StateMachine", state_machine)
    capped = re.search(r"spark\.dynamicAllocation\.maxExecutors=(\d+)", json.dumps(found))
    return int(capped.group(1)) * cores if capped else None


def model_quality_facts(template: dict) -> ModelQualityFacts:
    application = single(template, "AWS::EMRServerless::Application")
    text = json.dumps(template)
    cores = re.search(r"spark\.executor\.cores=(\d+)", text)
    memory = re.search(r"spark\.executor\.memory=(\d+)g", text)
    driver_cores = re.search(r"spark\.driver\.cores=(\d+)", text)
    driver_memory = re.search(r"spark\.driver\.memory=(\d+)g", text)
    if not (cores and memory):
        raise TemplateError("the job's spark.executor.cores / spark.executor.memory are not in the template")
    if not (driver_cores and driver_memory):
        raise TemplateError("the job's spark.driver.cores / spark.driver.memory are not in the template")
    # EMR Serverless adds 10% memory overhead to a worker and bills the worker's whole-GB memory.
    worker_gb = math.ceil(int(memory.group(1)) * 1.1)
    capture = single(template, "AWS::S3::Bucket", "CaptureBucket")
    rules = capture.get("LifecycleConfiguration", {}).get("Rules", [])
    expirations = [rule["ExpirationInDays"] for rule in rules if "ExpirationInDays" in rule]
    if not expirations:
        raise TemplateError("the capture bucket has no expiration rule, so captured data would be kept forever")
    archived = [
        transition["TransitionInDays"]
        for rule in rules
        for transition in rule.get("Transitions", [])
        if transition.get("StorageClass") == "DEEP_ARCHIVE"
    ]
    versioned = capture.get("VersioningConfiguration", {}).get("Status") == "Enabled"
    noncurrent = [
        rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in rules if "NoncurrentVersionExpiration" in rule
    ]
    target = re.search(r"--target-half-width'?,\s*'([0-9.eE-]+)'", text)
    results = single(template, "AWS::S3::Bucket", "ResultsBucket")
    # Days an extract object is billed beyond its expiry rule: as a noncurrent version when the bucket is versioned.
    results_versioned = results.get("VersioningConfiguration", {}).get("Status") == "Enabled"
    extract = [
        rule["ExpirationInDays"]
        + (rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 0) if results_versioned else 0)
        for rule in results.get("LifecycleConfiguration", {}).get("Rules", [])
        if rule.get("Prefix") == "extract/" and "ExpirationInDays" in rule
    ]
    return ModelQualityFacts(
        deletes_extracted_capture="--delete-extracted-capture" in text,
        run_start_utc_hours=daily_run_start_utc_hours(template),
        architecture=application.get("Architecture", "X86_64"),
        max_vcpu=int(application["MaximumCapacity"]["Cpu"].split()[0]),
        worker_gb_per_vcpu=worker_gb / int(cores.group(1)),
        executor_heap_gb_per_vcpu=int(memory.group(1)) / int(cores.group(1)),
        capture_retention_days=min(archived) if archived else min(expirations),
        has_dashboard=bool(resources(template, "AWS::QuickSight::Dashboard")),
        driver_vcpu=int(driver_cores.group(1)),
        driver_gb=math.ceil(int(driver_memory.group(1)) * 1.1),  # the same 10% overhead, whole GB
        capture_archive_expiry_days=min(expirations) if archived else None,
        noncurrent_days=min(noncurrent) if versioned and noncurrent else 0,
        target_half_width=float(target.group(1)) if target else None,
        extract_expiry_days=extract[0] if extract else None,
        hourly_start_minute=hourly_start_minute(template),
        hourly_executor_vcpu=executor_vcpu(template, "HourlyRun", int(cores.group(1))),
        daily_executor_vcpu=executor_vcpu(template, "DailyRun", int(cores.group(1))),
    )


def churn_facts(template: dict) -> ChurnFacts:
    pipeline = normalize(
        {
            "Resources": {
                "Pipeline": {
                    "Type": "AWS::SageMaker::Pipeline",
                    "Properties": single(template, "AWS::SageMaker::Pipeline"),
                }
            }
        }
    )["Resources"]["Pipeline"]["Properties"]
    definition = pipeline["PipelineDefinition"]["PipelineDefinitionBody"][EXPANDED_JSON]
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition["Parameters"]}
    steps = {step["Name"]: step["Arguments"] for step in definition["Steps"]}

    def resolve(value):
        return defaults[value["Get"].removeprefix("Parameters.")] if isinstance(value, dict) else value

    prepare = steps["PrepareFeatures"]["ProcessingResources"]["ClusterConfig"]
    train = steps["TrainModel"]["ResourceConfig"]
    evaluate = steps["EvaluateModel"]["ProcessingResources"]["ClusterConfig"]
    deployer = single(template, "AWS::Lambda::Function", "DeployerFunction")["Environment"]["Variables"]
    notebooks = resources(template, "AWS::SageMaker::NotebookInstance")
    idle_hours = idle_check_hours = None
    guards = resources(template, "AWS::Lambda::Function", "IdleGuardFunction")
    if guards:
        idle_hours = int(guards[0][1]["Properties"]["Environment"]["Variables"]["IDLE_HOURS"])
        schedule = single(template, "AWS::Events::Rule", "IdleGuardSchedule")["ScheduleExpression"]
        rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours)\)", schedule)
        if not rate:
            raise TemplateError(f"the idle guard's schedule {schedule!r} is not a rate in minutes or hours")
        idle_check_hours = int(rate.group(1)) / (60 if rate.group(2).startswith("minute") else 1)
    idle_stop = re.search(
        r"kit-idle-stop\.py (\d+) ", json.dumps(resources(template, "AWS::SageMaker::NotebookInstanceLifecycleConfig"))
    )
    return ChurnFacts(
        processing_instance_type=resolve(prepare["InstanceType"]),
        processing_instance_count=int(resolve(prepare["InstanceCount"])),
        training_instance_type=resolve(train["InstanceType"]),
        evaluation_instance_type=resolve(evaluate["InstanceType"]),
        endpoint_instance_type=deployer["INSTANCE_TYPE"],
        endpoint_instance_count=int(deployer["INSTANCE_COUNT"]),
        endpoint_max_instances=int(deployer["MAX_INSTANCES"]),
        invocations_per_instance=int(deployer["INVOCATIONS_PER_INSTANCE"]),
        notebook_instance_type=notebooks[0][1]["Properties"]["InstanceType"] if notebooks else None,
        # VolumeSizeInGB defaults to 5 (AWS::SageMaker::NotebookInstance).
        notebook_volume_gb=sum(int(body["Properties"].get("VolumeSizeInGB", 5)) for _, body in notebooks),
        notebook_idle_minutes=int(idle_stop.group(1)) if idle_stop else 0,
        idle_hours=idle_hours,
        idle_check_hours=idle_check_hours,
    )
