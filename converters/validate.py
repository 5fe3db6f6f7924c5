"""Schema -> validator; article -> every error, located at file:line:col + pointer."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from converters import formats
from converters.findings import Finding, in_file_order, json_pointer
from converters.reader import Article
from converters.schema import SchemaError
from converters.timestamps import OutOfRange

if TYPE_CHECKING:  # jsonschema is imported when the first document fails the compiled check, not before
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError

# Formats whose jsonschema-rs checks agree with jsonschema's on every generated value.
SAME_FORMATS_IN_RUST = frozenset({"uri"})
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


class ArticleValidator:
    """Checks articles against one schema, with `format` assertions turned on."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._schema = schema
        self._formats = _formats_used(schema)
        checks: Mapping[str, formats.Check] = formats.CHECKS
        if not self._formats <= checks.keys():
            # jsonschema's checks are needed; built now, so that a format nobody can check
            # stops the run before it starts.
            checker = self._reference.format_checker
            assert checker is not None
            checks = checker.checkers
        self._compiled = _compiled(schema, self._formats, checks)

    @functools.cached_property
    def _reference(self) -> Draft202012Validator:
        """jsonschema, which words every error; built on first need."""
        from jsonschema import Draft202012Validator

        checker = format_checker()
        missing = sorted(self._formats - set(checker.checkers))
        if missing:
            # jsonschema skips a format silently when its checker's package is
            # absent; refusing to start is the only way to keep `format` honest.
            raise SchemaError(f"the schema uses format {', '.join(missing)}, which this installation cannot check")
        return Draft202012Validator(self._schema, format_checker=checker)

    def is_valid(self, record: dict[str, Any]) -> bool:
        return self.certainly_valid(record) or bool(self._reference.is_valid(record))

    def certainly_valid(self, record: dict[str, Any]) -> bool:
        """True when the compiled validator accepts the record; False means "ask jsonschema"."""
        if self._compiled is None:
            return False
        try:
            return bool(self._compiled.is_valid(record))
        except (ValueError, TypeError, OverflowError):  # a value Rust cannot take, such as a lone surrogate
            return False

    def check(self, file: str, article: Article) -> list[Finding]:
        """Every schema error in the article, in file order."""
        if self.certainly_valid(article.record):
            return []
        findings = [
            finding
            for error in self._reference.iter_errors(article.record)
            for finding in _findings(file, article, error)
        ]
        in_file_order(findings)
        return findings


def format_checker() -> FormatChecker:
    """jsonschema's format checks, with this project's own (converters/formats.py) in their place.

    Every output but JSON turns a date-time into an instant in UTC, and a
    BigQuery TIMESTAMP stops at 9999 (see timestamps.representable): such a date-time is
    reported here, by `validate`, rather than failing an export.
    """
    from jsonschema import Draft202012Validator, FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = {**Draft202012Validator.FORMAT_CHECKER.checkers, **formats.CHECKS}
    return checker


def _compiled(schema: dict[str, Any], used: set[str], checks: Mapping[str, formats.Check]) -> Any:
    """jsonschema-rs, about 60 times faster, for the verdict on documents that are valid.

    It is trusted only to say "valid": any other answer goes to jsonschema,
    which words the errors. Formats it checks differently (it accepts the leap
    second 23:59:60 and the year 0000 in a date-time) are handed the checks
    jsonschema makes, so that "valid" means the same in both;
    tests/test_fast_paths.py proves it on generated documents.
    """
    try:
        import jsonschema_rs
    except ImportError:  # a platform without a wheel: jsonschema alone is still right, only slower
        return None
    handed = used - SAME_FORMATS_IN_RUST
    return jsonschema_rs.validator_for(
        schema, formats={name: _conforms(*checks[name]) for name in handed}, validate_formats=True
    )


def _conforms(
    check: Callable[[object], bool], raises: type[Exception] | tuple[type[Exception], ...]
) -> Callable[[str], bool]:
    """`FormatChecker.conforms(value, name)` for one format, called directly, its verdicts remembered.

    jsonschema-rs calls it for strings only. A corpus repeats some values in
    every file (a publisher's host name), and the check is a pure function
    of the string; the bound keeps memory flat.
    """

    @functools.lru_cache(maxsize=4096)
    def conforms(value: str) -> bool:
        try:
            return bool(check(value))
        except raises:
            return False

    return conforms


def _formats_used(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["format"]} if isinstance(schema.get("format"), str) else set()
        for value in schema.values():
            found |= _formats_used(value)
        return found
    if isinstance(schema, list):
        return set().union(*(_formats_used(item) for item in schema))
    return set()


def _findings(file: str, article: Article, error: ValidationError) -> Iterator[Finding]:
    path = tuple(error.absolute_path)
    schema, instance = error.schema, error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict) and isinstance(schema, dict):
        for key in _unexpected_keys(instance, schema):
            key_path = (*path, key)
            position = article.key_positions.get(key_path) or article.locate(key_path)
            hint = _did_you_mean(key, schema)
            yield _finding(file, position, key_path, "additionalProperties", f"unexpected property {key!r}{hint}")
        return
    yield _finding(file, article.locate(path), path, str(error.validator), _message(error))


def _finding(file: str, position: Any, path: tuple[Any, ...], keyword: str, message: str) -> Finding:
    line, column = position if position is not None else (None, None)
    return Finding(file, line, column, json_pointer(path), keyword, message)


def _unexpected_keys(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    known = schema.get("properties", {})
    patterns = [re.compile(pattern) for pattern in schema.get("patternProperties", {})]
    return [key for key in instance if key not in known and not any(p.search(key) for p in patterns)]


def _did_you_mean(key: str, schema: dict[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(schema.get("properties", {})), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _message(error: ValidationError) -> str:
    """One line a person understands; never the repr of a whole object."""
    keyword, instance, expected = error.validator, error.instance, error.validator_value
    if keyword == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"expected {wanted}, got {_describe(instance)}"
    if keyword == "format":
        reason = f": {error.cause}" if isinstance(error.cause, OutOfRange) else ""
        return f"{_short(instance)} is not a valid {expected}{reason}"
    if keyword == "pattern":
        return f"{_short(instance)} does not match the pattern {expected}"
    if keyword == "minLength" and instance == "":
        return "must not be empty"
    if keyword == "enum":
        return f"{_short(instance)} is not one of {_short(expected)}"
    return _one_line(error.message)


def _describe(instance: Any) -> str:
    kind = "null" if instance is None else _JSON_TYPES.get(type(instance), type(instance).__name__)
    if isinstance(instance, (dict, list)) or instance is None:
        return kind
    return f"{kind} {_short(instance)}"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(message: str, limit: int = 300) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
