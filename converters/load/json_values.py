"""Values as text, for columns that hold JSON (PostgreSQL's jsonb, SQLite's TEXT) and SQLite's date-times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson


def json_text(value: Any) -> str:
    """Compact JSON in schema order, timestamps as RFC 3339 text in UTC (`Z`): the same value always gives
    the same text, so that a row compared with its earlier self is equal. orjson: a tenth of json's time,
    which is most of staging 100,000 rows."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()


def utc_text(moment: datetime) -> str:
    """`2024-05-01T08:30:00Z`, with microseconds only when there are some, as the Parquet value has it."""
    return moment.isoformat().replace("+00:00", "Z")
