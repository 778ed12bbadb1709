"""Template assertions for the model-quality stack, per profile, and with QuickSight principals configured."""

import json
from pathlib import Path

import aws_cdk as cdk
import pyspark
import pytest
from aws_cdk.assertions import Template

from stacks.model_quality.settings import ModelQualitySettings
from stacks.common.config import load_settings
from stacks.model_quality.dashboard import DASHBOARD_OWNER_ACTIONS, VIEWER_ACTIONS
from stacks.model_quality.job import EMR_RELEASE, EMR_SCALA_VERSION, EMR_SPARK_VERSION
from stacks.model_quality.monitor import ModelQualityMonitor
from stacks.model_quality.query_layer import TABLES
from stacks.model_quality.storage import capture_expiry_days
from tests.construct_app import new_app
from tests.model_quality.conftest import monitor_template

OWNER = "arn:aws:quicksight:us-east-1:123456789012:user/default/ml-specialist"
VIEWERS = "arn:aws:quicksight:us-east-1:123456789012:group/default/business-team"


@pytest.fixture(scope="module")
def with_quicksight():
    template, _ = monitor_template(
        profile="production", **{"kit:quicksight_owner_arn": OWNER, "kit:quicksight_viewer_group_arn": VIEWERS}
    )
    return template


def only(template, kind, name_part=""):
    (resource,) = [body for name, body in template.find_resources(kind).items() if name_part in name]
    return resource["Properties"]


def definition(template):
    state_machine = only(template, "AWS::StepFunctions::StateMachine", "DailyRun")
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


def test_the_local_spark_runs_the_scala_of_the_emr_release():
    """The job calls Scala classes through py4j: its tests must run on the Scala the EMR release ships."""
    jars = Path(pyspark.__file__).parent / "jars"
    assert [jar.name for jar in jars.glob("scala-library-*.jar")] == [f"scala-library-{EMR_SCALA_VERSION}.jar"]


def test_the_job_gets_the_decision_threshold_and_the_interval_target(template):
    template, config = template
    arguments = definition(template)["States"]["RunPrCurveJob"]["Parameters"]["JobDriver"]["SparkSubmit"][
        "EntryPointArguments.$"
    ]
    assert f"'--decision-threshold', '{config.quality_decision_threshold:g}'" in arguments
    assert f"'--target-half-width', '{config.quality_target_half_width:g}'" in arguments
    assert f"'--reject-sample-size', '{config.quality_reject_sample_size}'" in arguments


def test_raw_capture_and_labels_expire_per_profile(template):
    template, config = template
    rules = [
        rule
        for bucket in template.find_resources("AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if rule["Id"] == "ExpireRawData"
    ]
    assert len(rules) == 2
    assert {rule["ExpirationInDays"] for rule in rules} == {
        config.quality_raw_retention_days,
        capture_expiry_days(config),
    }


def test_the_daily_run_is_a_sync_job_with_retries_timeout_and_a_catch_to_sns(template):
    template, config = template
    states = definition(template)["States"]
    job = states["RunPrCurveJob"]
    assert job["Resource"].endswith(":states:::emr-serverless:startJobRun.sync")
    assert job["Parameters"]["ExecutionTimeoutMinutes"] == config.quality_job_timeout_minutes
    assert "EMRServerless.ThrottlingException" in job["Retry"][0]["ErrorEquals"]
    assert job["Retry"][0]["BackoffRate"] == 2
    assert job["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}]
    assert states["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    assert states["NotifyFailure"]["Next"] == "RunFailed" and states["RunFailed"]["Type"] == "Fail"
    arguments = job["Parameters"]["JobDriver"]["SparkSubmit"]["EntryPointArguments.$"]
    assert (
        "'--date', $.run.date" in arguments
        and f"'--label-delay-days', '{config.quality_label_delay_days}'" in arguments
    )
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
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if "StateMachineRole" in json.dumps(policy["Properties"]["Roles"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {
        "emr-serverless:StartJobRun",
        "emr-serverless:GetJobRun",
        "emr-serverless:CancelJobRun",
        "iam:PassRole",
        "events:PutRule",
        "events:PutTargets",
        "events:DescribeRule",
    } <= actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)
    rule_statements = [s for s in statements if "events:PutRule" in s["Action"]]
    assert rule_statements and all(
        "StepFunctionsGetEventsForEMRServerlessJobRule" in json.dumps(s["Resource"]) for s in rule_statements
    )


def test_job_role_trusts_emr_serverless_for_its_application_only(template):
    template, _ = template
    roles = [
        r["Properties"]
        for r in template.find_resources("AWS::IAM::Role").values()
        if "emr-serverless.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    (role,) = roles
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert "aws:SourceAccount" in condition["StringEquals"] and "aws:SourceArn" in condition["ArnLike"]
    assert "ManagedPolicyArns" not in role


def test_schedule_is_daily_in_the_time_zone_and_enabled_per_profile(template):
    template, config = template
    (schedule,) = [
        s["Properties"]
        for name, s in template.find_resources("AWS::Scheduler::Schedule").items()
        if "DailySchedule" in name
    ]
    assert schedule["ScheduleExpression"] == f"cron(0 {config.quality_schedule_hour} * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == config.quality_schedule_time_zone
    assert schedule["State"] == ("ENABLED" if config.common.schedules_enabled else "DISABLED")
    assert "<aws.scheduler.scheduled-time>" in schedule["Target"]["Input"]


def test_alarms_cover_failure_missing_summary_quality_and_coverage(template):
    template, config = template
    alarms = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        "ExecutionsFailed",
        "RunMissed",
        "RowsCaptured",
        "AveragePrecision",
        "AveragePrecisionDrop",
        "LabelCoverage",
    }
    # A missed run is RunMissed = 1 from the deadline check; no point (schedules off, no run due yet) is quiet.
    assert alarms["RunMissed"]["TreatMissingData"] == "notBreaching"
    assert alarms["RunMissed"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # A day with no captured predictions (no endpoint yet) is a successful run with a zero-row summary: this
    # alarm, not a failed run every day, says so.
    assert alarms["RowsCaptured"]["ComparisonOperator"] == "LessThanThreshold"
    assert alarms["RowsCaptured"]["Threshold"] == 1
    assert alarms["AveragePrecision"]["Threshold"] == config.quality_min_average_precision
    assert alarms["AveragePrecisionDrop"]["Threshold"] == config.quality_max_average_precision_drop
    assert alarms["LabelCoverage"]["Threshold"] == config.quality_min_label_coverage
    topic = next(iter(template.find_resources("AWS::SNS::Topic")))
    assert all(alarm["AlarmActions"] == [{"Ref": topic}] for alarm in alarms.values())


def test_tables_use_partition_projection_on_dt(template):
    template, _ = template
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in template.find_resources("AWS::Glue::Table").values()
    }
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


def test_the_athena_workgroup_can_be_deleted_once_queries_ran_in_every_profile(template):
    """Issue 29: production turned recursive delete off without retaining the workgroup, so a destroy failed with
    "WorkGroup ... is not empty" once the dashboard had queried. It holds query history, not data."""
    template, _ = template
    ((_, workgroup),) = template.find_resources("AWS::Athena::WorkGroup").items()
    assert workgroup["Properties"]["RecursiveDeleteOption"] is True
    assert workgroup.get("DeletionPolicy", "Delete") == "Delete"


def test_without_principals_there_is_no_quicksight_resource(template):
    template, _ = template
    assert not [t for t in template.to_json()["Resources"].values() if t["Type"].startswith("AWS::QuickSight::")]


def test_business_team_can_only_view_the_dashboard(with_quicksight):
    dashboard = only(with_quicksight, "AWS::QuickSight::Dashboard")
    permissions = {p["Principal"]: p["Actions"] for p in dashboard["Permissions"]}
    assert (
        sorted(permissions[VIEWERS])
        == sorted(VIEWER_ACTIONS)
        == sorted(["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"])
    )
    assert sorted(permissions[OWNER]) == sorted(DASHBOARD_OWNER_ACTIONS)
    for data_set in with_quicksight.find_resources("AWS::QuickSight::DataSet").values():
        assert VIEWERS not in json.dumps(data_set["Properties"]["Permissions"])
        assert data_set["Properties"]["ImportMode"] == "DIRECT_QUERY"


def test_dashboard_shows_the_curves_ap_intervals_thresholds_and_tiles(with_quicksight):
    definition = only(with_quicksight, "AWS::QuickSight::Dashboard")["Definition"]
    visuals = definition["Sheets"][0]["Visuals"]
    kinds = [next(iter(v)) for v in visuals]
    assert kinds.count("LineChartVisual") == 2 and kinds.count("TableVisual") == 1 and kinds.count("KPIVisual") == 4
    text = json.dumps(definition)
    for column in (
        "average_precision_ci_lower",
        "average_precision_ci_upper",
        "precision_lower",
        "precision_upper",
        "recall_lower",
        "recall_upper",
        "capture_percent_for_target",
        "rows_joined",
        "label_coverage",
        "positive_rate",
        "series",
    ):
        assert column in text
    data_sets = {
        d["Properties"]["PhysicalTableMap"][next(iter(d["Properties"]["PhysicalTableMap"]))]["CustomSql"]["SqlQuery"]
        for d in with_quicksight.find_resources("AWS::QuickSight::DataSet").values()
    }
    assert any("'no skill'" in sql and "'7 days earlier'" in sql for sql in data_sets)
    source = only(with_quicksight, "AWS::QuickSight::DataSource")
    assert source["Type"] == "ATHENA" and "RoleArn" in source["DataSourceParameters"]["AthenaParameters"]


# --- Run-time behaviour the static gates do not see (issue 14) ---------------------------------------------


def resources(template, kind):
    return {name: r for name, r in template.to_json()["Resources"].items() if r["Type"] == kind}


def key_of_topic(template, topic_ref):
    """The logical id of the KMS key that encrypts a topic (None when it is not encrypted with a stack key)."""
    topic = template.to_json()["Resources"][topic_ref["Ref"]]
    key = topic["Properties"].get("KmsMasterKeyId")
    return key["Fn::GetAtt"][0] if isinstance(key, dict) and "Fn::GetAtt" in key else None


def key_statements(template, key_id):
    return template.to_json()["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]


def role_statements(template, role_id):
    return [
        s
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_alarm_can_use_the_key_of_the_encrypted_topic_it_notifies(template):
    """CloudWatch gets no key access from IAM: without a key-policy statement for cloudwatch.amazonaws.com an
    alarm on an SSE-KMS topic notifies nobody."""
    template, _ = template
    checked = 0
    for name, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        for action in alarm["Properties"].get("AlarmActions", []):
            key_id = key_of_topic(template, action) if "Ref" in action else None
            if key_id is None:
                continue
            allowing = [
                s
                for s in key_statements(template, key_id)
                if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
                and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(as_list(s["Action"]))
            ]
            assert allowing, f"{name}: the key of its topic does not let CloudWatch use it"
            (statement,) = allowing
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            source_arn = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
            prefix = source_arn.split(":alarm:", 1)[1].split("*", 1)[0]
            assert ":cloudwatch:" in source_arn and prefix and alarm["Properties"]["AlarmName"].startswith(prefix)
            checked += 1
    assert checked >= 6


def test_every_notification_state_can_use_the_topic_key_and_cannot_fail_on_its_message(template):
    """A Notify state must survive an error without a Cause (States.Timeout), hold the key grant of the encrypted
    topic, and end the execution in a Fail state even when the notification itself fails."""
    template, _ = template
    states = definition(template)["States"]
    (machine,) = [
        m for name, m in resources(template, "AWS::StepFunctions::StateMachine").items() if "DailyRun" in name
    ]
    statements = role_statements(template, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    publishers = {name: state for name, state in states.items() if state.get("Resource", "").endswith(":sns:publish")}
    assert publishers
    for name, state in publishers.items():
        parameters = state["Parameters"]
        message_paths = [v for k, v in parameters.items() if k.endswith(".$")]
        assert all("$.error." not in path for path in message_paths), name
        assert parameters["Message.$"] == "States.JsonToString($.error)"
        topic_ref = json.loads(parameters["TopicArn"].replace("'", '"'))  # definition() quotes tokens with '
        key_id = key_of_topic(template, topic_ref)
        assert key_id, name
        key_actions = {
            a
            for s in statements
            if {"Fn::GetAtt": [key_id, "Arn"]} in as_list(s["Resource"])
            for a in as_list(s["Action"])
        }
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= key_actions, name
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]]
        assert states[state["Catch"][0]["Next"]]["Type"] == "Fail" and states[state["Next"]]["Type"] == "Fail"
    for name, state in states.items():  # no other state reads a part of the error object either
        assert "$.error." not in json.dumps(state.get("Parameters", {})), name


def test_the_job_scores_the_endpoint_whose_metrics_it_publishes(template):
    template, _ = template
    job = definition(template)["States"]["RunPrCurveJob"]
    arguments = job["Parameters"]["JobDriver"]["SparkSubmit"]["EntryPointArguments.$"]
    (endpoint,) = {
        f["Properties"]["Environment"]["Variables"]["ENDPOINT_NAME"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if "ENDPOINT_NAME" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert f"'--endpoint', '{endpoint}'" in arguments
    assert "'--variant'" not in arguments  # no variant set: every variant of that endpoint
    dimensions = [
        d
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        for d in a["Properties"].get("Dimensions", [])
        if d["Name"] == "Endpoint"
    ]
    assert dimensions and all(d["Value"] == endpoint for d in dimensions)


def test_a_variant_is_passed_to_the_job_when_set():
    from stacks.model_quality.monitor import ModelQualityMonitor

    stack = cdk.Stack(new_app(), "VariantStack")
    ModelQualityMonitor(
        stack,
        "Monitor",
        settings=ModelQualitySettings.for_profile("sandbox"),
        endpoint_name="scoring",
        variant_name="AllTraffic",
    )
    arguments = definition(Template.from_stack(stack))["States"]["RunPrCurveJob"]["Parameters"]["JobDriver"][
        "SparkSubmit"
    ]["EntryPointArguments.$"]
    assert "'--endpoint', 'scoring', '--variant', 'AllTraffic'" in arguments


def test_a_successful_job_cannot_fail_on_its_result(template):
    """The .sync result's shape is not selected from: a ResultSelector path that the integration does not return
    fails the state at run time; nothing downstream reads the job's result."""
    template, _ = template
    states = definition(template)["States"]
    job = states["RunPrCurveJob"]
    assert "ResultSelector" not in job
    readers = [
        name
        for name, state in states.items()
        if name != "RunPrCurveJob"
        and job["ResultPath"] in json.dumps({k: v for k, v in state.items() if k != "ResultPath"})
    ]
    assert readers == []


# What the documentation names as transient for a job run step (orchestration.py cites the pages). A run that
# ends FAILED or is cancelled at its ExecutionTimeoutMinutes, and the step's own timeout, are not in it.
DOCUMENTED_TRANSIENT = {"EMRServerless.ThrottlingException", "EMRServerless.InternalServerException"}
JOB_RUN_OUTCOMES = {"States.ALL", "States.TaskFailed", "States.Timeout"}


def job_run_states(machine):
    return {
        name: state
        for name, state in machine["States"].items()
        if ":states:::emr-serverless:startJobRun" in state.get("Resource", "")
    }


def test_a_job_run_retries_only_documented_transient_errors_and_fails_fast_on_the_rest(template):
    """Issue 30: States.TaskFailed was retried twice, so a run that failed on its code or data or hit its own
    timeout ran up to three times (6 h at 400 vCPU each) and the notice came ~18 h late."""
    template, _ = template
    machine = definition(template)
    states = job_run_states(machine)
    assert states
    for name, state in states.items():
        retried = {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}
        assert retried <= DOCUMENTED_TRANSIENT, f"{name} retries {sorted(retried - DOCUMENTED_TRANSIENT)}"
        assert not retried & JOB_RUN_OUTCOMES, name
        # What is not retried is caught and notified, with the error object (Error and Cause) as the message.
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
        notify = machine["States"][catch["Next"]]
        assert notify["Resource"].endswith(":sns:publish")
        assert notify["Parameters"]["Message.$"] == "States.JsonToString($.error)"


def test_a_job_never_outlives_its_step_nor_the_step_its_run(template):
    template, config = template
    machine = definition(template)
    job = machine["States"]["RunPrCurveJob"]
    # The job stops itself before the step times out, so a timed-out step leaves no billed job running.
    assert job["Parameters"]["ExecutionTimeoutMinutes"] == config.quality_job_timeout_minutes
    assert job["Parameters"]["ExecutionTimeoutMinutes"] * 60 <= job["TimeoutSeconds"]
    waits = sum(
        min(r.get("MaxDelaySeconds", 10**9), r["IntervalSeconds"] * r["BackoffRate"] ** n)
        for r in job["Retry"]
        for n in range(r["MaxAttempts"])
    )
    assert machine["TimeoutSeconds"] >= job["TimeoutSeconds"] + waits
    # One run's worth, not three: the state machine does not leave room for re-running a failed job.
    assert machine["TimeoutSeconds"] < 2 * job["TimeoutSeconds"]


def data_set_sql(template):
    return {
        name: table["CustomSql"]["SqlQuery"]
        for d in template.find_resources("AWS::QuickSight::DataSet").values()
        for name, table in d["Properties"]["PhysicalTableMap"].items()
    }


def test_data_source_is_created_after_its_role_can_query(with_quicksight):
    """QuickSight validates an Athena data source on creation: its role's policy must already exist and allow
    what AWSQuicksightAthenaAccess allows for querying, scoped to this workgroup, catalog and database."""
    template = with_quicksight.to_json()["Resources"]
    for source in resources(with_quicksight, "AWS::QuickSight::DataSource").values():
        role_id = source["Properties"]["DataSourceParameters"]["AthenaParameters"]["RoleArn"]["Fn::GetAtt"][0]
        policies = [
            name
            for name, r in template.items()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        ]
        assert policies and set(policies) <= set(source.get("DependsOn", []))
        actions = {a for s in role_statements(with_quicksight, role_id) for a in as_list(s["Action"])}
        assert {
            "athena:StartQueryExecution",
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetQueryResultsStream",
            "athena:GetWorkGroup",
            "athena:GetDataCatalog",
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:GetPartitions",
            "glue:BatchGetPartition",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "s3:PutObject",
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "lakeformation:GetDataAccess",
        } <= actions


def test_every_dashboard_query_reads_only_the_days_it_shows(with_quicksight):
    """Without a dt bound Athena projects every day since the projection start on each refresh."""
    import sqlglot
    from sqlglot import exp

    queries = data_set_sql(with_quicksight)
    assert set(queries) == {"curves", "daily", "thresholds"}
    for name, sql in queries.items():
        tree = sqlglot.parse_one(sql, read="athena")
        tables = [t for t in tree.find_all(exp.Table) if t.db.startswith("modelqualitystack_monitor_resultscatalog_")]
        assert tables, name
        for table in tables:
            select, alias = table.find_ancestor(exp.Select), table.alias_or_name
            where = select.args.get("where")
            bounds = [
                c
                for c in (where.find_all(exp.GTE) if where else [])
                if isinstance(c.this, exp.Column)
                and c.this.name == "dt"
                and c.this.table in (alias, "")
                and c.expression.find(exp.CurrentDate) is not None
            ]
            assert bounds, f"{name}: {table.sql()} is read without a dt bound relative to current_date"


def test_the_pr_curve_chart_stays_within_quicksight_line_chart_limits(with_quicksight):
    """A line chart with a Color field shows at most 200 X values and 25 colours: every series' recall must come
    from one small grid shared by all series."""
    import sqlglot
    from sqlglot import exp

    from stacks.model_quality.dashboard import LINE_CHART_MAX_COLORS, LINE_CHART_MAX_X_WITH_COLOR

    tree = sqlglot.parse_one(data_set_sql(with_quicksight)["curves"], read="athena")
    ctes = {cte.alias: cte.this for cte in tree.find_all(exp.CTE)}

    def branches(node):
        return branches(node.left) + branches(node.right) if isinstance(node, exp.Union) else [node]

    grids, series = set(), set()
    for branch in branches(tree):
        recall, _, label = branch.expressions
        series.add(label.this.name)
        sources = {
            s.alias_or_name: s for s in [branch.args["from_"].this, *(j.this for j in branch.args.get("joins") or [])]
        }
        source = sources[recall.table]
        if isinstance(source, exp.Table) and source.name in ctes:
            (projection,) = [e for e in ctes[source.name].expressions if e.alias_or_name == "recall"]
            assert isinstance(projection.this, exp.Round), f"{label}: recall is not put on a grid"
            grids.add(int(projection.this.args["decimals"].name))
        else:
            values = source.this if isinstance(source, exp.Subquery) else source
            assert isinstance(values, exp.Values), f"{label}: recall comes from {source.sql()}"
            points = [float(row.expressions[0].name) for row in values.expressions]
            assert all(round(p, 2) == p for p in points)
    (decimals,) = grids
    assert 10**decimals + 1 <= LINE_CHART_MAX_X_WITH_COLOR == 200
    assert len(series) <= LINE_CHART_MAX_COLORS


def test_dashboard_url_opens_the_region_the_dashboard_lives_in(with_quicksight):
    outputs = with_quicksight.find_outputs("*")
    (url,) = [o["Value"] for name, o in outputs.items() if name.startswith("MonitorDashboardUrl")]
    (dashboard,) = resources(with_quicksight, "AWS::QuickSight::Dashboard").values()
    assert url == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": "AWS::Region"},
                f".quicksight.aws.amazon.com/sn/dashboards/{dashboard['Properties']['DashboardId']}",
            ],
        ]
    }


@pytest.mark.parametrize(("context", "warned"), [({}, True), ({"kit:quicksight_warn_unconfigured": "false"}, False)])
def test_the_no_dashboard_warning_can_be_turned_off(context, warned):
    app = new_app(profile="sandbox", **context)
    config = load_settings({"profile": "sandbox", **context}, ModelQualitySettings)
    monitor = ModelQualityMonitor(cdk.Stack(app, "QualityStack"), "Monitor", settings=config)
    warnings = [entry.data for entry in monitor.node.metadata if entry.type == "aws:cdk:warning"]
    assert any("No QuickSight dashboard" in str(text) for text in warnings) is warned


def test_a_long_threshold_reaches_the_job_and_the_metrics_function_as_the_same_number():
    """Issue 30: a threshold with more than 6 significant digits went to the job as `:g` (rounded) and to the
    metrics function as `str` (exact), so the function found no entry for it in any summary and every run failed."""
    import importlib.util
    import re
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "metrics_publisher", Path(__file__).resolve().parents[2] / "lambdas/quality_metrics/metrics_publisher.py"
    )
    publisher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(publisher)
    from spark_jobs.model_quality.pr_curve import parse_arguments

    stack = cdk.Stack(new_app(), "LongThresholdStack")
    settings = ModelQualitySettings.for_profile(
        "sandbox", quality_decision_threshold=0.1234567, quality_target_half_width=0.0123456789
    )
    ModelQualityMonitor(stack, "Monitor", settings=settings)
    template = Template.from_stack(stack)
    text = definition(template)["States"]["RunPrCurveJob"]["Parameters"]["JobDriver"]["SparkSubmit"][
        "EntryPointArguments.$"
    ]
    options = ("--thresholds", "--decision-threshold", "--target-half-width")
    given = [part for option in options for part in (option, re.search(f"'{option}', '([^']*)'", text).group(1))]
    job = parse_arguments(["--captures", "c", "--ground-truth", "g", "--output", "o", "--date", "2026-01-01", *given])
    (environment,) = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if "DECISION_THRESHOLD" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert job.decision_threshold == float(environment["DECISION_THRESHOLD"]) == 0.1234567
    assert job.target_half_width == 0.0123456789 and 0.1234567 in job.thresholds
    entry = dict.fromkeys(("precision", "recall", "precision_lower", "precision_upper", "recall_lower", "recall_upper"))
    summary = {
        "date": "2026-01-01",
        "rows_captured": 1,
        "rows_joined": 1,
        "label_coverage": 1.0,
        "positives": 1,
        "negatives": 0,
        "average_precision": 1.0,
        "average_precision_lower": 1.0,
        "average_precision_upper": 1.0,
        "average_precision_ci_lower": 0.5,
        "average_precision_ci_upper": 1.0,
        "capture_percent_for_target": 100.0,
        "thresholds": [dict(entry, threshold=t, precision=1.0) for t in job.thresholds],
    }
    values = publisher.metric_values(summary, [], float(environment["DECISION_THRESHOLD"]))
    assert values["PrecisionAtThreshold"] == 1.0


def job_role_deletes(template):
    """(resources of every s3:DeleteObject* statement of the job role's policies)."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if "JobRole" not in json.dumps(policy["Properties"]["Roles"]):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("s3:DeleteObject") for action in actions):
                found.append(json.dumps(statement["Resource"]))
    return found


def test_the_run_deletes_extracted_capture_under_the_capture_prefix_only(template):
    """Issue 30: with quality_delete_extracted_capture (the default) the job gets --delete-extracted-capture and may
    delete capture objects under the capture prefix, nothing else of the capture bucket."""
    template, config = template
    arguments = definition(template)["States"]["RunPrCurveJob"]["Parameters"]["JobDriver"]["SparkSubmit"][
        "EntryPointArguments.$"
    ]
    assert config.deletes_extracted_capture and "'--delete-extracted-capture'" in arguments
    deletes = job_role_deletes(template)
    capture = [resource for resource in deletes if "CaptureBucket" in resource]
    assert len(capture) == 1 and "/data-capture/*" in capture[0]


@pytest.mark.parametrize(
    "overrides",
    [{"kit:quality_delete_extracted_capture": False}, {"kit:quality_raw_archive_expiry_days": 400}],
)
def test_raw_capture_is_kept_when_asked_or_archived(overrides):
    template, config = monitor_template(profile="production", **overrides, **{"kit:quality_hourly_extract": False})
    arguments = definition(template)["States"]["RunPrCurveJob"]["Parameters"]["JobDriver"]["SparkSubmit"][
        "EntryPointArguments.$"
    ]
    assert not config.deletes_extracted_capture and "--delete-extracted-capture" not in arguments
    assert not [resource for resource in job_role_deletes(template) if "CaptureBucket" in resource]
