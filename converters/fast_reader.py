"""The fast path for the common article: rapidyaml -> JSON -> orjson, about 15 times faster.

The reference reader (reader.py, on PyYAML's libyaml events) records a line
and column for every value, which costs more than validating. Most files are
valid, and a valid file needs no positions, so a file is first read here,
without them. When the result is valid, that is the answer; when it is not,
or when this reader is not certain it reads the file exactly as the
reference does, the file is read again by the reference reader, which words
the errors. This module only ever answers "here is the record" or "ask the
reference": it never reports an error itself.

rapidyaml is a YAML 1.2 parser and the reference follows YAML 1.1 as PyYAML
does, so any document where the two could differ goes to the reference:
- a string that YAML 1.1 or 1.2 would read as a number, boolean or null when
  plain (`yes`, `017`, `1:20`, `0o17`, `~`), since the JSON no longer says
  whether it was quoted; and any float, since `1e3` is a string in YAML 1.1;
- anchors, aliases, tags, complex keys, directives, reserved indicators,
  tabs, backslash escapes and characters YAML does not allow;
- a repeated key (the node count of the tree and of the result differ),
  and nesting deeper than the depth limit;
- what libyaml refuses and rapidyaml reads: an empty key (`: x`), a key
  that spans lines, or one whose `:` is more than 1,024 characters on; in
  flow collections, a `:` or `?` that libyaml reads as an indicator where
  rapidyaml reads text (`{a: :x}`, `[a:]`, `[?x]`), and comments; a block
  scalar header with more than a chomping indicator (`|2`, `|-1x`); and a
  `-` entry after a quoted or flow entry on its line (`- "a" - b`).
tests/test_fast_paths.py checks that every document accepted here reads
exactly as the reference reads it, on generated documents made of these
shapes among others, and that a file's verdict is the same whatever reader
and line endings it gets.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from converters.limits import Limits
from converters.reader import ReaderError, split_front_matter

try:
    import orjson
    import ryml
except ImportError:  # a platform without wheels: everything takes the reference path
    ryml = None

# The content of a JSON string that some YAML version reads as something else when plain:
# PyYAML's YAML 1.1 int, float, bool, null, merge and value patterns, and YAML 1.2's core schema.
_NOT_PLAIN_TEXT = re.compile(
    rb'"(?=[-+.0-9yYnNtTfFoO~<=])(?:'
    rb"[-+]?(?:0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)"
    rb"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    rb"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    rb"|~|null|Null|NULL|<<|="
    rb')"'
)
# Syntax the two parsers treat differently, or that the reference refuses, at the start of a
# node: properties (&anchor, *alias, !tag), complex keys (?: libyaml reads `?x` in a flow
# collection as a key, rapidyaml as text), directives (%), the reserved indicators @ and `,
# and flow indicators (] } ,) that cannot start a plain scalar.
# Each character is found with bytes.find (memchr), and only its neighbours are looked at:
# they are rare, and spaces are everywhere. A regular expression with the context in it
# was 5 times slower, and one that finds the characters alone 2 to 6 times slower than this.
_INDICATORS = b"]},&*!%@`?"
_NODE_START_AFTER = frozenset(b" \n[{,")
# In a flow collection libyaml reads `:` as an indicator at the start of a node (`{a: :x}`,
# `{"a"::x}`, `{"a"\n : b}`, `{: b}`) and refuses one before a flow indicator or `?` (`[a:]`,
# `[a:?]`); rapidyaml reads text, or a key. `:` is in every line, and this regular expression
# costs about 1 ns a byte, so it runs only when a flow collection may be there.
_FLOW_COLON = re.compile(rb":(?:(?<=[\n \[{,:]:)|[],?[{}])")
# libyaml gives up on a key once the `:` after it is more than 1,024 characters (bytes or
# more) from where it starts; rapidyaml has no limit.
_KEY_SPAN_LIMIT = 1024
# The block scalar headers both parsers read alike: a chomping indicator at most. rapidyaml
# reads some that libyaml refuses (`|-1x`, `>  -1`), takes a `-` in a comment after one for
# a chomping indicator, and reads lines of spaces under an indentation indicator otherwise.
_BLOCK_SCALAR_HEADER = re.compile(rb"[-+]? *(?:\n|$)")
_VALUE_START_AFTER = frozenset(b":-?\n")
_COMMENT_AFTER = frozenset(b" \n")
# A line that starts with a document marker, or with a sequence entry that is quoted or a
# flow collection (see _odd_entry). Run on "\n" + front matter, so that the first line starts
# with \n too. Twice as fast as looking for the markers with `in`.
_ENTRY_PATTERN = rb" *+-(?: +-)*[ \n]+[\"'\[{]"
_LINE_START = re.compile(rb"\n(?:---|\.\.\.|(?P<entry>" + _ENTRY_PATTERN + rb"))")
_DOCUMENT_MARKER = re.compile(rb"\n(?:---|\.\.\.)")
_QUOTED_OR_FLOW_ENTRY = re.compile(rb"\n" + _ENTRY_PATTERN)
# What may follow a quoted entry on the line it ends on: a comment, or the `:` of a key.
_AFTER_QUOTED_ENTRY = re.compile(rb" *+(?:(?<= )#[^\n]*|:(?: [^\n]*)?)?(?:\n|$)")
# A flow collection's end followed by more than a separator, a `:` or a comment.
_MORE_AFTER_FLOW = re.compile(rb"[\]}] *+[^\n ,:#\]}]")
_QUOTES = (ord('"'), ord("'"))
# Printable ASCII but the few characters the checks below look for: what is left of a
# front matter without them is whole UTF-8 sequences, control bytes, and these, which in
# most articles are few or none (`,` in prose and `?` in URLs aside). A check then looks
# through the front matter only for those of its characters that are there.
_LOOKED_FOR = b"\\[{|>#" + _INDICATORS
_EVERYDAY_ASCII = bytes(c for c in range(0x20, 0x7F) if c not in _LOOKED_FOR) + b"\n"
# Bytes are looked for as ints: `b"[" in data` costs 200 ns even on empty data, `0x5B in data` 20 ns.
_BACKSLASH, _COMMENT = ord("\\"), ord("#")
_OPEN_SQUARE, _OPEN_CURLY, _LITERAL, _FOLDED = ord("["), ord("{"), ord("|"), ord(">")


def _rare_bytes(front_matter: bytes) -> bytes:
    """The bytes left once everyday ASCII is dropped: UTF-8 sequences, control bytes and _LOOKED_FOR."""
    return front_matter.translate(None, _EVERYDAY_ASCII)


def _uncertain(front_matter: bytes, rare: bytes) -> bool:
    """Whether the front matter uses anything the fast path does not read exactly as the reference.

    `rare` is _rare_bytes(front_matter). Every check runs on the UTF-8 bytes:
    searching bytes is several times faster than searching a str that holds
    any non-ASCII character.
    """
    if _BACKSLASH in rare or _line_start_uncertain(front_matter):
        return True  # escapes (YAML 1.1 and 1.2 differ), document markers, entries after entries
    # Tabs, control characters, NEL, LS and PS (line breaks in YAML 1.1 only), BOMs,
    # non-characters and private use all fail isprintable(); so do a few harmless
    # characters (no-break and zero-width spaces), which only cost the slow path.
    if not rare.decode("utf-8").isprintable():
        return True
    if _indicator_at_node_start(front_matter, rare) or _colon_far_into_a_line(front_matter):
        return True
    if (_LITERAL in rare or _FOLDED in rare) and _unclear_block_scalar_header(front_matter):
        return True
    if not _may_hold_flow(rare):
        return False
    return _FLOW_COLON.search(front_matter) is not None or (_COMMENT in rare and _comment(front_matter))


def _line_start_uncertain(front_matter: bytes) -> bool:
    """Whether a line starts with a document marker, or a quoted or flow entry that another `-` follows."""
    text = b"\n" + front_matter
    found = _LINE_START.search(text)
    if found is None:
        return False
    if found.group("entry") is None:
        return True  # a document marker
    return _odd_entry(text, found.start()) or _DOCUMENT_MARKER.search(text, found.end()) is not None


def _odd_entry(text: bytes, start: int) -> bool:
    """Whether a quoted or flow sequence entry from `start` on has more after it on the line it ends on.

    rapidyaml reads what follows as the next node, where libyaml refuses it:
    `- "a" - b` and `- [a,\n  b] - c` are two entries, `- "a" b: c` an entry
    and a key. A flow entry is left to the reference unless it is on one line
    without quotes, where its brackets are all there is to look at. Runs only
    when an entry is quoted or a flow collection, and costs little then.
    """
    for found in _QUOTED_OR_FLOW_ENTRY.finditer(text, start):
        opening = found.end() - 1
        odd = _odd_quoted_entry if text[opening] in _QUOTES else _odd_flow_entry
        if odd(text, opening):
            return True
    return False


def _odd_quoted_entry(text: bytes, opening: int) -> bool:
    end = text.find(text[opening], opening + 1)  # no backslash escapes are there: see _uncertain
    while text[opening] == _QUOTES[1] and end >= 0 and text[end + 1 : end + 2] == b"'":  # '' stands for '
        end = text.find(text[opening], end + 2)
    return end < 0 or _AFTER_QUOTED_ENTRY.match(text, end + 1) is None


def _odd_flow_entry(text: bytes, opening: int) -> bool:
    line_end = text.find(b"\n", opening)
    line = text[opening:] if line_end < 0 else text[opening:line_end]
    if _QUOTES[0] in line or _QUOTES[1] in line:
        return True
    unbalanced = line.count(b"[") + line.count(b"{") != line.count(b"]") + line.count(b"}")
    return unbalanced or _MORE_AFTER_FLOW.search(line) is not None


def _indicator_at_node_start(front_matter: bytes, rare: bytes) -> bool:
    # Not inside a word or a value, such as `AT&T`, `a,b` or `?q=1`.
    return any(_found_after(front_matter, i, _NODE_START_AFTER) for i in _INDICATORS if i in rare)


def _found_after(front_matter: bytes, byte: int, after: frozenset[int]) -> bool:
    """Whether `byte` is in the front matter at its start, or right after one of `after`."""
    at = front_matter.find(byte)
    while at >= 0:
        if at == 0 or front_matter[at - 1] in after:
            return True
        at = front_matter.find(byte, at + 1)
    return False


def _may_hold_flow(rare: bytes) -> bool:
    """Whether a flow collection may open anywhere in the front matter whose _rare_bytes() these are."""
    return _OPEN_SQUARE in rare or _OPEN_CURLY in rare


def _comment(front_matter: bytes) -> bool:
    """Whether a comment may be there: rapidyaml reads `{a: 1 #}` as the value `1 #`, libyaml a comment."""
    return _found_after(front_matter, _COMMENT, _COMMENT_AFTER)


def _unclear_block_scalar_header(front_matter: bytes) -> bool:
    """Whether a | or > that starts a value has a header other than a chomping indicator.

    Only one after a `:`, a `-`, a `?` or a line break (spaces between) can
    start a value: a title such as `Breaking | Site` costs nothing.
    """
    for indicator in (_LITERAL, _FOLDED):
        at = front_matter.find(indicator)
        while at >= 0:
            before = at - 1
            while before >= 0 and front_matter[before] == 0x20:
                before -= 1
            at_value_start = before < 0 or front_matter[before] in _VALUE_START_AFTER
            if at_value_start and not _BLOCK_SCALAR_HEADER.match(front_matter, at + 1):
                return True
            at = front_matter.find(indicator, at + 1)
    return False


def _colon_far_into_a_line(front_matter: bytes) -> bool:
    """Whether a `:` is more than _KEY_SPAN_LIMIT bytes from the start of its line.

    A key is on one line, so a key too long for libyaml has such a `:` after
    it. Each step looks back from a limit's length ahead for the last line
    break: a front matter of short lines costs one rfind per 1,024 bytes,
    and a long value with no `:` far into it (a long excerpt) is no cost.
    """
    start, end = 0, len(front_matter)
    while end - start > _KEY_SPAN_LIMIT:
        newline = front_matter.rfind(b"\n", start, start + _KEY_SPAN_LIMIT + 1)
        if newline >= 0:
            start = newline + 1
            continue
        line_end = front_matter.find(b"\n", start)
        line_end = end if line_end < 0 else line_end
        if front_matter.find(b":", start + _KEY_SPAN_LIMIT + 1, line_end) >= 0:
            return True
        start = line_end + 1
    return False


def fast_record(data: bytes, limits: Limits) -> dict[str, Any] | None:
    """The article's record, read as the reference reader would read it; None when unsure."""
    if ryml is None or len(data) > limits.max_file_size or b"\r" in data or not data.startswith(b"---"):
        return None
    try:
        text = data.decode("utf-8")
        front_matter, body, _ = split_front_matter(text)
    except (UnicodeDecodeError, ReaderError):
        return None
    front_matter_bytes = front_matter.encode("utf-8")
    rare = _rare_bytes(front_matter_bytes)
    if _uncertain(front_matter_bytes, rare):
        return None
    # One thread at a time: the JSON buffer is the module's, and stderr is the process's. A Dask worker
    # runs a task per thread: two files read at once gave each other's records.
    with _ONE_AT_A_TIME:
        try:
            # rapidyaml prints its parse errors, and its emitter too (past its depth limit): the reference
            # reports them properly, and stderr may carry a machine-readable report.
            with _quiet_stderr():
                tree = ryml.parse_in_arena(front_matter_bytes)
                emitted = _as_json(tree)
            record = orjson.loads(emitted)
        except Exception:  # rapidyaml's own exception classes, orjson's JSONDecodeError: not certain
            return None
        if not isinstance(record, dict) or _NOT_PLAIN_TEXT.search(emitted):
            return None
    if _nodes(record, limits.max_depth - 1, _may_hold_flow(rare)) != tree.size():
        return None  # a repeated key (JSON keeps one), a float, an odd key, or too deep
    if body is not None:
        if "body" in record:
            return None
        record["body"] = body
    return record


def _nodes(container: dict[str, Any] | list[Any], depth_left: int, every_key: bool) -> int:
    """The number of nodes in a dict or list, or -1 when it holds a float, an odd key or nests too deeply.

    A key libyaml refuses but rapidyaml reads is odd: an empty one (rapidyaml
    reads `: x` as the key ""), or one that spanned lines (a quoted key over
    two lines reads with a space, or a line break, where they were folded).
    In block style rapidyaml reads a key over lines only as the first key of
    a mapping, one that opens where a value was expected, so only that one
    is looked at unless `every_key` (a flow collection may be there).
    Scalars are counted, and keys looked at, in the loop rather than by a
    call each: most nodes are scalars or keys, and this runs on every file.
    """
    if depth_left < 0:
        return -1
    items: Iterable[Any]
    if isinstance(container, dict):
        if "" in container:
            return -1
        for key in container:
            if not key.isalnum() and (" " in key or "\n" in key):
                return -1
            if not every_key:
                break
        items = container.values()
    else:
        items = container
    total = 1
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:
            count = _nodes(item, depth_left - 1, every_key)
            if count < 0:
                return -1
            total += count
        elif kind is float or depth_left == 0:
            return -1  # a float, or a scalar one level too deep
        else:
            total += 1
    return total


_json_buffer = bytearray(16 * 1024)  # reused for every file, under _ONE_AT_A_TIME
_ONE_AT_A_TIME = threading.Lock()


def _as_json(tree: Any) -> memoryview:
    """The tree as JSON text, in a buffer this module owns.

    Not emit_json_malloc(): rapidyaml never frees the buffer that returns, so
    a process reading 100,000 files would keep about 3 KB of each.
    """
    global _json_buffer
    failed, size = ryml.emit_json_to_substr(tree, tree.root_id(), _json_buffer)
    if failed:
        _json_buffer = bytearray(size * 2)
        failed, size = ryml.emit_json_to_substr(tree, tree.root_id(), _json_buffer)
    return memoryview(_json_buffer)[:size]


_devnull: int | None = None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    global _devnull
    if _devnull is None:
        _devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    try:
        os.dup2(_devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
