"""The notebook's idle check (stacks/churn_model/notebook_idle_stop.py), on Jupyter sessions API answers."""

from datetime import datetime, timedelta, timezone

from stacks.churn_model.notebook_idle_stop import is_idle

STARTED = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)


def _session(state: str, last_activity: str) -> dict:
    return {"kernel": {"execution_state": state, "last_activity": last_activity, "connections": 1}}


def test_idle_once_every_kernel_has_been_idle_for_the_minutes():
    sessions = [_session("idle", "2026-12-05T09:00:00.000000Z"), _session("idle", "2026-12-05T09:30:00.123456Z")]
    assert not is_idle(sessions, STARTED, datetime(2026, 12, 5, 10, 29, tzinfo=timezone.utc), 60)
    assert is_idle(sessions, STARTED, datetime(2026, 12, 5, 10, 30, 1, tzinfo=timezone.utc), 60)


def test_a_busy_kernel_is_never_idle():
    sessions = [_session("busy", "2026-12-05T08:00:00.000000Z")]
    assert not is_idle(sessions, STARTED, STARTED + timedelta(days=1), 60)


def test_without_kernels_the_idle_time_counts_from_the_start():
    assert not is_idle([], STARTED, STARTED + timedelta(minutes=59), 60)
    assert is_idle([], STARTED, STARTED + timedelta(minutes=60), 60)
