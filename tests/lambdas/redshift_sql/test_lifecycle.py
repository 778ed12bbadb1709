from datetime import datetime, timezone

import pytest

import lifecycle
from events import EventError
from sql_runner import StatementFailed

ENVIRONMENT = {
    "SCHEMA": "jobmatch",
    "MODEL_PREFIX": "job_match",
    "ANALYST_ROLE": "analyst",
    "ML_ROLE": "ml_developer",
    "MODEL_BUCKET": "ml-bucket",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
    "MAX_RUNTIME_SECONDS": "5400",
    "COMPILE_MARGIN_SECONDS": "7200",
    "TOP_K": "10",
    "VERSIONS_KEPT": "3",
}
SETTINGS = lifecycle.Settings(ENVIRONMENT)
PAD = " " * 114  # SVV_ML_MODEL_INFO.model_state is CHAR(128): a value comes back blank-padded to 128 characters


def test_start_training_registers_a_version_and_submits_create_model(fake_runner):
    runner = fake_runner(answers=[("COUNT(*)", [{"training_rows": 90_000}])])
    now = datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)
    result = lifecycle.start_training(runner, SETTINGS, {}, now=lambda: now)
    assert result["model_name"] == "job_match_v20261101030005"
    assert result["function_name"] == "predict_job_match_v20261101030005"
    create = runner.ran[-1][0]
    assert create.startswith("CREATE MODEL jobmatch.job_match_v20261101030005")
    assert "MAX_CELLS 810000" in create and "f.event_time < h.starts_at" in create
    assert runner.ran[-2][1] == {
        "model_name": "job_match_v20261101030005",
        "function_name": "predict_job_match_v20261101030005",
    }
    guard = next(parameters for sql, parameters in runner.ran if "status = 'training'" in sql)
    assert guard == {"since": "2026-10-31 21:30:05"}  # 5400 + 7200 + 7200 s (5.5 h) before `now`


def test_a_failed_submission_marks_the_version_failed_so_no_row_stays_training(fake_runner):
    class Refusing(fake_runner):
        def submit(self, sql, parameters=None):
            raise RuntimeError("ValidationException: statement too long")

    runner = Refusing(answers=[("COUNT(*)", [{"training_rows": 90_000}])])
    with pytest.raises(RuntimeError, match="statement too long"):
        lifecycle.start_training(runner, SETTINGS, {}, now=lambda: datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc))
    inserted = [p for sql, p in runner.ran if sql.startswith("INSERT INTO jobmatch.model_registry")]
    assert inserted and runner.ran[-1][1] == {"status": "failed", "model_name": "job_match_v20261101030005"}


def test_a_second_refresh_is_refused_while_a_version_is_training(fake_runner):
    runner = fake_runner(answers=[("status = 'training'", [{"model_name": "job_match_v20261101020000"}])])
    with pytest.raises(lifecycle.RefreshInProgress, match="job_match_v20261101020000 is still being trained"):
        lifecycle.start_training(runner, SETTINGS, {}, now=lambda: datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc))
    assert not any(sql.startswith(("INSERT", "CREATE MODEL")) for sql, _ in runner.ran)


@pytest.mark.parametrize(
    ("rows", "elapsed", "expected"),
    [
        ([{"model_state": "Model is Ready" + PAD}], 60, "READY"),
        ([{"model_state": "MODEL IS READY"}], 60, "READY"),
        ([{"model_state": "Train Model On SageMaker In Progress" + PAD[:92]}], 60, "TRAINING"),
        ([{"model_state": "Training" + PAD}], 5400 + 7200 + 1, "FAILED"),
        ([{"model_state": "FAILED" + PAD}], 60, "FAILED"),
        ([], 60, "FAILED"),
    ],
)
def test_check_model_classifies_training_state(fake_runner, rows, elapsed, expected):
    runner = fake_runner(answers=[("svv_ml_model_info", rows)])
    result = lifecycle.check_model(
        runner, SETTINGS, {"model_name": "job_match_v1", "started_at": 1000.0}, now=lambda: 1000.0 + elapsed
    )
    assert result["state"] == expected
    assert result["model_state"] == result["model_state"].strip()
    assert runner.ran[0][1] == {"schema_name": "jobmatch", "model_name": "job_match_v1"}


def test_a_failed_export_marks_the_version_failed_and_raises_the_error_text(fake_runner):
    runner = fake_runner(status=StatementFailed('Statement s1 failed: ERROR: column "applied" does not exist'))
    with pytest.raises(StatementFailed, match='column "applied" does not exist'):
        lifecycle.check_statement(runner, SETTINGS, {"statement_id": "s1", "model_name": "job_match_v1"})
    assert runner.ran[-1][1] == {"status": "failed", "model_name": "job_match_v1"}


def test_describe_failure_returns_the_reason_and_drops_the_version(fake_runner):
    rows = [{"key": "Model State", "value": "FAILED"}, {"key": "Reason", "value": "Not enough rows (400 < 500)"}]
    runner = fake_runner(answers=[("SHOW MODEL", rows)])
    result = lifecycle.describe_failure(runner, SETTINGS, {"model_name": "job_match_v1"})
    assert result["reason"] == "Not enough rows (400 < 500)"
    assert runner.ran[-1][0].strip() == "DROP MODEL IF EXISTS jobmatch.job_match_v1;"
    assert runner.ran[-2][1] == {"status": "failed", "model_name": "job_match_v1"}


@pytest.mark.parametrize(
    "rows",
    [
        [{"Key": "Model State", "Value": "FAILED"}, {"Key": "Reason", "Value": "Not enough rows (400 < 500)"}],
        [
            {"KEY": "MODEL STATE   ", "VALUE": "FAILED"},
            {"KEY": "REASON        ", "VALUE": "Not enough rows (400 < 500)  "},
        ],
    ],
)
def test_show_model_rows_are_read_whatever_the_case_and_padding(fake_runner, rows):
    runner = fake_runner(answers=[("SHOW MODEL", rows)])
    assert (
        lifecycle.describe_failure(runner, SETTINGS, {"model_name": "job_match_v1"})["reason"]
        == "Not enough rows (400 < 500)"
    )


def test_without_a_reason_show_model_gives_the_model_state(fake_runner):
    runner = fake_runner(answers=[("SHOW MODEL", [{"Key": "Model State", "Value": "FAILED"}])])
    assert lifecycle.describe_failure(runner, SETTINGS, {"model_name": "job_match_v1"})["reason"] == "FAILED"


def test_evaluate_compares_with_the_serving_version(fake_runner):
    runner = fake_runner(
        answers=[
            (
                "status = 'serving'",
                [{"model_name": "job_match_v0", "function_name": "predict_job_match_v0", "status": "serving"}],
            ),
            ("predict_job_match_v1(", [{"precision_at_k": 0.31, "recall_at_k": 0.62, "seekers": 812}]),
            ("predict_job_match_v0(", [{"precision_at_k": 0.29, "recall_at_k": 0.60, "seekers": 812}]),
        ]
    )
    result = lifecycle.evaluate(
        runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"}
    )
    assert result["candidate"]["precision_at_k"] == 0.31
    assert result["serving"] == {
        "model_name": "job_match_v0",
        "precision_at_k": 0.29,
        "recall_at_k": 0.6,
        "seekers": 812,
    }


def test_evaluate_without_a_serving_version_has_no_serving_key(fake_runner):
    runner = fake_runner(
        answers=[("predict_job_match_v1(", [{"precision_at_k": 0.3, "recall_at_k": 0.6, "seekers": 5}])]
    )
    result = lifecycle.evaluate(
        runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"}
    )
    assert "serving" not in result


def test_promote_switches_view_registry_and_recommendations_in_one_transaction(fake_runner):
    """One BatchExecuteStatement is one transaction: a failing recommendation query rolls the promotion back."""
    runner = fake_runner()
    result = lifecycle.promote(
        runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"}
    )
    (batch,) = runner.batches
    assert all(sql.startswith("SELECT") for sql, _ in runner.ran)  # nothing written outside the transaction
    assert 1 <= len(batch) <= 40
    assert batch[0].startswith("CREATE OR REPLACE VIEW jobmatch.job_match_scores")
    assert "jobmatch.predict_job_match_v1(" in batch[0]
    assert batch[1:4] == [
        "GRANT EXECUTE ON MODEL jobmatch.job_match_v1 TO ROLE analyst",
        "GRANT EXECUTE ON MODEL jobmatch.job_match_v1 TO ROLE ml_developer",
        "GRANT SELECT ON jobmatch.job_match_scores TO ROLE analyst",
    ]
    assert batch[4:6] == [
        "UPDATE jobmatch.model_registry SET status = 'retired', decided_at = GETDATE() WHERE status = 'serving'",
        "UPDATE jobmatch.model_registry SET status = 'serving', decided_at = GETDATE() WHERE model_name = 'job_match_v1'",
    ]
    assert batch[6] == "DELETE FROM jobmatch.recommendations"
    assert batch[7].startswith("INSERT INTO jobmatch.recommendations") and "<= 10" in batch[7]
    assert len(batch) == 8
    # Submitted, not waited for: the state machine polls the statement (scoring a catalogue outlasts a Lambda).
    assert result == {"statement_id": "batch-1", "serving": "job_match_v1"}


@pytest.mark.parametrize(
    ("owner", "taken_over"), [("IAMR:lifecycle-new", False), ("IAMR:lifecycle-old", True), ("admin", True)]
)
def test_promote_takes_over_a_serving_view_another_user_owns(fake_runner, owner, taken_over):
    """Objects belong to the database user IAMR:<role>; after the lifecycle's IAM role is replaced, only a view this
    user owns can be granted on (GRANT usage notes), so it is dropped and created again in the same transaction."""
    runner = fake_runner(answers=[("pg_class", [{"owner": owner, "caller": "IAMR:lifecycle-new"}])])
    result = lifecycle.promote(
        runner, SETTINGS, {"model_name": "job_match_v2", "function_name": "predict_job_match_v2"}
    )
    (batch,) = runner.batches
    assert (batch[0] == "DROP VIEW jobmatch.job_match_scores") is taken_over
    assert batch[1 if taken_over else 0].startswith("CREATE OR REPLACE VIEW jobmatch.job_match_scores")
    assert ("view_taken_over_from" in result) is taken_over


def test_the_ml_role_may_drop_what_an_earlier_lifecycle_identity_owns():
    """Cleanup, abandoned versions and the view take-over drop objects another database user may own: the ml role
    holds the DROP MODEL and DROP VIEW system permissions (RBAC system permissions)."""
    import templates

    grants = templates.statements(
        templates.render(templates.load("03_grants"), schema="jobmatch", ml_role="ml_developer", analyst_role="a")
    )
    assert "GRANT DROP MODEL TO ROLE ml_developer" in grants
    assert "GRANT DROP VIEW TO ROLE ml_developer" in grants


def test_a_refresh_drops_and_marks_versions_abandoned_before_the_window(fake_runner):
    """An execution that timed out or was aborted leaves its version 'training' and its model in place."""
    runner = fake_runner(
        answers=[
            ("created_at <= CAST", [{"model_name": "job_match_v20261001030000"}]),
            ("COUNT(*)", [{"training_rows": 1000}]),
        ]
    )
    now = datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)
    result = lifecycle.start_training(runner, SETTINGS, {}, now=lambda: now)
    assert result["abandoned"] == ["job_match_v20261001030000"]
    statements = [sql for sql, _ in runner.ran]
    drop = statements.index("DROP MODEL IF EXISTS jobmatch.job_match_v20261001030000")
    mark = next(
        i
        for i, (sql, p) in enumerate(runner.ran)
        if p == {"status": "abandoned", "model_name": "job_match_v20261001030000"}
    )
    guard = next(i for i, sql in enumerate(statements) if "created_at > CAST" in sql)
    assert drop < mark < guard
    assert runner.ran[drop - 1][1] == {"since": "2026-10-31 21:30:05"}


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            [{"Key": "Model State", "Value": "FAILED"}, {"Key": "Reason", "Value": "ClientError: no access"}],
            "ClientError: no access",
        ),
        ([{"Key": "Failure Reason", "Value": "Training job failed: OOM"}], "Training job failed: OOM"),
        ([{"key": "Error message", "value": "S3 bucket not found"}], "S3 bucket not found"),
        ([{"Key": "Model State", "Value": "SOMETHING NEW"}], "SOMETHING NEW"),
        (
            [{"Key": "Training Job Status", "Value": "Stopped"}],
            "SHOW MODEL gave no reason; its rows: training job status=Stopped",
        ),
    ],
)
def test_a_failure_reason_is_matched_defensively_and_reported_raw(fake_runner, rows, reason):
    runner = fake_runner(answers=[("SHOW MODEL", rows)])
    assert lifecycle.describe_failure(runner, SETTINGS, {"model_name": "job_match_v1"})["reason"] == reason


@pytest.mark.parametrize(
    ("model_state", "state"),
    [("Model is Ready", "READY"), ("Training Failed", "FAILED"), ("Internal error", "FAILED"), ("Waiting", "TRAINING")],
)
def test_model_states_the_guide_does_not_list_are_matched_defensively(fake_runner, model_state, state):
    runner = fake_runner(answers=[("svv_ml_model_info", [{"model_state": model_state + PAD}])])
    result = lifecycle.check_model(
        runner, SETTINGS, {"model_name": "job_match_v1", "started_at": 0.0}, now=lambda: 60.0
    )
    assert result == {"state": state, "model_state": model_state}


def test_cleanup_keeps_the_serving_version_and_the_newest_others(fake_runner):
    rows = [
        {"model_name": "v5", "status": "rejected"},
        {"model_name": "v4", "status": "serving"},
        {"model_name": "v3", "status": "retired"},
        {"model_name": "v2", "status": "retired"},
        {"model_name": "v1", "status": "retired"},
    ]
    runner = fake_runner(answers=[("ORDER BY created_at DESC", rows)])
    assert lifecycle.cleanup(runner, SETTINGS, {}) == {"dropped": ["v2", "v1"]}


def test_a_malformed_event_names_the_field(fake_runner):
    with pytest.raises(EventError, match="no field 'model_name'"):
        lifecycle.check_model(fake_runner(), SETTINGS, {"started_at": 1.0})
    with pytest.raises(EventError, match="'started_at' must be int or float, not str"):
        lifecycle.check_model(fake_runner(), SETTINGS, {"model_name": "m", "started_at": "yesterday"})
    with pytest.raises(EventError, match="'action' must be one of start_training, "):
        lifecycle.handler({"action": "refresh"}, None)


class LambdaContext:
    def get_remaining_time_in_millis(self):
        return 840_000


def test_the_handler_stops_waiting_for_sql_a_minute_before_the_lambda_timeout(monkeypatch):
    """The runner cancels and raises at its deadline (test_sql_runner); here: the handler sets that deadline."""
    import time

    import boto3

    created = []
    monkeypatch.setattr(boto3, "client", lambda service: object())
    monkeypatch.setattr(lifecycle, "DataApiRunner", lambda **kwargs: created.append(kwargs) or "runner")
    monkeypatch.setattr(lifecycle, "ACTIONS", {"reject": lambda runner, settings, event: {"ran": runner}})
    for name, value in {**ENVIRONMENT, "WORKGROUP_NAME": "wg", "DATABASE": "dev"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_ARN", raising=False)
    before = time.monotonic()
    assert lifecycle.handler({"action": "reject"}, LambdaContext()) == {"ran": "runner"}
    (kwargs,) = created
    assert before + 840 - 60 <= kwargs["deadline"] <= time.monotonic() + 840 - 60
    # Signs in as its own IAM role (Data API temporary credentials), never with the admin secret.
    assert kwargs.get("secret_arn") is None
