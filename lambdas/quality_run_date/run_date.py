"""Which day the daily model-quality run scores: a date given by hand, or the day whose label window just closed.

With a label delay of K days, predictions of day D are joined with labels collected on D..D+K, so the scheduled
run on day T scores D = T - K - 1: every day of its window is complete. T is the schedule's own day, in its time
zone, not the UTC day of the scheduled time (a 22:00 New York schedule fires on the next UTC day).

No time-zone data is read here (the Lambda runtime's is not documented, and handlers carry no dependencies): the
schedule fires at SCHEDULE_HOUR:00 local time, so scheduled time + UTC offset - hour is the local midnight of T.
SCHEDULE_UTC_OFFSET_MINUTES is one offset the zone uses (computed at synth from its rules); the zone's other
offsets (daylight saving time, at most a couple of hours away) and a skipped hour on a change day move that
instant by hours, never by the 12 hours it takes to reach another day, so rounding it to the nearest midnight
gives T on every day, change days included.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from typing import Any


class RunDateError(ValueError):
    """An event the run cannot take; the message names the field."""


def schedule_day(scheduled: datetime, schedule_hour: int, utc_offset_minutes: int) -> date:
    """The local day of a time at which a daily schedule at `schedule_hour`:00 fired."""
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=timezone.utc)
    local_midnight = scheduled.astimezone(timezone.utc) + timedelta(minutes=utc_offset_minutes - 60 * schedule_hour)
    return (local_midnight + timedelta(hours=12)).date()


def resolve_run_date(
    event: Any, label_delay_days: int, now: datetime, schedule_hour: int = 0, utc_offset_minutes: int = 0
) -> str:
    """`{"date": "YYYY-MM-DD"}` runs that day; otherwise the scheduled time (or now) decides."""
    if not isinstance(event, dict):
        raise RunDateError(f"the event must be a JSON object, got {type(event).__name__}")
    if event.get("date") is not None:
        try:
            return date.fromisoformat(str(event["date"])).isoformat()
        except ValueError:
            raise RunDateError(f"field 'date' must be YYYY-MM-DD, got {event['date']!r}") from None
    if event.get("scheduled_time") is not None:
        try:
            scheduled = datetime.fromisoformat(str(event["scheduled_time"]).replace("Z", "+00:00"))
        except ValueError:
            raise RunDateError(
                f"field 'scheduled_time' must be an ISO 8601 time, got {event['scheduled_time']!r}"
            ) from None
        today = schedule_day(scheduled, schedule_hour, utc_offset_minutes)
    else:  # started by hand without a date: today in the schedule's zone
        today = (now.astimezone(timezone.utc) + timedelta(minutes=utc_offset_minutes)).date()
    return (today - timedelta(days=label_delay_days + 1)).isoformat()


def handler(event: Any, _context: Any) -> dict[str, Any]:
    label_delay_days = int(os.environ["LABEL_DELAY_DAYS"])
    return {
        "date": resolve_run_date(
            event,
            label_delay_days,
            datetime.now(timezone.utc),
            int(os.environ.get("SCHEDULE_HOUR", "0")),
            int(os.environ.get("SCHEDULE_UTC_OFFSET_MINUTES", "0")),
        ),
        "label_delay_days": label_delay_days,
    }
