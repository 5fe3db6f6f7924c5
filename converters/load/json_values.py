"""Values as JSON text, for columns that hold JSON (PostgreSQL's jsonb, SQLite's TEXT)."""

from __future__ import annotations

from typing import Any

import orjson


def json_text(value: Any) -> str:
    """Compact JSON in schema order, timestamps as RFC 3339 text in UTC (`Z`): the same value always gives
    the same text, so that a row compared with its earlier self is equal. orjson: a tenth of json's time,
    which is most of staging 100,000 rows."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()
