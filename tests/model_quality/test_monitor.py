"""Template assertions for the model-quality stack, per profile, and with QuickSight principals configured."""

import json

import aws_cdk as cdk
import pyspark
import pytest
from aws_cdk.assertions import Template

from app import build_app
from stacks.model_quality.dashboard import DASHBOARD_OWNER_ACTIONS, VIEWER_ACTIONS
from stacks.model_quality.job import EMR_RELEASE, EMR_SPARK_VERSION
from stacks.model_quality.query_layer import TABLES
from tests.conftest import CDK_JSON_CONTEXT

OWNER = "arn:aws:quicksight:us-east-1:123456789012:user/default/ml-specialist"
VIEWERS = "arn:aws:quicksight:us-east-1:123456789012:group/default/business-team"


@pytest.fixture(scope="module")
def template(kit_app):
    return Template.from_stack(kit_app.app.node.find_child("ModelQualityStack")), kit_app.config


@pytest.fixture(scope="module")
def with_quicksight():
    app = cdk.App(context={**CDK_JSON_CONTEXT, "profile": "production", "kit:quicksight_owner_arn": OWNER,
                           "kit:quicksight_viewer_group_arn": VIEWERS})
    build_app(app)
    return Template.from_stack(app.node.find_child("ModelQualityStack"))


def only(template, kind):
    (resource,) = template.find_resources(kind).values()
    return resource["Properties"]


def definition(template):
    state_machine = only(template, "AWS::StepFunctions::StateMachine")
    parts = state_machine["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else json.dumps(part).replace('"', "'") for part in parts)
    return json.loads(text)


def test_emr_release_runs_the_spark_the_tests_pin(template):
    template, config = template
    assert pyspark.__version__ == EMR_SPARK_VERSION
    app = only(template, "AWS::EMRServerless::Application")
    assert app["ReleaseLabel"] == EMR_RELEASE and app["Type"] == "SPARK" and app["Architecture"] == "ARM64"
    assert app["AutoStartConfiguration"] == {"Enabled": True}
    assert app["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": config.quality_idle_minutes}
    assert app["MaximumCapacity"]["Cpu"] == f"{config.quality_max_vcpu} vCPU"


def test_raw_capture_and_labels_expire_per_profile(template):
    template, config = template
    rules = [rule for bucket in template.find_resources("AWS::S3::Bucket").values()
             for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
             if rule["Id"] == "ExpireRawData"]
    assert len(rules) == 2
    assert {rule["ExpirationInDays"] for rule in rules} == {config.quality_raw_retention_days}


def test_the_daily_run_is_a_sync_job_with_retries_timeout_and_a_catch_to_sns(template):
    template, config = template
    states = definition(template)["States"]
    job = states["RunPrCurveJob"]
    assert job["Resource"].endswith(":states:::emr-serverless:startJobRun.sync")
    assert job["TimeoutSeconds"] == config.quality_job_timeout_minutes * 60
    assert "EMRServerless.ThrottlingException" in job["Retry"][0]["ErrorEquals"]
    assert "EMRServerless.ServiceQuotaExceededException" in job["Retry"][0]["ErrorEquals"]
    assert job["Retry"][0]["BackoffRate"] == 2
    assert job["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    assert states["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    assert states["NotifyFailure"]["Next"] == "RunFailed" and states["RunFailed"]["Type"] == "Fail"
    arguments = job["Parameters"]["JobDriver"]["SparkSubmit"]["EntryPointArguments.$"]
    assert "'--date', $.run.date" in arguments and f"'--label-delay-days', '{config.quality_label_delay_days}'" in arguments
    assert "--py-files" in job["Parameters"]["JobDriver"]["SparkSubmit"]["SparkSubmitParameters"]
    assert job["Next"] == "PublishMetrics"


def test_state_machine_definition_is_valid_states_language(template):
    template, _ = template
    machine = definition(template)
    states = machine["States"]
    assert machine["StartAt"] in states
    for name, state in states.items():
        assert state["Type"] in {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}, name
        terminal = state["Type"] in {"Succeed", "Fail"} or state.get("End") is True
        assert terminal != ("Next" in state), name
        targets = [state.get("Next")] + [c["Next"] for c in state.get("Catch", [])]
        assert all(target in states for target in targets if target), name
        for retry in state.get("Retry", []):
            assert retry["ErrorEquals"] and retry.get("MaxAttempts", 3) >= 0
    reachable, frontier = set(), [machine["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name not in reachable:
            reachable.add(name)
            state = states[name]
            frontier += [state["Next"]] if "Next" in state else []
            frontier += [c["Next"] for c in state.get("Catch", [])]
    assert reachable == set(states)


def test_state_machine_may_run_the_job_and_nothing_more(template):
    template, _ = template
    statements = [s for policy in template.find_resources("AWS::IAM::Policy").values()
                  if "StateMachineRole" in json.dumps(policy["Properties"]["Roles"])
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"emr-serverless:StartJobRun", "emr-serverless:GetJobRun", "emr-serverless:CancelJobRun",
            "iam:PassRole", "events:PutRule", "events:PutTargets", "events:DescribeRule"} <= actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    (rule_statement,) = [s for s in statements if "events:PutRule" in s["Action"]]
    assert "StepFunctionsGetEventsForEMRServerlessJobRule" in json.dumps(rule_statement["Resource"])


def test_job_role_trusts_emr_serverless_for_its_application_only(template):
    template, _ = template
    roles = [r["Properties"] for r in template.find_resources("AWS::IAM::Role").values()
             if "emr-serverless.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])]
    (role,) = roles
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert "aws:SourceAccount" in condition["StringEquals"] and "aws:SourceArn" in condition["ArnLike"]
    assert "ManagedPolicyArns" not in role


def test_schedule_is_daily_in_the_time_zone_and_enabled_per_profile(template):
    template, config = template
    schedule = only(template, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == f"cron(0 {config.quality_schedule_hour} * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == config.quality_schedule_time_zone
    assert schedule["State"] == ("ENABLED" if config.schedules_enabled else "DISABLED")
    assert "<aws.scheduler.scheduled-time>" in schedule["Target"]["Input"]


def test_alarms_cover_failure_missing_summary_quality_and_coverage(template):
    template, config = template
    alarms = {a["Properties"].get("MetricName"): a["Properties"]
              for a in template.find_resources("AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {"ExecutionsFailed", "SummaryPublished", "AveragePrecision", "AveragePrecisionDrop",
                           "LabelCoverage"}
    assert alarms["SummaryPublished"]["TreatMissingData"] == "breaching"
    assert alarms["AveragePrecision"]["Threshold"] == config.quality_min_average_precision
    assert alarms["AveragePrecisionDrop"]["Threshold"] == config.quality_max_average_precision_drop
    assert alarms["LabelCoverage"]["Threshold"] == config.quality_min_label_coverage
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    assert all(alarm["AlarmActions"] == [{"Ref": topic}] for alarm in alarms.values())


def test_tables_use_partition_projection_on_dt(template):
    template, _ = template
    tables = {t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
              for t in template.find_resources("AWS::Glue::Table").values()}
    assert set(tables) == set(TABLES) == {"histogram", "curve", "thresholds", "summary"}
    for name, table in tables.items():
        parameters = table["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.dt.type"] == "date" and parameters["projection.dt.format"] == "yyyy-MM-dd"
        assert parameters["projection.dt.range"].endswith(",NOW")
        assert f"/{name}/dt=${{dt}}/" in json.dumps(parameters["storage.location.template"])
        assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert not template.find_resources("AWS::Glue::Crawler")


def test_athena_workgroup_enforces_encrypted_results(template):
    template, _ = template
    configuration = only(template, "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"


def test_without_principals_there_is_no_quicksight_resource(template):
    template, _ = template
    assert not [t for t in template.to_json()["Resources"].values() if t["Type"].startswith("AWS::QuickSight::")]


def test_business_team_can_only_view_the_dashboard(with_quicksight):
    dashboard = only(with_quicksight, "AWS::QuickSight::Dashboard")
    permissions = {p["Principal"]: p["Actions"] for p in dashboard["Permissions"]}
    assert sorted(permissions[VIEWERS]) == sorted(VIEWER_ACTIONS) == sorted(
        ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"])
    assert sorted(permissions[OWNER]) == sorted(DASHBOARD_OWNER_ACTIONS)
    for data_set in with_quicksight.find_resources("AWS::QuickSight::DataSet").values():
        assert VIEWERS not in json.dumps(data_set["Properties"]["Permissions"])
        assert data_set["Properties"]["ImportMode"] == "DIRECT_QUERY"


def test_dashboard_shows_the_curves_ap_bounds_thresholds_and_tiles(with_quicksight):
    definition = only(with_quicksight, "AWS::QuickSight::Dashboard")["Definition"]
    visuals = definition["Sheets"][0]["Visuals"]
    kinds = [next(iter(v)) for v in visuals]
    assert kinds.count("LineChartVisual") == 2 and kinds.count("TableVisual") == 1 and kinds.count("KPIVisual") == 3
    text = json.dumps(definition)
    for column in ("average_precision_lower", "average_precision_upper", "rows_joined", "label_coverage",
                   "positive_rate", "series"):
        assert column in text
    data_sets = {d["Properties"]["PhysicalTableMap"][next(iter(d["Properties"]["PhysicalTableMap"]))]["CustomSql"]["SqlQuery"]
                 for d in with_quicksight.find_resources("AWS::QuickSight::DataSet").values()}
    assert any("'no skill'" in sql and "'7 days earlier'" in sql for sql in data_sets)
    outputs = with_quicksight.find_outputs("*")
    (url,) = [o["Value"] for name, o in outputs.items() if name.startswith("MonitorDashboardUrl")]
    assert url.startswith("https://us-east-1.quicksight.aws.amazon.com/sn/dashboards/")
    source = only(with_quicksight, "AWS::QuickSight::DataSource")
    assert source["Type"] == "ATHENA" and "RoleArn" in source["DataSourceParameters"]["AthenaParameters"]
