"""Checks that JSON Schema cannot express, as small named functions.

The schema names the first two as custom ``format`` values; the validator calls them.
The others look for what is legal but probably a mistake, and give warnings; they read
records of any shape (a record may have schema errors too) and never raise.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from feeds.diagnostics import Severity
from feeds.records import FieldPath, Finding
from feeds.urls import RECENT, is_http_url

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# RFC 3339 section 5.6 ``date-time``: full date, "T", full time, and a mandatory offset.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)

# The dates :func:`rfc3339_datetime` surely reads, anchored, for the schema's screen
# (:mod:`feeds.schema`): days every year has in their month (the 29th of February is
# left to the format), hours, minutes, seconds and offsets in range, and years that stay
# within 1 to 9999 in UTC whatever the offset.  Spelled for the schema's regex engine, in
# Rust, whose ``\d`` takes digits of every script.  A record holds a dozen dates; screened
# so, they no longer call back into Python one by one: screening a record of the bench's
# corpora took 21-25 us, against 29-38 us with a call for each date.
_SCREEN_YEAR = "|".join(  # 0002 to 9998
    [
        "000[2-9]",
        "00[1-9][0-9]",
        "0[1-9][0-9]{2}",
        "[1-8][0-9]{3}",
        "9[0-8][0-9]{2}",
        "99[0-8][0-9]",
        "999[0-8]",
    ]
)
_SCREEN_DAY = "|".join(
    [
        "(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",
        "(?:0[13-9]|1[0-2])-(?:29|30)",
        "(?:0[13578]|1[02])-31",
    ]
)
_SCREEN_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
_SCREEN_OFFSET = "[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"
SCREEN_RFC3339 = f"^(?:{_SCREEN_YEAR})-(?:{_SCREEN_DAY})[Tt ]{_SCREEN_TIME}(?:{_SCREEN_OFFSET})$"


# The schema checks every date of every record, and records cite the same dates again.
@lru_cache(maxsize=RECENT)
def is_rfc3339(value: str) -> bool:
    """An RFC 3339 date-time with a time zone, naming a day and time that exist
    (``2020-02-30`` and ``25:00`` do not), in the years 1 to 9999 in UTC too."""
    return rfc3339_datetime(value) is not None


def rfc3339_datetime(value: str) -> datetime | None:
    """The moment ``value`` names when :func:`is_rfc3339`, as an aware datetime; else
    ``None``.  For a caller that needs both, which would otherwise read the date twice."""
    if not _RFC3339.fullmatch(value):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def parse_datetime(value: str) -> datetime:
    """Read a date that :func:`is_rfc3339` accepted, as an aware datetime."""
    text = value.replace("z", "Z").replace("t", "T")
    if len(text) > 10 and text[10] == " ":
        text = f"{text[:10]}T{text[11:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    # Feeds write and rank every date in UTC: 0001-01-01T00:00:00+01:00 names a moment
    # there is no datetime for.
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from None
    return parsed


def moment(when: datetime) -> int:
    """``when`` in microseconds since the epoch: how the checks across records keep dates
    (:class:`feeds.crosscheck.Facts`), and how a feed ranks its entries
    (:func:`feeds.plan.rank_in_feed`)."""
    return (when - _EPOCH) // _MICROSECOND


FORMATS: dict[str, Callable[[str], bool]] = {
    "http-url": is_http_url,
    "rfc3339": is_rfc3339,
}


# A character reference as HTML writes one: ``&#038;``, ``&#x26;``, ``&amp;``.
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL_FIELDS = ("webUrl", "ampWebUrl", "cdnAmpWebUrl")
_DATE_FIELDS = ("publishedDateTime", "updatedDateTime")


def _items(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _article_urls(article: Mapping[str, Any], path: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    for name in _URL_FIELDS:
        if name in article:
            yield (*path, name), article[name]
    for index, image in _items(article.get("images")):
        yield (*path, "images", index, "url"), image.get("url")
    provider = article.get("provider")
    if isinstance(provider, Mapping):
        for index, image in _items(provider.get("images")):
            yield (*path, "provider", "images", index, "url"), image.get("url")


def record_urls(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """Every URL a record holds, with its field path: its own, its images', its related
    articles'."""
    found = list(_article_urls(data, ()))
    for index, related in _items(data.get("related")):
        found.extend(_article_urls(related, ("related", index)))
    for path, value in found:
        if isinstance(value, str):
            yield path, value


def may_hold_entities(front_matter: str) -> bool:
    """Whether data read from ``front_matter`` can hold an HTML entity anywhere: only when
    its text does, or when an escape sequence could write one (a quick test that spares most
    records the walk over every URL)."""
    return "\\" in front_matter or _HTML_ENTITY.search(front_matter) is not None


def html_entity_findings(data: Mapping[str, Any]) -> Iterator[Finding]:
    """URLs copied out of HTML often keep its escaping (``?w=1200&#038;strip=all``); a feed
    escapes them again, so readers would request ``&#038;`` literally."""
    for path, url in record_urls(data):
        match = _HTML_ENTITY.search(url)
        if match is None:
            continue
        entity = match.group()
        meaning = html.unescape(entity)
        if meaning == entity:  # not an entity HTML knows, e.g. a parameter ``&x;``
            continue
        yield Finding(
            path,
            "html-entity",
            f"URL contains the HTML entity {entity!r}; URLs in records are plain text, "
            f"so write {meaning!r} instead",
            Severity.WARNING,
        )


# ``scheme://``, then user information ending in ``@`` before the host ends.
_USERINFO = re.compile(r"://[^/?#@]*@")


def may_hold_credentials(front_matter: str) -> bool:
    """Whether data read from ``front_matter`` can hold a URL with a user name in it (the
    quick test of :func:`may_hold_entities`, for :func:`credential_findings`).  Most records
    hold no ``@`` at all: looking for one took 1 us in a 16 KB record, the search 26 us."""
    if "\\" in front_matter:
        return True
    return "@" in front_matter and _USERINFO.search(front_matter) is not None


def credential_findings(data: Mapping[str, Any]) -> Iterator[Finding]:
    """A URL copied from a browser or a staging link may carry a user name and password
    (``https://editor:secret@host/``); every feed would publish them to its readers.  The
    message names neither: it is printed in CI logs."""
    for path, url in record_urls(data):
        if "@" not in url:
            continue
        try:
            parts = urlsplit(url)
            user, password = parts.username, parts.password
        except ValueError:  # not a URL the schema accepts: its error says so
            continue
        if user is None:
            continue
        held = "a user name and password" if password is not None else "a user name"
        yield Finding(
            path,
            "url-credentials",
            f"URL holds {held} before its host ({parts.scheme}://…@{parts.hostname or ''}); "
            "every feed would publish it to its readers: remove it",
            Severity.WARNING,
        )


def date_values(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, Any]]:
    """The values of a record's date fields (its own and its related articles'), whatever
    they hold, by field path."""
    for name in _DATE_FIELDS:
        yield (name,), data.get(name)
    for index, related in _items(data.get("related")):
        yield ("related", index, "publishedDateTime"), related.get("publishedDateTime")


def dated_fields(data: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """The RFC 3339 dates of a record (its own and its related articles'), by field path."""
    for path, value in date_values(data):
        if isinstance(value, str) and is_rfc3339(value):
            yield path, value


# The rule of a date in the future: the one finding whose message depends on the clock.
FUTURE_DATE = "future-date"


def future_date_findings(data: Mapping[str, Any], now: datetime) -> Iterator[Finding]:
    """A date after ``now`` is legal but usually a wrong year or time zone, and a feed reader
    would keep the entry at the top for that long."""
    for path, value in dated_fields(data):
        if parse_datetime(value) > now:
            yield Finding(
                path,
                FUTURE_DATE,
                f"{value!r} is in the future (checked at "
                f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}); is the year or the time zone right?",
                Severity.WARNING,
            )
