import importlib.util
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

_spec = importlib.util.spec_from_file_location(
    "run_date", Path(__file__).resolve().parents[3] / "lambdas" / "quality_run_date" / "run_date.py"
)
run_date = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_date)

from stacks.model_quality.settings import schedule_offsets  # noqa: E402  (the value the stack gives the function)

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


# Zones with daylight saving (both hemispheres), a half-hour change, half-hour and far offsets, and UTC; the days
# around New York's 2026 changes (March 8, November 1) and Sydney's (April 5, October 4).
ZONES = ("America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Kiritimati", "UTC")
CHANGE_DAYS = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 4, 5), date(2026, 10, 4)]


def scheduled_at(zone, day, hour):
    """The UTC time at which a daily schedule at `hour`:00 in `zone` fires on local day `day` (a skipped hour
    fires an hour later, as a wall-clock time that does not exist resolves)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


@pytest.mark.parametrize("zone", ZONES)
def test_the_schedule_scores_its_own_day_in_its_zone_across_daylight_saving_changes(zone):
    """Issue 30: the run date was the UTC day of the scheduled time, so a schedule that fires on the next UTC day
    scored a day late, and one that crosses midnight UTC only in summer skipped or repeated a day at the change."""
    offset, _ = schedule_offsets(zone)
    days = sorted({change + timedelta(days=n) for change in CHANGE_DAYS for n in (-1, 0, 1)})
    for hour in range(24):
        for day in days:
            event = {"scheduled_time": scheduled_at(zone, day, hour).isoformat().replace("+00:00", "Z")}
            scored = run_date.resolve_run_date(event, 1, NOW, hour, offset)
            assert scored == (day - timedelta(days=2)).isoformat(), (zone, day, hour)


def test_the_handler_reads_the_schedule_hour_and_offset(monkeypatch):
    monkeypatch.setenv("LABEL_DELAY_DAYS", "1")
    monkeypatch.setenv("SCHEDULE_HOUR", "22")
    monkeypatch.setenv("SCHEDULE_UTC_OFFSET_MINUTES", "-300")
    # 22:00 in New York on November 20 is 03:00 UTC on November 21.
    assert run_date.handler({"scheduled_time": "2026-11-21T03:00:00Z"}, None)["date"] == "2026-11-18"
