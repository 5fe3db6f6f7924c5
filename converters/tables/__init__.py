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
from converters.partitions import partition_key, without_partition_column
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


def _spark(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    from converters.tables.spark import spark_schema

    return json.dumps(spark_schema(layout), indent=2, ensure_ascii=False) + "\n"


def _sql(schema: dict[str, Any], layout: Field, table: str, dialect: str | None) -> str:
    return create_table(layout, table, DIALECTS[dialect or "duckdb"])


# name -> (schema, layout, table, dialect) -> text
SCHEMA_FORMATS: dict[str, Callable[[dict[str, Any], Field, str, str | None], str]] = {
    "json-schema": _json_schema,
    "arrow": _arrow,
    "bigquery": _bigquery,
    "spark": _spark,
    "sql": _sql,
}


# The formats that describe a file's columns, and so can leave a partition column out.
PARTITIONED_FORMATS = ("arrow", "bigquery")


def render_schema(
    schema: dict[str, Any],
    format_name: str,
    table: str = DEFAULT_TABLE,
    dialect: str | None = None,
    partition_by: str | None = None,
) -> str:
    """The schema in `format_name`; with `partition_by`, the columns of a part file of such a dataset.

    Raises LayoutError for a schema no table can hold, or a field that cannot partition.
    """
    if dialect is not None and format_name != "sql":
        raise LayoutError("--dialect goes with --format sql")
    layout = article_layout(schema)
    if partition_by is not None:
        if format_name not in PARTITIONED_FORMATS:
            raise LayoutError(f"--partition-by goes with --format {' or '.join(PARTITIONED_FORMATS)}")
        layout = without_partition_column(layout, partition_key(layout, partition_by))
    return SCHEMA_FORMATS[format_name](schema, layout, table, dialect)


def hive_partition_hint(schema: dict[str, Any], partition_by: str) -> str:
    """How to load a dataset partitioned by `partition_by` into BigQuery: its hive-partitioning flags."""
    from converters.tables.bigquery import hive_partition_hint as bigquery_hint

    return bigquery_hint(article_layout(schema), partition_by)


__all__ = ["DEFAULT_TABLE", "DIALECTS", "PARTITIONED_FORMATS", "SCHEMA_FORMATS", "hive_partition_hint", "render_schema"]
