"""The daily run's state machine, executed along each designed path in an ASL interpreter (tests/asl_interpreter.py,
shared with the other architectures): the end state, the tasks it entered, and the notice on failure.

Task results are scripted: the job run's as the .sync integration reports it (a result, or an error name), the
Lambdas' as their handlers return or raise. The empty day runs the real metrics publisher on a zero-row summary.
"""

import importlib.util
import json
from datetime import date
from pathlib import Path

import pytest

from spark_jobs.model_quality import metrics, pr_curve
from tests.asl_interpreter import FAILED, SUCCEEDED, Failure, definition_from_template, run

_spec = importlib.util.spec_from_file_location(
    "metrics_publisher", Path(__file__).resolve().parents[2] / "lambdas" / "quality_metrics" / "metrics_publisher.py"
)
publisher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publisher)

SCHEDULED = {"scheduled_time": "2026-11-21T04:00:00Z"}
RESOLVED = {"date": "2026-11-19", "label_delay_days": 1}
JOB_RUN = {"ApplicationId": "app", "JobRunId": "run-1", "State": "SUCCESS"}
PUBLISHED = {"date": "2026-11-19", "metrics": {"SummaryPublished": 1.0}}
HAPPY = ["ResolveDate", "RunPrCurveJob", "PublishMetrics", "Done"]
NOTIFIED = ["NotifyFailure", "RunFailed"]


@pytest.fixture(scope="module")
def machine(template):
    template, _ = template
    (resource,) = [
        body for name, body in template.find_resources("AWS::StepFunctions::StateMachine").items() if "DailyRun" in name
    ]
    return definition_from_template(resource)


def execute(machine, **scripts):
    calls = []
    status, output, visited = run(machine, scripts, SCHEDULED, calls=calls)
    return status, output, visited, calls


def entered(calls, state):
    return [task_input for name, task_input in calls if name == state]


def notice(calls):
    (message,) = [task_input["Message"] for name, task_input in calls if name == "NotifyFailure"]
    return json.loads(message)


def test_a_day_with_results_succeeds_without_a_notice(machine):
    status, _, visited, calls = execute(
        machine, ResolveDate=[RESOLVED], RunPrCurveJob=[JOB_RUN], PublishMetrics=[PUBLISHED]
    )
    assert (status, visited) == (SUCCEEDED, HAPPY)
    (job,) = entered(calls, "RunPrCurveJob")
    assert job["Name"] == "pr-curve-2026-11-19" and job["JobDriver"]["SparkSubmit"]["EntryPointArguments"][-2:] == [
        "--date",
        "2026-11-19",
    ]
    assert entered(calls, "PublishMetrics") == [{"date": "2026-11-19"}]


class FakeS3:
    def __init__(self, objects):
        self.objects = objects

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3's parameter names)
        from botocore.exceptions import ClientError

        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")

        class Body:
            def read(inner):
                return self.objects[Key].encode()

        return {"Body": Body()}


class FakeCloudWatch:
    def __init__(self):
        self.data = []

    def put_metric_data(self, Namespace, MetricData):  # noqa: N803
        self.data += MetricData


def test_an_empty_day_succeeds_and_publishes_zero_captured_rows_for_the_no_predictions_alarm(machine):
    """A deployment whose endpoint captured nothing: the job writes a zero-row summary and the run succeeds; the
    no-predictions alarm, not a failed run, says so."""
    day = date(2026, 11, 19)
    empty = pr_curve.DayCounts(metrics.Histogram.empty(100), dict.fromkeys(pr_curve.COUNT_COLUMNS, 0))
    thresholds = (0.1, 0.3, 0.5, 0.7, 0.9)
    summary = pr_curve.build_summary(day, empty, thresholds)
    s3 = FakeS3({publisher.summary_key("", day.isoformat()): json.dumps(summary)})
    cloudwatch = FakeCloudWatch()

    def publish(task_input):
        return publisher.publish(task_input, s3, cloudwatch, "results", "", "churn-endpoint", 0.5)

    status, _, visited, _ = execute(machine, ResolveDate=[RESOLVED], RunPrCurveJob=[JOB_RUN], PublishMetrics=[publish])
    assert (status, visited) == (SUCCEEDED, HAPPY)
    published = {d["MetricName"]: d["Value"] for d in cloudwatch.data}
    assert published["RowsCaptured"] == 0 and published["SummaryPublished"] == 1


@pytest.mark.parametrize("error", ["EMRServerless.ThrottlingException", "EMRServerless.InternalServerException"])
def test_a_transient_error_is_retried_and_the_run_succeeds(machine, error):
    status, _, visited, calls = execute(
        machine,
        ResolveDate=[RESOLVED],
        RunPrCurveJob=[Failure(error, "Rate exceeded"), Failure(error, "Rate exceeded"), JOB_RUN],
        PublishMetrics=[PUBLISHED],
    )
    assert (status, visited) == (SUCCEEDED, HAPPY)
    assert len(entered(calls, "RunPrCurveJob")) == 3
    assert not entered(calls, "NotifyFailure")


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        # The step's own timeout (TimeoutSeconds): no Cause.
        ("States.Timeout", ""),
        # A run that ended FAILED on its code or data, or was cancelled at its ExecutionTimeoutMinutes.
        ("States.TaskFailed", '{"state": "FAILED", "stateDetails": "pr_curve: failed: Path does not exist"}'),
        ("States.TaskFailed", '{"state": "CANCELLED", "stateDetails": "Job run timed out"}'),
        # An API error not documented as transient.
        ("EMRServerless.ServiceQuotaExceededException", "The maximum number of resources has been reached"),
        ("EMRServerless.ValidationException", "Invalid spark submit parameters"),
    ],
)
def test_a_failed_or_timed_out_run_is_not_retried_and_the_notice_names_the_cause(machine, error, cause):
    """Issue 30: each of these was run again (twice, 6 h at 400 vCPU each) before anyone heard of it."""
    status, output, visited, calls = execute(
        machine, ResolveDate=[RESOLVED], RunPrCurveJob=[Failure(error, cause)], NotifyFailure=[{}]
    )
    assert (status, visited) == (FAILED, ["ResolveDate", "RunPrCurveJob", *NOTIFIED])
    assert len(entered(calls, "RunPrCurveJob")) == 1
    assert notice(calls) == {"Error": error, "Cause": cause}
    assert output["Error"] == "ModelQualityRunFailed"


def test_a_metrics_publish_failure_is_notified_with_its_cause(machine):
    cause = json.dumps({"errorMessage": "no summary at s3://results/summary/dt=2026-11-19/summary.json"})
    status, _, visited, calls = execute(
        machine,
        ResolveDate=[RESOLVED],
        RunPrCurveJob=[JOB_RUN],
        PublishMetrics=[Failure("Lambda.ServiceException", "busy"), Failure("SummaryError", cause)],
        NotifyFailure=[{}],
    )
    assert (status, visited) == (FAILED, [*HAPPY[:3], *NOTIFIED])
    assert len(entered(calls, "PublishMetrics")) == 2  # the Lambda service error was retried, the handler's was not
    assert notice(calls) == {"Error": "SummaryError", "Cause": cause}


def test_a_run_whose_notice_cannot_be_sent_still_ends_failed(machine):
    status, output, visited, _ = execute(
        machine,
        ResolveDate=[Failure("RunDateError", "field 'scheduled_time' must be an ISO 8601 time")],
        NotifyFailure=[Failure("SNS.KMSAccessDeniedException", "denied")],
    )
    assert (status, visited) == (FAILED, ["ResolveDate", *NOTIFIED])
    assert output["Error"] == "ModelQualityRunFailed"
