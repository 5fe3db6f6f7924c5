"""Properties over generated articles: valid ones pass, one corrupted required field is caught."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from converters.check import CheckOptions, check_bytes
from converters.schema import load_schema
from converters.validate import ArticleValidator

VALIDATOR = ArticleValidator(load_schema())
REQUIRED = ["category", "title", "excerpt", "publishedDateTime", "webUrl", "type", "provider"]

_text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30)
_host = st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,2}", fullmatch=True)
_url = st.builds(
    lambda host, path: f"https://{host}/{path}", _host, st.from_regex(r"[a-z0-9/_-]{0,20}", fullmatch=True)
)
_when = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 1, 1))
_offset = st.sampled_from(["Z", "+05:00", "-04:00", "+00:00"])
_timestamp = st.builds(lambda when, offset: when.strftime("%Y-%m-%dT%H:%M:%S") + offset, _when, _offset)
_provider = st.fixed_dictionaries({"name": _text, "domain": _host})
_image = st.fixed_dictionaries(
    {"url": _url},
    optional={"width": st.integers(1, 5000), "height": st.integers(1, 5000), "isCached": st.booleans()},
)
_related = st.fixed_dictionaries(
    {"title": _text, "webUrl": _url, "provider": _provider},
    optional={"excerpt": _text, "publishedDateTime": _timestamp, "quality": st.integers(0, 100),
              "images": st.lists(_image, max_size=2), "ampWebUrl": st.none() | _url},
)  # fmt: skip
ARTICLES = st.fixed_dictionaries(
    {
        "category": _text, "title": _text, "excerpt": st.text(max_size=200).filter(lambda s: "\x00" not in s),
        "publishedDateTime": _timestamp, "webUrl": _url, "type": _text, "provider": _provider,
    },
    optional={
        "originalUrl": _url, "ampWebUrl": st.none() | _url, "cdnAmpWebUrl": st.none() | _url,
        "quality": st.integers(0, 100), "heat": st.integers(-1, 10**6), "published": st.booleans(),
        "topics": st.lists(_text, max_size=4), "images": st.lists(_image, max_size=3),
        "related": st.lists(_related, max_size=3),
    },
)  # fmt: skip

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


def _file(article: dict[str, Any]) -> bytes:
    return b"---\n" + yaml.safe_dump(article, allow_unicode=True, sort_keys=False).encode() + b"---\n"


def _errors(article: dict[str, Any]) -> list[Any]:
    return check_bytes("generated.md", _file(article), VALIDATOR, CheckOptions()).errors


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
