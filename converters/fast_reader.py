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
  and nesting deeper than the depth limit.
tests/test_fast_paths.py checks that every document accepted here reads
exactly as the reference reads it.
"""

from __future__ import annotations

import contextlib
import os
import re
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
# node: properties (&anchor, *alias, !tag), complex keys (?), directives (%), the reserved
# indicators @ and `, and flow indicators (] } ,) that cannot start a plain scalar.
# Each character is found with bytes.find (memchr), and only its neighbours are looked at:
# they are rare, and spaces are everywhere. A regular expression with the context in it
# was 5 times slower, and one that finds the characters alone 2 to 6 times slower than this.
_INDICATORS = b"]},&*!%@`?"
_NODE_START_AFTER = frozenset(b" \n[{,")
_KEY_INDICATOR, _KEY_INDICATOR_BEFORE = ord("?"), (b" ", b"\n", b"")
# A line that starts with a document marker. Twice as fast as looking for each with `in`.
_DOCUMENT_MARKER = re.compile(rb"\n(?:---|\.\.\.)")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _uncertain(front_matter: bytes) -> bool:
    """Whether the front matter uses anything the fast path does not read exactly as the reference.

    Every check runs on the UTF-8 bytes: searching bytes is several times
    faster than searching a str that holds any non-ASCII character.
    """
    if b"\\" in front_matter or _DOCUMENT_MARKER.search(b"\n" + front_matter):
        return True  # escapes (YAML 1.1 and 1.2 differ), and document markers
    # Tabs, control characters, NEL, LS and PS (line breaks in YAML 1.1 only), BOMs,
    # non-characters and private use all fail isprintable(); so do a few harmless
    # characters (no-break and zero-width spaces), which only cost the slow path.
    # Printable ASCII is dropped first, leaving whole UTF-8 sequences and control bytes.
    if not front_matter.translate(None, _PRINTABLE_ASCII).decode("utf-8").isprintable():
        return True
    return _indicator_at_node_start(front_matter)


def _indicator_at_node_start(front_matter: bytes) -> bool:
    for indicator in _INDICATORS:
        at = front_matter.find(indicator)
        while at >= 0:
            # Not inside a word or a value, such as `AT&T` or `a,b`; and `?` is a key
            # indicator only before a space or a line break.
            if (at == 0 or front_matter[at - 1] in _NODE_START_AFTER) and (
                indicator != _KEY_INDICATOR or front_matter[at + 1 : at + 2] in _KEY_INDICATOR_BEFORE
            ):
                return True
            at = front_matter.find(indicator, at + 1)
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
    if _uncertain(front_matter_bytes):
        return None
    try:
        with _quiet_stderr():  # rapidyaml prints its parse errors; the reference reports them properly
            tree = ryml.parse_in_arena(front_matter_bytes)
        emitted = _as_json(tree)
        record = orjson.loads(emitted)
    except Exception:  # rapidyaml's own exception classes, orjson's JSONDecodeError: not certain
        return None
    if not isinstance(record, dict) or _NOT_PLAIN_TEXT.search(emitted):
        return None
    if _nodes(record, limits.max_depth - 1) != tree.size():
        return None  # a repeated key (JSON keeps one), a float, or too deep
    if body is not None:
        if "body" in record:
            return None
        record["body"] = body
    return record


def _nodes(container: dict[str, Any] | list[Any], depth_left: int) -> int:
    """The number of nodes in a dict or list, or -1 when it holds a float or nests too deeply.

    Scalars are counted in the loop rather than by a call each: most nodes are
    scalars, and this runs on every file.
    """
    if depth_left < 0:
        return -1
    items: Iterable[Any] = container.values() if type(container) is dict else container
    total = 1
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:
            count = _nodes(item, depth_left - 1)
            if count < 0:
                return -1
            total += count
        elif kind is float or depth_left == 0:
            return -1  # a float, or a scalar one level too deep
        else:
            total += 1
    return total


_json_buffer = bytearray(16 * 1024)  # reused for every file: one process reads one file at a time


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
