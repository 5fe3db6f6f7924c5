"""YAML 1.1 scalars: values as PyYAML reads them, and a warning where YAML 1.2 differs."""

from __future__ import annotations

import pytest
import yaml

from converters.limits import Limits
from converters.reader import ReaderError, parse_article

# (plain scalar, a YAML 1.2 core-schema loader's value): these differ from YAML 1.1.
AMBIGUOUS = [
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("NO", "NO"),
    ("Yes", "Yes"),
    ("1:20", "1:20"),
    ("017", 17),
    ("1_000", "1_000"),
    ("0b101", "0b101"),
    ("1e3", 1000.0),
]
UNAMBIGUOUS = ["true", "False", "null", "~", "12", "-3", "1.5", "0x1F", "hello", "2023-08-04", "https://x.y/"]
NOT_JSON_NUMBERS = [".nan", ".NaN", ".inf", "-.Inf", "+.INF"]


def _read(scalar: str) -> tuple[object, list[str]]:
    article = parse_article(f"---\nvalue: {scalar}\n---\n".encode(), Limits())
    return article.record["value"], [w.keyword for w in article.warnings]


@pytest.mark.parametrize(("scalar", "yaml12_value"), AMBIGUOUS)
def test_ambiguous_scalar_keeps_pyyaml_value_and_warns(scalar: str, yaml12_value: object) -> None:
    value, warnings = _read(scalar)
    assert value == yaml.safe_load(f"value: {scalar}")["value"]
    assert value != yaml12_value or type(value) is not type(yaml12_value)
    assert warnings == ["yaml11"]


@pytest.mark.parametrize("scalar", UNAMBIGUOUS)
def test_unambiguous_scalar_does_not_warn(scalar: str) -> None:
    value, warnings = _read(scalar)
    reference = yaml.safe_load(f"value: {scalar}")["value"]
    assert value == (scalar if scalar == "2023-08-04" else reference)  # dates stay text
    assert warnings == []


def test_quoted_scalars_are_strings_and_never_warn() -> None:
    value, warnings = _read('"yes"')
    assert (value, warnings) == ("yes", [])


def test_warning_is_located_at_the_scalar() -> None:
    article = parse_article(b"---\na: 1\nflag:   on\n---\n", Limits())
    (warning,) = article.warnings
    assert (warning.position, warning.path) == ((3, 9), ("flag",))


@pytest.mark.parametrize("scalar", NOT_JSON_NUMBERS)
def test_nan_and_infinity_are_refused_at_their_location(scalar: str) -> None:
    with pytest.raises(ReaderError) as caught:
        _read(scalar)
    assert (caught.value.keyword, caught.value.position) == ("value", (2, 8))
