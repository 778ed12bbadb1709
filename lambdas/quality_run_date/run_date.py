"""Which day the daily model-quality run scores: a date given by hand, or the day whose label window just closed.

With a label delay of K days, predictions of day D are joined with labels collected on D..D+K, so the scheduled
run on day T scores D = T - K - 1: every day of its window is complete.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from typing import Any


class RunDateError(ValueError):
    """An event the run cannot take; the message names the field."""


def resolve_run_date(event: Any, label_delay_days: int, now: datetime) -> str:
    """`{"date": "YYYY-MM-DD"}` runs that day; otherwise the scheduled time (or now) decides."""
    if not isinstance(event, dict):
        raise RunDateError(f"the event must be a JSON object, got {type(event).__name__}")
    if event.get("date") is not None:
        try:
            return date.fromisoformat(str(event["date"])).isoformat()
        except ValueError:
            raise RunDateError(f"field 'date' must be YYYY-MM-DD, got {event['date']!r}") from None
    reference = now
    if event.get("scheduled_time") is not None:
        try:
            reference = datetime.fromisoformat(str(event["scheduled_time"]).replace("Z", "+00:00"))
        except ValueError:
            raise RunDateError(
                f"field 'scheduled_time' must be an ISO 8601 time, got {event['scheduled_time']!r}"
            ) from None
    return (reference.date() - timedelta(days=label_delay_days + 1)).isoformat()


def handler(event: Any, _context: Any) -> dict[str, Any]:
    label_delay_days = int(os.environ["LABEL_DELAY_DAYS"])
    return {
        "date": resolve_run_date(event, label_delay_days, datetime.now(timezone.utc)),
        "label_delay_days": label_delay_days,
    }
