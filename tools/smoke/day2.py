"""`make smoke ARGS=--day2`: a second week in a sandbox account, in one run.

cdk deploy --all -> every architecture's path -> redeploy the churn stack with one in-place setting changed -> the
change reached the running endpoint -> the churn path again -> cdk destroy --all -> what still carries the kit's
tags (Resource Groups Tagging API) is listed, and anything the kit should have removed fails the run.

The changed setting is `churn_capture_percent`: a property of the endpoint's custom resource, so a new value sends it
an Update that the deployer rolls out as a new endpoint config (blue/green), with nothing replaced
(tools/replacements.py; tests/tools/test_review.py shows it for the instance type). `cdk` runs `npx cdk` in a
subprocess; tests pass a fake.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterable

from stacks.common.tags import ENVIRONMENT_TAG, PROJECT_TAG
from tools.smoke import churn
from tools.smoke.core import FAIL, Clients, Prerequisite, Run, StepFailed, read_outputs, wait_for

CdkRunner = Callable[[list[str]], None]
# The day-2 change: one in-place endpoint setting and a value that differs from both profiles' default (100).
SETTING = "churn_capture_percent"
CHANGED_VALUE = 50
# Retention policies that keep a resource when its stack is deleted (CloudFormation DeletionPolicy attribute:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
KEPT_POLICIES = ("Retain", "RetainExceptOnCreate")
# CloudFormation's own tags on what it creates (its stack and logical id), which tell a kept resource apart
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html).
STACK_TAG, LOGICAL_ID_TAG = "aws:cloudformation:stack-name", "aws:cloudformation:logical-id"
# Run-time records that no API deletes (SageMaker processing and training jobs, EMR Serverless job runs): they are
# history, not billed, and stay listed under the tags they were started with.
HISTORY = (":processing-job/", ":training-job/", ":transform-job/", "/jobruns/")


def npx_cdk(args: list[str], cwd: Path | None = None) -> None:
    """`npx cdk <args>` in the kit's folder, output shown as it comes; a non-zero exit fails the step."""
    from tools.synthesis import PROJECT_ROOT

    command = ["npx", "cdk", *args]
    completed = subprocess.run(command, cwd=cwd or PROJECT_ROOT, check=False)  # noqa: S603 - fixed program
    if completed.returncode != 0:
        raise StepFailed(f"{' '.join(command)} exited with {completed.returncode}")


def cdk_out_templates(folder: Path | None = None) -> dict[str, dict]:
    """The templates `cdk deploy` synthesized (cdk.out/<stack>.template.json), by stack name."""
    from tools.synthesis import PROJECT_ROOT

    folder = folder or PROJECT_ROOT / "cdk.out"
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in folder.glob("*.template.json")
    }


def kept_by_templates(templates: dict[str, dict]) -> set[tuple[str, str]]:
    """(stack name, logical id) of every resource the templates keep when their stack is deleted."""
    return {
        (stack, logical_id)
        for stack, template in templates.items()
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in KEPT_POLICIES
    }


def kit_tags(profile: str, environment: str) -> dict[str, str]:
    """The kit's tags that every stack of one deployment shares (stacks/common/tags.py; the architecture tag varies),
    with its environment's tag when it has a name."""
    return {"project": PROJECT_TAG, "profile": profile, **({ENVIRONMENT_TAG: environment} if environment else {})}


def tagged_resources(tagging: Any, tags: dict[str, str]) -> list[dict]:
    """Every resource of the region carrying all of `tags` (GetResources with TagFilters, paginated:
    https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html), and the environment
    tag only if `tags` has it: the unnamed environment's resources are those without one, which no TagFilter can ask
    for, so another environment's are dropped here."""
    found: list[dict] = []
    request: dict[str, Any] = {"TagFilters": [{"Key": key, "Values": [value]} for key, value in sorted(tags.items())]}
    while True:
        page = tagging.get_resources(**request)
        found += page.get("ResourceTagMappingList", [])
        if not page.get("PaginationToken"):
            return [resource for resource in found if _tags(resource).get(ENVIRONMENT_TAG) == tags.get(ENVIRONMENT_TAG)]
        request["PaginationToken"] = page["PaginationToken"]


def _tags(resource: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def sort_leftovers(resources: Iterable[dict], kept: set[tuple[str, str]]) -> dict[str, list[str]]:
    """ARNs as `kept` (a retention policy of the templates keeps them), `history` (no API deletes them) and
    `left` (the kit should have removed them)."""
    sorted_arns: dict[str, list[str]] = {"kept": [], "history": [], "left": []}
    for resource in resources:
        arn = resource["ResourceARN"]
        tags = _tags(resource)
        if (tags.get(STACK_TAG), tags.get(LOGICAL_ID_TAG)) in kept:
            sorted_arns["kept"].append(arn)
        elif any(marker in arn for marker in HISTORY):
            sorted_arns["history"].append(arn)
        else:
            sorted_arns["left"].append(arn)
    return sorted_arns


def report_leftovers(
    run: Run,
    tagging: Any,
    tags: dict[str, str],
    kept: set[tuple[str, str]],
    *,
    timeout: float = 10 * 60,
    interval: float = 60,
) -> str:
    """What the kit's tags still find after the destroy. The Tagging API can list a resource for a while after it
    is deleted, so resources left over are looked up again until `timeout` before the step fails."""
    latest: dict[str, list[str]] = {}

    def clean() -> dict[str, list[str]] | None:
        latest.update(sort_leftovers(tagged_resources(tagging, tags), kept))
        return None if latest["left"] else dict(latest)

    try:
        found = wait_for(clean, what="resources left by the kit", timeout=timeout, interval=interval, clock=run.clock)
    except StepFailed:
        raise StepFailed(
            f"{len(latest['left'])} resource(s) with the kit's tags {tags} remain after cdk destroy: "
            + ", ".join(latest["left"])
        ) from None
    return (
        f"none left; {len(found['kept'])} kept by a retention policy"
        + (f" ({', '.join(found['kept'])})" if found["kept"] else "")
        + f", {len(found['history'])} job record(s) that no API deletes"
    )


def capture_percent_arrived(
    sagemaker: Any, endpoint_name: str, config_before: str, percent: int, run: Run, timeout: float, poll: float
) -> str:
    """The endpoint is in service on a new config whose Data Capture samples `percent` (DescribeEndpointConfig
    DataCaptureConfig.InitialSamplingPercentage:
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpointConfig.html)."""

    def arrived() -> str | None:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
        if endpoint["EndpointStatus"] == "Failed":
            raise StepFailed(f"endpoint {endpoint_name} failed: {endpoint.get('FailureReason', '')}")
        config = endpoint["EndpointConfigName"]
        if endpoint["EndpointStatus"] != "InService" or config == config_before:
            return None
        sampled = sagemaker.describe_endpoint_config(EndpointConfigName=config)["DataCaptureConfig"][
            "InitialSamplingPercentage"
        ]
        if sampled != percent:
            raise StepFailed(f"{endpoint_name} serves {config}, which captures {sampled} %, not {percent} %")
        return f"{endpoint_name} serves {config} (was {config_before}), capturing {sampled} %"

    return wait_for(
        arrived, what=f"{SETTING}={percent} on {endpoint_name}", timeout=timeout, interval=poll, clock=run.clock
    )


def _served(clients: Clients, sagemaker: Any, stack: str, region: str) -> tuple[str, str]:
    """The churn endpoint's name (a stack output) and the config it serves before the change."""
    endpoint_name = read_outputs(clients("cloudformation"), stack, region)["EndpointName"]
    return endpoint_name, sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]


def run_day2(
    run: Run,
    clients: Clients,
    region: str,
    *,
    cdk: CdkRunner,
    context: list[str],
    paths: Callable[[str | None], list[Run]],
    kit_tags: dict[str, str],
    templates: Callable[[], dict[str, dict]] = cdk_out_templates,
    keep: bool = False,
    stack: str = churn.STACK,
    settings: churn.Settings | None = None,
    leftover_timeout: float = 10 * 60,
) -> list[Run]:
    """The day-2 sequence; `paths(only)` runs the architectures' paths (all, or one) and answers their runs,
    `context` is the `-c` arguments the stacks are deployed with, `kit_tags` the tags the leftover report looks for.
    Answers the paths' runs; this run's steps are the deploys, the change, the destroy and the leftover report."""
    settings = settings or churn.Settings()
    runs: list[Run] = []
    try:
        run.step(
            "cdk deploy --all", lambda: cdk(["deploy", "--all", "--require-approval", "never", *context]) or "deployed"
        )
        runs += paths(None)
        if any(step.status == FAIL for r in runs for step in r.steps):
            raise StepFailed("a first run failed; the setting is not changed")
        sagemaker = clients("sagemaker")
        endpoint_name, before = run.step(
            "endpoint before the change",
            lambda: _served(clients, sagemaker, stack, region),
            lambda served: f"{served[0]} serves {served[1]}",
        )
        change = f"kit:{SETTING}={CHANGED_VALUE}"
        run.step(
            f"redeploy {stack} with {SETTING}={CHANGED_VALUE}",
            lambda: cdk(["deploy", stack, "--require-approval", "never", *context, "-c", change]) or "deployed",
        )
        run.step(
            "changed setting reached the endpoint",
            lambda: capture_percent_arrived(
                sagemaker, endpoint_name, before, CHANGED_VALUE, run, settings.endpoint_timeout, settings.endpoint_poll
            ),
        )
        runs += paths("churn_model")
    except (StepFailed, Prerequisite) as error:
        if not error.recorded:
            run.record("between steps", FAIL, run.clock.monotonic(), str(error))
    finally:
        if keep:
            run.skip("cdk destroy --all", "kept (--keep): destroy it yourself, then look for the kit's tags")
        else:
            try:
                run.step("cdk destroy --all", lambda: cdk(["destroy", "--all", "--force", *context]) or "destroyed")
                kept = kept_by_templates(templates())
                run.step(
                    "nothing left by the kit's tags",
                    lambda: report_leftovers(
                        run, clients("resourcegroupstaggingapi"), kit_tags, kept, timeout=leftover_timeout
                    ),
                )
            except StepFailed:
                pass  # recorded
    return [*runs, run]
