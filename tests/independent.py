"""What each output must hold, restated from the README's rules without the exporters' code.

The exporters derive their layouts from the schema through converters.layout;
these helpers walk the JSON Schema file themselves, so that a bug shared by
both sides cannot hide.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from conftest import SCHEMA_FILE

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def expected_cell(value: Any) -> str:
    """A CSV cell: empty for null and absent, true/false, compact JSON for arrays and objects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def expected_csv_row(record: dict[str, Any]) -> dict[str, str]:
    """Top-level objects flatten to `parent__child` columns; every column is present."""
    row: dict[str, str] = {}
    for name, schema in SCHEMA["properties"].items():
        schema = _resolve(schema)
        if schema.get("type") == "object":
            for child, child_schema in schema["properties"].items():
                value = (record.get(name) or {}).get(child)
                row[f"{name}__{child}"] = expected_cell(_in_schema_order(child_schema, value))
        else:
            row[name] = expected_cell(_in_schema_order(schema, record.get(name)))
    return row


def _in_schema_order(schema: dict[str, Any], value: Any) -> Any:
    """Object keys in the order the schema lists them, at every depth, as the README promises."""
    schema = _resolve(schema)
    if isinstance(value, dict) and "properties" in schema:
        return {k: _in_schema_order(schema["properties"][k], value[k]) for k in schema["properties"] if k in value}
    if isinstance(value, list) and "items" in schema:
        return [_in_schema_order(schema["items"], item) for item in value]
    return value


def expected_arrow_row(record: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row as pyarrow reads it back: every field present, timestamps as UTC instants."""
    row: dict[str, Any] = _arrow_value(SCHEMA, record)
    return row


def _arrow_value(schema: dict[str, Any], value: Any) -> Any:
    schema = _resolve(schema)
    if value is None:
        return None
    if "properties" in schema:
        return {name: _arrow_value(child, value.get(name)) for name, child in schema["properties"].items()}
    if "items" in schema:
        return [_arrow_value(schema["items"], item) for item in value]
    if schema.get("format") == "date-time":
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (`#/$defs/NAME`)."""
    if "$ref" in schema:
        return _definition(schema["$ref"].rsplit("/", 1)[1])
    return schema


def _definition(name: str) -> dict[str, Any]:
    definitions: dict[str, dict[str, Any]] = SCHEMA["$defs"]
    return definitions[name]
