"""The front-matter reader, checked against PyYAML's own loader and the raw text."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CASES, SEEDS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import UNUSUAL_FRONT_MATTER
from test_fuzz import _without_timestamps

from converters.limits import Limits
from converters.reader import ReaderError, parse_article, read_stream

LIMITS = Limits()


def _front_matter(text: str) -> str:
    return text.split("---\n")[1]


def _as_instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seed_matches_pyyaml_except_timestamps_stay_text(seed: Any) -> None:
    text = seed.read_text(encoding="utf-8")
    ours = parse_article(seed.read_bytes(), LIMITS).record
    reference = yaml.safe_load(_front_matter(text))

    assert isinstance(ours["publishedDateTime"], str)
    assert ours["publishedDateTime"] in text  # the author's text, unchanged
    for mine, theirs in [(ours, reference), *zip(ours["related"], reference["related"], strict=True)]:
        assert _as_instant(mine.pop("publishedDateTime")) == theirs.pop("publishedDateTime")
    assert ours == reference


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_positions_count_the_opening_delimiter_as_line_one(seed: Any) -> None:
    lines = seed.read_text(encoding="utf-8").split("\n")
    article = parse_article(seed.read_bytes(), LIMITS)

    def line_of(prefix: str, after: int = 0) -> int:
        return next(n for n, line in enumerate(lines, start=1) if n > after and line.startswith(prefix))

    assert article.positions[("category",)] == (line_of("category:"), len("category: ") + 1)
    assert article.positions[("provider",)] == (line_of("provider:"), 1)
    related = line_of("related:")
    assert article.positions[("related", 0)].line == related + 1
    assert article.positions[("related", 0, "provider", "name")] == (
        line_of("      name:", related),
        len("      name: ") + 1,
    )
    images = line_of("    images:", related)
    assert article.positions[("related", 0, "images", 0, "url")] == (images + 1, len("      - url: ") + 1)


def test_bom_and_crlf_give_the_same_values_and_positions() -> None:
    seed = SEEDS[0].read_bytes()
    plain = parse_article(seed, LIMITS)
    windows = parse_article(b"\xef\xbb\xbf" + seed.replace(b"\n", b"\r\n"), LIMITS)
    assert windows.record == plain.record
    assert windows.positions == plain.positions


def test_body_is_the_text_after_the_closing_delimiter() -> None:
    article = parse_article((CASES / "valid" / "with-body.md").read_bytes(), LIMITS)
    assert article.record["body"] == "First paragraph of the body.\n\nSecond paragraph."
    assert article.positions[("body",)].line == 13  # 11 front-matter lines, a blank line, then the text


def test_blank_text_after_the_front_matter_is_no_body() -> None:
    assert "body" not in parse_article(SEEDS[0].read_bytes(), LIMITS).record


def test_impossible_date_is_kept_as_text_for_the_validator() -> None:
    data = b"---\nwhen: 2023-02-30T25:61:00Z\n---\n"
    with pytest.raises(ValueError, match="day is out of range"):  # what PyYAML's loader does with it
        yaml.safe_load(data.split(b"---\n")[1])
    assert parse_article(data, LIMITS).record == {"when": "2023-02-30T25:61:00Z"}


def test_read_stream_stops_one_byte_past_the_limit() -> None:
    small = Limits(max_file_size=10)
    assert read_stream(io.BytesIO(b"x" * 10), small) == b"x" * 10
    with pytest.raises(ReaderError) as caught:
        read_stream(io.BytesIO(b"x" * 1_000_000), small)
    assert caught.value.keyword == "size"


@pytest.mark.parametrize("size", [0, 9, 10, 11, 50_000])
def test_read_stream_reads_files_and_pipes_whole_up_to_the_limit(tmp_path: Path, size: int) -> None:
    limit = Limits(max_file_size=10 if size < 50_000 else 40_000)
    content = bytes(range(256)) * (size // 256) + b"y" * (size % 256)
    file = tmp_path / "article.md"
    file.write_bytes(content)
    with open(file, "rb") as stream:
        from_file = _read_or_keyword(stream, limit)
    reading, writing = os.pipe()  # a pipe's size is unknown: it is read up to the limit
    with open(reading, "rb") as stream:
        writer = threading.Thread(target=_write_and_close, args=(writing, content))
        writer.start()
        from_pipe = _read_or_keyword(stream, limit)
        stream.read()  # let the writer finish when the limit cut the read short
        writer.join()
    expected = content if size <= limit.max_file_size else "size"
    assert from_file == expected
    assert from_pipe == expected


@pytest.mark.parametrize(("content", "expected"), [(b"x" * 8, b"x" * 8), (b"x" * 11, "size")])
def test_read_stream_reads_past_the_size_a_growing_file_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: bytes | str
) -> None:
    file = tmp_path / "growing.md"
    file.write_bytes(content)
    # The size the file had when it was looked at, before it grew to its content.
    monkeypatch.setattr(os, "fstat", lambda descriptor: os.stat_result((0,) * 6 + (5,) + (0,) * 3))
    with open(file, "rb") as stream:
        assert _read_or_keyword(stream, Limits(max_file_size=10)) == expected


def _read_or_keyword(stream: Any, limits: Limits) -> bytes | str:
    try:
        return read_stream(stream, limits)
    except ReaderError as error:
        return error.keyword


def _write_and_close(descriptor: int, content: bytes) -> None:
    with open(descriptor, "wb") as stream, contextlib.suppress(BrokenPipeError):
        stream.write(content)


def _peak_bytes(data: bytes) -> tuple[str, int]:
    tracemalloc.start()
    try:
        with pytest.raises(ReaderError) as caught:
            parse_article(data, LIMITS)
        return caught.value.keyword, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_billion_laughs_fails_in_bounded_memory() -> None:
    lines = ["---", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        lines.append(f"{chr(97 + level)}: &{chr(97 + level)} [{', '.join([f'*{chr(96 + level)}'] * 10)}]")
    keyword, peak = _peak_bytes(("\n".join(lines) + "\n---\n").encode())
    assert keyword == "alias-budget"
    assert peak < 20 * 2**20  # a full expansion would be 10^10 values


def test_wide_alias_bomb_fails_in_bounded_memory() -> None:
    text = "---\na: &a [" + ", ".join(["x"] * 1000) + "]\nb: [" + ", ".join(["*a"] * 100_000) + "]\n---\n"
    keyword, peak = _peak_bytes(text.encode())
    assert keyword == "alias-budget"
    assert peak < 20 * 2**20


@pytest.mark.parametrize(
    "nesting",
    ["[" * 100_000 + "]" * 100_000, "{a: " * 100_000 + "}" * 100_000, "- " * 100_000 + "x"],
    ids=["flow-sequence", "flow-mapping", "block-sequence"],
)
def test_100000_deep_nesting_is_refused_without_recursion(nesting: str) -> None:
    keyword, peak = _peak_bytes(f"---\nx:\n  {nesting}\n---\n".encode())
    assert keyword == "depth"
    assert peak < 20 * 2**20


_DEEP = {
    "flow-sequence": "x: " + "[" * 100_000 + "]" * 100_000,
    "flow-mapping": "x: " + "{a: " * 100_000 + "}" * 100_000,
    "block-sequence": "x:\n  " + "- " * 100_000 + "x",
    "after-non-ascii-text": "é: [" + "{a: [" * 2_000 + "]}" * 2_000 + "]",
    "after-an-earlier-error": "a: 1\na: 2\nx: " + "[" * 2_000,
}
_DEEP_EXPECTED = {
    "flow-sequence": ("depth", 2, 67),
    "flow-mapping": ("depth", 2, 256),
    "block-sequence": ("depth", 3, 129),
    "after-non-ascii-text": ("depth", 2, 160),
    "after-an-earlier-error": ("duplicate-key", 3, 1),
}


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
@pytest.mark.parametrize("name", list(_DEEP))
def test_depth_error_is_ours_whatever_nesting_limit_the_yaml_parser_has(
    name: str, parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libyaml 0.2.6 refuses 1,000 levels by itself, reading ahead of its events; PyYAML's
    pure-Python parser has no limit, like older libyaml. Both must give our keyword and position."""
    from converters import yaml_tree

    if parser == "pure-python":
        monkeypatch.setattr(yaml_tree, "_Parser", yaml.SafeLoader)
    else:
        assert yaml_tree._Parser is yaml.CSafeLoader  # the wheels ship libyaml: the case that drifted
    with pytest.raises(ReaderError) as refused:
        parse_article(f"---\n{_DEEP[name]}\n---\n".encode(), LIMITS)
    position = refused.value.position
    assert position is not None
    assert (refused.value.keyword, position.line, position.column) == _DEEP_EXPECTED[name]


# -- differential: every document PyYAML writes, we read as PyYAML reads it ----------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)  # refused by design: not JSON numbers
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
    | st.sampled_from(["yes", "no", "on", "off", "NO", "1:20", "017", "~", "null", "<<", "=", "1e3", "0x1F", ".inf"])
)
_keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=15)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(document=st.dictionaries(_keys, _values, min_size=1, max_size=6), flow=st.booleans())
def test_reader_agrees_with_pyyaml_on_documents_pyyaml_writes(document: dict[str, Any], flow: bool) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow, sort_keys=False)
    if "\n---" in "\n" + text or "\n..." in "\n" + text:
        return  # a line that would end the front matter early: not a front-matter document
    data = f"---\n{text}---\n".encode()
    reference = yaml.safe_load(text)
    ours = parse_article(data, LIMITS).record
    assert _equal(ours, reference)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isinf(a):
        return a == b
    return type(a) is type(b) and a == b


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(ReaderError, match="collection that contains it") as caught:
        parse_article(b"---\na: &loop [1, *loop]\n---\n", LIMITS)
    assert caught.value.position == (2, len("a: &loop [1, ") + 1)


# -- anchors, tags and indicators: the reference refuses what PyYAML refuses, or reads it alike ---


def _pyyaml(front_matter: str) -> Any:
    return yaml.load(front_matter, Loader=yaml.CSafeLoader)


def _refused(front_matter: str) -> tuple[str, int, int]:
    with pytest.raises(ReaderError) as caught:
        parse_article(f"---\n{front_matter}---\n".encode(), LIMITS)
    position = caught.value.position
    assert position is not None
    return caught.value.keyword, position.line, position.column


@pytest.mark.parametrize(
    ("front_matter", "second"),
    [
        ("a: &x 1\nb: &x 2\n", (3, 4)),
        ("a: &x [&x 1]\n", (2, 8)),
        ("&x a: 1\nb: &x 2\n", (3, 4)),  # the first one on a key
        ("a: !!str &x 1\nb: &x {c: d}\n", (3, 4)),
    ],
)
def test_an_anchor_defined_twice_is_refused_where_pyyaml_refuses_it(front_matter: str, second: tuple[int, int]) -> None:
    with pytest.raises(yaml.composer.ComposerError, match="found duplicate anchor"):
        _pyyaml(front_matter)
    assert _refused(front_matter) == ("duplicate-anchor", *second)


@pytest.mark.parametrize("front_matter", ["&k a: 1\nb: *k\n", "x:\n  &k a: 1\n  b: [*k, *k]\n", "&k 'a b': 1\nc: *k\n"])
def test_an_alias_to_an_anchored_key_reads_as_the_key(front_matter: str) -> None:
    article = parse_article(f"---\n{front_matter}---\n".encode(), LIMITS)
    assert _equal(article.record, _pyyaml(front_matter))
    assert article.warnings == []


# The non-specific tag `!`: libyaml marks such a scalar plain-implicit whatever its style, and
# PyYAML resolves it by its text, as it does a plain scalar; YAML 1.2 loaders read it as text.
_NON_SPECIFIC = ["! 50", "! '50'", '! "50"', "! |\n  50\n", "! yes", "! ''", "! ~", "! 1.5", "! abc", "! '0o17'", "!"]


@pytest.mark.parametrize("value", _NON_SPECIFIC)
def test_the_non_specific_tag_reads_as_pyyaml_reads_it_with_a_warning_when_yaml12_differs(value: str) -> None:
    front_matter = f"quality: {value}\n"
    article = parse_article(f"---\n{front_matter}---\n".encode(), LIMITS)
    expected = _pyyaml(front_matter)
    assert _equal(article.record, expected)
    text = yaml.load(f"quality: {value.replace('!', '!!str', 1)}\n", Loader=yaml.CSafeLoader)["quality"]
    if expected["quality"] == text and isinstance(expected["quality"], str):
        assert article.warnings == []
    else:
        [warning] = article.warnings
        assert (warning.keyword, warning.position, warning.path) == ("yaml11", (2, 10), ("quality",))
        assert "YAML 1.2" in warning.message


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("a: =\n", ("value", 2, 4)),
        ("a: <<\n", ("value", 2, 4)),
        ("a: [x, =]\n", ("value", 2, 8)),
        ("a:\n  - <<\n", ("value", 3, 5)),
        ("a: ! =\n", ("value", 2, 4)),
        ("a: ! '<<'\n", ("value", 2, 4)),
        ("! <<: {b: 1}\n", ("merge-key", 2, 1)),
    ],
)
def test_the_value_and_merge_indicators_are_refused_where_pyyaml_does_not_read_them_as_text(
    front_matter: str, expected: tuple[str, int, int]
) -> None:
    if expected[0] == "value":
        with pytest.raises(yaml.constructor.ConstructorError, match="could not determine a constructor"):
            _pyyaml(front_matter)
    assert _refused(front_matter) == expected


@pytest.mark.parametrize("front_matter", ["=: x\n", "a: '='\n", 'a: "<<"\n', "a: !!str <<\n", "a: |\n  =\n"])
def test_the_value_and_merge_indicators_read_as_text_where_pyyaml_reads_them_so(front_matter: str) -> None:
    article = parse_article(f"---\n{front_matter}---\n".encode(), LIMITS)
    assert _equal(article.record, _pyyaml(front_matter))


@settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(front_matter=UNUSUAL_FRONT_MATTER)
def test_the_reader_refuses_or_reads_as_pyyaml_the_shapes_where_parsers_part_ways(front_matter: str) -> None:
    """Anchors (twice, on keys), aliases, the tags `!`, `!!str`, `!!int`..., `=` and `<<`, keys of every
    layout: what PyYAML refuses is refused, and what is read reads as PyYAML reads it."""
    try:
        article = parse_article(f"---\n{front_matter}---\n".encode(), LIMITS)
    except ReaderError as error:
        event(f"refused: {error.keyword}")
        return
    try:
        reference = _pyyaml(front_matter)
    except (yaml.YAMLError, ValueError, TypeError, KeyError) as error:  # a constructor's own errors too
        raise AssertionError(f"read as {article.record!r}, which PyYAML refuses: {error}") from None
    assert _without_timestamps(article.record) == _without_timestamps(reference)
    event("read")


@pytest.mark.parametrize("value", ["!!float", "!!int ''", '!!float ""', "!!bool"])
def test_an_empty_scalar_with_a_number_tag_is_refused_not_a_crash(value: str) -> None:
    assert _refused(f"a: {value}\n") == ("tag", 2, 4)
