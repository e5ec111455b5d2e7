"""Rendering a planned feed as Atom 1.0 and RSS 2.0 documents, with feedgen.

feedgen 1.0.0 drops ``rel``, ``type`` and ``title`` from Atom entry links (its issue #135:
the loop variable is rebound to the new element before its attributes are read).  Entry
links other than the plain alternate one are therefore written by :class:`_EntryExtras`,
a feedgen entry extension, which also writes the Media RSS thumbnail and the RSS creator.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import __version__
from feeds.articles import Article
from feeds.config import Config
from feeds.plan import FeedKind, FeedPlan, FeedSpec

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
FORMATS = {"atom": (".atom.xml", ATOM_TYPE), "rss": (".rss.xml", RSS_TYPE)}
# Readers show an undated feed as "updated just now"; a fixed date keeps builds reproducible.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("6f1c3a52-43a3-4b7c-9d0e-4f0f3c8a9e11")


def article_id(article: Article) -> str:
    """Derived from the canonical URL only: the same in every feed, format and build."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, article.key)}"


def feed_id(spec: FeedSpec) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'feed:{spec.kind}:{spec.key}')}"


def file_name(spec: FeedSpec, fmt: str) -> str:
    return f"{spec.path}{FORMATS[fmt][0]}"


@dataclass(frozen=True, slots=True)
class RelatedLink:
    href: str
    title: str


class _FeedExtras(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "dc": DC_NS}


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.related: tuple[RelatedLink, ...] = ()
        self.thumbnail: tuple[str, int | None, int | None] | None = None
        self.creator: str | None = None

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen builds Atom documents from unqualified elements under a default namespace.
        for link in self.related:
            etree.SubElement(
                entry,
                "link",
                rel="related",
                href=link.href,
                title=link.title,
                type="text/html",
            )
        self._thumbnail(entry)
        return entry

    def extend_rss(self, item: etree._Element) -> etree._Element:
        if self.creator:
            etree.SubElement(item, f"{{{DC_NS}}}creator").text = self.creator
        # RSS 2.0 has no related links of its own; atom:link is the common extension.
        for link in self.related:
            etree.SubElement(
                item,
                f"{{{ATOM_NS}}}link",
                rel="related",
                href=link.href,
                title=link.title,
                type="text/html",
            )
        self._thumbnail(item)
        return item

    def _thumbnail(self, parent: etree._Element) -> None:
        if self.thumbnail is None:
            return
        url, width, height = self.thumbnail
        element = etree.SubElement(parent, f"{{{MEDIA_NS}}}thumbnail", url=url)
        if width and height:
            element.set("width", str(width))
            element.set("height", str(height))


def entry_content(article: Article, related: list[Article]) -> str:
    """The HTML body of an entry: the excerpt, the image, and the related articles as a
    visible list, since most readers ignore link elements.  All text is escaped."""
    parts = []
    if article.image is not None:
        size = ""
        if article.image.width and article.image.height:
            size = f' width="{article.image.width}" height="{article.image.height}"'
        parts.append(f'<p><img src="{html.escape(article.image.url)}"{size} alt=""></p>')
    if article.excerpt:
        parts.append(f"<p>{html.escape(article.excerpt)}</p>")
    parts.append(
        f'<p><a href="{html.escape(article.url)}">Read on {html.escape(article.provider.name)}'
        "</a></p>"
    )
    if related:
        items = "".join(
            f'<li><a href="{html.escape(other.url)}">{html.escape(other.title)}</a>'
            f" ({html.escape(other.provider.name)})</li>"
            for other in related
        )
        parts.append(f"<h3>Related articles</h3><ul>{items}</ul>")
    return "".join(parts)


def _feed_title(config: Config, spec: FeedSpec) -> str:
    if spec.kind is FeedKind.ALL:
        return config.title
    return f"{spec.name} – {config.title}"  # noqa: RUF001 - a typographic dash


def _feed_description(config: Config, spec: FeedSpec) -> str:
    if spec.kind is FeedKind.TOPIC:
        return f"Articles about {spec.name}"
    if spec.kind is FeedKind.PROVIDER:
        return f"Articles from {spec.name}"
    return config.description


def render(spec: FeedSpec, articles: Mapping[str, Article], config: Config) -> dict[str, bytes]:
    """The documents of one feed, by format name."""
    generator = _generator(spec, articles, config)
    out: dict[str, bytes] = {}
    for fmt, (_suffix, media_type) in FORMATS.items():
        generator.link(
            [
                {"href": config.url_for(file_name(spec, fmt)), "rel": "self", "type": media_type},
                {"href": config.base_url, "rel": "alternate", "type": "text/html"},
            ],
            replace=True,
        )
        if fmt == "atom":
            out[fmt] = generator.atom_str(pretty=True, encoding="UTF-8")
        else:
            out[fmt] = generator.rss_str(pretty=True, encoding="UTF-8")
    return out


def _generator(spec: FeedSpec, articles: Mapping[str, Article], config: Config) -> Any:
    generator = FeedGenerator()
    generator.register_extension("feeds", _FeedExtras, _EntryExtras, atom=True, rss=True)
    generator.id(feed_id(spec))
    generator.title(_feed_title(config, spec))
    generator.subtitle(_feed_description(config, spec))
    generator.language(config.language)
    generator.generator("feeds", version=__version__)
    updated = spec.updated or EPOCH
    generator.updated(updated)
    generator.lastBuildDate(updated)
    # feedgen prepends entries; add oldest first so the document reads newest first.
    for article in reversed(spec.entries):
        _add_entry(generator, article, articles)
    return generator


def _add_entry(generator: Any, article: Article, articles: Mapping[str, Article]) -> None:
    related = [articles[key] for key in article.related if key in articles]
    entry = generator.add_entry()
    entry.id(article_id(article))
    entry.title(article.title)
    entry.link(href=article.url)
    entry.published(article.published)
    entry.updated(article.updated)
    # RSS descriptions are HTML: the excerpt is text, so it is escaped for RSS and left
    # as text for Atom.  Order matters: description() first, so summary() keeps it.
    entry.description(html.escape(article.excerpt) or html.escape(article.title))
    if article.excerpt:
        entry.summary(article.excerpt)
    entry.content(entry_content(article, related), type="html")
    entry.author(name=article.provider.name, uri=f"https://{article.provider.domain}/")
    for topic in article.topics:
        entry.category(term=topic)
    extras: _EntryExtras = entry.feeds
    extras.creator = article.provider.name
    extras.related = tuple(RelatedLink(other.url, other.title) for other in related)
    if article.image is not None:
        extras.thumbnail = (article.image.url, article.image.width, article.image.height)


def render_plan(plan: FeedPlan, config: Config) -> dict[str, bytes]:
    """Every document of a build, by path relative to the output folder."""
    files: dict[str, bytes] = {}
    for spec in plan.feeds:
        for fmt, document in render(spec, plan.articles, config).items():
            files[file_name(spec, fmt)] = document
    return files
