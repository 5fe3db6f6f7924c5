"""A hash table of 64-bit digests and values in a temporary file, so that memory stays flat.

The webUrl index keeps an entry per file for the whole run. Held in memory
that was 24 to 48 bytes a file; here it is a file of 16-byte slots, of which
at most CACHE_PAGES pages of 4 KiB are in memory, whatever the number of
entries. Open addressing with linear probing: a digest's slots are its home
slot and those after it, up to the first empty one. The pages leave memory
first in, first out: digests land on pages at random, so keeping the most
recently used ones would help no more, and cost a list update a lookup.

Up to SMALL_ENTRIES entries, a Python dict stands in for the slots: about
110 bytes an entry (a digest and a value; a list only where two share a
digest), so at most about 30 MB, and a lookup and insert take a third of
the time the slots' probing in Python takes. The run that outgrows
it moves its entries into the slots, whose memory stays flat.
"""

from __future__ import annotations

import struct
import tempfile
from typing import BinaryIO

_SLOT = struct.Struct("<QQ")  # digest (0: an empty slot), value
_PAGE_SLOTS = 256
_PAGE_BYTES = _PAGE_SLOTS * _SLOT.size  # 4 KiB
_NONE: list[int] = []  # what lookup() finds for a digest it does not hold; never changed


class SlotTable:
    """digest -> values, for any integer digests (the slots keep them as 64-bit digests that are never 0,
    the empty slot). Raises OSError when its file cannot be written."""

    # 16 MiB: a table of up to a million slots (half a million files) stays in memory and never
    # makes its file. With 1 MiB, a run over 100,000 files spent half its time in the index paging.
    CACHE_PAGES = 4096
    INITIAL_SLOTS = 16 * _PAGE_SLOTS
    SMALL_ENTRIES = 1 << 18

    def __init__(self) -> None:
        self._small: dict[int, int | list[int]] | None = {}  # None once the table outgrew it
        self._slots = self.INITIAL_SLOTS
        self._used = 0
        self._file: BinaryIO | None = None  # made when the first page leaves the cache
        self._cache: dict[int, bytearray] = {}  # page number -> page, first cached first
        self._dirty: set[int] = set()  # cached pages that differ from the file

    def lookup(self, digest: int) -> tuple[list[int], int]:
        """The values stored under `digest` (two keys can share one), and the empty slot after them."""
        if self._small is not None:
            return _values(self._small.get(digest, _NONE)), -1
        digest = _in_slots(digest)
        found: list[int] = []
        mask = self._slots - 1
        slot = digest & mask
        page = self._page(slot // _PAGE_SLOTS)
        while True:
            seen, value = _SLOT.unpack_from(page, slot % _PAGE_SLOTS * _SLOT.size)
            if seen == 0:
                return found, slot
            if seen == digest:
                found.append(value)
            slot = (slot + 1) & mask
            if slot % _PAGE_SLOTS == 0:
                page = self._page(slot // _PAGE_SLOTS)

    def insert(self, digest: int, value: int, empty_slot: int) -> None:
        """Put an entry in the empty slot that `lookup(digest)` has just returned."""
        if self._small is not None:
            held = self._small.get(digest)
            self._small[digest] = value if held is None else [*_values(held), value]
            self._used += 1
            if self._used > self.SMALL_ENTRIES:
                self._leave_small()
            return
        self._put(_in_slots(digest), value, empty_slot)

    def holds_none_of(self, digests: list[int], room: int) -> bool:
        """Whether the dict holds none of `digests`, with room for `room` more entries: insert_new() may
        then add them at once. False once the table has left the dict (its probing is per digest)."""
        small = self._small
        return small is not None and self._used + room <= self.SMALL_ENTRIES and small.keys().isdisjoint(digests)

    def insert_new(self, digests: list[int], values: range) -> None:
        """Add entries whose distinct digests holds_none_of() has just found absent, in one step."""
        assert self._small is not None
        self._small.update(zip(digests, values, strict=True))
        self._used += len(digests)

    def _leave_small(self) -> None:
        """Into slots at most a third full, so that they neither grow at once nor outgrow the page
        cache (2**20 slots for SMALL_ENTRIES), put in in slot order, so that each page is filled in turn."""
        small, self._small, self._used = self._small, None, 0
        assert small is not None
        while self._slots < 3 * len(small):
            self._slots *= 2
        mask = self._slots - 1
        for digest in sorted(small, key=lambda digest: _in_slots(digest) & mask):
            for value in _values(small[digest]):
                _, empty = self.lookup(digest)
                self._put(_in_slots(digest), value, empty)

    def _put(self, digest: int, value: int, empty_slot: int) -> None:
        number = empty_slot // _PAGE_SLOTS
        _SLOT.pack_into(self._page(number), empty_slot % _PAGE_SLOTS * _SLOT.size, digest, value)
        self._dirty.add(number)
        self._used += 1
        if self._used * 2 > self._slots:  # over half full: probes would grow long
            self._grow()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # a temporary file: closing it deletes it

    def _page(self, number: int) -> bytearray:
        page = self._cache.get(number)
        if page is not None:
            return page
        page = bytearray(_PAGE_BYTES)
        if self._file is not None:  # a page never written reads back short, or empty: its slots are empty
            stored = _read_page(self._file, number)
            page[: len(stored)] = stored
        self._cache[number] = page
        if len(self._cache) > self.CACHE_PAGES:
            self._evict()
        return page

    def _evict(self) -> None:
        number = next(iter(self._cache))
        page = self._cache.pop(number)
        if number in self._dirty:
            self._dirty.discard(number)
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="articles-slots-")  # noqa: SIM115 - close()
            self._file.seek(number * _PAGE_BYTES)
            self._file.write(page)

    def _grow(self) -> None:
        """Four times the slots: every entry is put in again, the old pages read in order.

        In that order the entries land near each other in the new table (at
        their old home slot plus a multiple of the old size), so that most go
        to pages already in the cache. Growing fourfold rather than twofold
        puts each entry in again a third as often: at 100,000 files, the
        growing took a third of the index's time.
        """
        old_cache, old_file, old_pages = self._cache, self._file, self._slots // _PAGE_SLOTS
        self._cache, self._dirty, self._file = {}, set(), None
        self._slots, self._used = self._slots * 4, 0
        try:
            for number in range(old_pages):
                page: bytes | bytearray = old_cache.get(number) or b""  # a cached page is newer than the file's
                if not page and old_file is not None:
                    page = _read_page(old_file, number)
                for digest, value in _SLOT.iter_unpack(page):
                    if digest:
                        _, empty = self.lookup(digest)
                        self._put(digest, value, empty)
        finally:
            if old_file is not None:
                old_file.close()


def _in_slots(digest: int) -> int:
    """A digest as the slots keep it: 64 bits, never 0."""
    return digest & 0xFFFF_FFFF_FFFF_FFFF or 1


def _read_page(file: BinaryIO, number: int) -> bytes:
    file.seek(number * _PAGE_BYTES)
    return file.read(_PAGE_BYTES)


def _values(held: int | list[int]) -> list[int]:
    """What the dict holds for a digest, as a list: one value alone, or the list of those sharing it."""
    return held if isinstance(held, list) else [held]
