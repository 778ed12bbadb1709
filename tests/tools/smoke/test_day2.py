"""`make smoke ARGS=--day2` (issue 29 item 6): deploy, run, change one in-place setting, run again, destroy, and
report what the kit's tags still find. Driven offline: a fake cdk runner, fake paths, botocore Stubbers."""

from __future__ import annotations

import pytest

from tests.tools.smoke.conftest import ACCOUNT, REGION, stack
from tools.replacements import RE_RUNS, assess
from tools.smoke.core import FAIL, PASS, SKIP, Run
from tools.smoke.day2 import (
    CHANGED_VALUE,
    SETTING,
    kept_by_templates,
    kit_tags,
    run_day2,
    sort_leftovers,
    tagged_resources,
)
from tools.synthesis import synthesize, templates

ENDPOINT = "churn-endpoint"
TAGS = {"project": "ml-analytics-kit", "profile": "sandbox"}
CONTEXT = ["-c", "profile=sandbox"]
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
# What cdk.out holds after the destroy: one kept bucket (production keeps data) and one deleted queue.
TEMPLATES = {
    "ModelQualityStack": {
        "Resources": {
            "CaptureBucket1A2B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Queue3C4D": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete"},
        }
    }
}


def tagged(arn: str, **cloudformation: str) -> dict:
    tags = [{"Key": k, "Value": v} for k, v in TAGS.items()]
    tags += [{"Key": f"aws:cloudformation:{k.replace('_', '-')}", "Value": v} for k, v in cloudformation.items()]
    return {"ResourceARN": arn, "Tags": tags}


KEPT_BUCKET = tagged("arn:aws:s3:::kept-capture-bucket", stack_name="ModelQualityStack", logical_id="CaptureBucket1A2B")
TRAINING_JOB = tagged(f"{ARN}:training-job/pipelines-abc-train")
MISSED_ENDPOINT = tagged(f"{ARN}:endpoint/{ENDPOINT}")
DELETED_QUEUE = tagged(f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue", stack_name="ModelQualityStack", logical_id="Queue3C4D")


class FakeCdk:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, args: list[str]) -> None:
        from tools.smoke.core import StepFailed

        self.calls.append(args)
        if self.fail_on and self.fail_on in args:
            raise StepFailed(f"npx cdk {' '.join(args)} exited with 1")


def fake_paths(clock, failing: str = ""):
    ran: list[str | None] = []

    def paths(only):
        ran.append(only)
        run = Run(only or "all", clock)
        run.record("path", FAIL if run.architecture == failing else PASS, clock.monotonic(), "ran")
        return [run]

    return paths, ran


def endpoint(status: str, config: str) -> dict:
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"{ARN}:endpoint/{ENDPOINT}",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": "2026-12-05T00:00:00Z",
        "LastModifiedTime": "2026-12-05T00:00:00Z",
    }


def config(name: str, percent: int) -> dict:
    return {
        "EndpointConfigName": name,
        "EndpointConfigArn": f"{ARN}:endpoint-config/{name}",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": f"{ENDPOINT}-v1"}],
        "DataCaptureConfig": {
            "InitialSamplingPercentage": percent,
            "DestinationS3Uri": "s3://captures/data-capture",
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
        "CreationTime": "2026-12-05T00:00:00Z",
    }


def stub_change(clients, arrived_percent: int = CHANGED_VALUE) -> None:
    clients.stub("cloudformation").add_response(
        "describe_stacks", stack("ChurnModelStack", {"EndpointName": ENDPOINT}), {"StackName": "ChurnModelStack"}
    )
    sagemaker = clients.stub("sagemaker")
    sagemaker.add_response("describe_endpoint", endpoint("InService", "old"), {"EndpointName": ENDPOINT})
    sagemaker.add_response("describe_endpoint", endpoint("Updating", "old"), {"EndpointName": ENDPOINT})
    sagemaker.add_response("describe_endpoint", endpoint("InService", "new"), {"EndpointName": ENDPOINT})
    sagemaker.add_response("describe_endpoint_config", config("new", arrived_percent), {"EndpointConfigName": "new"})


def stub_leftovers(clients, *pages: list[dict]) -> None:
    tagging = clients.stub("resourcegroupstaggingapi")
    filters = [{"Key": "profile", "Values": ["sandbox"]}, {"Key": "project", "Values": ["ml-analytics-kit"]}]
    for page in pages:
        tagging.add_response("get_resources", {"ResourceTagMappingList": page}, {"TagFilters": filters})


def day2(clients, clock, cdk, paths, **options):
    return run_day2(
        Run("day 2", clock),
        clients,
        REGION,
        cdk=cdk,
        context=CONTEXT,
        paths=paths,
        kit_tags=TAGS,
        templates=lambda: TEMPLATES,
        leftover_timeout=120,
        **options,
    )


def test_a_second_week_deploys_runs_changes_runs_again_destroys_and_finds_nothing_left(clients, clock):
    cdk, (paths, ran) = FakeCdk(), fake_paths(clock)
    stub_change(clients)
    stub_leftovers(clients, [KEPT_BUCKET, TRAINING_JOB])

    runs = day2(clients, clock, cdk, paths)

    assert cdk.calls == [
        ["deploy", "--all", "--require-approval", "never", *CONTEXT],
        ["deploy", "ChurnModelStack", "--require-approval", "never", *CONTEXT, "-c", f"kit:{SETTING}=50"],
        ["destroy", "--all", "--force", *CONTEXT],
    ]
    assert ran == [None, "churn_model"]  # every path first, the changed architecture's again
    steps = [(s.name, s.status) for s in runs[-1].steps]
    assert steps == [
        ("cdk deploy --all", PASS),
        ("endpoint before the change", PASS),
        ("redeploy ChurnModelStack with churn_capture_percent=50", PASS),
        ("changed setting reached the endpoint", PASS),
        ("cdk destroy --all", PASS),
        ("nothing left by the kit's tags", PASS),
    ]
    assert runs[-1].steps[3].detail == f"{ENDPOINT} serves new (was old), capturing 50 %"
    assert runs[-1].steps[5].detail == (
        "none left; 1 kept by a retention policy (arn:aws:s3:::kept-capture-bucket), "
        "1 job record(s) that no API deletes"
    )
    clients.assert_all_used()


def test_an_endpoint_the_teardown_missed_fails_the_run_with_its_arn(clients, clock):
    """The Tagging API may still list a deleted resource for a while: it is looked up again before the step fails."""
    cdk, (paths, _) = FakeCdk(), fake_paths(clock)
    stub_change(clients)
    stub_leftovers(clients, *([[KEPT_BUCKET, MISSED_ENDPOINT]] * 3))

    runs = day2(clients, clock, cdk, paths)

    last = runs[-1].steps[-1]
    assert (last.name, last.status) == ("nothing left by the kit's tags", FAIL)
    assert f"{ARN}:endpoint/{ENDPOINT}" in last.detail and "kept-capture-bucket" not in last.detail
    assert clock.sleeps == [30, 60, 60]  # one endpoint poll while it updates, two leftover polls
    clients.assert_all_used()


def test_a_resource_the_tagging_api_lists_only_until_it_is_gone_passes(clients, clock):
    cdk, (paths, _) = FakeCdk(), fake_paths(clock)
    stub_change(clients)
    stub_leftovers(clients, [MISSED_ENDPOINT], [])

    runs = day2(clients, clock, cdk, paths)

    assert runs[-1].steps[-1].status == PASS
    clients.assert_all_used()


def test_a_setting_that_did_not_arrive_fails_and_the_stacks_are_still_destroyed(clients, clock):
    cdk, (paths, ran) = FakeCdk(), fake_paths(clock)
    stub_change(clients, arrived_percent=100)
    stub_leftovers(clients, [])

    runs = day2(clients, clock, cdk, paths)

    steps = {s.name: s for s in runs[-1].steps}
    assert steps["changed setting reached the endpoint"].status == FAIL
    assert "captures 100 %, not 50 %" in steps["changed setting reached the endpoint"].detail
    assert ran == [None]  # no second run after a change that did not arrive
    assert cdk.calls[-1][0] == "destroy" and steps["nothing left by the kit's tags"].status == PASS


def test_a_failed_first_run_changes_nothing_and_destroys(clients, clock):
    cdk, (paths, ran) = FakeCdk(), fake_paths(clock, failing="all")
    stub_leftovers(clients, [])

    runs = day2(clients, clock, cdk, paths)

    assert ran == [None] and [c[0] for c in cdk.calls] == ["deploy", "destroy"]
    assert ("between steps", FAIL) in [(s.name, s.status) for s in runs[-1].steps]


def test_a_churn_stack_that_is_not_deployed_is_skipped_and_the_rest_still_destroyed(clients, clock):
    cdk, (paths, ran) = FakeCdk(), fake_paths(clock)
    clients.stub("cloudformation").add_client_error(
        "describe_stacks", "ValidationError", "Stack with id ChurnModelStack does not exist"
    )
    stub_leftovers(clients, [])

    runs = day2(clients, clock, cdk, paths)

    steps = [(s.name, s.status) for s in runs[-1].steps]
    assert ("endpoint before the change", SKIP) in steps and steps[-1] == ("nothing left by the kit's tags", PASS)
    assert ran == [None] and [c[0] for c in cdk.calls] == ["deploy", "destroy"]


def test_keep_leaves_the_stacks_and_reports_nothing(clients, clock):
    cdk, (paths, _) = FakeCdk(fail_on="--all"), fake_paths(clock)

    runs = day2(clients, clock, cdk, paths, keep=True)

    assert [(s.name, s.status) for s in runs[-1].steps] == [("cdk deploy --all", FAIL), ("cdk destroy --all", SKIP)]
    assert cdk.calls == [["deploy", "--all", "--require-approval", "never", *CONTEXT]]


def test_leftovers_are_sorted_by_the_templates_retention_and_by_what_no_api_deletes():
    kept = kept_by_templates(TEMPLATES)
    assert kept == {("ModelQualityStack", "CaptureBucket1A2B")}
    assert sort_leftovers([KEPT_BUCKET, TRAINING_JOB, MISSED_ENDPOINT, DELETED_QUEUE], kept) == {
        "kept": ["arn:aws:s3:::kept-capture-bucket"],
        "history": [f"{ARN}:training-job/pipelines-abc-train"],
        "left": [f"{ARN}:endpoint/{ENDPOINT}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue"],
    }


@pytest.mark.parametrize("profile", ["sandbox"])
def test_the_day2_change_is_in_place(profile):
    """The changed setting replaces nothing (tools/replacements.py): only the endpoint's custom resource re-runs,
    which is what rolls the value out to the running endpoint."""
    before = templates(synthesize(profile))["ChurnModelStack"]
    after = templates(synthesize(profile, {f"kit:{SETTING}": CHANGED_VALUE}))["ChurnModelStack"]
    assert [(f.type, f.marks) for f in assess(before, after)] == [("Custom::ChurnEndpointTeardown", (RE_RUNS,))]


def in_environment(arn: str, environment: str | None) -> dict:
    resource = tagged(arn)
    if environment:
        resource["Tags"].append({"Key": "kit:environment", "Value": environment})
    return resource


@pytest.mark.parametrize(
    ("environment", "found"),
    [("team-a", ["team-a"]), ("team-b", ["team-b"]), ("", ["unnamed"])],
)
def test_the_leftover_report_of_one_environment_never_lists_anothers(clients, environment, found):
    """Two environments of one profile in one account: the report of each looks for its own environment tag (the
    unnamed one for resources without it), so neither fails on, or lists, what the other still runs."""
    tags = kit_tags("sandbox", environment)
    filters = [{"Key": key, "Values": [value]} for key, value in sorted(tags.items())]
    page = [
        in_environment(f"{ARN}:endpoint/team-a", "team-a"),
        in_environment(f"{ARN}:endpoint/team-b", "team-b"),
        in_environment(f"{ARN}:endpoint/unnamed", None),
    ]
    # The Tagging API applies TagFilters itself; the stub answers with all three, so the test also holds for the
    # unnamed environment, which no TagFilter can express (a filter cannot ask for a missing key).
    clients.stub("resourcegroupstaggingapi").add_response(
        "get_resources", {"ResourceTagMappingList": page}, {"TagFilters": filters}
    )
    arns = [r["ResourceARN"] for r in tagged_resources(clients("resourcegroupstaggingapi"), tags)]
    assert arns == [f"{ARN}:endpoint/{name}" for name in found]
    assert ("kit:environment" in tags) == bool(environment)
    clients.assert_all_used()
