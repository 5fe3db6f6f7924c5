"""Differential tests: each fast path gives the reference's answer on every generated document.

1. The compiled validator (jsonschema-rs) against jsonschema with its
   FormatChecker, built here from the schema file.
2. The fast reader (rapidyaml) against the reference reader, which
   tests/test_fuzz.py holds to PyYAML: whatever the fast reader accepts must
   read exactly alike, types included, with no warning from the reference.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import CASES, EXAMPLES, GOLDEN_CORPUS, REPO, SCHEMA_FILE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import ARTICLES, UNUSUAL_FRONT_MATTER, shaped_articles
from test_fuzz import YAML_TOKENS, mutated_documents

from converters.check import STDIN_NAME, CheckOptions, check_bytes, check_paths
from converters.fast_reader import _indicator_at_node_start, _rare_bytes, _uncertain, fast_record
from converters.limits import Limits
from converters.reader import ReaderError, parse_article
from converters.validate import ArticleValidator

SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
REFERENCE = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
VALIDATOR = ArticleValidator(SCHEMA)
MANY = settings(max_examples=3000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

# Strings near the formats' edges: leap seconds, year 0, lowercase t and z, odd offsets,
# spaces, non-ASCII, percent escapes, brackets, ports.
_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
_date_times = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    st.integers(0, 9999), _digits, _digits, st.sampled_from("Tt _"), _digits, _digits, _digits,
    st.sampled_from(["", ".5", ".123456789", "."]),
    st.sampled_from(["Z", "z", "", "+05:00", "-23:59", "+24:00", "+05:60", "+0500"]),
)  # fmt: skip
_uri_chars = st.sampled_from(list("aZ09-._~:/?#[]@!$&'()*+,;=% <>\"{}|\\^`é\u00a0\t"))
_uris = st.builds(
    lambda scheme, rest: scheme + "".join(rest),
    st.sampled_from(["https://", "http://", "urn:", "mailto:", "", "//", "h ttp://", "1http://"]),
    st.lists(_uri_chars, max_size=30),
)
_any_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | _date_times | _uris,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        found += [p for key, item in value.items() for p in _paths(item, (*prefix, key))]
    elif isinstance(value, list):
        found += [p for index, item in enumerate(value) for p in _paths(item, (*prefix, index))]
    return found


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A valid article with one to three values replaced, keys dropped or keys added."""
    document: dict[str, Any] = copy.deepcopy(draw(ARTICLES))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)[1:]))
        *parents, last = path
        container: Any = document
        for part in parents:
            container = container[part]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "drop" and isinstance(container, dict):
            del container[last]
        elif action == "add" and isinstance(container, dict):
            container[draw(st.text(max_size=10))] = draw(_any_value)
        else:
            container[last] = draw(_any_value)
    return document


def _reference_valid(document: dict[str, Any]) -> bool:
    return not any(True for _ in REFERENCE.iter_errors(document))


@MANY
@given(ARTICLES)
def test_the_compiled_validator_accepts_every_valid_article(document: dict[str, Any]) -> None:
    assert _reference_valid(document)
    assert VALIDATOR.certainly_valid(document)  # the fast path is taken, not just correct


@MANY
@given(corrupted())
def test_the_compiled_validator_never_accepts_what_the_reference_rejects(document: dict[str, Any]) -> None:
    reference = _reference_valid(document)
    if VALIDATOR.certainly_valid(document):
        assert reference
    assert VALIDATOR.is_valid(document) == reference


@MANY
@given(st.dictionaries(st.sampled_from(["publishedDateTime", "webUrl"]), _date_times | _uris, min_size=1))
def test_format_verdicts_agree_on_edge_strings(values: dict[str, Any]) -> None:
    document: dict[str, Any] = {"category": "news", "title": "t", "excerpt": "e", "type": "article",
                                "provider": {"name": "n", "domain": "d"},
                                "publishedDateTime": "2023-08-02T06:44:00Z", "webUrl": "https://e.org/"}  # fmt: skip
    document.update(values)
    assert VALIDATOR.certainly_valid(document) == _reference_valid(document)


# -- the fast reader ------------------------------------------------------------------

LIMITS = Limits()


def _typed(value: Any) -> Any:
    """The value with every scalar's type beside it: 1, 1.0 and True must not compare equal."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _assert_reads_alike(data: bytes) -> bool:
    """-> whether the fast reader took the document; if it did, the reference must read it identically."""
    fast = fast_record(data, LIMITS)
    if fast is None:
        return False
    try:
        reference = parse_article(data, LIMITS)
    except ReaderError as error:
        raise AssertionError(f"the fast reader accepted what the reference refuses: {error.message}") from None
    assert reference.warnings == []
    assert _typed(fast) == _typed(reference.record)
    return True


_FILES = sorted(
    path
    for folder in (EXAMPLES, GOLDEN_CORPUS, CASES)
    for path in folder.rglob("*")
    if path.is_file() and path.suffix in (".md", ".txt", ".yaml", ".yml")
)


@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_bundled_document_reads_alike(path: Any) -> None:
    _assert_reads_alike(path.read_bytes())


def test_the_seeds_and_the_benchmark_corpus_take_the_fast_path() -> None:
    import runpy

    generate = runpy.run_path(str(REPO / "benchmarks" / "generate.py"))
    documents = [p.read_bytes() for p in EXAMPLES.glob("*.txt")]
    documents += [generate["article"](n, 1).encode() for n in range(300)]
    assert all(_assert_reads_alike(data) for data in documents)


_READ_MANY_TIMES = """
import resource, sys
from converters.fast_reader import fast_record
from converters.limits import Limits
data, limits = open(sys.argv[1], "rb").read(), Limits()
assert fast_record(data, limits) is not None
for _ in range(2_000):
    fast_record(data, limits)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(30_000):
    fast_record(data, limits)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_the_fast_reader_keeps_nothing_of_the_files_it_read(tmp_path: Path) -> None:
    # rapidyaml's emit_json_malloc() never frees what it returns: about 3 KB per file,
    # which is about 100 MB over these 30,000 reads, and 300 MB over a 100,000-file corpus.
    # Run elsewhere than the checkout, so that the installed package is the one measured.
    seed = next(EXAMPLES.glob("*.txt"))
    run = subprocess.run(
        [sys.executable, "-c", _READ_MANY_TIMES, str(seed)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    grown_kib = int(run.stdout)
    assert grown_kib < 2 * 1024


@MANY
@given(mutated_documents())
def test_mutated_documents_read_alike_or_go_to_the_reference(document: bytes) -> None:
    event("fast" if _assert_reads_alike(document) else "reference")


_STYLES = st.fixed_dictionaries(
    {
        "default_flow_style": st.sampled_from([False, True, None]),
        "default_style": st.sampled_from([None, None, '"', "'", "|", ">"]),
        "width": st.sampled_from([20, 80, 1000]),
        "indent": st.sampled_from([2, 4]),
        "allow_unicode": st.booleans(),
    }
)
_PLAIN_WORDS = st.sampled_from([t.strip() for t in YAML_TOKENS if t.strip()] + [
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "true", "False", "017", "0o17", "0x1F", "0b101",
    "1_000", "1:20", "1e3", "1.5e+3", ".5", "5.", "-0", "+1", ".inf", "-.Inf", ".NaN", "<<", "=", "2023-08-02",
    "2023-08-02T06:44:00Z", "a: b", "a #b", "#c", "- x", "x -", "'q'", '"q"', "@x", "`x", "%x", "!x", "&x", "*x",
    "?x", "? x", "[a]", "{a: 1}", "a,b", "12345678901234567890", "\u00e9", "é", "\x85", "\u2028", "\ufeff",
])  # fmt: skip
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _PLAIN_WORDS | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_PLAIN_WORDS | st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@MANY
@given(st.dictionaries(_PLAIN_WORDS | st.text(min_size=1, max_size=8), _VALUES, min_size=1, max_size=6), _STYLES)
def test_any_rendering_reads_alike_or_goes_to_the_reference(document: dict[Any, Any], style: dict[str, Any]) -> None:
    try:
        front_matter = yaml.safe_dump(document, sort_keys=False, **style)
    except yaml.YAMLError:
        return
    event("fast" if _assert_reads_alike(f"---\n{front_matter}---\n".encode()) else "reference")


@MANY
@given(st.lists(_PLAIN_WORDS | st.text(max_size=10), min_size=1, max_size=6))
def test_plain_scalars_written_by_hand_read_alike(words: list[str]) -> None:
    """Unquoted scalars, the way authors write them, where YAML 1.1 and 1.2 disagree most."""
    lines = [f"k{number}: {word}" for number, word in enumerate(words)]
    lines += ["list:", *(f"  - {word}" for word in words)]
    event("fast" if _assert_reads_alike(("---\n" + "\n".join(lines) + "\n---\n").encode()) else "reference")


def _printable(value: Any) -> Any:
    """Text an author types: no control characters, which PyYAML would write as escapes."""
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, str):
        return "".join(c for c in value if c.isprintable() and c != "\\")
    return value


@MANY
@given(ARTICLES.map(_printable), _STYLES)
def test_articles_in_every_style_read_alike(article: dict[str, Any], style: dict[str, Any]) -> None:
    front_matter = yaml.safe_dump(article, sort_keys=False, **style)
    event("fast" if _assert_reads_alike(f"---\n{front_matter}---\n".encode()) else "reference")


# The rule _indicator_at_node_start() applies, as one regular expression: one of the
# indicators at the start of the text or after a space, a line break, [, { or ,.
_INDICATOR_AT_NODE_START = re.compile(rb"(?:^|(?<=[ \n\[{,]))[]},&*!%@`?]")


@MANY
@given(st.lists(st.sampled_from([*b"]},&*!%@`? \n[{ax-:'\"."]), max_size=40).map(bytes))
def test_the_indicator_scan_is_its_rule(front_matter: bytes) -> None:
    expected = _INDICATOR_AT_NODE_START.search(front_matter) is not None
    assert _indicator_at_node_start(front_matter, _rare_bytes(front_matter)) == expected


@pytest.mark.parametrize(
    ("front_matter", "uncertain"),
    [
        (b"---\na: 1\n", True),
        (b"a: 1\n--- b\n", True),
        (b"a: 1\n...\n", True),
        (b"a: b---c\nd: e...f\n", False),
        (b"a: 1\n -- b\n", False),
    ],
)
def test_document_markers_at_a_line_start_are_left_to_the_reference(front_matter: bytes, uncertain: bool) -> None:
    assert _uncertain(front_matter, _rare_bytes(front_matter)) is uncertain


# -- one verdict whatever the line endings --------------------------------------------
# The fast reader runs on LF files only; CRLF files and stdin go to the reference alone.
# A document the fast reader takes but libyaml refuses was valid with LF and invalid with CRLF.

CHECK_OPTIONS = CheckOptions()
_ARTICLE = (
    "---\ncategory: news\ntitle: A title\nexcerpt: An excerpt\npublishedDateTime: 2023-08-04T06:59:00Z\n"
    "webUrl: https://example.org/a\ntype: article\n{extra}provider: {provider}\n---\n"
)
_PROVIDER = "{name: Example, domain: example.org}"

Verdict = tuple[bool, list[tuple[str, str, int | None, int | None, str]], list[tuple[str, str, int | None, int | None]]]


def _verdict(data: bytes, name: str = "article.md") -> Verdict:
    result = check_bytes(name, data, VALIDATOR, CHECK_OPTIONS)
    return (
        result.valid,
        [(f.keyword, f.pointer, f.line, f.column, f.message) for f in result.errors],
        [(f.keyword, f.pointer, f.line, f.column) for f in result.warnings],
    )


def _assert_one_verdict(data: bytes) -> Verdict:
    """The same verdict, keywords, lines and columns for the LF file, the CRLF file and stdin."""
    lf = _verdict(data)
    assert _verdict(data.replace(b"\n", b"\r\n")) == lf
    assert _verdict(data, STDIN_NAME) == lf
    return lf


@pytest.mark.parametrize(
    ("extra", "provider", "expected"),
    [
        ("", "{name: :x, domain: example.org}", ("yaml", 8, 18)),
        ("", '{"name"::x, domain: example.org}', ("yaml", 8, 19)),  # found by CI's run of the generated shapes
        ("", '{"name"\n  : "x", domain: example.org}', ("yaml", 9, 3)),
        ("", "{name\n  : x, domain: example.org}", ("yaml", 9, 3)),
        ("", "{name: x, domain: example.org:}", ("yaml", 8, 40)),
        ("", "{name: x, :domain: example.org}", ("yaml", 8, 21)),
        ("", "{name: x, domain: example.org, :}", ("yaml", 8, 42)),
        (":\n", _PROVIDER, ("yaml", 8, 1)),
        (": x\n", _PROVIDER, ("yaml", 8, 1)),
        ("k" * 1025 + ": 1\n", _PROVIDER, ("yaml", 8, 1026)),
        ('"' + "k" * 1023 + '": 1\n', _PROVIDER, ("yaml", 8, 1026)),
        ("topics: [?x]\n", _PROVIDER, ("type", 8, 10)),
        ("topics: [a:]\n", _PROVIDER, ("yaml", 8, 11)),
        ("topics: [a, :b]\n", _PROVIDER, ("yaml", 8, 13)),
        ("images:\n  - 'url\n    x': 1\n", _PROVIDER, ("yaml", 10, 7)),
        ('images:\n  -\n    "url\n     x": 1\n', _PROVIDER, ("yaml", 11, 8)),
        # rapidyaml reads a comment in a flow collection as text, ...
        ("", "{domain: example.org, name: Example  #}", ("yaml", 9, 1)),
        # ... some block scalar headers libyaml refuses, ...
        ("topics:\n- |-1x\n  a\n", _PROVIDER, ("yaml", 9, 6)),
        ("topics:\n- >  -1\n  a\n", _PROVIDER, ("yaml", 9, 6)),
        # ... and what follows a quoted or flow entry on its line as the next node.
        ('topics:\n- "a" - b\n', _PROVIDER, ("yaml", 9, 7)),
        ("topics:\n- [a,\n  b] - c\n", _PROVIDER, ("yaml", 10, 6)),
        ('topics:\n- "a" b: c\n', _PROVIDER, ("yaml", 9, 7)),
    ],
)
def test_shapes_libyaml_refuses_have_one_verdict_whatever_the_line_endings(
    extra: str, provider: str, expected: tuple[str, int, int]
) -> None:
    data = _ARTICLE.format(extra=extra, provider=provider).encode()
    valid, errors, _ = _assert_one_verdict(data)
    assert not valid
    assert (errors[0][0], errors[0][2], errors[0][3]) == expected
    assert fast_record(data, LIMITS) is None


@pytest.mark.parametrize(
    "extra",
    [
        "k" * 1024 + ": 1\n",  # libyaml's limit: a simple key spans at most 1,024 characters
        "'" + "k" * 1022 + "': 1\n",
        "excerpt2: " + "long text " * 200 + "\n",  # long values are not keys
    ],
)
def test_keys_up_to_libyamls_limit_take_the_fast_path(extra: str) -> None:
    data = _ARTICLE.format(extra=extra, provider=_PROVIDER).encode()
    assert _assert_reads_alike(data)
    _assert_one_verdict(data)


def test_a_duplicate_webUrl_is_located_in_both_files(tmp_path: Path) -> None:
    # b.md was valid with LF, and then its duplicate could not be located: the reference refused it.
    for name, provider in [("a.md", _PROVIDER), ("b.md", "{name: :x, domain: example.org}"), ("c.md", _PROVIDER)]:
        (tmp_path / name).write_text(_ARTICLE.format(extra="", provider=provider), encoding="utf-8")
    results = list(check_paths([str(tmp_path)], CheckOptions(jobs=1)))
    assert [[f.keyword for f in r.errors] for r in results] == [[], ["yaml"], ["unique"]]
    assert all(f.line is not None and f.column is not None for r in results for f in r.errors)
    assert results[2].errors[0].message.endswith(f"{tmp_path / 'a.md'}:6")


@MANY
@given(UNUSUAL_FRONT_MATTER)
def test_unusual_shapes_read_alike_or_go_to_the_reference(front_matter: str) -> None:
    event("fast" if _assert_reads_alike(f"---\n{front_matter}---\n".encode()) else "reference")


@MANY
@given(shaped_articles())
def test_shaped_articles_read_alike_or_go_to_the_reference(data: bytes) -> None:
    event("fast" if _assert_reads_alike(data) else "reference")


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(shaped_articles() | UNUSUAL_FRONT_MATTER.map(lambda front_matter: f"---\n{front_matter}---\n".encode()))
def test_every_shape_has_one_verdict_whatever_the_line_endings(data: bytes) -> None:
    """The whole check, as LF bytes, as CRLF bytes and on stdin: one verdict, keywords, lines and columns."""
    valid, errors, _ = _assert_one_verdict(data)
    event("valid" if valid else f"invalid: {errors[0][0]}")
