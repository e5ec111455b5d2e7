"""Text and URLs in the form the strictest feed readers and validators accept.

Records may carry characters that XML cannot hold (C0 controls, lone surrogates), that
validators take for mis-decoded text (C1 controls, U+FFFD), and URLs with characters outside
RFC 3986 (spaces, ``|``, non-ASCII).  Everything written is passed through here first, so
every output format sees the same, printable text.
"""

from __future__ import annotations

import html.entities
import re
from urllib.parse import quote, urlsplit, urlunsplit

from feeds.articles import Article, Image, Provider, Text

# Not allowed in XML 1.0 at all, or allowed but flagged as mojibake or as non-characters.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffd\ufffe\uffff]"
)
# What an HTML-minded reader would take for a tag or an entity rather than for text.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&#?\w+;")
# Characters RFC 2396/3986 allow literally in a URI (the W3C validator's own set).
URI_SAFE = ";/?:@&=+$,-_.!~*'()%#"
_PLAIN_URI = re.compile(r"[A-Za-z0-9" + re.escape(URI_SAFE) + r"]*")


def printable(text: str) -> str:
    """``text`` without the characters no reader can show, and with ``\n`` line ends."""
    return _UNPRINTABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def has_markup(text: str) -> bool:
    """Whether ``text`` holds something an HTML parser would not show as it is written:
    a tag (``<b>``, ``</b>``) or a character reference (``&amp;``)."""
    return _MARKUP.search(text) is not None


_END_TAG = re.compile(r"</\w+>|<[/A-Za-z]|&#[x0-9]")
_ENTITY = re.compile(r"&(#?\w+)")


def plain_attribute(text: str) -> bool:
    """Whether ``text`` can stand in an attribute that validators read as plain text (a link
    title) without looking like markup: no tags, no entity names, no character references."""
    if _END_TAG.search(text):
        return False
    return not any(
        name in html.entities.name2codepoint or name == "apos" or not name.isalpha()
        for name in _ENTITY.findall(text)
    )


_TAG_OR_ADDRESS = re.compile(r"<[^<>]*>")


def plain_title(text: str, fallback: str) -> str:
    """``text`` as a title for an attribute read as plain text (see :func:`plain_attribute`):
    tags dropped, references read, and an ``&`` that would still read as one spelled
    ``and``, so every link keeps a title a reader can show; ``fallback`` if nothing
    readable is left."""
    if plain_attribute(text):
        return text
    words = html.unescape(" ".join(_TAG_OR_ADDRESS.sub(" ", text).split()))
    if not plain_attribute(words):
        words = re.sub(r"&(?=#?\w)", "and ", words)
    return words if words and plain_attribute(words) else fallback


_NAME_TROUBLE = re.compile(r"</\w+>|<[^<>\s]+@[^<>\s]+>")


def person_name(text: str) -> str:
    """A name for Atom's ``author/name`` and RSS's ``dc:creator``, which are plain text that
    validators check for tags and bracketed e-mail addresses: those are dropped
    (``<b>Bold</b> Times`` is named ``Bold Times``); any other name is kept as it is."""
    if not _NAME_TROUBLE.search(text):
        return text
    return " ".join(_TAG_OR_ADDRESS.sub(" ", text).split()) or "Unknown"


def as_uri(url: str) -> str:
    """``url`` as an ASCII URI: host in IDNA, every other character outside RFC 3986's
    set percent-encoded as UTF-8.  Existing percent escapes are kept as they are."""
    url = printable(url).strip()
    if _PLAIN_URI.fullmatch(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii() and parts.hostname:
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError:
            host = parts.hostname
        userinfo, _, _hostport = netloc.rpartition("@")
        port = f":{parts.port}" if parts.port is not None else ""
        netloc = f"{userinfo}@{host}{port}" if userinfo else host + port
    rest = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    return f"{parts.scheme}://{quote(netloc, safe=URI_SAFE)}{quote(rest, safe=URI_SAFE)}"


def provider_url(provider: Provider) -> str:
    """The home page of a provider, from its domain."""
    return as_uri(f"https://{provider.domain.strip()}/")


def _provider(provider: Provider) -> Provider:
    return Provider(printable(provider.name).strip() or provider.domain, provider.domain)


def _image(image: Image | None) -> Image | None:
    return None if image is None else image._replace(url=as_uri(image.url))


def clean_article(article: Article) -> Article:
    """The article with printable text and ASCII URIs; its key (identity) is unchanged."""
    text = article.text
    return article._replace(
        held_text=Text(
            url=as_uri(text.url),
            title=printable(text.title).strip() or text.url,
            excerpt=printable(text.excerpt).strip(),
            image=_image(text.image),
        ),
        provider=_provider(article.provider),
        topics=tuple(dict.fromkeys(t for t in (printable(t).strip() for t in article.topics) if t)),
    )


def clean_articles(articles: dict[str, Article]) -> dict[str, Article]:
    return {key: clean_article(article) for key, article in articles.items()}
