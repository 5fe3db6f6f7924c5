"""Plain YAML scalars -> Python values, the way PyYAML reads them, minus timestamps.

PyYAML (YAML 1.1) is the reference loader: `yes` is True, `017` is 15 and
`1:20` is 80. YAML 1.2 loaders (ruamel, Go, JavaScript, Rust) read those as the
strings "yes", the integer 17 and the string "1:20". Such scalars stay valid
here but earn a warning, so authors quote them before another tool disagrees.
"""

from __future__ import annotations

import math
import re
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

_TAG = "tag:yaml.org,2002:"
STR_TAG = _TAG + "str"
MERGE_TAG = _TAG + "merge"
VALUE_TAG = _TAG + "value"

_resolver = Resolver()
_constructor = SafeConstructor()

_CONSTRUCT = {
    _TAG + "int": _constructor.construct_yaml_int,
    _TAG + "float": _constructor.construct_yaml_float,
    _TAG + "bool": _constructor.construct_yaml_bool,
}

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_YAML12_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_YAML12_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_YAML12_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_YAML12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_YAML12_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")

# Only a scalar starting with one of these can be a number in either version;
# words are covered by the null and bool sets, which both versions share in part.
_NUMERIC_START = frozenset("0123456789+-.")


class ScalarError(ValueError):
    """A scalar whose explicit tag names a type it cannot be read as."""


def resolve_tag(value: str) -> str:
    """The YAML 1.1 tag PyYAML gives an untagged plain scalar (or one tagged `!`, which it reads alike)."""
    tag: str = _resolver.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag


def construct(tag: str, value: str) -> Any:
    """Build the value for a scalar with a core tag; timestamps keep their text.

    Timestamps stay strings because JSON Schema's `date-time` format applies to
    strings, and an impossible date must fail validation, not crash the loader.
    """
    if tag == STR_TAG or tag == _TAG + "timestamp":
        return value
    if tag == _TAG + "null":
        return None
    build = _CONSTRUCT.get(tag)
    if build is None:
        raise ScalarError(f"unsupported tag {tag!r}")
    try:
        return build(ScalarNode(tag, value))
    except (ValueError, TypeError, KeyError, IndexError) as error:  # IndexError: an empty `!!int` or `!!float`
        raise ScalarError(f"{value!r} cannot be read as {tag.removeprefix(_TAG)}") from error


def yaml12_value(value: str) -> Any:
    """What a YAML 1.2 core-schema loader makes of a plain scalar."""
    if value in _YAML12_NULL:
        return None
    if value in _YAML12_BOOL:
        return _YAML12_BOOL[value]
    if _YAML12_INT.fullmatch(value):
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
    if _YAML12_FLOAT.fullmatch(value):
        return float(value)
    if _YAML12_SPECIAL_FLOAT.fullmatch(value):
        if value.lower().endswith("nan"):
            return math.nan
        return -math.inf if value.startswith("-") else math.inf
    return value


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def yaml11_ambiguity(value: str, tag: str, resolved: Any) -> str | None:
    """A warning when YAML 1.2 loaders would read this plain scalar differently."""
    if tag == STR_TAG and (not value or value[0] not in _NUMERIC_START):
        return None  # a word that is a string in both versions
    other = yaml12_value(value)
    if tag == _TAG + "timestamp" and other == value:
        return None  # kept as text here, a string in YAML 1.2
    if _same(resolved, other):
        return None
    return f"plain scalar {value} is read as {resolved!r} (YAML 1.1) but as {other!r} by YAML 1.2 loaders; quote it"


def non_specific_ambiguity(value: str, resolved: Any) -> str | None:
    """A warning when a scalar tagged `!` is not the text it holds.

    PyYAML resolves such a scalar by its text, quoted or not, as if it were
    plain: `! 50` and `! '50'` are 50. The YAML specs (1.1 and 1.2) make it a
    string, and so do YAML 1.2 loaders.
    """
    if isinstance(resolved, str) and resolved == value:
        return None
    return (
        f"! {value} is read as {resolved!r} by PyYAML, which resolves the tag ! like a plain scalar, "
        f"but as the string {value!r} by YAML 1.2 loaders; drop the ! (and quote the value to keep it text)"
    )
