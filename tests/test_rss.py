"""RSS 2.0 read back by feedparser (bozo == 0) and lxml: order, dates, escaping, namespaces."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from conftest import SEEDS, RunCli
from lxml import etree
from test_export import CORPUS, _golden, _records

MEDIA = "http://search.yahoo.com/mrss/"


def _feed(run_cli: RunCli, tmp_path: Path, *args: str, source: Path = CORPUS) -> tuple[Path, feedparser.FeedParserDict]:
    out = tmp_path / "feed.xml"
    result = run_cli("export", str(source), "-o", str(out), *args)
    assert result.exit_code == 0, result.stderr
    parsed = feedparser.parse(out.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return out, parsed


def _instant(text: object) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


def _newest_first() -> list[dict[str, object]]:
    """Independent of the writer: stdlib dates, ties kept in path order."""
    records = _records()
    order = sorted(range(len(records)), key=lambda i: (-_instant(records[i]["publishedDateTime"]).timestamp(), i))
    return [records[i] for i in order]


def test_feed_is_valid_and_items_are_newest_first(run_cli: RunCli, tmp_path: Path) -> None:
    out, feed = _feed(run_cli, tmp_path, "--feed-url", "https://example.org/feed.xml")
    expected = _newest_first()
    assert [e.title for e in feed.entries] == [r["title"] for r in expected]
    for entry, record in zip(feed.entries, expected, strict=True):
        assert entry.link == record["webUrl"]
        assert entry.id == record["webUrl"]
        assert entry.summary == str(record["excerpt"]).strip()  # feedparser trims; lxml below does not
        assert [t.term for t in entry.tags] == [record["category"], *record.get("topics", [])]  # type: ignore[misc]
        published = parsedate_to_datetime(entry.published)
        assert published == _instant(record["publishedDateTime"]).replace(microsecond=0)
    descriptions = [d.text or "" for d in etree.parse(str(out)).getroot().iter("description")][1:]
    assert descriptions == [r["excerpt"] for r in expected]
    guids = etree.parse(str(out)).getroot().findall("channel/item/guid")
    assert {g.get("isPermaLink") for g in guids} == {"true"}
    assert feed.feed.title == "Articles"
    assert feed.feed.links[-1].rel == "self"
    _golden(out, "feed.xml")


def test_dates_are_rfc_822_in_gmt(run_cli: RunCli, tmp_path: Path) -> None:
    out, _ = _feed(run_cli, tmp_path)
    root = etree.parse(str(out)).getroot()
    dates = [e.text for e in root.iter("pubDate")]
    assert "Fri, 04 Aug 2023 06:59:00 GMT" in dates  # 11:59:00+05:00 and the seed, the same second in UTC
    last_build = root.findtext("channel/lastBuildDate")
    assert last_build == dates[0] == "Sat, 05 Aug 2023 09:30:15 GMT"


def test_source_and_media_content(run_cli: RunCli, tmp_path: Path) -> None:
    out, _ = _feed(run_cli, tmp_path, source=SEEDS[1])
    item = etree.parse(str(out)).getroot().find("channel/item")
    assert item is not None
    source = item.find("source")
    assert source is not None
    assert (source.text, source.get("url")) == ("ProPakistani", "https://propakistani.pk/")
    media = item.find(f"{{{MEDIA}}}content")
    assert media is not None
    assert (media.get("width"), media.get("height"), media.get("medium")) == ("1000", "560", "image")


def test_every_namespace_prefix_is_declared(run_cli: RunCli, tmp_path: Path) -> None:
    out, _ = _feed(run_cli, tmp_path, "--feed-url", "https://example.org/feed.xml")
    root = etree.parse(str(out)).getroot()  # lxml refuses an undeclared prefix
    used = {el.prefix for el in root.iter() if el.prefix}
    assert used <= set(root.nsmap)
    assert root.nsmap["media"] == MEDIA


def test_markup_and_control_characters_stay_data(run_cli: RunCli, tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    text = SEEDS[0].read_text(encoding="utf-8")
    hostile = 'title: "<script>alert(1)</script> ]]> & \\x07bell \\x0Bvt \\uFFFE end"'
    (corpus / "a.md").write_text(text.replace(text.split("\n")[2], hostile, 1), encoding="utf-8")
    out, feed = _feed(run_cli, tmp_path, source=corpus)
    assert feed.entries[0].title == "<script>alert(1)</script> ]]> & bell vt  end"
    title = etree.parse(str(out)).getroot().findtext("channel/item/title")
    assert title == "<script>alert(1)</script> ]]> & bell vt  end"
    assert b"<script>" not in out.read_bytes()


def test_limit_keeps_the_newest(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("export", str(CORPUS), "-o", str(tmp_path / "feed.xml"), "--limit", "2")
    assert "wrote 2 records" in result.stderr
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == [r["title"] for r in _newest_first()[:2]]


def test_channel_options_and_build_date(run_cli: RunCli, tmp_path: Path) -> None:
    _, feed = _feed(
        run_cli, tmp_path, "--title", "Tech & AI", "--link", "https://news.example/", "--description", "All of it",
        "--build-date", "2024-01-02T03:04:05+01:00",
    )  # fmt: skip
    assert (feed.feed.title, feed.feed.link, feed.feed.subtitle) == ("Tech & AI", "https://news.example/", "All of it")
    assert feed.feed.updated == "Tue, 02 Jan 2024 02:04:05 GMT"


def test_a_bad_build_date_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("export", str(CORPUS), "-o", str(tmp_path / "f.rss"), "--build-date", "yesterday")
    assert result.exit_code == 2
    assert "--build-date" in result.stderr


@pytest.mark.parametrize("name", ["feed.rss", "feed.xml"])
def test_the_feed_is_deterministic(run_cli: RunCli, tmp_path: Path, name: str) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        assert run_cli("export", str(CORPUS), "-o", str(folder / name)).exit_code == 0
    assert (first / name).read_bytes() == (second / name).read_bytes()


def test_guids_are_unique_when_webUrls_repeat(run_cli: RunCli, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = SEEDS[0].read_text(encoding="utf-8")
    for name, date in [("a.md", "2023-08-01"), ("b.md", "2023-08-03"), ("c.md", "2023-08-02")]:
        (corpus / name).write_text(seed.replace("2023-08-02", date, 1), encoding="utf-8")
    out, feed = _feed(run_cli, tmp_path / ".", "--allow-duplicate-urls", source=corpus)
    guids = [(g.get("isPermaLink"), g.text) for g in etree.parse(str(out)).getroot().findall("channel/item/guid")]
    url = feed.entries[0].link
    # Newest first (b, c, a); a comes first in input order and keeps the permalink.
    assert guids == [("false", f"{url}#2"), ("false", f"{url}#3"), ("true", url)]
    assert len({e.id for e in feed.entries}) == 3
    limited, _ = _feed(run_cli, tmp_path / ".", "--allow-duplicate-urls", "--limit", "2", source=corpus)
    assert [g.text for g in etree.parse(str(limited)).getroot().findall("channel/item/guid")] == [url, f"{url}#2"]


def test_language_is_the_channels(run_cli: RunCli, tmp_path: Path) -> None:
    out, feed = _feed(run_cli, tmp_path, "--language", "en-us")
    assert feed.feed.language == "en-us"
    assert etree.parse(str(out)).getroot().findtext("channel/language") == "en-us"
    _, without = _feed(run_cli, tmp_path)
    assert "language" not in without.feed
    result = run_cli("export", str(CORPUS), "-o", str(tmp_path / "f.rss"), "--language", "english please")
    assert result.exit_code == 2
    assert "--language must be a language tag such as en or en-us, not 'english please'" in result.stderr
