"""Layout -> `CREATE TABLE` per SQL dialect.

- DuckDB: STRUCT and LIST, the Parquet file's own shapes: `INSERT ... SELECT *
  FROM read_parquet(...)` needs no casts.
- PostgreSQL: scalars get native types, lists of scalars native arrays
  (`text[]`), and objects and lists of objects `jsonb`. Composite types would
  mirror the nesting, but every change to the schema would then need `ALTER
  TYPE` on types that other tables may share, and `jsonb` is what people query
  nested PostgreSQL data with (operators, GIN indexes, `jsonb_path_query`).
- Snowflake: VARIANT, ARRAY and OBJECT, which is how Snowflake loads nested
  Parquet.
- BigQuery: STRUCT and ARRAY, as the BigQuery JSON schema has them.
- SQLite: no nested types, so objects and lists are JSON text, which SQLite's
  JSON functions query (`->>`, `json_each`); date-times are ISO 8601 text in
  UTC, and booleans 0 or 1, as sqlite-utils stores them. SQLite has no
  schemas: a qualified name would name an attached database.

Every column is nullable, as in the files (`required` is enforced by
validation), but the key, webUrl, which is the primary key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from converters.layout import KEY_FIELD, Field, LayoutError


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    scalars: dict[str, str]  # layout kind -> column type
    nested: Literal["structural", "postgres", "semi-structured", "json-text"]
    quote: str = '"'
    primary_key: str = "PRIMARY KEY ({})"  # Snowflake accepts and records it, without enforcing it
    struct: str = "STRUCT<{}>"  # for "structural" dialects: the spelling of a struct and of a list
    array: str = "ARRAY<{}>"
    arrays_of_arrays: bool = True
    label: str = ""  # the engine's name, for messages
    schemas: bool = True  # SCHEMA.NAME names a table in a schema

    def identifier(self, name: str) -> str:
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote

    def column_type(self, field: Field) -> str:
        if self.nested == "json-text":
            return self.scalars["json"] if field.kind in ("object", "array") else self.scalars[field.kind]
        if self.nested == "semi-structured":
            return {"object": "OBJECT", "array": "ARRAY"}.get(field.kind) or self.scalars[field.kind]
        if self.nested == "postgres":
            if field.kind == "array" and field.items is not None and field.items.kind not in ("object", "array"):
                return self.scalars[field.items.kind] + "[]"
            return "jsonb" if field.kind in ("object", "array") else self.scalars[field.kind]
        return self._structural(field)

    def _structural(self, field: Field) -> str:
        if field.kind == "object":
            members = ", ".join(f"{self.identifier(c.name)} {self._structural(c)}" for c in field.children)
            return self.struct.format(members)
        if field.kind == "array":
            assert field.items is not None
            if not self.arrays_of_arrays and field.items.kind == "array":
                raise LayoutError(f"{field.name}: {self.label} has no array of arrays")
            return self.array.format(self._structural(field.items))
        return self.scalars[field.kind]


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect(
            "duckdb",
            {"string": "VARCHAR", "datetime": "TIMESTAMPTZ", "integer": "BIGINT", "number": "DOUBLE",
             "boolean": "BOOLEAN", "json": "VARCHAR"},
            "structural",
            struct="STRUCT({})",
            array="{}[]",
        ),
        Dialect(
            "postgres",
            {"string": "text", "datetime": "timestamptz", "integer": "bigint", "number": "double precision",
             "boolean": "boolean", "json": "jsonb"},
            "postgres",
        ),
        Dialect(
            "bigquery",
            {"string": "STRING", "datetime": "TIMESTAMP", "integer": "INT64", "number": "FLOAT64",
             "boolean": "BOOL", "json": "STRING"},
            "structural",
            quote="`",
            primary_key="PRIMARY KEY ({}) NOT ENFORCED",  # BigQuery's only form
            arrays_of_arrays=False,
            label="BigQuery",
        ),
        Dialect(
            "snowflake",
            {"string": "VARCHAR", "datetime": "TIMESTAMP_TZ", "integer": "NUMBER(19, 0)", "number": "FLOAT",
             "boolean": "BOOLEAN", "json": "VARIANT"},
            "semi-structured",
        ),
        Dialect(
            "sqlite",
            {"string": "TEXT", "datetime": "TEXT", "integer": "INTEGER", "number": "REAL",
             "boolean": "INTEGER", "json": "TEXT"},
            "json-text",
            label="SQLite",
            schemas=False,
        ),
    )
}  # fmt: skip


def create_table(layout: Field, table: str, dialect: Dialect) -> str:
    """`CREATE TABLE IF NOT EXISTS`, one column per top-level field, in schema order; a qualified
    name (`raw.articles`) creates its schema first."""
    schema = create_schema(table, dialect)
    prefix = f"{schema};\n" if schema else ""
    key = layout.child(KEY_FIELD)
    lines = []
    for field in layout.children:
        line = f"  {dialect.identifier(field.name)} {dialect.column_type(field)}"
        if field is key:
            line += " NOT NULL"
        lines.append(line)
    if key is not None:
        lines.append("  " + dialect.primary_key.format(dialect.identifier(key.name)))
    return f"{prefix}CREATE TABLE IF NOT EXISTS {qualified_name(table, dialect)} (\n" + ",\n".join(lines) + "\n);\n"


def create_schema(table: str, dialect: Dialect) -> str | None:
    """`CREATE SCHEMA IF NOT EXISTS` for the schema a qualified name (`raw.articles`) names; None for a plain one."""
    parts = table_parts(table, dialect)
    return f"CREATE SCHEMA IF NOT EXISTS {dialect.identifier(parts[0])}" if len(parts) == 2 else None


# A name every engine takes unquoted: a letter or _, then letters, digits or _; PostgreSQL keeps 63 bytes.
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_MAX_IDENTIFIER_BYTES = 63


class TableNameError(LayoutError):
    """A --table that is not NAME or SCHEMA.NAME: a usage error."""


def table_parts(table: str, dialect: Dialect | None = None) -> list[str]:
    """`raw.articles` -> ["raw", "articles"]; TableNameError for anything but NAME or SCHEMA.NAME, and
    for SCHEMA.NAME in a dialect without schemas."""
    parts = table.split(".")
    if len(parts) > 2 or not all(
        _IDENTIFIER.fullmatch(part) and len(part.encode("utf-8")) <= _MAX_IDENTIFIER_BYTES for part in parts
    ):
        raise TableNameError(
            f"--table {table!r} is not a table name: give NAME or SCHEMA.NAME, each a letter or _ followed by "
            f"letters, digits or _, at most {_MAX_IDENTIFIER_BYTES} bytes"
        )
    if len(parts) == 2 and dialect is not None and not dialect.schemas:
        raise TableNameError(f"--table {table!r}: {dialect.label} has no schemas; give a plain NAME")
    return parts


def qualified_name(table: str, dialect: Dialect) -> str:
    """`raw.articles` -> `"raw"."articles"`: each part quoted as well, so no name is read as a keyword."""
    return ".".join(dialect.identifier(part) for part in table_parts(table, dialect))
