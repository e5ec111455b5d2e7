"""What counts as a publishable URL, and when two URLs name the same article."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# ``\s`` matches exactly what ``str.isspace`` accepts; one regex search replaces a Python
# loop over every character, which was the costliest part of validating a record.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


# The shape nearly every URL in a record has: a lower-case http(s) scheme and a host name of
# letters, digits, dots and hyphens, with no user and no port.  Of these, the first regex
# says what ``urlsplit`` would (a web URL, whatever path, query and fragment follow), and
# the second gives the canonical form of those with a lower-case host, a non-empty query if
# any, and no fragment; about ten times quicker, and a record holds dozens of URLs.  Others
# go the general way; ``tests/test_urls.py`` checks that both ways agree.
_PLAIN_ORIGIN = r"https?://[A-Za-z0-9.-]*[A-Za-z0-9-][A-Za-z0-9.-]*"
_PLAIN_HTTP_URL = re.compile(rf"{_PLAIN_ORIGIN}(?:[/?#][^\s\x00-\x1f\x7f]*)?")
# What ``[^\s\x00-\x1f\x7f]`` matches in Python, spelled out for regex engines (the schema's,
# in Rust) whose ``\s`` is another set: Python's is what ``str.isspace`` accepts
# (tests/test_urls.py checks the list).
_NOT_SPACE_OR_CONTROL = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# ``_PLAIN_HTTP_URL``, anchored, for the schema's screen (:mod:`feeds.schema`): it matches
# the same strings, so every one is an http URL by :func:`is_http_url`.  Letters outside
# ASCII in a path or query are common; a screen that refused them sent nine records in ten
# of a corpus with such URLs the slow way, calling back into Python for each URL.
SCREEN_HTTP_URL = rf"^{_PLAIN_ORIGIN}(?:[/?#]{_NOT_SPACE_OR_CONTROL}*)?$"
_PLAIN_CANONICAL_URL = re.compile(
    r"(https?://[a-z0-9.-]*[a-z0-9-][a-z0-9.-]*)(/[^\s\x00-\x1f\x7f?#]*)?(?:\?([^\s\x00-\x1f\x7f#]+))?"
)


# Records cite the same pages again and again, mostly within a record and the records
# near it: a URL is judged once while it is among the last ``RECENT`` judged.  At 10,000
# records, eight times as many had the same hit rate; at 100,000 they held 80 MB more in
# each worker process.  (The caches of other values records repeat use the same size.)
RECENT = 1 << 14


@lru_cache(maxsize=RECENT)
def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no white space or control characters.

    Feed readers resolve relative URLs against the feed, not the article, and would follow
    ``javascript:`` ones, so only absolute web URLs may be published.
    """
    if _PLAIN_HTTP_URL.fullmatch(value) is not None:  # it has no space or control character
        return True
    return bool(value) and not _SPACE_OR_CONTROL.search(value) and _is_http_url_split(value)


def _is_http_url_split(value: str) -> bool:
    """:func:`is_http_url` for a value without white space, the general way."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return False
    del port
    return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.hostname)


@lru_cache(maxsize=RECENT)
def canonical_url(value: str) -> str:
    """The key under which an article is known: the same page cited in different ways
    (upper-case host, explicit default port, campaign tracking parameters, fragment) is one
    article.  Path and the order of the remaining query parameters are kept: servers treat
    them as significant."""
    plain = _PLAIN_CANONICAL_URL.fullmatch(value)
    if plain is not None and "utm_" not in value.lower():
        origin, path, query = plain.groups()
        return f"{origin}{path or '/'}{'?' + query if query else ''}"
    return _canonical_url_split(value)


def _canonical_url_split(value: str) -> str:
    """:func:`canonical_url`, the general way."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not k.lower().startswith("utm_")]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))
