"""What counts as a publishable URL, and when two URLs name the same article."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# ``\s`` matches exactly what ``str.isspace`` accepts; one regex search replaces a Python
# loop over every character, which was the costliest part of validating a record.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


# Records cite the same pages again and again: each URL is judged once.
@lru_cache(maxsize=1 << 17)
def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no white space or control characters.

    Feed readers resolve relative URLs against the feed, not the article, and would follow
    ``javascript:`` ones, so only absolute web URLs may be published.
    """
    if not value or _SPACE_OR_CONTROL.search(value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return False
    del port
    return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.hostname)


@lru_cache(maxsize=1 << 17)
def canonical_url(value: str) -> str:
    """The key under which an article is known: the same page cited in different ways
    (upper-case host, explicit default port, campaign tracking parameters, fragment) is one
    article.  Path and the order of the remaining query parameters are kept: servers treat
    them as significant."""
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
