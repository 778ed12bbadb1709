"""Custom resource (Lambda-backed, answers CloudFormation itself): create the recommender's schema, views, roles and grants and
load the sample data, through the Data API. Every statement is idempotent, so Create and Update run the
same SQL; Delete leaves the data to the warehouse's own removal policy."""

from __future__ import annotations

import os
import time
from typing import Any

import cfn_response
import templates
from events import EventError, require
from sql_runner import DataApiRunner


def handler(event: dict[str, Any], context: Any) -> None:
    """Always answer CloudFormation: SUCCESS, or FAILED with the error text (a Data API error included)."""
    physical_id = event.get("PhysicalResourceId") or "redshift-bootstrap"
    # Stop waiting for SQL a minute before the Lambda timeout, so the FAILED answer still gets out.
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - 60
    try:
        physical_id = handle(event, deadline)["PhysicalResourceId"]
    except Exception as error:  # every failure must reach CloudFormation, or the stack waits an hour
        print(f"Bootstrap failed: {error!r}")
        cfn_response.send(event, "FAILED", physical_id, reason=f"{type(error).__name__}: {error}")
        return
    cfn_response.send(event, "SUCCESS", physical_id)


def handle(event: dict[str, Any], deadline: float | None = None) -> dict[str, Any]:
    request_type = require(event, "RequestType")
    if request_type not in ("Create", "Update", "Delete"):
        raise EventError(f"Field 'RequestType' must be Create, Update or Delete, not {request_type!r}.")
    properties = require(event, "ResourceProperties", dict)
    if request_type == "Delete":
        return {"PhysicalResourceId": require(event, "PhysicalResourceId")}
    import boto3  # the Lambda runtime provides boto3; tests pass their own client to bootstrap()

    runner = DataApiRunner(
        client=boto3.client("redshift-data"),
        workgroup_name=require(properties, "WorkgroupName"),
        database=require(properties, "Database"),
        secret_arn=require(properties, "SecretArn"),
        timeout_seconds=float(os.environ.get("STATEMENT_TIMEOUT_SECONDS", "600")),
        deadline=deadline,
    )
    bootstrap(runner, properties)
    return {"PhysicalResourceId": f"{runner.workgroup_name}/{runner.database}/{properties['Schema']}"}


def bootstrap(runner: DataApiRunner, properties: dict[str, Any]) -> list[str]:
    """Run the bootstrap SQL in order; return the statements run (for logs and tests)."""
    names = {
        "schema": require(properties, "Schema"),
        "ml_role": require(properties, "MlRole"),
        "analyst_role": require(properties, "AnalystRole"),
    }
    # CloudFormation passes every custom resource property as a string.
    holdout_text = str(require(properties, "HoldoutDays", (str, int)))
    if not holdout_text.isdigit():
        raise EventError(f"Field 'HoldoutDays' must be a whole number, not {holdout_text!r}.")
    holdout_days = int(holdout_text)
    ran: list[str] = []

    def run_file(name: str, **extra: object) -> None:
        for sql in templates.statements(templates.render(templates.load(name), **names, **extra)):
            runner.run(sql)
            ran.append(sql)

    run_file("01_tables")
    run_file("02_features", holdout_days=holdout_days)
    for key in ("ml_role", "analyst_role"):
        role = templates.check(key, names[key])
        if not runner.query("SELECT role_name FROM svv_roles WHERE role_name = :role_name", {"role_name": role}):
            sql = f"CREATE ROLE {role}"
            runner.run(sql)
            ran.append(sql)
    run_file("03_grants")
    if "SampleData" in properties:
        keys = require(properties, "SampleData", dict)
        batch = templates.statements(
            templates.render(
                templates.load("04_load_sample_data"),
                schema=names["schema"],
                bucket=require(keys, "Bucket"),
                seekers_key=require(keys, "SeekersKey"),
                jobs_key=require(keys, "JobsKey"),
                interactions_key=require(keys, "InteractionsKey"),
            )
        )
        runner.run_batch(batch)
        ran.extend(batch)
    return ran
