"""Bounds that keep a hostile file from costing unbounded time or memory."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_FILE_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    # Articles nest five levels deep (root, related, article, images, image).
    max_depth: int = 64
    # Values that aliases may add by expansion, over a whole document. Articles
    # use no aliases; a few shared blocks stay far below this.
    alias_budget: int = 10_000

    def identity(self) -> list[int]:
        """Every bound, for a digest of what a verdict depends on (the cache's run key, a load's rules)."""
        return [getattr(self, name) for name in self.__slots__]


_SIZE = re.compile(r"\s*(\d+)\s*([kmg]i?b?|b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """`16MiB` -> 16777216. Units are binary: K, M, G, with optional `i` and `B`."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size such as 16MiB, 512K or 1000000")
    unit = (match.group(2) or "").lower()[:1]
    return int(match.group(1)) * _UNITS[unit]
