"""The lifecycle judged by the SQL it sends, with real epoch times and NULL metrics (issue 22: `now() + started_at`,
a deleted DROP MODEL or metrics UPDATE, and a NULL precision read as 1.0 all passed test_lifecycle.py)."""

from datetime import datetime, timezone

import pytest

import lifecycle
from tests.lambdas.redshift_sql.test_lifecycle import ENVIRONMENT, SETTINGS

# 2026-11-01T03:00:05Z as a Unix timestamp, by hand: 56 years * 365 + 14 leap days + 304 days (Jan-Oct) = 20758
# days since 1970-01-01, * 86400 s, + 3 h 5 s.
STARTED_AT = 20758 * 86400 + 3 * 3600 + 5.0
DEADLINE = 5400 + 7200  # MAX_RUNTIME_SECONDS + COMPILE_MARGIN_SECONDS


def test_the_hand_computed_epoch_is_the_documented_start():
    assert datetime.fromtimestamp(STARTED_AT, timezone.utc) == datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("elapsed", "expected"), [(0, "TRAINING"), (60, "TRAINING"), (DEADLINE, "TRAINING"), (DEADLINE + 1, "FAILED")]
)
def test_training_fails_only_after_the_deadline_measured_from_a_real_start_time(fake_runner, elapsed, expected):
    runner = fake_runner(answers=[("svv_ml_model_info", [{"model_state": "Train Model On SageMaker In Progress"}])])
    event = {"model_name": "job_match_v20261101030005", "started_at": STARTED_AT}
    assert lifecycle.check_model(runner, SETTINGS, event, now=lambda: STARTED_AT + elapsed)["state"] == expected


def test_a_null_model_state_is_still_training_not_ready(fake_runner):
    runner = fake_runner(answers=[("svv_ml_model_info", [{"model_state": None}])])
    result = lifecycle.check_model(
        runner, SETTINGS, {"model_name": "m", "started_at": STARTED_AT}, now=lambda: STARTED_AT + 60
    )
    assert result == {"state": "TRAINING", "model_state": ""}


def test_start_training_records_the_start_as_epoch_seconds_and_a_minimum_of_1000_cells(fake_runner):
    runner = fake_runner(answers=[("COUNT(*)", [{"training_rows": 3}])])
    now = datetime(2026, 11, 1, 3, 0, 5, tzinfo=timezone.utc)
    result = lifecycle.start_training(runner, SETTINGS, {}, now=lambda: now)
    assert result["started_at"] == STARTED_AT
    assert result["max_cells"] == 1000 and "MAX_CELLS 1000" in runner.ran[-1][0]
    assert result["statement_id"] == "statement-1"
    insert = runner.ran[-2][0]
    assert insert == (
        "INSERT INTO jobmatch.model_registry (model_name, function_name, created_at, status) "
        "VALUES (:model_name, :function_name, GETDATE(), 'training')"
    )


def test_evaluate_stores_the_candidates_metrics_and_reads_null_as_zero(fake_runner):
    runner = fake_runner(
        answers=[
            ("predict_job_match_v1(", [{"precision_at_k": None, "recall_at_k": None, "seekers": 0}]),
        ]
    )
    result = lifecycle.evaluate(
        runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"}
    )
    assert result["k"] == 10
    assert result["candidate"] == {
        "model_name": "job_match_v1",
        "precision_at_k": 0.0,
        "recall_at_k": 0.0,
        "seekers": 0,
    }
    (update,) = [(sql, p) for sql, p in runner.ran if sql.startswith("UPDATE")]
    assert update == (
        "UPDATE jobmatch.model_registry SET precision_at_k = :precision, recall_at_k = :recall WHERE model_name = :model_name",
        {"precision": 0.0, "recall": 0.0, "model_name": "job_match_v1"},
    )
    evaluation = next(p for sql, p in runner.ran if "predict_job_match_v1(" in sql)
    assert evaluation == {"k": 10}


def test_evaluate_stores_real_metrics(fake_runner):
    runner = fake_runner(
        answers=[("predict_job_match_v1(", [{"precision_at_k": 0.31, "recall_at_k": 0.62, "seekers": 812}])]
    )
    lifecycle.evaluate(runner, SETTINGS, {"model_name": "job_match_v1", "function_name": "predict_job_match_v1"})
    (parameters,) = [p for sql, p in runner.ran if sql.startswith("UPDATE")]
    assert parameters == {"precision": 0.31, "recall": 0.62, "model_name": "job_match_v1"}


def test_cleanup_drops_each_model_in_redshift_and_marks_it_dropped(fake_runner):
    rows = [
        {"model_name": "v5", "status": "rejected"},
        {"model_name": "v4", "status": "serving"},
        {"model_name": "v3", "status": "retired"},
        {"model_name": "v2", "status": "retired"},
        {"model_name": "v1", "status": "retired"},
    ]
    runner = fake_runner(answers=[("ORDER BY created_at DESC", rows)])
    lifecycle.cleanup(runner, SETTINGS, {})
    sent = [(sql.strip(), p) for sql, p in runner.ran[1:]]
    mark = "UPDATE jobmatch.model_registry SET status = :status, decided_at = GETDATE() WHERE model_name = :model_name"
    assert sent == [
        ("DROP MODEL IF EXISTS jobmatch.v2;", None),
        (mark, {"status": "dropped", "model_name": "v2"}),
        ("DROP MODEL IF EXISTS jobmatch.v1;", None),
        (mark, {"status": "dropped", "model_name": "v1"}),
    ]
    assert "WHERE status IN ('serving', 'retired', 'rejected') ORDER BY created_at DESC" in runner.ran[0][0]


@pytest.mark.parametrize(("kept", "dropped"), [(1, ["v5", "v3"]), (0, ["v5", "v3"]), (2, ["v3"]), (3, [])])
def test_cleanup_never_drops_the_serving_version_whatever_the_count(fake_runner, kept, dropped):
    rows = [
        {"model_name": "v5", "status": "rejected"},
        {"model_name": "v4", "status": "serving"},
        {"model_name": "v3", "status": "retired"},
    ]
    runner = fake_runner(answers=[("ORDER BY created_at DESC", rows)])
    settings = lifecycle.Settings({**ENVIRONMENT, "VERSIONS_KEPT": str(kept)})
    assert lifecycle.cleanup(runner, settings, {}) == {"dropped": dropped}


def test_reject_marks_the_candidate_rejected(fake_runner):
    runner = fake_runner()
    assert lifecycle.reject(runner, SETTINGS, {"model_name": "job_match_v1"}) == {"rejected": "job_match_v1"}
    assert runner.ran[-1][1] == {"status": "rejected", "model_name": "job_match_v1"}


def test_settings_defaults_for_the_compile_margin_and_the_refresh_window():
    settings = lifecycle.Settings({k: v for k, v in ENVIRONMENT.items() if k != "COMPILE_MARGIN_SECONDS"})
    assert settings.training_deadline_seconds == 5400 + 7200
    assert settings.refresh_window_seconds == 5400 + 7200 + 7200
    assert settings.top_k == 10 and settings.versions_kept == 3
    assert lifecycle.Settings({**ENVIRONMENT, "REFRESH_WINDOW_SECONDS": "60"}).refresh_window_seconds == 60
