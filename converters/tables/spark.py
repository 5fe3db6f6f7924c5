"""Layout -> a Spark schema, as Spark's JSON (`StructType.fromJson` reads it; `DataType.fromJson` in PySpark).

The types are the ones Spark gives the exported Parquet file: date-times are
TimestampType (an instant; read back in the session's time zone), integers
LongType, objects StructType, lists ArrayType, JSON-typed fields their text.
Every field is nullable, as in the file.
"""

from __future__ import annotations

from typing import Any

from converters.layout import Field

_TYPES = {
    "string": "string",
    "datetime": "timestamp",
    "integer": "long",
    "number": "double",
    "boolean": "boolean",
    "json": "string",  # the value's JSON text, as in the Parquet file
}


def spark_schema(layout: Field) -> dict[str, Any]:
    return {"type": "struct", "fields": [_field(child) for child in layout.children]}


def _field(field: Field) -> dict[str, Any]:
    return {"name": field.name, "type": _type(field), "nullable": True, "metadata": {}}


def _type(field: Field) -> Any:
    if field.kind == "object":
        return {"type": "struct", "fields": [_field(child) for child in field.children]}
    if field.kind == "array":
        assert field.items is not None
        return {"type": "array", "elementType": _type(field.items), "containsNull": True}
    return _TYPES[field.kind]
