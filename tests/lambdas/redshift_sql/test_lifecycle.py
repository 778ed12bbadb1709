from datetime import datetime, timezone

import pytest

import lifecycle
from events import EventError
from sql_runner import StatementFailed

ENVIRONMENT = {
    "SCHEMA": "jobmatch", "MODEL_PREFIX": "job_match", "ANALYST_ROLE": "analyst", "MODEL_BUCKET": "ml-bucket",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
    "MAX_RUNTIME_SECONDS": "5400", "COMPILE_MARGIN_SECONDS": "7200", "TOP_K": "10", "VERSIONS_KEPT": "3",
}
SETTINGS = lifecycle.Settings(ENVIRONMENT)


def test_start_training_registers_a_version_and_submits_create_model(fake_runner):
    runner = fake_runner(answers=[("COUNT(*)", [{"training_rows": 90_000}])])
    now = datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)
    result = lifecycle.start_training(runner, SETTINGS, {}, now=lambda: now)
    assert result["model_name"] == "job_match_v20261101030005"
    assert result["function_name"] == "predict_job_match_v20261101030005"
    create = runner.ran[-1][0]
    assert create.startswith("CREATE MODEL jobmatch.job_match_v20261101030005")
    assert "MAX_CELLS 810000" in create and "f.event_time < h.starts_at" in create
    assert runner.ran[-2][1] == {"model_name": "job_match_v20261101030005", "function_name": "predict_job_match_v20261101030005"}


@pytest.mark.parametrize(
    ("rows", "elapsed", "expected"),
    [
        ([{"model_state": "Model is Ready"}], 60, "READY"),
        ([{"model_state": "Training"}], 60, "TRAINING"),
        ([{"model_state": "Training"}], 5400 + 7200 + 1, "FAILED"),
        ([{"model_state": "Failed"}], 60, "FAILED"),
        ([], 60, "FAILED"),
    ],
)
def test_check_model_classifies_training_state(fake_runner, rows, elapsed, expected):
    runner = fake_runner(answers=[("svv_ml_model_info", rows)])
    result = lifecycle.check_model(runner, SETTINGS, {"model_name": "job_match_v1", "started_at": 1000.0}, now=lambda: 1000.0 + elapsed)
    assert result["state"] == expected
    assert runner.ran[0][1] == {"schema_name": "jobmatch", "model_name": "job_match_v1"}


def test_a_failed_export_marks_the_version_failed_and_raises_the_error_text(fake_runner):
    runner = fake_runner(status=StatementFailed("Statement s1 failed: ERROR: column \"applied\" does not exist"))
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


def test_evaluate_compares_with_the_serving_version(fake_runner):
    runner = fake_runner(answers=[
        ("status = 'serving'", [{"model_name": "job_match_v0", "function_name": "predict_job_match_v0", "status": "serving"}]),
        ("predict_job_match_v1(", [{"precision_at_k": 0.31, "recall_at_k": 0.62, "seekers": 812}]),
        ("predict_job_match_v0(", [{"precision_at_k": 0.29, "recall_at_k": 0.60, "seekers": 812}]),
    ])
    result = lifecycle.evaluate(runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"})
    assert result["candidate"]["precision_at_k"] == 0.31
    assert result["serving"] == {"model_name": "job_match_v0", "precision_at_k": 0.29, "recall_at_k": 0.6, "seekers": 812}


def test_evaluate_without_a_serving_version_has_no_serving_key(fake_runner):
    runner = fake_runner(answers=[("predict_job_match_v1(", [{"precision_at_k": 0.3, "recall_at_k": 0.6, "seekers": 5}])])
    result = lifecycle.evaluate(runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"})
    assert "serving" not in result


def test_promote_switches_the_view_and_registry_in_one_transaction(fake_runner):
    runner = fake_runner()
    lifecycle.promote(runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"})
    promotion, recommendations = runner.batches
    assert promotion[0].startswith("CREATE OR REPLACE VIEW jobmatch.job_match_scores")
    assert "jobmatch.predict_job_match_v1(" in promotion[0]
    assert promotion[-2:] == [
        "UPDATE jobmatch.model_registry SET status = 'retired', decided_at = GETDATE() WHERE status = 'serving'",
        "UPDATE jobmatch.model_registry SET status = 'serving', decided_at = GETDATE() WHERE model_name = 'job_match_v1'",
    ]
    assert "<= 10" in recommendations[1]


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
