"""Custom resource (Lambda-backed, answers CloudFormation itself): create the recommender's schema, views, roles and grants and
load the sample data, through the Data API. Every statement is idempotent, so Create and Update run the
same SQL; Delete leaves the data to the warehouse's own removal policy and only drops versions still training.

CloudFormation sends an Update only when the resource's properties change; its `SqlHash` property is a hash of the
SQL files and this code, so any change to them re-runs the bootstrap on the next deploy. A view whose columns change
cannot be replaced in place (CREATE OR REPLACE VIEW needs the same columns): it is dropped and created again, with
the serving view that depends on it, in one transaction. Sample data goes only into empty tables (or over rows that
are that same sample), unless the overwrite setting says otherwise."""

from __future__ import annotations

import os
import re
import time
from typing import Any, Callable

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
        physical_id = require(event, "PhysicalResourceId")
        # Best effort: the lifecycle's state machine is deleted first (it depends on this resource) and its
        # executions end at their next transition, so a version still training would be left behind.
        try:
            abandon_training(_runner(properties, deadline), require(properties, "Schema"))
        except Exception as error:  # never block the stack's deletion: the next refresh resolves what is left
            print(f"Could not drop models still training: {error!r}")
        return {"PhysicalResourceId": physical_id}
    runner = _runner(properties, deadline)
    bootstrap(runner, properties, previous=event.get("OldResourceProperties"))
    return {"PhysicalResourceId": f"{runner.workgroup_name}/{runner.database}/{properties['Schema']}"}


def _runner(properties: dict[str, Any], deadline: float | None) -> DataApiRunner:
    import boto3  # the Lambda runtime provides boto3; tests pass their own client to bootstrap()

    return DataApiRunner(
        client=boto3.client("redshift-data"),
        workgroup_name=require(properties, "WorkgroupName"),
        database=require(properties, "Database"),
        secret_arn=require(properties, "SecretArn"),
        timeout_seconds=float(os.environ.get("STATEMENT_TIMEOUT_SECONDS", "600")),
        deadline=deadline,
    )


def abandon_training(runner: DataApiRunner, schema: str) -> list[str]:
    """Drop every version still 'training' and mark it 'abandoned' (on stack deletion no execution is left to)."""
    schema = templates.check("schema", schema)
    rows = runner.query(f"SELECT model_name FROM {schema}.model_registry WHERE status = 'training'")
    abandoned = [templates.check("model_name", row["model_name"]) for row in rows]
    for model_name in abandoned:
        (drop,) = templates.statements(
            templates.render(templates.load("drop_model"), schema=schema, model_name=model_name)
        )
        runner.run(drop)
        runner.run(
            f"UPDATE {schema}.model_registry SET status = 'abandoned', decided_at = GETDATE() "
            "WHERE model_name = :model_name",
            {"model_name": model_name},
        )
    return abandoned


def bootstrap(runner: DataApiRunner, properties: dict[str, Any], previous: dict[str, Any] | None = None) -> list[str]:
    """Run the bootstrap SQL in order; return the statements run (for logs and tests). `previous`: the properties
    of the deploy before (an Update's OldResourceProperties)."""
    names = {
        "schema": require(properties, "Schema"),
        "ml_role": require(properties, "MlRole"),
        "analyst_role": require(properties, "AnalystRole"),
    }
    holdout_days = _whole_number(properties, "HoldoutDays")
    ran: list[str] = []

    def run_file(name: str, **extra: object) -> None:
        for sql in templates.statements(templates.render(templates.load(name), **names, **extra)):
            runner.run(sql)
            ran.append(sql)

    run_file("01_tables")
    serving = runner.query(
        f"SELECT model_name, function_name FROM {names['schema']}.model_registry WHERE status = 'serving'"
    )

    def serving_view() -> list[str]:
        """The serving view and its grants for the serving model, if one serves (what Promote created)."""
        if not serving:
            return []
        text = templates.render(
            templates.load("serving_view"),
            **names,
            model_name=serving[0]["model_name"],
            function_name=serving[0]["function_name"],
        )
        return templates.statements(text)

    for sql in templates.statements(
        templates.render(templates.load("02_features"), **names, holdout_days=holdout_days)
    ):
        ran.extend(create_view(runner, sql, dependents=serving_view))
    for key in ("ml_role", "analyst_role"):
        role = templates.check(key, names[key])
        if not runner.query("SELECT role_name FROM svv_roles WHERE role_name = :role_name", {"role_name": role}):
            sql = f"CREATE ROLE {role}"
            runner.run(sql)
            ran.append(sql)
    run_file("03_grants")
    if serving:
        # Models promoted before the ml role got EXECUTE in serving_view.sql: grant it, so a new lifecycle identity
        # can evaluate the serving model (the admin is a superuser and may grant on any model).
        grant = templates.render(
            "GRANT EXECUTE ON MODEL ${schema}.${model_name} TO ROLE ${ml_role}",
            schema=names["schema"],
            model_name=serving[0]["model_name"],
            ml_role=names["ml_role"],
        )
        runner.run(grant)
        ran.append(grant)
    if "SampleData" in properties:
        top_k = _whole_number(properties, "TopK") if serving else None
        loaded_before = (previous or {}).get("SampleData")
        ran.extend(
            load_sample_data(
                runner,
                names["schema"],
                require(properties, "SampleData", dict),
                top_k,
                loaded_before=loaded_before if isinstance(loaded_before, dict) else None,
            )
        )
    return ran


def _whole_number(properties: dict[str, Any], name: str) -> int:
    """CloudFormation passes every custom resource property as a string."""
    text = str(require(properties, name, (str, int)))
    if not text.isdigit():
        raise EventError(f"Field {name!r} must be a whole number, not {text!r}.")
    return int(text)


VIEW = re.compile(r"^CREATE OR REPLACE VIEW (?P<schema>\w+)\.(?P<view>\w+) AS\s", re.IGNORECASE)
# The serving view selects from pair_features: a view migration drops it first and re-creates it after.
DEPENDENT_VIEW = "job_match_scores"
COLUMNS = (
    "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM svv_columns "
    "WHERE table_schema = :schema AND table_name = :view ORDER BY ordinal_position"
)


def create_view(runner: DataApiRunner, sql: str, dependents: Callable[[], list[str]]) -> list[str]:
    """Run one statement of 02_features; a CREATE OR REPLACE VIEW whose columns would change becomes a migration.

    "You can only replace a view with a new query that generates the identical set of columns, using the same column
    names and data types" (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_VIEW.html). The new definition is
    created under a probe name to read its columns (SVV_COLUMNS lists views' columns,
    https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_COLUMNS.html); when they differ, one transaction drops the
    serving view and the old view and creates both again. DROP VIEW without CASCADE: a view of your own on them
    fails the migration with Redshift's message (nothing changes) instead of being dropped silently."""
    match = VIEW.match(sql)
    if not match:
        runner.run(sql)
        return [sql]
    schema, view = match.group("schema"), match.group("view")
    current = runner.query(COLUMNS, {"schema": schema, "view": view})
    if current:
        probe = f"{view}_next"
        definition = sql[match.end() :]
        runner.run(f"DROP VIEW IF EXISTS {schema}.{probe}")
        runner.run(f"CREATE VIEW {schema}.{probe} AS {definition}")
        wanted = runner.query(COLUMNS, {"schema": schema, "view": probe})
        runner.run(f"DROP VIEW {schema}.{probe}")
        if wanted != current:
            batch = [
                f"DROP VIEW IF EXISTS {schema}.{DEPENDENT_VIEW}",
                f"DROP VIEW {schema}.{view}",
                sql,
                *dependents(),
            ]
            runner.run_batch(batch)
            return batch
    runner.run(sql)
    return [sql]


def _sample(keys: dict[str, Any]) -> str:
    """What sample_data_loads records: the three objects' S3 URIs (their keys are hashes of their content)."""
    return " ".join(
        f"s3://{keys.get('Bucket')}/{keys.get(key)}" for key in ("SeekersKey", "JobsKey", "InteractionsKey")
    )


class SampleDataRefused(RuntimeError):
    """The tables hold rows that are not this sample, and overwriting them was not asked for."""


def load_sample_data(
    runner: DataApiRunner,
    schema: str,
    keys: dict[str, Any],
    top_k: int | None,
    loaded_before: dict[str, Any] | None = None,
) -> list[str]:
    """Load the sample into empty tables; do nothing if they hold this same sample; replace other rows only when
    `Overwrite` is "true" (the synth-time setting, refused with retained data), then rewrite the recommendations
    from the serving model with `top_k` (they name the replaced ids), or empty them when no model serves (None).

    `loaded_before`: the previous deploy's sample keys. A deployment from before the load record loaded its sample
    on every deploy, so when it has no record and deployed this same sample last time, the rows are that sample."""
    values = {
        "schema": schema,
        "bucket": require(keys, "Bucket"),
        "seekers_key": require(keys, "SeekersKey"),
        "jobs_key": require(keys, "JobsKey"),
        "interactions_key": require(keys, "InteractionsKey"),
    }
    batch = templates.statements(templates.render(templates.load("04_load_sample_data"), **values))
    sample = _sample(keys)
    (counts,) = runner.query(
        f"SELECT (SELECT COUNT(*) FROM {schema}.job_seekers) AS job_seekers, (SELECT COUNT(*) FROM {schema}.jobs) AS jobs, "
        f"(SELECT COUNT(*) FROM {schema}.interactions) AS interactions"
    )
    rows = {table: int(count) for table, count in counts.items()}
    if any(rows.values()):
        last = runner.query(f"SELECT sample FROM {schema}.sample_data_loads ORDER BY loaded_at DESC LIMIT 1")
        if last and last[0]["sample"] == sample:
            print(f"Sample data {sample} is already loaded; left as it is.")
            return []
        if not last and loaded_before is not None and _sample(loaded_before) == sample:
            record = batch[-1]  # the INSERT INTO sample_data_loads of 04_load_sample_data.sql
            runner.run(record)
            print(f"Sample data {sample} was loaded by the previous deploy; recorded it and left it as it is.")
            return [record]
        if str(keys.get("Overwrite", "false")).lower() != "true":
            held = ", ".join(f"{table} {count}" for table, count in rows.items())
            raise SampleDataRefused(
                f"The tables hold rows that are not this sample ({held} rows); loading it would replace them. "
                "Turn kit:redshift_sample_data off, or set kit:redshift_sample_data_overwrite=true to replace them "
                "(not allowed with retain_data)."
            )
    if top_k is not None:
        batch += templates.statements(templates.render(templates.load("recommend"), schema=schema, top_k=top_k))
    else:
        batch.append(f"DELETE FROM {schema}.recommendations")
    runner.run_batch(batch)
    return batch
