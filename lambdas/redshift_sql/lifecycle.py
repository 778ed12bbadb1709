"""Steps of the model lifecycle state machine (the missing REFRESH MODEL), one `action` per state.

start_training   refuse if another refresh is running; register a new version and submit its CREATE MODEL
check_statement  has CREATE MODEL finished exporting the training data? (marks the version failed and raises if not)
check_model      training state from SVV_ML_MODEL_INFO: READY, TRAINING or FAILED (also when overdue)
describe_failure the reason from SHOW MODEL; the failed version is dropped and marked failed
evaluate         precision@K and recall@K of the candidate and of the serving version on the holdout
promote          submit the switch of the stable view to the candidate and the refreshed recommendations, in one
                 transaction; the state machine polls it with check_statement
reject           keep the serving version; mark the candidate rejected
cleanup          drop versions beyond the configured count, never the serving one

The serving version changes only in `promote`, in one transaction with the recommendations, so a failed or
worse candidate never replaces it and the recommendations always come from the serving version. Every step stops
waiting for SQL (and cancels it) a minute before the Lambda timeout, so it fails with a message instead of timing out.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import templates
from events import EventError, require
from sql_runner import DataApiRunner, StatementError

READY_STATE = "Model is Ready"
# Seconds kept free at the end of the Lambda timeout to cancel a statement and return the error.
DEADLINE_MARGIN_SECONDS = 60
# Columns the CREATE MODEL query selects: eight features and the target.
TRAINING_COLUMNS = 9
MODEL_COLUMNS = "model_name, function_name, status, created_at"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = require(event, "action")
    if action not in ACTIONS:
        raise EventError(f"Field 'action' must be one of {', '.join(ACTIONS)}, not {action!r}.")
    import boto3  # the Lambda runtime provides boto3; tests call the actions with their own runner

    # No SecretArn: the Data API signs in to the workgroup as this function's IAM role (database user
    # "IAMR:<role name>", through redshift-serverless:GetCredentials), which gets the database roles its
    # RedshiftDbRoles tag names, not the namespace admin.
    runner = DataApiRunner(
        client=boto3.client("redshift-data"),
        workgroup_name=os.environ["WORKGROUP_NAME"],
        database=os.environ["DATABASE"],
        timeout_seconds=float(os.environ.get("STATEMENT_TIMEOUT_SECONDS", "600")),
        deadline=time.monotonic() + context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS,
    )
    return ACTIONS[action](runner, Settings.from_environ(), event)


class RefreshInProgress(RuntimeError):
    """Another execution is training or evaluating a version; two refreshes must not interleave."""


class Settings:
    """Names and numbers from the Lambda environment, each checked by the template patterns."""

    def __init__(self, values: dict[str, str]) -> None:
        self.schema = templates.check("schema", values["SCHEMA"])
        self.model_prefix = templates.check("model_name", values["MODEL_PREFIX"])
        self.analyst_role = templates.check("analyst_role", values["ANALYST_ROLE"])
        self.ml_role = templates.check("ml_role", values["ML_ROLE"])
        self.bucket = templates.check("bucket", values["MODEL_BUCKET"])
        self.kms_key_id = templates.check("kms_key_id", values["KMS_KEY_ARN"])
        self.max_runtime_seconds = int(templates.check("max_runtime_seconds", int(values["MAX_RUNTIME_SECONDS"])))
        self.top_k = int(templates.check("top_k", int(values["TOP_K"])))
        self.versions_kept = int(values["VERSIONS_KEPT"])
        # Compilation after training can outlast MAX_RUNTIME; past this the version counts as failed.
        self.training_deadline_seconds = self.max_runtime_seconds + int(values.get("COMPILE_MARGIN_SECONDS", "7200"))
        # A version still 'training' after the state machine's own timeout was abandoned and no longer blocks a refresh.
        self.refresh_window_seconds = int(
            values.get("REFRESH_WINDOW_SECONDS", str(self.training_deadline_seconds + 7200))
        )

    @classmethod
    def from_environ(cls) -> "Settings":
        return cls(dict(os.environ))


def start_training(
    runner: DataApiRunner,
    settings: Settings,
    event: dict[str, Any],
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> dict[str, Any]:
    started = now()
    model_name = templates.check("model_name", f"{settings.model_prefix}_v{started:%Y%m%d%H%M%S}")
    function_name = templates.check("function_name", f"predict_{model_name}")
    # created_at is GETDATE(), UTC like `now`
    since = {"since": f"{started - timedelta(seconds=settings.refresh_window_seconds):%Y-%m-%d %H:%M:%S}"}
    abandoned = _resolve_abandoned(runner, settings, since)
    running = runner.query(
        f"SELECT model_name FROM {settings.schema}.model_registry "
        "WHERE status = 'training' AND created_at > CAST(:since AS TIMESTAMP)",
        since,
    )
    if running:
        raise RefreshInProgress(
            f"Version {running[0]['model_name']} is still being trained or evaluated by another execution; "
            "this refresh did nothing."
        )
    (count,) = runner.query(
        f"SELECT COUNT(*) AS training_rows FROM {settings.schema}.pair_features AS f "
        f"CROSS JOIN {settings.schema}.holdout_start AS h WHERE f.applied IS NOT NULL AND f.event_time < h.starts_at"
    )
    # MAX_CELLS = rows x columns of the training query exactly, so Redshift ML never down-samples it.
    max_cells = max(int(count["training_rows"]) * TRAINING_COLUMNS, 1_000)
    sql = templates.render(
        templates.load("create_model"),
        schema=settings.schema,
        model_name=model_name,
        function_name=function_name,
        bucket=settings.bucket,
        kms_key_id=settings.kms_key_id,
        max_cells=max_cells,
        max_runtime_seconds=settings.max_runtime_seconds,
    )
    (statement,) = templates.statements(sql)
    # Registered before the submission, so a concurrent refresh sees it; marked failed if the submission fails,
    # so no row stays 'training'.
    runner.run(
        f"INSERT INTO {settings.schema}.model_registry (model_name, function_name, created_at, status) "
        "VALUES (:model_name, :function_name, GETDATE(), 'training')",
        {"model_name": model_name, "function_name": function_name},
    )
    try:
        statement_id = runner.submit(statement)
    except Exception:
        _mark(runner, settings, model_name, "failed")
        raise
    return {
        "model_name": model_name,
        "function_name": function_name,
        "statement_id": statement_id,
        "started_at": started.timestamp(),
        "max_cells": max_cells,
        "abandoned": abandoned,
    }


def _resolve_abandoned(runner: DataApiRunner, settings: Settings, since: dict[str, str]) -> list[str]:
    """Versions still 'training' from before the refresh window: their execution timed out, was aborted or failed
    without reaching its own cleanup (the state machine's timeout is the window, so none is still running). Drop
    each model (the ml role's DROP MODEL permission covers models an earlier lifecycle identity created) and mark it
    'abandoned', so no row stays 'training' and no model is left behind."""
    rows = runner.query(
        f"SELECT model_name FROM {settings.schema}.model_registry "
        "WHERE status = 'training' AND created_at <= CAST(:since AS TIMESTAMP)",
        since,
    )
    abandoned = [templates.check("model_name", row["model_name"]) for row in rows]
    for model_name in abandoned:
        (drop,) = templates.statements(
            templates.render(templates.load("drop_model"), schema=settings.schema, model_name=model_name)
        )
        runner.run(drop)
        _mark(runner, settings, model_name, "abandoned")
    return abandoned


def check_statement(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    """Status of the CREATE MODEL statement; if it failed or was aborted, the version is marked failed first."""
    statement_id = require(event, "statement_id")
    model_name = templates.check("model_name", require(event, "model_name"))
    try:
        return {"status": runner.status(statement_id)["Status"]}
    except StatementError:
        _mark(runner, settings, model_name, "failed")
        raise


def check_model(
    runner: DataApiRunner,
    settings: Settings,
    event: dict[str, Any],
    now: Callable[[], float] = lambda: datetime.now(timezone.utc).timestamp(),
) -> dict[str, Any]:
    model_name = templates.check("model_name", require(event, "model_name"))
    started_at = require(event, "started_at", (int, float))
    rows = runner.query(templates.load("model_state"), {"schema_name": settings.schema, "model_name": model_name})
    # CHAR(128): blank-padded unless the query trims it; trim here too, so a padded value can never look unready.
    model_state = str(rows[0]["model_state"] or "").strip() if rows else "Model not found"
    if model_state.lower() == READY_STATE.lower():
        state = "READY"
    # Matched loosely: the guide does not list every state text, so any state naming a failure or an error fails
    # (its raw text goes on in `model_state`); any other unready state keeps polling until the deadline.
    elif (
        any(word in model_state.lower() for word in ("fail", "error"))
        or not rows
        or now() - started_at > settings.training_deadline_seconds
    ):
        state = "FAILED"
    else:
        state = "TRAINING"
    return {"state": state, "model_state": model_state}


def describe_failure(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    model_name = templates.check("model_name", require(event, "model_name"))
    reason = "SHOW MODEL returned nothing"
    try:
        rows = runner.query(
            templates.render(templates.load("show_model"), schema=settings.schema, model_name=model_name)
        )
        details = {str(_column(row, "key") or "").strip().lower(): _column(row, "value") for row in rows}
        reason = failure_reason(details) or reason
    finally:
        _mark(runner, settings, model_name, "failed")
        runner.run(templates.render(templates.load("drop_model"), schema=settings.schema, model_name=model_name))
    return {"model_name": model_name, "reason": reason}


def failure_reason(details: dict[str, Any]) -> str | None:
    """The reason SHOW MODEL gives, matched loosely: the guide names no fixed key or text for failures, so any key
    naming a reason or an error counts, then the model state; failing those, every row as Redshift returned it."""
    for key, value in details.items():
        if ("reason" in key or "error" in key) and value not in (None, ""):
            return str(value).strip()
    if details.get("model state"):
        return str(details["model state"]).strip()
    if details:
        return "SHOW MODEL gave no reason; its rows: " + "; ".join(f"{k}={v}" for k, v in details.items())[:1000]
    return None


def evaluate(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    candidate = templates.check("model_name", require(event, "model_name"))
    candidate_metrics = _evaluate_model(runner, settings, candidate, require(event, "function_name"))
    runner.run(
        f"UPDATE {settings.schema}.model_registry SET precision_at_k = :precision, recall_at_k = :recall "
        "WHERE model_name = :model_name",
        {
            "precision": candidate_metrics["precision_at_k"],
            "recall": candidate_metrics["recall_at_k"],
            "model_name": candidate,
        },
    )
    serving = runner.query(f"SELECT {MODEL_COLUMNS} FROM {settings.schema}.model_registry WHERE status = 'serving'")
    result: dict[str, Any] = {"k": settings.top_k, "candidate": candidate_metrics}
    if serving:
        result["serving"] = _evaluate_model(runner, settings, serving[0]["model_name"], serving[0]["function_name"])
    return result


def _evaluate_model(runner: DataApiRunner, settings: Settings, model_name: str, function_name: str) -> dict[str, Any]:
    sql = templates.render(templates.load("evaluate"), schema=settings.schema, function_name=function_name)
    (row,) = runner.query(sql, {"k": settings.top_k})
    return {
        "model_name": model_name,
        "precision_at_k": float(row["precision_at_k"] or 0.0),
        "recall_at_k": float(row["recall_at_k"] or 0.0),
        "seekers": int(row["seekers"]),
    }


SERVING_VIEW = "job_match_scores"
# The serving view's owner and the caller: PG_CLASS joined to PG_NAMESPACE and PG_USER as in the guide's catalog
# query examples (https://docs.aws.amazon.com/redshift/latest/dg/c_join_PG_examples.html).
VIEW_OWNER = (
    "SELECT TRIM(u.usename) AS owner, TRIM(CURRENT_USER) AS caller FROM pg_class AS c "
    "JOIN pg_namespace AS n ON n.oid = c.relnamespace JOIN pg_user AS u ON u.usesysid = c.relowner "
    "WHERE n.nspname = :schema AND c.relname = :view"
)


def promote(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    model_name = templates.check("model_name", require(event, "model_name"))
    names = {
        "schema": settings.schema,
        "model_name": model_name,
        "analyst_role": settings.analyst_role,
        "ml_role": settings.ml_role,
    }
    # The serving view belongs to the database user that created it, IAMR:<lifecycle role> (or the admin, after a
    # bootstrap migration). Only its owner may grant on it (GRANT usage notes,
    # https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT-usage-notes.html): when another user owns it (the
    # lifecycle's IAM role was replaced), this user drops it (the ml role's DROP VIEW permission) and creates it
    # again, so it owns it from now on. Same transaction: readers never see it missing.
    owner = runner.query(VIEW_OWNER, {"schema": settings.schema, "view": SERVING_VIEW})
    previous_owner = owner[0]["owner"] if owner and owner[0]["owner"] != owner[0]["caller"] else None
    batch = [f"DROP VIEW {settings.schema}.{SERVING_VIEW}"] if previous_owner else []
    # One BatchExecuteStatement is one transaction (all or nothing, at most 40 statements): the serving view and
    # the recommendations change together or not at all.
    function_name = require(event, "function_name")
    batch += templates.statements(
        templates.render(templates.load("serving_view"), function_name=function_name, **names)
    )
    batch += templates.statements(
        templates.render(templates.load("promote"), schema=settings.schema, model_name=model_name)
    )
    batch += templates.statements(
        templates.render(templates.load("recommend"), schema=settings.schema, top_k=settings.top_k)
    )
    # Submitted, not waited for: scoring every unseen pair can outlast the Lambda (and any statement wait it could
    # afford) on a real catalogue; the state machine polls the statement (check_statement) until it ends. A Data API
    # statement may run up to 24 hours ("Considerations when calling the Amazon Redshift Data API",
    # https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html). Measured on the tests' local engine (DuckDB,
    # 2 shared cores, stand-in inference function; tests/sql/promotion_rate.py): 30 million unseen pairs a minute at
    # the sample's 1.5 million, 20 million a minute at 49 million pairs; Redshift ML's XGBoost inference is not in it.
    result: dict[str, Any] = {"statement_id": runner.submit_batch(batch), "serving": model_name}
    if previous_owner:
        result["view_taken_over_from"] = previous_owner
    return result


def reject(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    model_name = templates.check("model_name", require(event, "model_name"))
    _mark(runner, settings, model_name, "rejected")
    return {"rejected": model_name}


def cleanup(runner: DataApiRunner, settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    """Keep the serving version and the newest `versions_kept - 1` others that still exist; drop the rest."""
    rows = runner.query(
        f"SELECT {MODEL_COLUMNS} FROM {settings.schema}.model_registry "
        "WHERE status IN ('serving', 'retired', 'rejected') ORDER BY created_at DESC"
    )
    others = [row["model_name"] for row in rows if row["status"] != "serving"]
    keep_others = max(settings.versions_kept - 1, 0)
    dropped = others[keep_others:]
    for model_name in dropped:
        runner.run(templates.render(templates.load("drop_model"), schema=settings.schema, model_name=model_name))
        _mark(runner, settings, model_name, "dropped")
    return {"dropped": dropped}


def _column(row: dict[str, Any], name: str) -> Any:
    """A result column by name, whatever its case (SHOW MODEL's columns are documented as Key | Value)."""
    for key, value in row.items():
        if key.lower() == name:
            return value
    return None


def _mark(runner: DataApiRunner, settings: Settings, model_name: str, status: str) -> None:
    runner.run(
        f"UPDATE {settings.schema}.model_registry SET status = :status, decided_at = GETDATE() WHERE model_name = :model_name",
        {"status": status, "model_name": model_name},
    )


ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "start_training": start_training,
    "check_statement": check_statement,
    "check_model": check_model,
    "describe_failure": describe_failure,
    "evaluate": evaluate,
    "promote": promote,
    "reject": reject,
    "cleanup": cleanup,
}
