"""converters/formats.py against jsonschema's own FormatChecker, whose checks they stand in for."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_fast_paths import MANY, _date_times, _uris

from converters.formats import CHECKS
from converters.timestamps import OutOfRange

STOCK = Draft202012Validator.FORMAT_CHECKER

_labels = st.text(alphabet="abz09-_.é ", max_size=70)
_hostnames = st.builds(
    lambda labels, dot: ".".join(labels) + dot, st.lists(_labels, max_size=5), st.sampled_from(["", "."])
)


def _ours(name: str, value: object) -> bool:
    check, raises = CHECKS[name]
    try:
        return check(value)
    except raises:
        return False


def test_every_format_the_bundled_schema_uses_is_checked_here() -> None:
    assert {"date-time", "hostname", "uri"} <= CHECKS.keys()


@MANY
@given(_date_times | st.text(max_size=40))
def test_date_time_is_jsonschemas_check_within_the_years_1_to_9999(value: str) -> None:
    stock = STOCK.conforms(value, "date-time")
    ours = _ours("date-time", value)
    if ours != stock:  # only a date-time at the very edge of the range may differ, and only one way
        assert stock
        assert not ours
        assert value[:4] in ("0001", "9999")


@pytest.mark.parametrize(
    ("value", "conforms"),
    [
        ("9999-12-31T23:00:00-05:00", False),
        ("9999-12-31T23:00:00+05:00", True),
        ("0001-01-01T00:30:00+01:00", False),
        ("0001-01-01T00:30:00-01:00", True),
        ("9999-12-31t23:59:59z", True),
    ],
)
def test_date_time_edges_of_the_range(value: str, conforms: bool) -> None:
    assert STOCK.conforms(value, "date-time")
    assert _ours("date-time", value) is conforms
    if not conforms:
        with pytest.raises(OutOfRange):
            CHECKS["date-time"][0](value)


@MANY
@given(_hostnames)
def test_hostname_is_jsonschemas_check(value: str) -> None:
    assert _ours("hostname", value) == STOCK.conforms(value, "hostname")


@pytest.mark.skipif(
    importlib.util.find_spec("rfc3987") is not None, reason="jsonschema checks uri with rfc3987 when it is installed"
)
@MANY
@given(_uris)
def test_uri_is_jsonschemas_check(value: str) -> None:
    assert _ours("uri", value) == STOCK.conforms(value, "uri")


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("value", [None, 12, 1.5, True, [], {}])
def test_a_format_says_nothing_about_values_that_are_not_strings(name: str, value: Any) -> None:
    assert _ours(name, value)
    assert STOCK.conforms(value, name)
