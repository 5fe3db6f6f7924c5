"""Properties over generated articles: valid ones pass, one corrupted required field is caught."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ARTICLES, REQUIRED, article_file

from converters.check import CheckOptions, check_bytes
from converters.schema import load_schema
from converters.validate import ArticleValidator

VALIDATOR = ArticleValidator(load_schema())

# Values of the wrong kind for each required field.
CORRUPTIONS: dict[str, list[Any]] = {
    "category": [None, 7, [], ""],
    "title": [None, 3.5, {"a": 1}, ""],
    "excerpt": [None, 12, ["x"]],
    "publishedDateTime": [None, "2023-02-30T10:00:00Z", "2023-08-04", "yesterday", 1691132340],
    "webUrl": [None, "not a url", "https://exa mple.org/", 5],
    "type": [None, True, ""],
    "provider": [None, "ProPakistani", {"name": "x"}, {"domain": "example.org"}, {"name": "x", "domain": "bad host"}],
}


def _errors(article: dict[str, Any]) -> list[Any]:
    return check_bytes("generated.md", article_file(article), VALIDATOR, CheckOptions()).errors


@settings(max_examples=300, deadline=None, derandomize=True)
@given(article=ARTICLES)
def test_generated_valid_articles_validate(article: dict[str, Any]) -> None:
    assert _errors(article) == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(article=ARTICLES, field=st.sampled_from(REQUIRED), data=st.data())
def test_one_corrupted_required_field_is_caught(article: dict[str, Any], field: str, data: st.DataObject) -> None:
    if data.draw(st.booleans(), label="delete"):
        del article[field]
        errors = _errors(article)
        assert any(f.keyword == "required" and f.pointer == "" and repr(field) in f.message for f in errors)
    else:
        article[field] = data.draw(st.sampled_from(CORRUPTIONS[field]), label="value")
        errors = _errors(article)
        assert any(f.pointer == f"/{field}" or f.pointer.startswith(f"/{field}/") for f in errors), errors


@pytest.mark.parametrize("field", REQUIRED)
def test_every_required_field_has_corruptions(field: str) -> None:
    assert CORRUPTIONS[field]
