"""Values as text, for columns that hold JSON (PostgreSQL's jsonb, SQLite's TEXT) and SQLite's date-times."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def json_text(value: Any) -> str:
    """Compact JSON in schema order, timestamps as RFC 3339 text in UTC: the same value always gives the
    same text, so that a row compared with its earlier self is equal."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_utc_text)


def utc_text(moment: datetime) -> str:
    """`2024-05-01T08:30:00Z`, with microseconds only when there are some, as the Parquet value has it."""
    return moment.isoformat().replace("+00:00", "Z")


def _utc_text(value: Any) -> str:
    if isinstance(value, datetime):
        return utc_text(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
