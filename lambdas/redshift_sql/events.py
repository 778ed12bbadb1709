"""Reading fields from Lambda events: a missing or malformed field fails with a message that names it."""

from __future__ import annotations

from typing import Any, Mapping


class EventError(ValueError):
    pass


def require(event: Any, name: str, kind: type | tuple[type, ...] = str) -> Any:
    if not isinstance(event, Mapping):
        raise EventError(f"The event must be a JSON object, not {type(event).__name__}.")
    if name not in event or event[name] is None:
        raise EventError(f"The event has no field {name!r}.")
    value = event[name]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        raise EventError(f"Field {name!r} must be {expected}, not {type(value).__name__}: {value!r}.")
    if kind is str and isinstance(value, str) and not value.strip():
        raise EventError(f"Field {name!r} is empty.")
    return value
