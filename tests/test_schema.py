"""The bundled JSON Schema: well formed, documented, closed, and its formats really checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, SCHEMA_FILE, RunCli, RunProcess
from jsonschema import Draft202012Validator

import converters
from converters.schema import SchemaError, bundled_schema_path, load_schema
from converters.validate import ArticleValidator

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for child in value.values():
                    yield from _subschemas(child)
            elif key == "items":
                yield from _subschemas(value)


def test_schema_is_draft_2020_12_with_id_and_version() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"]
    assert SCHEMA["version"]


def test_every_property_has_a_title_and_description() -> None:
    for schema in _subschemas(SCHEMA):
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("title"), name
            assert prop.get("description"), name


def test_every_object_is_closed() -> None:
    objects = [s for s in _subschemas(SCHEMA) if "properties" in s]
    assert len(objects) == 4  # article, provider, image, related article
    assert all(s.get("additionalProperties") is False for s in objects)


def test_required_fields_are_those_of_the_article_format() -> None:
    assert set(SCHEMA["required"]) == {
        "category", "title", "excerpt", "publishedDateTime", "webUrl", "type", "provider",
    }  # fmt: skip
    assert set(SCHEMA["$defs"]["provider"]["required"]) == {"name", "domain"}
    assert set(SCHEMA["$defs"]["image"]["required"]) == {"url"}
    assert set(SCHEMA["$defs"]["relatedArticle"]["required"]) == {"title", "webUrl", "provider"}


@pytest.mark.parametrize(
    ("field", "bad_value"),
    [
        ("publishedDateTime", "2023-02-30T25:61:00Z"),
        ("publishedDateTime", "2023-02-30T06:00:00Z"),
        ("webUrl", "not a url"),
        ("webUrl", "https://exa mple.org/"),
    ],
)
def test_bad_dates_and_urls_really_fail_format(field: str, bad_value: str) -> None:
    """jsonschema passes these silently when the format packages are missing."""
    validator = Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    article = {
        "category": "news", "title": "t", "excerpt": "e", "publishedDateTime": "2023-08-04T06:59:00Z",
        "webUrl": "https://example.org/", "type": "article", "provider": {"name": "n", "domain": "example.org"},
    }  # fmt: skip
    assert validator.is_valid(article)
    article[field] = bad_value
    assert [e.validator for e in validator.iter_errors(article)] == ["format"]


def test_a_format_this_installation_cannot_check_is_refused() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "format": "x-made-up"}}}
    with pytest.raises(SchemaError, match="x-made-up"):
        ArticleValidator(schema)


def test_schema_command_prints_the_schema_file(run_cli: RunCli) -> None:
    result = run_cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SCHEMA


def test_installed_command_finds_the_schema_from_any_directory(run_process: RunProcess, tmp_path: Path) -> None:
    result = run_process("schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == SCHEMA


def test_the_installed_package_carries_its_own_schema() -> None:
    path = bundled_schema_path()
    if Path(converters.__file__).parent == REPO / "converters":
        pytest.skip("running from a source checkout, not an installed wheel")
    assert path.parent.parent.name == "converters"
    assert json.loads(path.read_text(encoding="utf-8")) == SCHEMA


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ('{"type": 12}', "not a valid JSON Schema"), ("[]", "JSON object")],
)
def test_unusable_schema_file_is_a_usage_error(run_cli: RunCli, tmp_path: Path, content: str, message: str) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(content, encoding="utf-8")
    result = run_cli("validate", "--schema", str(schema), str(REPO / "examples"))
    assert result.exit_code == 2
    assert message in result.stderr
