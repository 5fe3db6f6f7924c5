"""RFC 3339 date-time text <-> an instant in UTC, the one reading (and writing) every output shares.

Kept apart from arrow_schema.py so that `validate` and the RSS writer need
no pyarrow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class OutOfRange(ValueError):
    """A date-time whose instant, in UTC, falls outside the years 1 to 9999."""


def parse_timestamp(text: str) -> datetime:
    """RFC 3339 -> an aware UTC datetime, to the microsecond (further digits are dropped).

    An offset such as +05:00 becomes the same instant in UTC. A leap second
    (:60) becomes the first instant of the next minute, as POSIX time has it.
    Raises ValueError for text that is not a date-time with a time zone, and
    OutOfRange for one that is, but outside the years 1 to 9999 in UTC.
    """
    text = text.upper()
    leap = text[17:19] == "60"
    if leap:
        text = text[:17] + "59" + text[19:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    try:
        moment = moment.astimezone(UTC)
        return moment + timedelta(seconds=1) if leap else moment
    except OverflowError:
        raise OutOfRange(
            f"in UTC it falls {'before the year 1' if moment.year == 1 else 'after the year 9999'}"
        ) from None


def representable(value: object) -> bool:
    """The extra date-time check every schema gets: its instant in UTC fits the years 1 to 9999.

    That is the range of a Python datetime, and of a BigQuery TIMESTAMP:
    "9999-12-31T23:00:00-05:00" passes RFC 3339's own rules, but neither can
    hold it. Raises OutOfRange, whose message the error report
    gives, and is true for anything that is not a date-time it can read (the
    RFC 3339 check words those errors).
    """
    # Only a date-time in the year 1 or 9999 can cross an edge once moved to UTC: the rest,
    # most of a corpus, are not parsed a second time.
    if isinstance(value, str) and value[:4] in ("0001", "9999"):
        try:
            parse_timestamp(value)
        except OutOfRange:
            raise
        except ValueError:
            pass
    return True


def rfc3339(moment: datetime) -> str:
    """An aware datetime -> `2023-08-02T06:44:00Z` in UTC, with microseconds only when there are some.

    A naive one (a Parquet timestamp without a time zone) keeps no offset, and
    so fails the schema's date-time format: its instant is unknown.
    """
    if moment.tzinfo is None:
        return moment.isoformat()
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
