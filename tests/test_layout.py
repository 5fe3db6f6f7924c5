"""schema_order: JSON keys in the schema's order, with nothing copied that is already in order."""

from __future__ import annotations

import copy
from typing import Any

from converters.layout import Field, schema_order

_PROVIDER = Field("provider", "object", children=(Field("name", "string"), Field("domain", "string")))
_LAYOUT = Field(
    "",
    "object",
    children=(
        Field("title", "string"),
        _PROVIDER,
        Field("related", "array", items=Field("item", "object", children=(Field("title", "string"), _PROVIDER))),
    ),
)


def test_a_record_already_in_order_is_returned_as_it_is() -> None:
    record = {"title": "t", "provider": {"name": "n", "domain": "d"}, "related": [{"title": "r"}]}
    assert schema_order(_LAYOUT)(record) is record


def test_objects_out_of_order_are_reordered_in_a_copy() -> None:
    record: dict[str, Any] = {
        "related": [{"provider": {"domain": "d", "name": "n"}, "title": "r"}, {"title": "in order"}],
        "title": "t",
    }
    before = copy.deepcopy(record)
    ordered = schema_order(_LAYOUT)(record)
    assert record == before  # the input is never changed, nor its order
    assert list(record) == ["related", "title"]
    assert list(record["related"][0]) == ["provider", "title"]
    assert ordered == record
    assert list(ordered) == ["title", "related"]
    assert list(ordered["related"][0]) == ["title", "provider"]
    assert list(ordered["related"][0]["provider"]) == ["name", "domain"]
    assert ordered["related"][1] is record["related"][1]


def test_keys_the_schema_does_not_list_follow_in_their_own_order() -> None:
    ordered = schema_order(_LAYOUT)({"zeta": 1, "provider": None, "alpha": 2, "title": "t"})
    assert list(ordered) == ["title", "provider", "zeta", "alpha"]


def test_key_orders_past_the_cache_cap_are_still_right() -> None:
    order = schema_order(_LAYOUT)
    for n in range(600):  # more distinct key tuples than the orderer remembers
        extra = f"x{n}"
        assert list(order({extra: n, "provider": {"domain": "d", "name": "n"}, "title": "t"})) == [
            "title",
            "provider",
            extra,
        ]
        assert list(order({"title": "t", extra: n})) == ["title", extra]
