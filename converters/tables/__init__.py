"""Table definitions derived from the JSON Schema: `articles schema --format ...`.

Every format here walks the same field tree (converters.layout) that the
Parquet writer walks, so a table made from this DDL has the columns, the
nesting and the types of the exported file, and a field added to the schema
appears in all of them with no code change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from converters.layout import Field, LayoutError, article_layout
from converters.tables.sql import DIALECTS, create_table

DEFAULT_TABLE = "articles"


def _json_schema(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _arrow(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    from converters.arrow_schema import arrow_schema  # pyarrow loads only for this format
    from converters.schema import schema_identity

    arrow = arrow_schema(layout, *schema_identity(schema))
    # One line per column, written out here: pyarrow's own to_string() elides long nested types.
    lines = [f"{field.name}: {field.type}" for field in arrow]
    lines += [f"-- {key.decode()}: {value.decode()}" for key, value in (arrow.metadata or {}).items()]
    return "\n".join(lines) + "\n"


def _bigquery(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    from converters.tables.bigquery import bigquery_schema

    return json.dumps(bigquery_schema(layout), indent=2, ensure_ascii=False) + "\n"


def _sql(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    return create_table(layout, table, DIALECTS[dialect or "duckdb"])


# name -> (schema, layout, table, dialect) -> text
SCHEMA_FORMATS: dict[str, Callable[[dict[str, Any], Field, str, str | None], str]] = {
    "json-schema": _json_schema,
    "arrow": _arrow,
    "bigquery": _bigquery,
    "sql": _sql,
}


def render_schema(
    schema: dict[str, Any], format_name: str, table: str = DEFAULT_TABLE, dialect: str | None = None
) -> str:
    """The schema in `format_name`. Raises LayoutError for a schema no table can hold."""
    if dialect is not None and format_name != "sql":
        raise LayoutError("--dialect goes with --format sql")
    return SCHEMA_FORMATS[format_name](schema, article_layout(schema), table, dialect)


__all__ = ["DEFAULT_TABLE", "DIALECTS", "SCHEMA_FORMATS", "render_schema"]
