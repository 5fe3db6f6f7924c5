"""RSS 2.0, newest item first, that feed validators accept.

Dates are RFC 822, made by email.utils (never a locale-dependent strftime);
every namespace prefix used is declared on <rss>; characters XML 1.0 forbids
are stripped and the rest escaped. Nothing depends on the wall clock:
lastBuildDate is the newest item's date unless --build-date says otherwise.

Items must be sorted by date, so they are held in memory: all of them, or with
--limit only the newest N (a heap).

Every guid in a feed is unique, as feed validators require, even when
--allow-duplicate-urls lets two items share a webUrl: the first of them in
input order keeps the webUrl as its permalink guid, and each later one gets
`WEBURL#N` (its N-th occurrence in the feed), which is not a permalink.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from converters import __version__
from converters.timestamps import parse_timestamp
from converters.writers.base import ExportOptions, SchemaInfo, Writer, WriterError, text_stream

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# RSS 2.0's <language>: a language tag such as en, en-us or pt-BR (RFC 5646's shape, without its registry).
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def _text(value: Any) -> str:
    return escape(_NOT_XML.sub("", str(value)))


def _attr(value: Any) -> str:
    return quoteattr(_NOT_XML.sub("", str(value)))


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


@dataclass(frozen=True, slots=True)
class _Item:
    published: datetime
    order: int  # input (path) order, to break ties between equal dates
    record: dict[str, Any]

    def newest_first(self) -> tuple[float, int]:
        return (-self.published.timestamp(), self.order)


class RssWriter(Writer):
    @classmethod
    def check_options(cls, options: ExportOptions) -> None:
        if options.language is not None and not _LANGUAGE.fullmatch(options.language):
            raise WriterError(f"--language must be a language tag such as en or en-us, not {options.language!r}")
        if options.build_date is not None:
            try:
                parse_timestamp(options.build_date)
            except ValueError as error:
                raise WriterError(f"--build-date must be an RFC 3339 date-time: {error}") from error

    def __init__(self, target: BinaryIO | Path, schema: SchemaInfo, options: ExportOptions) -> None:
        super().__init__(target, schema, options)
        missing = [name for name in ("title", "webUrl", "publishedDateTime") if schema.layout.child(name) is None]
        if missing:
            raise WriterError(f"an RSS item needs {', '.join(missing)}, which this schema does not have")
        self.stream = text_stream(target)
        self.items: list[tuple[float, int, _Item]] = []  # a min-heap on (date, -order) when limited
        self.count = 0

    def write_batch(self, records: Sequence[dict[str, Any]]) -> None:
        limit = self.options.limit
        for record in records:
            item = _Item(parse_timestamp(record["publishedDateTime"]), self.count, record)
            self.count += 1
            entry = (item.published.timestamp(), -item.order, item)
            if limit is None:
                self.items.append(entry)
            elif len(self.items) < limit:
                heapq.heappush(self.items, entry)
            else:
                heapq.heappushpop(self.items, entry)  # drops the oldest

    def written(self, received: int) -> int:
        return len(self.items)

    def close(self) -> None:
        items = sorted((entry[2] for entry in self.items), key=_Item.newest_first)
        write = self.stream.write
        write('<?xml version="1.0" encoding="UTF-8"?>\n')
        write(f'<rss version="2.0" xmlns:atom={_attr(ATOM)} xmlns:media={_attr(MEDIA)}>\n<channel>\n')
        for line in self._channel(items):
            write(f"  {line}\n")
        for item, guid in zip(items, _unique_guids(items), strict=True):
            write("  <item>\n")
            for line in _item_lines(item.record, item.published, guid):
                write(f"    {line}\n")
            write("  </item>\n")
        write("</channel>\n</rss>\n")
        self.stream.flush()
        self.stream.detach()

    def _channel(self, items: list[_Item]) -> list[str]:
        options = self.options
        title = options.title or "Articles"
        link = options.link or options.feed_url or (_site(items[0].record["webUrl"]) if items else "")
        lines = [
            f"<title>{_text(title)}</title>",
            f"<link>{_text(link)}</link>",
            f"<description>{_text(options.description or title)}</description>",
        ]
        if options.language:
            lines.append(f"<language>{_text(options.language)}</language>")
        if options.feed_url:
            lines.append(f'<atom:link href={_attr(options.feed_url)} rel="self" type="application/rss+xml"/>')
        built = parse_timestamp(options.build_date) if options.build_date else (items[0].published if items else None)
        if built is not None:
            lines.append(f"<lastBuildDate>{_rfc822(built)}</lastBuildDate>")
        lines.append(f"<generator>articles {_text(__version__)}</generator>")
        return lines


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _unique_guids(items: list[_Item]) -> list[str]:
    """Each item's <guid> element: its webUrl, or `webUrl#N` for the N-th item of the feed with that webUrl."""
    seen: dict[str, int] = {}
    occurrence: dict[int, int] = {}
    for item in sorted(items, key=lambda i: i.order):  # input order, so the same input gives the same guids
        url = item.record["webUrl"]
        seen[url] = occurrence[item.order] = seen.get(url, 0) + 1
    guids = []
    for item in items:
        url, n = item.record["webUrl"], occurrence[item.order]
        guids.append(
            f'<guid isPermaLink="true">{_text(url)}</guid>'
            if n == 1
            else f'<guid isPermaLink="false">{_text(f"{url}#{n}")}</guid>'
        )
    return guids


def _item_lines(record: dict[str, Any], published: datetime, guid: str) -> list[str]:
    url = record["webUrl"]
    lines = [
        f"<title>{_text(record['title'])}</title>",
        f"<link>{_text(url)}</link>",
        f"<description>{_text(record.get('excerpt', ''))}</description>",
        f"<pubDate>{_rfc822(published)}</pubDate>",
        guid,
    ]
    for category in [record.get("category"), *(record.get("topics") or [])]:
        if category:
            lines.append(f"<category>{_text(category)}</category>")
    provider = record.get("provider") or {}
    if provider.get("name") and provider.get("domain"):
        lines.append(f"<source url={_attr('https://' + provider['domain'] + '/')}>{_text(provider['name'])}</source>")
    for image in record.get("images") or []:
        size = "".join(f" {key}={_attr(image[key])}" for key in ("width", "height") if key in image)
        lines.append(f'<media:content url={_attr(image["url"])} medium="image"{size}/>')
    return lines
