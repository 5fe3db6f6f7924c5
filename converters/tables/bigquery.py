"""Layout -> a BigQuery JSON schema (the `--schema` of `bq load`, or a load job's `schema.fields`).

The types are the ones BigQuery gives the exported Parquet file: lists are
REPEATED (the file's compliant list layout, read with
`parquet_options.enable_list_inference`), objects are RECORD, date-times
are TIMESTAMP. Every field is NULLABLE, as in the file: `required` is
enforced by validation before the load.
"""

from __future__ import annotations

from typing import Any

from converters.layout import Field, LayoutError
from converters.partitions import partition_key

_TYPES = {
    "string": "STRING",
    "datetime": "TIMESTAMP",
    "integer": "INTEGER",
    "number": "FLOAT",
    "boolean": "BOOLEAN",
    "json": "STRING",  # the value's JSON text, as in the Parquet file
}


def bigquery_schema(layout: Field) -> list[dict[str, Any]]:
    return [_field(child) for child in layout.children]


def _field(field: Field, mode: str = "NULLABLE") -> dict[str, Any]:
    if field.kind == "array":
        assert field.items is not None
        if field.items.kind == "array":
            raise LayoutError(f"{field.name}: BigQuery has no array of arrays")
        return _field(
            Field(field.name, field.items.kind, field.title, field.description, field.items.children), "REPEATED"
        )
    entry: dict[str, Any] = {"name": field.name, "type": "RECORD" if field.kind == "object" else _TYPES[field.kind]}
    entry["mode"] = mode
    if field.description:
        entry["description"] = field.description[:1024]  # BigQuery's limit
    if field.kind == "object":
        entry["fields"] = [_field(child) for child in field.children]
    return entry


# The types of a hive partition key: CUSTOM mode knows STRING, INTEGER, DATE and TIMESTAMP only.
_KEY_TYPES = {"string": "STRING", "integer": "INTEGER", "boolean": "STRING"}


def hive_partition_hint(layout: Field, partition_by: str) -> str:
    """The `bq load` flags for a dataset partitioned by `partition_by`, its key's type in the URI prefix."""
    kind = "DATE"  # published_date, derived
    if not partition_key(layout, partition_by).derived:
        field = layout.child(partition_by)
        assert field is not None  # partition_key refuses a field the layout does not have
        kind = _KEY_TYPES[field.kind]
    return (
        "bq load --source_format=PARQUET --parquet_enable_list_inference --hive_partitioning_mode=CUSTOM "
        f"--hive_partitioning_source_uri_prefix='gs://BUCKET/PATH/{{{partition_by}:{kind}}}' "
        "--schema=SCHEMA.json DATASET.TABLE 'gs://BUCKET/PATH/*.parquet'"
    )
