"""Project configuration: `[tool.articles]` in pyproject.toml, or `articles.toml` with the same keys at its top.

Found by walking up from the current directory, as ruff finds its own: in
each directory, `articles.toml` first, then a `pyproject.toml` that has a
`[tool.articles]` table. Top-level keys are the options every command shares;
a table per command (`[tool.articles.export]`) sets that command's own
options, by their long names. The command line overrides both.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "articles.toml"
PYPROJECT = "pyproject.toml"
# Options that every command reading articles shares, set at the top level.
SHARED_KEYS = (
    "schema",
    "include",
    "exclude",
    "force-exclude",
    "max-file-size",
    "allow-duplicate-urls",
    "strict",
    "cache",
    "cache-dir",
)
COMMANDS = ("validate", "export", "load")
# Said on the command line each time, never by a file: what to read, where the file is, and leave to destroy.
NOT_CONFIGURABLE = frozenset(("paths", "config", "isolated", "overwrite", "version", "help"))


class ConfigError(Exception):
    """A configuration file that cannot be used: a usage error naming the file, the key and its line."""


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    table: dict[str, Any]  # [tool.articles], or the whole of articles.toml
    text: str
    prefix: str  # how the file names its tables: "tool.articles." in pyproject.toml, "" in articles.toml

    def located(self, key: str, command: str | None = None) -> str:
        """`FILE:LINE: key` for messages, the line found by looking for the key under its table."""
        table = self.prefix + command if command else self.prefix.rstrip(".")
        return f"{_shown(self.path)}:{_line_of(self.text, table, key)}: {key!r}"


def find_config(start: Path) -> Path | None:
    """The nearest articles.toml, or pyproject.toml with [tool.articles], at or above `start`."""
    for directory in [start, *start.parents]:
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and "articles" in _read(pyproject).get("tool", {}):
            return pyproject
    return None


def read_config(path: Path) -> Config:
    data = _read(path)
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("articles", {})
        return Config(path, table, path.read_text(encoding="utf-8"), "tool.articles.")
    return Config(path, data, path.read_text(encoding="utf-8"), "")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error


def settings_for(config: Config, command: str, options: Iterable[str]) -> dict[str, tuple[str, Any]]:
    """The values the file sets for `command`, by option name: {"max-file-size": (where, "1MiB")}.

    `where` locates the key for messages. Raises ConfigError for a key that is
    no option, and for a command table that is not a table.
    """
    known = set(options) - NOT_CONFIGURABLE
    settings: dict[str, tuple[str, Any]] = {}
    for key, value in config.table.items():
        if key in COMMANDS:
            if not isinstance(value, dict):
                raise ConfigError(f"{config.located(key)} must be a table of {key}'s options")
            continue
        if key not in SHARED_KEYS:
            raise ConfigError(
                f"{config.located(key)} is not a setting{_did_you_mean(key, [*SHARED_KEYS, *COMMANDS])}: "
                f"the top level takes {', '.join(SHARED_KEYS)}, and a table for {', '.join(COMMANDS)}"
            )
        if key in known:
            settings[key] = (config.located(key), value)
    table = config.table.get(command, {})
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{config.located(key, command)} is not an option of `articles {command}`"
                f"{_did_you_mean(key, known)}: it takes {', '.join(sorted(known))}"
            )
        settings[key] = (config.located(key, command), value)
    return settings


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _shown(path: Path) -> str:
    """The file as the user would name it: relative to the current directory when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line_of(text: str, table: str, key: str) -> int:
    """The line a key is set on under `[table]` (the top of the file when table is ""); 1 when not found."""
    lines = text.splitlines()
    start = 0
    if table:
        header = re.compile(rf"\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$")
        start = next((n for n, line in enumerate(lines) if header.fullmatch(line)), 0)
    setting = re.compile(rf"""\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for number in range(start, len(lines)):
        if setting.match(lines[number]):
            return number + 1
        if number > start and lines[number].lstrip().startswith("["):
            break  # the next table: the key is not written out under this one
    return start + 1
