import importlib.util
from datetime import datetime, timezone
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "run_date", Path(__file__).resolve().parents[3] / "lambdas" / "quality_run_date" / "run_date.py"
)
run_date = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_date)

NOW = datetime(2026, 11, 21, 4, 0, tzinfo=timezone.utc)


def test_a_date_given_by_hand_is_scored_as_given():
    assert run_date.resolve_run_date({"date": "2026-10-01"}, 1, NOW) == "2026-10-01"


def test_the_schedule_scores_the_day_whose_label_window_closed():
    assert run_date.resolve_run_date({"scheduled_time": "2026-11-21T04:00:00Z"}, 1, NOW) == "2026-11-19"
    assert run_date.resolve_run_date({"scheduled_time": "2026-11-21T04:00:00Z"}, 0, NOW) == "2026-11-20"
    assert run_date.resolve_run_date({}, 2, NOW) == "2026-11-18"


@pytest.mark.parametrize(
    "event, message",
    [
        ({"date": "21/11/2026"}, "field 'date' must be YYYY-MM-DD, got '21/11/2026'"),
        ({"scheduled_time": "yesterday"}, "field 'scheduled_time' must be an ISO 8601 time"),
        (["2026-11-20"], "the event must be a JSON object, got list"),
    ],
)
def test_a_malformed_event_names_the_field(event, message):
    with pytest.raises(run_date.RunDateError, match=message):
        run_date.resolve_run_date(event, 1, NOW)


def test_handler_reads_the_label_delay(monkeypatch):
    monkeypatch.setenv("LABEL_DELAY_DAYS", "3")
    assert run_date.handler({"date": "2026-11-01"}, None) == {"date": "2026-11-01", "label_delay_days": 3}
