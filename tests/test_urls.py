from __future__ import annotations

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.urls import (
    _SPACE_OR_CONTROL,
    SCREEN_HTTP_URL,
    _canonical_url_split,
    _is_http_url_split,
    canonical_url,
    is_http_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://venturebeat.com/2020/06/10/ibm/",
        "http://example.com",
        "HTTPS://Example.COM/a?b=c#d",
        "https://example.com:8443/x",
        "https://[2001:db8::1]/x",
        "https://bücher.example/straße",
        "https://venturebeat.com/a.jpg?w=1200&#038;strip=all",
    ],
)
def test_accepts_absolute_web_urls(url: str) -> None:
    assert is_http_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "javascript:alert(1)",
        "ftp://example.com/file",
        "/relative/path",
        "relative/path",
        "//example.com/no-scheme",
        "https://",
        "https:///path-without-host",
        "https://exa mple.com/",
        "https://example.com/with space",
        "https://example.com/\ttab",
        "https://example.com:99999/",
        "https://example.com:port/",
        "mailto:someone@example.com",
        "data:text/html,<b>x</b>",
    ],
)
def test_rejects_everything_else(url: str) -> None:
    assert not is_http_url(url)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("https://Example.COM/Path", "https://example.com/Path"),
        ("HTTPS://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?utm_source=x&id=3&UTM_Medium=y", "https://example.com/a?id=3"),
        ("https://example.com/a?utm_source=x", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/A/b/", "https://example.com/A/b/"),
    ],
)
def test_canonical_url(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://Example.com:80/x?utm_campaign=a&q=1")
    assert canonical_url(once) == once


def test_space_and_control_characters_are_exactly_those_python_knows() -> None:
    unwanted = [chr(c) for c in range(0x110000) if chr(c).isspace() or c < 0x20 or c == 0x7F]
    assert [ch for ch in map(chr, range(0x110000)) if _SPACE_OR_CONTROL.search(ch)] == unwanted
    for ch in unwanted:
        assert not is_http_url(f"https://example.com/a{ch}b"), hex(ord(ch))


# URLs close to the common shape, and just off it: upper case, ports, users, brackets,
# fragments, empty queries, tracking parameters, non-ASCII and white space.
_URL_PARTS = st.sampled_from(
    [
        "http",
        "https",
        "HTTPS",
        "ftp",
        "://",
        ":",
        "/",
        "//",
        "?",
        "#",
        "&",
        "=",
        "@",
        "[",
        "]",
        ".",
        "-",
        "a",
        "Z",
        "0",
        "9",
        "é",
        " ",
        "\t",
        "%41",
        "utm_",
        "UTM_x",
        "example.com",
        "80",
    ]
)
_URLISH = st.lists(_URL_PARTS, max_size=12).map("".join)
_WEBISH = st.tuples(st.sampled_from(["http://", "https://", "HTTP://"]), _URLISH).map("".join)


@given(st.one_of(_URLISH, _WEBISH))
@settings(max_examples=3000, deadline=None)
def test_the_quick_way_agrees_with_urlsplit(value: str) -> None:
    general = not _SPACE_OR_CONTROL.search(value) and bool(value) and _is_http_url_split(value)
    assert is_http_url.__wrapped__(value) == general
    try:
        expected = _canonical_url_split(value)
    except ValueError:  # the general way refuses it: so must the quick way
        with pytest.raises(ValueError):
            canonical_url.__wrapped__(value)
        return
    assert canonical_url.__wrapped__(value) == expected


_SCREEN = jsonschema_rs.validator_for({"type": "string", "pattern": SCREEN_HTTP_URL})


@given(st.one_of(_URLISH, _WEBISH, _WEBISH.map(lambda url: url + "\n"), st.text()))
@settings(max_examples=3000, deadline=None)
def test_what_the_schema_screen_matches_is_an_http_url(value: str) -> None:
    """Read by the schema's own regex engine, as :mod:`feeds.schema` uses it."""
    if _SCREEN.is_valid(value):
        assert is_http_url.__wrapped__(value)


def test_the_schema_screen_matches_plain_urls() -> None:
    for value in [
        "https://news.example.com/2021/03/04/a-b/?x=1&y=%20#top",
        "https://x.com/é",
        "https://news.example.jp/東京/ニュース?q=経済",
    ]:
        assert _SCREEN.is_valid(value), value
    for value in [
        "HTTPS://X.COM/",
        "https://x.com/\n",
        "https://u@x.com/",
        "https://x.com/a\u3000b",
    ]:
        assert not _SCREEN.is_valid(value), value


def test_the_schema_screen_takes_after_the_host_every_character_python_takes() -> None:
    """Read by the schema's own regex engine, character by character: a screen that took
    fewer would send records with such URLs the slow way, one that took more would let
    through what the format refuses."""
    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    taken = [
        f"https://x.com/a{ch}" for ch in every if is_http_url.__wrapped__(f"https://x.com/a{ch}")
    ]
    refused = [f"https://x.com/a{ch}" for ch in every if _SPACE_OR_CONTROL.search(ch) is not None]
    assert len(taken) + len(refused) == len(every)
    screen_of_lists = jsonschema_rs.validator_for(
        {"type": "array", "items": {"type": "string", "pattern": SCREEN_HTTP_URL}}
    )
    assert screen_of_lists.is_valid(taken)
    assert [url for url in refused if _SCREEN.is_valid(url)] == []
