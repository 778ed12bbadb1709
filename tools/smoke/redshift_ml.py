"""Redshift ML: start the lifecycle -> model ready -> recommendations table has rows -> precision@K reported."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from tools.cost.estimate import PriceTable
from tools.smoke.core import Clients, Run, StepFailed, read_outputs, wait_for

STACK = "RedshiftMlStack"
# The stack outputs this path reads; a test checks that the synthesized stack has each.
OUTPUTS = ("LifecycleStateMachineArn", "WorkgroupName", "DatabaseName", "AdminSecretArn", "RecommendationsTable")
# An identity was denied an action: the kit's own policies lack it (a kit defect), or an SCP or permissions boundary
# of the account denies it. The reason names the action and the role; the account is not simply "without access".
DENIED = re.compile(r"not authori[sz]ed|access ?denied", re.IGNORECASE)
# Failure reasons that mean Redshift ML or SageMaker cannot train here, rather than a defect of the kit.
NO_ML_HERE = re.compile(r"sagemaker|not supported in|redshift ml", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """Bounded waits (seconds). Training runs up to MAX_RUNTIME (90 min) and compilation can outlast it."""

    lifecycle_timeout: float = 4 * 3600
    lifecycle_poll: float = 60
    query_timeout: float = 300
    query_poll: float = 2


def run_redshift_ml(
    run: Run, clients: Clients, region: str, prices: PriceTable, settings: Settings = Settings(), *, stack: str = STACK
) -> None:
    outputs = run.step(
        "stack outputs",
        lambda: read_outputs(clients("cloudformation"), stack, region),
        lambda o: f"{len(o.outputs)} outputs of {stack}",
    )
    sfn = clients("stepfunctions")
    machine = outputs["LifecycleStateMachineArn"]
    started = run.clock.monotonic()
    # StartExecution: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
    execution_arn = run.step(
        "start lifecycle",
        lambda: sfn.start_execution(
            stateMachineArn=machine, name=f"kit-smoke-{uuid.uuid4().hex[:12]}", input=json.dumps({"trigger": "smoke"})
        )["executionArn"],
        lambda arn: arn.rsplit(":", 1)[-1],
    )

    def finished() -> dict | None:
        execution = sfn.describe_execution(executionArn=execution_arn)
        return None if execution["status"] == "RUNNING" else execution

    execution = run.step(
        "model ready",
        lambda: _succeeded(
            sfn,
            wait_for(
                finished,
                what="lifecycle execution",
                timeout=settings.lifecycle_timeout,
                interval=settings.lifecycle_poll,
                clock=run.clock,
            ),
        ),
        _describe_model,
    )
    lifecycle_seconds = run.clock.monotonic() - started
    result = json.loads(execution["output"])
    run.estimate(lambda: _charge(run, clients, outputs, prices, lifecycle_seconds, result))

    data = clients("redshift-data")
    run.step(
        "recommendations have rows",
        lambda: _count_recommendations(data, outputs, run, settings),
        lambda n: f"{n} rows in {outputs['RecommendationsTable']}",
    )
    # Nothing to clean up: the new model version is the lifecycle's, which keeps `versions_kept` of them.
    run.step("precision@K reported", lambda: _precision(result), lambda text: text)


def _succeeded(sfn: Any, execution: dict) -> dict:
    if execution["status"] == "SUCCEEDED":
        return execution
    reason = _failure_reason(sfn, execution)
    if DENIED.search(reason):
        raise StepFailed(
            f"a role was denied an action: {reason}. The kit's policies should allow every call the lifecycle "
            "makes: this is a defect of the kit to report, unless an SCP or permissions boundary of the account "
            "denies it (the reason names the action and the role)."
        )
    if NO_ML_HERE.search(reason):
        raise StepFailed(
            f"Redshift ML could not train in this account or region: {reason}. Check that Redshift ML "
            "is available in the region and that the account may use SageMaker."
        )
    raise StepFailed(f"lifecycle execution {execution['status']}: {reason}")


def _failure_reason(sfn: Any, execution: dict) -> str:
    """The most specific reason in the history: the training failure SHOW MODEL gave, else the failed task's cause."""
    events = sfn.get_execution_history(executionArn=execution["executionArn"], reverseOrder=True, maxResults=100)[
        "events"
    ]
    for event in events:
        entered = event.get("stateEnteredEventDetails", {})
        if entered.get("name") == "NotifyTrainingFailed":
            failure = json.loads(entered.get("input") or "{}").get("failure", {})
            return f"model {failure.get('model_name')} failed: {failure.get('reason')}"
    for event in events:
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails", "executionFailedEventDetails"):
            details = event.get(key)
            if details and details.get("cause"):
                return f"{details.get('error', 'error')}: {details['cause']}"
    return execution.get("cause") or execution.get("error") or "no reason recorded"


def _describe_model(execution: dict) -> str:
    result = json.loads(execution["output"])
    model = result.get("model", {}).get("model_name", "?")
    decision = "promoted" if "promotion" in result else "not promoted (the serving version is at least as good)"
    return f"{model} {decision}"


def _count_recommendations(data: Any, outputs: Any, run: Run, settings: Settings) -> int:
    """One query through the Data API as the warehouse admin (the secret the stack created).

    ExecuteStatement with WorkgroupName + Database + SecretArn:
    https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
    """
    table = outputs["RecommendationsTable"]
    if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", table):
        raise StepFailed(f"output RecommendationsTable {table!r} is not schema.table")
    statement_id = data.execute_statement(
        WorkgroupName=outputs["WorkgroupName"],
        Database=outputs["DatabaseName"],
        SecretArn=outputs["AdminSecretArn"],
        Sql=f"SELECT COUNT(*) FROM {table}",
    )["Id"]

    def done() -> dict | None:
        statement = data.describe_statement(Id=statement_id)
        return statement if statement["Status"] in ("FINISHED", "FAILED", "ABORTED") else None

    statement = wait_for(
        done,
        what="recommendations query",
        timeout=settings.query_timeout,
        interval=settings.query_poll,
        clock=run.clock,
    )
    if statement["Status"] != "FINISHED":
        raise StepFailed(f"recommendations query {statement['Status']}: {statement.get('Error', '')}")
    count = data.get_statement_result(Id=statement_id)["Records"][0][0]["longValue"]
    if count <= 0:
        raise StepFailed(f"{table} is empty after the lifecycle succeeded")
    return count


def _precision(result: dict) -> str:
    evaluation = result.get("evaluation", {})
    candidate = evaluation.get("candidate", {})
    if "precision_at_k" not in candidate:
        raise StepFailed("the execution output has no evaluation.candidate.precision_at_k")
    text = (
        f"precision@{evaluation.get('k')} {candidate['precision_at_k']:.3f}, recall@{evaluation.get('k')} "
        f"{candidate.get('recall_at_k', 0):.3f} over {candidate.get('seekers')} seekers"
    )
    if "serving" in evaluation:
        text += f" (serving {evaluation['serving']['precision_at_k']:.3f})"
    return text


def _charge(run: Run, clients: Clients, outputs: Any, prices: PriceTable, seconds: float, result: dict) -> None:
    """Upper bound: the workgroup's base capacity for the whole lifecycle (it bills only while queries run), and
    the training cells CREATE MODEL was given (MAX_CELLS = rows x columns of the training query)."""
    workgroup = clients("redshift-serverless").get_workgroup(workgroupName=outputs["WorkgroupName"])["workgroup"]
    rpu_hours = workgroup["baseCapacity"] * max(seconds, 60) / 3600
    run.charge(
        f"Redshift Serverless, at most {rpu_hours:.1f} RPU-hours", rpu_hours * prices("redshift_serverless_rpu_hour")
    )
    cells = result.get("model", {}).get("max_cells", 0) / 1e6
    run.charge(
        f"Redshift ML training, {cells:.2f} million cells", prices.tiered("redshift_ml_training_million_cells", cells)
    )
