"""Checks that JSON Schema cannot express, as small named functions.

The schema names the first two as custom ``format`` values; the validator calls them.
"""

from __future__ import annotations

import re
from datetime import datetime

from feeds.urls import is_http_url

# RFC 3339 section 5.6 ``date-time``: full date, "T", full time, and a mandatory offset.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def is_rfc3339(value: str) -> bool:
    """An RFC 3339 date-time with a time zone, naming a day and time that exist
    (``2020-02-30`` and ``25:00`` do not)."""
    if not _RFC3339.fullmatch(value):
        return False
    try:
        parse_datetime(value)
    except ValueError:
        return False
    return True


def parse_datetime(value: str) -> datetime:
    """Read a date that :func:`is_rfc3339` accepted, as an aware datetime."""
    text = value.replace("z", "Z").replace("t", "T")
    if len(text) > 10 and text[10] == " ":
        text = f"{text[:10]}T{text[11:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed


FORMATS = {
    "http-url": is_http_url,
    "rfc3339": is_rfc3339,
}
