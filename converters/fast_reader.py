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
from collections.abc import Iterator
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
    r'"(?=[-+.0-9yYnNtTfFoO~<=])(?:'
    r"[-+]?(?:0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)"
    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|~|null|Null|NULL|<<|="
    r')"'
)
# Syntax the two parsers treat differently, or that the reference refuses, at the start of a
# node: properties (&anchor, *alias, !tag), complex keys (?), directives (%), the reserved
# indicators @ and `, and flow indicators (] } ,) that cannot start a plain scalar. The
# regular expression runs only when one of these characters is there at all.
_INDICATORS = "]}&*!%@`"
_NODE_START_PAIRS = (" ,", "\n,", "[,", "{,", "? ", "?\n")
_AT_NODE_START = re.compile(r"(?:^|[ \n\[{,])(?:[]},&*!%@`]|\?[ \n])", re.MULTILINE)


def _uncertain(front_matter: str) -> bool:
    """Whether the front matter uses anything the fast path does not read exactly as the reference."""
    lines = "\n" + front_matter
    if "\\" in front_matter or "\n..." in lines or "\n---" in lines:
        return True  # escapes (YAML 1.1 and 1.2 differ), and document markers
    # Tabs, control characters, NEL, LS and PS (line breaks in YAML 1.1 only), BOMs,
    # non-characters and private use all fail isprintable(); so do a few harmless
    # characters (no-break and zero-width spaces), which only cost the slow path.
    if not front_matter.replace("\n", "").replace(" ", "").isprintable():
        return True
    indicator = any(c in front_matter for c in _INDICATORS) or any(p in front_matter for p in _NODE_START_PAIRS)
    return indicator and _AT_NODE_START.search(front_matter) is not None


def fast_record(data: bytes, limits: Limits) -> dict[str, Any] | None:
    """The article's record, read as the reference reader would read it; None when unsure."""
    if ryml is None or len(data) > limits.max_file_size or b"\r" in data or not data.startswith(b"---"):
        return None
    try:
        text = data.decode("utf-8")
        front_matter, body, _ = split_front_matter(text)
    except (UnicodeDecodeError, ReaderError):
        return None
    if _uncertain(front_matter):
        return None
    try:
        with _quiet_stderr():  # rapidyaml prints its parse errors; the reference reports them properly
            tree = ryml.parse_in_arena(front_matter.encode("utf-8"))
        emitted = ryml.emit_json_malloc(tree, 0)
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


def _nodes(value: Any, depth_left: int) -> int:
    """The number of nodes in the value, or -1 when it holds a float or nests too deeply."""
    if depth_left < 0:
        return -1
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return -1 if isinstance(value, float) else 1
    total = 1
    for item in items:
        count = _nodes(item, depth_left - 1)
        if count < 0:
            return -1
        total += count
    return total


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
