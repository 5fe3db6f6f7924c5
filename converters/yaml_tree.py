"""YAML text -> plain Python values (dict, list, str, int, float, bool, None).

Built from libyaml's event stream with an explicit stack rather than PyYAML's
recursive composer and constructor, so that:
- deep nesting is refused at the limit, before libyaml has read further
  (no RecursionError, no C stack overflow, no quadratic rescans);
- an alias bomb is refused once its expansion passes a budget, while its
  aliased values are shared, not copied, so memory stays bounded;
- duplicate keys, non-string keys, merge keys and unsafe tags are errors with
  the line they are on, instead of being silently resolved;
- what PyYAML refuses (an anchor defined twice, a plain `=` or `<<` value) is
  refused too, and what it accepts (an alias to an anchored key, the tag `!`)
  reads as it reads it;
- every value's line and column can be recorded on the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml.reader
from yaml import events as ev

from converters.findings import Position
from converters.limits import Limits
from converters.yaml_scalars import (
    MERGE_TAG,
    STR_TAG,
    VALUE_TAG,
    ScalarError,
    construct,
    non_specific_ambiguity,
    resolve_tag,
    yaml11_ambiguity,
)

Path = tuple[str | int, ...]
# PyYAML's stubs make an event's marks optional; the parser always sets them.
Event = Any

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it

_CORE = "tag:yaml.org,2002:"
_MAP_TAGS = frozenset((None, "!", _CORE + "map"))
_SEQ_TAGS = frozenset((None, "!", _CORE + "seq"))
# YAML 1.1's indicator types, which PyYAML resolves plain `<<` and `=` to and cannot load as values.
_INDICATOR_KINDS = {MERGE_TAG: "merge key", VALUE_TAG: "value key"}


class YamlError(Exception):
    """A document that cannot be read; line and column are 0-based in the YAML text."""

    def __init__(
        self, keyword: str, message: str, line: int | None = None, column: int | None = None, path: Path = ()
    ) -> None:
        super().__init__(message)
        self.keyword = keyword
        self.message = message
        self.line = line
        self.column = column
        self.path = path  # the value a warning is about


@dataclass(slots=True)
class Tree:
    """The values of one YAML document, with their positions and warnings."""

    value: Any
    positions: dict[Path, Position]
    key_positions: dict[Path, Position]
    warnings: list[YamlError] = field(default_factory=list)


@dataclass(slots=True)
class _Frame:
    container: dict[str, Any] | list[Any]
    path: Path
    first_value: int  # value counter when this container opened, to size anchors
    anchor: str | None
    key: str | None = None  # a mapping's key waiting for its value
    key_mark: Any = None
    key_lines: dict[str, int] = field(default_factory=dict)


class _Composer:
    def __init__(self, limits: Limits, line_offset: int, column_offset: int) -> None:
        self.limits = limits
        self.line_offset = line_offset
        self.column_offset = column_offset
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # those an alias may refer to: not open collections
        self.anchor_lines: dict[str, int] = {}  # every anchor defined so far, and the line it is on
        self.values = 0
        self.alias_values = 0
        self.root: Any = None
        self.has_root = False
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self.warnings: list[YamlError] = []
        self.current_path: Path = ()

    def position(self, mark: Any) -> Position:
        return Position(mark.line + self.line_offset, mark.column + self.column_offset)

    def fail(self, keyword: str, message: str, mark: Any) -> YamlError:
        return YamlError(keyword, message, mark.line, mark.column)

    # -- placing values ---------------------------------------------------------

    def child_path(self, mark: Any, is_container: bool) -> tuple[Path, Any]:
        """Path of the value about to be placed, and the mark that locates it.

        A scalar is located where it starts. A mapping or list inside a mapping
        is located at its key: that line is where a person looks, not the first
        line inside the block.
        """
        if not self.stack:
            return (), mark
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container)), mark
        assert top.key is not None
        path = (*top.path, top.key)
        self.key_positions[path] = self.position(top.key_mark)
        return path, top.key_mark if is_container else mark

    def place(self, value: Any, path: Path, mark: Any) -> None:
        self.positions[path] = self.position(mark)
        if not self.stack:
            if self.has_root:
                raise self.fail("yaml", "more than one YAML document in the front matter", mark)
            self.root, self.has_root = value, True
            return
        top = self.stack[-1]
        if isinstance(top.container, list):
            top.container.append(value)
        else:
            assert top.key is not None
            top.container[top.key] = value
            top.key = None

    def expecting_key(self) -> bool:
        if not self.stack:
            return False
        top = self.stack[-1]
        return isinstance(top.container, dict) and top.key is None

    def define_anchor(self, event: Event) -> None:
        """Note where an anchor is defined: PyYAML refuses a document that defines one twice."""
        if event.anchor is None:
            return
        first_line = self.anchor_lines.get(event.anchor)
        if first_line is not None:
            raise self.fail(
                "duplicate-anchor",
                f"anchor &{event.anchor} is defined twice (first on line {first_line + self.line_offset}), "
                "which PyYAML refuses: rename one",
                event.start_mark,
            )
        self.anchor_lines[event.anchor] = event.start_mark.line

    def take_key(self, event: Event) -> None:
        top = self.stack[-1]
        assert isinstance(top.container, dict)
        self.define_anchor(event)
        tag = _scalar_tag(event)
        if tag == MERGE_TAG:
            raise self.fail("merge-key", "merge keys (<<) are not supported: write the keys out", event.start_mark)
        # PyYAML's constructor reads a key of YAML 1.1's value type (`=`) as the string it is.
        key = event.value if tag == VALUE_TAG else self.scalar_value(event, tag)
        if not isinstance(key, str):
            raise self.fail("key-type", f"mapping key {event.value!r} is not a string: quote it", event.start_mark)
        first_line = top.key_lines.get(key)
        if first_line is not None:
            raise self.fail(
                "duplicate-key",
                f"duplicate key {key!r} (first defined on line {first_line + self.line_offset})",
                event.start_mark,
            )
        top.key_lines[key] = event.start_mark.line
        top.key, top.key_mark = key, event.start_mark
        if event.anchor is not None:
            self.anchors[event.anchor] = (key, 1)  # an alias to an anchored key is its text, as in PyYAML

    # -- events -----------------------------------------------------------------

    def scalar_value(self, event: Event, tag: str) -> Any:
        """The value of a scalar whose tag (see _scalar_tag) is `tag`."""
        if not tag.startswith(_CORE):
            raise self.fail("tag", f"unsupported YAML tag {tag!r}: remove it", event.start_mark)
        kind = _INDICATOR_KINDS.get(tag)
        if kind is not None and event.tag in (None, "!"):  # resolved from its text: `<<` or `=`
            if event.tag is None:
                shown, fix = f"plain {event.value}", "quote it"
            else:
                shown, fix = f"! {event.value}", "drop the ! and quote it"
            raise self.fail(
                "value",
                f"{shown} reads as YAML 1.1's {kind}, which PyYAML cannot load as a value: {fix} to keep it as text",
                event.start_mark,
            )
        try:
            value = construct(tag, event.value)
        except ScalarError as error:
            raise self.fail("tag", str(error), event.start_mark) from error
        self.warn_if_read_otherwise(event, tag, value)
        return value

    def warn_if_read_otherwise(self, event: Event, tag: str, value: Any) -> None:
        """A warning when YAML 1.2 loaders would read this scalar as something else."""
        if event.tag == "!":
            warning = non_specific_ambiguity(event.value, value)
        elif event.tag is None and event.implicit[0]:
            warning = yaml11_ambiguity(event.value, tag, value)
        else:
            return  # quoted, block or explicitly tagged: read alike everywhere
        if warning is not None:
            mark = event.start_mark
            self.warnings.append(YamlError("yaml11", warning, mark.line, mark.column, self.current_path))

    def on_scalar(self, event: Event) -> None:
        if self.expecting_key():
            self.take_key(event)
            return
        self.define_anchor(event)
        path, mark = self.child_path(event.start_mark, is_container=False)
        self.current_path = path
        value = self.scalar_value(event, _scalar_tag(event))
        problem = unrepresentable(value, event.value)
        if problem is not None:
            raise self.fail("value", problem, event.start_mark)
        self.values += 1
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self.place(value, path, mark)

    def on_alias(self, event: Event) -> None:
        if self.expecting_key():
            raise self.fail("key-type", "an alias cannot be a mapping key", event.start_mark)
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            if any(frame.anchor == event.anchor for frame in self.stack):
                message = f"alias *{event.anchor} refers to the collection that contains it"
            else:
                message = f"alias *{event.anchor} refers to no anchor defined before it"
            raise self.fail("yaml", message, event.start_mark)
        value, size = anchored
        self.values += size  # so an anchor holding this alias is sized with it
        self.alias_values += size
        if self.alias_values > self.limits.alias_budget:
            raise self.fail(
                "alias-budget",
                f"aliases expand to more than {self.limits.alias_budget} values (an alias bomb?)",
                event.start_mark,
            )
        path, mark = self.child_path(event.start_mark, is_container=False)
        self.place(value, path, mark)  # shared, not copied: nothing mutates it

    def on_start(self, event: Event, container: dict[str, Any] | list[Any]) -> None:
        kind = "mapping" if isinstance(container, dict) else "sequence"
        if self.expecting_key():
            raise self.fail("key-type", f"a {kind} cannot be a mapping key", event.start_mark)
        allowed = _MAP_TAGS if isinstance(container, dict) else _SEQ_TAGS
        if event.tag not in allowed:
            raise self.fail("tag", f"unsupported YAML tag {event.tag!r} on a {kind}: remove it", event.start_mark)
        if len(self.stack) >= self.limits.max_depth:
            raise self.fail("depth", f"nesting deeper than {self.limits.max_depth} levels", event.start_mark)
        self.define_anchor(event)
        path, mark = self.child_path(event.start_mark, is_container=True)
        self.place(container, path, mark)
        self.values += 1
        self.stack.append(_Frame(container, path, self.values, event.anchor))

    def on_end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.container, self.values - frame.first_value + 1)

    def run(self, text: str) -> None:
        handlers: dict[type, Any] = {
            ev.ScalarEvent: self.on_scalar,
            ev.AliasEvent: self.on_alias,
            ev.MappingStartEvent: lambda e: self.on_start(e, {}),
            ev.SequenceStartEvent: lambda e: self.on_start(e, []),
            ev.MappingEndEvent: lambda e: self.on_end(),
            ev.SequenceEndEvent: lambda e: self.on_end(),
        }
        for event in yaml.parse(text, Loader=_Parser):
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)


def _scalar_tag(event: Event) -> str:
    """The tag PyYAML gives a scalar: its own, or, when it has none or the non-specific `!`, its text's.

    libyaml marks a scalar plain-implicit when it is plain and untagged, and
    also when it is tagged `!` with any content, quoted or not: PyYAML then
    resolves it by its text, so `! '50'` is 50. Any other scalar is a string.
    """
    if event.tag is not None and event.tag != "!":
        return str(event.tag)
    return resolve_tag(event.value) if event.implicit[0] else STR_TAG


def compose(text: str, *, limits: Limits, line_offset: int = 0, column_offset: int = 0) -> Tree:
    """Read one YAML document; positions are shifted by the offsets given.

    Raises YamlError, whose line and column are 0-based in `text`.
    """
    composer = _Composer(limits, line_offset, column_offset)
    try:
        composer.run(text)
    except yaml.MarkedYAMLError as error:
        if _is_libyaml_nesting_limit(error):
            raise _depth_error(text, error, limits, line_offset) from error
        raise _syntax_error(text, error, line_offset) from error
    except yaml.reader.ReaderError as error:  # control characters and the like
        raise _reader_error(text, error) from error
    return Tree(composer.root, composer.positions, composer.key_positions, composer.warnings)


def _is_libyaml_nesting_limit(error: yaml.MarkedYAMLError) -> bool:
    # libyaml 0.2.6 (PyYAML 6.0.4's wheels) stops at 1,000 levels by itself; older builds do not.
    return (error.problem or "").startswith("exceeded maximum nesting depth")


def _depth_error(text: str, error: yaml.MarkedYAMLError, limits: Limits, line_offset: int) -> YamlError:
    """Our own depth error, where a libyaml without a nesting limit would have let us find it.

    libyaml's scanner reads ahead of the events it has handed over, so on a
    long line of `[[[[...` it reaches its own limit before our composer sees
    the level past ours. The text before the level libyaml refused holds every
    event our composer would have seen first: reading it again gives the same
    keyword, line and column whatever libyaml is installed.
    """
    mark = error.problem_mark
    assert mark is not None  # libyaml marks every error it raises
    lines = text.split("\n", mark.line)
    cut = sum(len(line) + 1 for line in lines[: mark.line]) + mark.column
    try:
        compose(text[:cut], limits=limits, line_offset=line_offset)
    except YamlError as earlier:
        located_before_cut = earlier.line is not None and (earlier.line, earlier.column or 0) < (mark.line, mark.column)
        if earlier.keyword == "depth" or located_before_cut:
            return earlier  # found before the cut: not an effect of cutting the text there
    return YamlError("depth", f"nesting deeper than {limits.max_depth} levels", mark.line, mark.column)


def _syntax_error(text: str, error: yaml.MarkedYAMLError, line_offset: int) -> YamlError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if mark is None:
        return YamlError("yaml", problem)
    line_text = _line_at(text, mark.line)
    if "\t" in line_text[: len(line_text) - len(line_text.lstrip(" \t"))]:
        return YamlError("tab", "tab character in indentation: YAML indents with spaces only", mark.line, mark.column)
    message = problem
    if error.context is not None:
        started = error.context_mark
        where = (
            f" started on line {started.line + line_offset}"
            if started is not None and started.line != mark.line
            else ""
        )
        message = f"{problem} ({error.context}{where})"
    return YamlError("yaml", message, mark.line, mark.column)


def unrepresentable(value: Any, text: str) -> str | None:
    """Why a scalar (written as `text`) cannot be JSON, UTF-8 text or Parquet, or None."""
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # libyaml refuses such escapes; PyYAML's pure-Python parser does not
            return "the string holds a lone surrogate (a \\uD800-\\uDFFF escape), which is not valid Unicode text"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{text} is not a JSON number: quote it to keep it as text, or leave the field out"
    return None


def _reader_error(text: str, error: yaml.reader.ReaderError) -> YamlError:
    code = error.character if isinstance(error.character, int) else ord(error.character)
    message = f"character U+{code:04X} is not allowed in YAML: escape it inside a double-quoted string"
    # libyaml counts the offset in UTF-8 bytes; positions here are in characters.
    prefix = text.encode("utf-8")[: max(error.position, 0)].decode("utf-8", "ignore")
    line = prefix.count("\n")
    return YamlError("yaml", message, line, len(prefix) - (prefix.rfind("\n") + 1))


def _line_at(text: str, line: int) -> str:
    lines = text.split("\n", line + 1)
    return lines[line] if line < len(lines) else ""
