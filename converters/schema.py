"""The article JSON Schema: the bundled one, or a user's."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_NAME = "article.schema.json"


class SchemaError(Exception):
    """A schema file that cannot be used; the message says why."""


def bundled_schema_path() -> Path:
    """The wheel carries the schema inside the package; a source checkout has it at the top."""
    packaged = Path(__file__).parent / "schemas" / SCHEMA_NAME
    if packaged.is_file():
        return packaged
    return Path(__file__).parent.parent / "schemas" / SCHEMA_NAME


def bundled_schema_text() -> str:
    return bundled_schema_path().read_text(encoding="utf-8")


@cache
def load_schema(path: Path | None = None) -> dict[str, Any]:
    """Parse and check a schema file (the bundled one when `path` is None)."""
    source = path or bundled_schema_path()
    try:
        schema = json.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise SchemaError(f"cannot read schema {source}: {error.strerror}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SchemaError(f"schema {source} is not valid JSON: {error}") from error
    if not isinstance(schema, dict):
        raise SchemaError(f"schema {source} must be a JSON object")
    if path is not None:  # the bundled schema is checked by the test suite, not on every start (60 ms)
        _check_against_meta_schema(schema, source)
    return schema


def _check_against_meta_schema(schema: dict[str, Any], source: Path) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JsonSchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except JsonSchemaError as error:
        raise SchemaError(f"schema {source} is not a valid JSON Schema: {error.message}") from error


def schema_identity(schema: dict[str, Any]) -> tuple[str, str]:
    """($id, version) of a schema, "" where absent."""
    return str(schema.get("$id", "")), str(schema.get("version", ""))
