"""Hypothesis strategies for valid articles, shared by the property and fuzz tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml
from hypothesis import strategies as st

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
# Any text but NUL, and NEL (U+0085): PyYAML writes a NEL raw in a quoted scalar, where
# YAML 1.1 folds it to a space, so its own round trip loses it (ours reads it as PyYAML does).
_excerpt = st.text(max_size=200).filter(lambda s: "\x00" not in s and "\x85" not in s)
ARTICLES = st.fixed_dictionaries(
    {
        "category": _text, "title": _text, "excerpt": _excerpt,
        "publishedDateTime": _timestamp, "webUrl": _url, "type": _text, "provider": _provider,
    },
    optional={
        "originalUrl": _url, "ampWebUrl": st.none() | _url, "cdnAmpWebUrl": st.none() | _url,
        "quality": st.integers(0, 100), "heat": st.integers(-1, 10**6), "published": st.booleans(),
        "topics": st.lists(_text, max_size=4), "images": st.lists(_image, max_size=3),
        "related": st.lists(_related, max_size=3),
    },
)  # fmt: skip


def article_file(article: dict[str, Any], body: str | None = None) -> bytes:
    """An article file as an author writes it: PyYAML's rendering of the values, then the body."""
    front_matter = yaml.safe_dump(article, allow_unicode=True, sort_keys=False)
    return f"---\n{front_matter}---\n{body or ''}".encode()


# -- YAML shapes where parsers part ways -------------------------------------------------
# Front matter built from the layouts libyaml and rapidyaml read differently, or that PyYAML
# refuses: keys empty, quoted, over lines, spaced from their `:`, or around libyaml's 1,024-
# character limit; `:x`, `?x`, `=` and `<<` as values; flow collections whose entries break
# lines anywhere; anchors (twice, on keys), aliases to them; the tags `!`, `!!str`, `!!int`...;
# block scalar headers; and a sequence entry after a quoted one on its line (`- "a" - b`).
# Most are not valid YAML, and need not be: each reader must refuse them alike.

# Words every reader reads alike, and odd ones.
_TAME_WORDS = st.sampled_from(["a", "news", "x y", "é", "a-b", "a.b", "a'b", "a b c", "x:y", "a - b", "-x", "a:"])
_ODD_WORDS = st.sampled_from(
    ["yes", "50", "1.5", "~", "=", "<<", ":x", "?x", "x:", "0o17", "2023-08-02", "a #b", "|", ">", "-", "?", ":",
     "", "a,b", "[a]", "{a: b}", "x :y"]
)  # fmt: skip
_PROPERTIES = st.sampled_from([""] * 40 + ["! ", "!!str ", "!!int ", "!!bool ", "!!null ", "!!float ", "&a ", "&b ",
                                            "&a ! ", "! &b ", "&a !!str "])  # fmt: skip
_ALIASES = st.sampled_from(["*a", "*b", "*a ", "*k"])
_GAPS = st.sampled_from(["", "", " ", "  "])
_BLOCK_HEADERS = st.sampled_from(["|", "|-", ">", ">+", "|2", ">-1", "| #c", "|x", "|  ", ">-  # -"])


def _indented(indent: int) -> st.SearchStrategy[str]:
    return st.integers(0, 3).map(lambda extra: "\n" + " " * (indent + extra))


def _or_line_break(options: list[str], indent: int) -> st.SearchStrategy[str]:
    """One of the options, or, as often as any one of them, a line break and an indentation."""
    return st.sampled_from([*options, None]).flatmap(lambda o: _indented(indent) if o is None else st.just(o))


@st.composite
def _scalar(draw: st.DrawFn, indent: int, flow: bool, odd: bool) -> str:
    if odd and draw(st.integers(0, 9)) == 0:
        return draw(_ALIASES)
    word = draw(_TAME_WORDS | _ODD_WORDS | st.text(alphabet="ab :,#-?'\"", max_size=6) if odd else _TAME_WORDS)
    styles = ["plain", "plain", "plain", "single", "double", "over lines"] + ([] if flow else ["block"])
    style = draw(st.sampled_from(styles))
    if style == "single":
        text = "'" + word.replace("'", "''") + "'"
    elif style == "double":
        text = '"' + word.replace('"', "") + '"'
    elif style == "over lines":
        quote = draw(st.sampled_from("\"'"))
        text = quote + "a" + draw(_indented(indent + 1)) + word.replace(quote, "") + quote
    elif style == "block":
        text = draw(_BLOCK_HEADERS) + "\n" + " " * (indent + 2) + (word or "a")
    else:
        text = word
    return (draw(_PROPERTIES) if odd else "") + text


@st.composite
def _key(draw: st.DrawFn, indent: int, flow: bool, odd: bool) -> str:
    """A key and its `:`, in any layout."""
    kinds = ["word"] * 8 + ["quoted", "quoted", "empty", "long", "over lines"] + (["property"] if odd else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "empty":
        key = ""
    elif kind == "long":  # libyaml's limit: a key spans at most 1,024 characters up to its `:`
        length = draw(st.integers(1016, 1030))
        key = draw(st.sampled_from(["k" * length, '"' + "k" * (length - 2) + '"', "é" * (length // 2)]))
    elif kind == "over lines":
        quote = draw(st.sampled_from("\"'"))
        key = quote + "a" + draw(_indented(indent + 1)) + "b" + quote
    elif kind == "quoted":
        key = draw(st.sampled_from(['"k"', "'k'", '""', "''", '"k:"', "'a b'"]))
    elif kind == "property":
        key = draw(st.sampled_from(["&k k", "&a k", "! k", "!!str k", "! 5", "!!str <<", "! <<", "&k <<"]))
    else:
        key = draw(st.sampled_from(["k", "title", "type", "=", "<<", "a b", "k:x", "-k", "1", "yes"]))
    before_colon = draw(_or_line_break(["", "", " ", "  "], indent) if flow else _GAPS)
    return key + before_colon + ":"


@st.composite
def _flow(draw: st.DrawFn, indent: int, depth: int, odd: bool) -> str:
    mapping = draw(st.booleans())
    entries = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3]))):  # `[]` is left to the reference: rarely
        if depth > 0 and draw(st.booleans()):
            value = draw(_flow(indent + 2, depth - 1, odd))
        else:
            value = draw(_scalar(indent, True, odd))
        if mapping or draw(st.integers(0, 3)) == 0:  # a sequence may hold single pairs: [a: b]
            after_colon = draw(_or_line_break([" ", " ", " ", "", "  "], indent + 2))
            value = draw(_key(indent + 2, True, odd)) + after_colon + value
        entries.append(value)
    # A space or a line break before `]` or `}` is left to the reference (see _INDICATORS): rarely.
    gaps = _or_line_break([", ", ", ", ", ", ",", " , "], indent + 2).map(lambda gap: gap if "," in gap else "," + gap)
    ends = _or_line_break(["", "", "", "", "", " ", ",", ", "], indent)
    text = "".join(entry + (draw(gaps) if n < len(entries) - 1 else draw(ends)) for n, entry in enumerate(entries))
    opening, closing = ("{", "}") if mapping else ("[", "]")
    start = draw(_or_line_break(["", "", "", " "], indent + 2))
    return (draw(_PROPERTIES) if odd else "") + opening + start + text + closing


@st.composite
def _block_sequence(draw: st.DrawFn, indent: int, depth: int, odd: bool) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        item = draw(st.one_of(_scalar(indent + 2, False, odd), _flow(indent + 2, 1, odd), st.just("")))
        if depth > 0 and draw(st.integers(0, 3)) == 0:
            item = draw(_block_mapping(indent + 2, depth - 1, odd)).lstrip(" ").rstrip("\n")
        trailer = draw(st.sampled_from(["", "", "", " - b", " -", "  - b", " # c"]))
        lines.append(" " * indent + "-" + draw(st.sampled_from([" ", " ", "  "])) + item + trailer + "\n")
    return "".join(lines)


@st.composite
def _block_mapping(draw: st.DrawFn, indent: int, depth: int, odd: bool) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        line = " " * indent + draw(_key(indent, False, odd))
        kind = draw(st.sampled_from(["scalar", "scalar", "flow", "mapping", "sequence", "empty"]))
        if kind == "mapping" and depth > 0:
            if odd:
                line += draw(_PROPERTIES.map(lambda p: " " + p.rstrip() if p else ""))
            line += "\n" + draw(_block_mapping(indent + 2, depth - 1, odd))
        elif kind == "sequence" and depth > 0:
            line += "\n" + draw(_block_sequence(indent + draw(st.sampled_from([0, 2])), depth - 1, odd))
        elif kind == "flow":
            line += " " + draw(_flow(indent, 2, odd)) + "\n"
        elif kind == "empty":
            line += "\n"
        else:
            line += " " + draw(_scalar(indent, False, odd)) + "\n"
        lines.append(line)
    return "".join(lines)


# Half the documents have no anchors, aliases, tags or odd words, which the fast reader
# mostly leaves to the reference: the layouts around them are then what it must get right.
UNUSUAL_FRONT_MATTER = st.tuples(st.integers(0, 3), st.booleans()).flatmap(
    lambda shape: _block_mapping(0, shape[0], shape[1])
)


# -- the same shapes inside an otherwise valid article -----------------------------------
# Where a shape reads as the value it stands for, the article stays valid: a reader that
# takes a shape libyaml refuses makes a valid LF file and an invalid CRLF one.

_Chunks = dict[str, str]  # each top-level key's lines, in order


def _provider_flow(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    layouts = ["{k}: {v}", '"{k}": {v}', "{k} : {v}", "{k}\n  : {v}", '"{k}"\n  : {v}', "{k}:\n    {v}", '"{k}":{v}']
    name = json.dumps(article["provider"]["name"], ensure_ascii=False)
    names = [name, ":x", "?x", "x:", "! x", "!!str x", "&p x", "x #c", "'x'"]
    entries = [
        draw(st.sampled_from(layouts)).format(k="name", v=draw(st.sampled_from(names))),
        draw(st.sampled_from(layouts)).format(k="domain", v=article["provider"]["domain"]),
    ]
    separator = draw(st.sampled_from([", ", ",\n  ", "\n  , ", " ,"]))
    chunks["provider"] = "provider: {" + separator.join(entries) + draw(st.sampled_from(["}", " }", ",}"])) + "\n"


def _tagged(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    quality = draw(
        st.sampled_from(["! {n}", "! '{n}'", '!!int "{n}"', "!!int {n}", "!!str {n}", "!!float {n}", "! |\n  {n}"])
    )
    chunks["quality"] = "quality: " + quality.format(n=draw(st.integers(0, 100))) + "\n"
    published = draw(st.sampled_from(["! yes", "! true", '!!bool "true"', "! 'no'"]))
    title = draw(st.sampled_from(["!!str 5", "! abc", '! "abc"', "!!str abc", "! ''", "!"]))
    chunks["published"], chunks["title"] = f"published: {published}\n", f"title: {title}\n"


def _anchored(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    kind = draw(st.sampled_from(["alias", "twice", "on a key", "too early", "in flow"]))
    if kind == "alias":
        chunks["title"] = "title: &t " + json.dumps(article["title"], ensure_ascii=False) + "\n"
        chunks["excerpt"] = "excerpt: *t\n"
    elif kind == "twice":
        chunks["category"] = "category: &t news\n"
        chunks["type"] = "type: &t article\n"
    elif kind == "on a key":
        chunks["type"] = draw(st.sampled_from(["&k type: article\n", "&k 'type': article\n"]))
        chunks["category"] = "category: *k\n"  # "type"
    elif kind == "too early":
        chunks["category"] = "category: *t\n"
        chunks["type"] = "type: &t article\n"
    else:
        chunks["topics"] = "topics: [&t a, *t, b]\n"


def _indicator_values(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    chunks["category"] = "category: " + draw(st.sampled_from(["=", "<<", "'='", '"<<"', "! =", "!!str =", "=x"])) + "\n"


def _odd_keys(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    length = draw(st.sampled_from([1022, 1023, 1024, 1025, 1030]))
    key = draw(st.sampled_from([":", ": x", '"": x', "''", "k" * length + ": 1", '"' + "k" * (length - 2) + '": 1']))
    chunks["extra"] = key + "\n"


def _topics(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    chunks["topics"] = "topics:" + draw(
        st.sampled_from(
            [" [a, :x]", " [?x]", " [a:]", " [a, b]", " [a,\n  b]", ' ["a"\n  , b]', " [a #c\n  ]", " [a:b]", " [a: b]",
             "\n- \"a\" - b", "\n- [a] - b", "\n  - 'a'\n  - b", "\n- - a", " [\"a\":b]", " {a: b}"]
        )
    ) + "\n"  # fmt: skip


def _block_scalar(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    header = draw(st.sampled_from(["|", "|-", ">", ">-", "|+", "|2", ">1", "|-1 x", "| # c", "|  # -", ">x"]))
    chunks["excerpt"] = f"excerpt: {header}\n  An excerpt\n   over lines\n\n  ending\n"


def _key_over_lines(draw: st.DrawFn, chunks: _Chunks, article: dict[str, Any]) -> None:
    layouts = ['  - "url\n    x": 1\n', "  -\n    'url\n     x': 1\n", '  - url: a\n    "is\n     Cached": 1\n']
    chunks["images"] = "images:\n" + draw(st.sampled_from(layouts))


# The fast reader leaves tags and anchors to the reference: the shapes it reads come more often.
_SHAPES = [_provider_flow] * 3 + [_topics] * 2 + [_odd_keys, _block_scalar, _key_over_lines]
_SHAPES += [_tagged, _anchored, _indicator_values]


def _tame(value: Any) -> Any:
    """The value with letters, digits and spaces for text, which every reader reads alike, and
    no empty lists (`[]` is left to the reference): whether the fast reader takes the file is
    then up to the shapes put in it."""
    if isinstance(value, dict):
        return {key: _tame(item) for key, item in value.items() if item != []}
    if isinstance(value, list):
        return [_tame(item) for item in value]
    if isinstance(value, str) and not value.startswith(("http", "20", "19")):  # URLs and date-times stay
        return "t" + "".join(c if (c.isalnum() and c.isprintable()) or c in ".-" else " " for c in value).rstrip()
    return value


@st.composite
def shaped_articles(draw: st.DrawFn) -> bytes:
    """A valid article's file with one to three of the shapes above in it."""
    article = _tame(draw(ARTICLES))
    chunks = {key: yaml.safe_dump({key: value}, allow_unicode=True, width=2**30) for key, value in article.items()}
    for shape in draw(st.lists(st.sampled_from(_SHAPES), min_size=1, max_size=2)):
        shape(draw, chunks, article)
    return ("---\n" + "".join(chunks.values()) + "---\n").encode()
