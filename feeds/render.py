"""Rendering a planned feed as Atom 1.0 and RSS 2.0 documents, with feedgen.

An article is listed by several feeds and their archive pages, and its entry reads the same
in each.  So entries are rendered once (:func:`render_entries`, many to one feedgen
document, cut apart) and spliced into each document where feedgen puts entries
(:func:`render_document`): the bytes are those feedgen writes for the whole document at
once, which ``tests/test_entries.py`` checks on every document of an awkward corpus.

feedgen 1.0.0 drops ``rel``, ``type`` and ``title`` from Atom entry links (its issue #135:
the loop variable is rebound to the new element before its attributes are read).  Entry
links other than the plain alternate one are therefore written by :class:`_EntryExtras`,
a feedgen entry extension, which also writes the Media RSS thumbnail and the RSS creator.
Entries rendered in bulk have their related links written as bytes instead, the bytes lxml
writes for those elements (:func:`_with_related`).

Every document passes the W3C Feed Validation Service without errors or warnings (see
``tests/test_conformance.py``).  Its rules shape a few choices here:

- Text that an HTML-minded reader would misread (a tag, a character reference) is written
  escaped and, in Atom, marked ``type="html"``; other text stays plain ``type="text"``.  RSS
  titles and categories follow the same rule, as RSS readers treat them as HTML.
- Every ``&`` is written as the hexadecimal character reference ``&#x26;``, as the RSS Best
  Practices Profile recommends: the same character to an XML parser, and the sign by which
  validators know that an entity-like text such as ``&amp;amp;`` is escaped on purpose.
- Archive pages (RFC 5005, :mod:`feeds.archive`) carry ``<fh:archive/>`` and
  ``current``/``prev-archive``/``next-archive`` links; RSS uses ``atom:link`` for them.
- An ``xml-stylesheet`` instruction points at ``feed.xsl`` by a relative URL, so a browser
  shows a readable page wherever the output folder is served.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, NamedTuple

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds import __version__
from feeds.articles import Article, Text, listed_related
from feeds.config import Config
from feeds.plan import FeedKind, FeedSpec
from feeds.sanitize import has_markup, person_name, plain_title, provider_url

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
FH_NS = "http://purl.org/syndication/history/1.0"
STYLESHEET = "feed.xsl"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
FORMATS = {"atom": (".atom.xml", ATOM_TYPE), "rss": (".rss.xml", RSS_TYPE)}
# Readers show an undated feed as "updated just now"; a fixed date keeps builds reproducible.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MOMENT = datetime.max.replace(tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAMESPACE = uuid.UUID("6f1c3a52-43a3-4b7c-9d0e-4f0f3c8a9e11")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def article_id(article: Article) -> str:
    """Derived from the canonical URL only: the same in every feed, format and build."""
    return _urn(article.key)


def _urn(name: str) -> str:
    """The URN of ``uuid.uuid5(_NAMESPACE, name)``, its bits set as RFC 4122 sets them
    (version 5, variant 10), without making a :class:`uuid.UUID`: 1.0 us against 2.9 us.
    An entry asks for the ids of its related articles too, some ten a JSON Feed item, so
    those were kept in a cache of 65,536; a render worker, sent new articles with every
    batch, held their keys long after, and with them the memory of batches long gone:
    a cold build of the 10k bench corpus in one process took 33.9-35.8 s and 313-314 MB
    with none, against 36.1-36.2 s and 322-324 MB."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50
    digest[8] = digest[8] & 0x3F | 0x80
    hexed = digest.hex()
    return f"urn:uuid:{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def feed_id(spec: FeedSpec) -> str:
    return _urn(f"feed:{spec.kind}:{spec.key}")


def file_name(spec: FeedSpec, fmt: str, page: int | None = None) -> str:
    """The output path of a feed's subscription document, or of one of its archive pages."""
    return f"{spec.document_path(page)}{FORMATS[fmt][0]}"


def page_links(spec: FeedSpec, fmt: str, page: int | None) -> list[tuple[str, str]]:
    """RFC 5005 links of a document as ``(rel, path)``; see :mod:`feeds.archive`."""
    if page is None:
        if not spec.archives:
            return []
        return [("prev-archive", file_name(spec, fmt, len(spec.archives)))]
    links = [("current", file_name(spec, fmt))]
    if page > 1:
        links.append(("prev-archive", file_name(spec, fmt, page - 1)))
    links.append(("next-archive", file_name(spec, fmt, page + 1)))
    return links


def document_entries(spec: FeedSpec, page: int | None) -> tuple[Article, ...]:
    return spec.entries if page is None else spec.archives[page - 1]


def as_html(text: str) -> str:
    """Text as HTML that shows exactly that text."""
    return html.escape(text, quote=False)


def rss_text(text: str) -> str:
    """RSS readers take titles and categories for HTML: escape only what they would misread,
    so plain text stays plain for readers that take it for text."""
    return as_html(text) if has_markup(text) else text


def _atom_html(text: str) -> bool:
    """Whether an Atom text construct holding ``text`` is written as HTML (see
    :func:`_atom_text`)."""
    return has_markup(text) or "\n" in text


def _atom_text(element: etree._Element | None) -> None:
    """Mark an Atom text construct as HTML, escaped, when its text holds markup or line
    breaks (kept as ``<br>``: validators read only the first line of plain text)."""
    if element is None or not element.text:
        return
    if _atom_html(element.text):
        element.text = "<br>\n".join(as_html(line) for line in element.text.split("\n"))
        element.set("type", "html")


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A related article as an entry links to it, in both formats."""

    href: str
    title: str

    @classmethod
    def to(cls, text: Text) -> RelatedLink:
        """The link to the article of ``text``.  Link titles are plain text that no reader
        unescapes: one that would read as markup is given without it, so every related
        link keeps a title."""
        return cls(text.url, plain_title(text.title, fallback="Related article"))


# What an entry lists of a related article is worked out each time, in under a microsecond
# each.  Kept in caches of 16,384 per process instead, they held on to the texts of
# articles rendered long before, in the build and in its render worker (one sent new
# articles with every batch): cold builds of the 10k bench corpus peaked at
# 362-364 MB without them, 388-392 MB with them, and took no longer (19.4-21.4 s against
# 20.9-23.3 s, and as much processor time); of 9,700 records of another shape citing about
# ten (bench/othershape.py), 351-359 MB against 365-366 MB, 17.65-17.95 s against
# 17.93-18.63 s.
def _related_item(url: str, title: str, provider: str) -> str:
    return (
        f'<li><a href="{html.escape(url)}">{html.escape(title)}</a> ({html.escape(provider)})</li>'
    )


_ATOM_LINK = f"{{{ATOM_NS}}}link"
_THUMBNAIL = f"{{{MEDIA_NS}}}thumbnail"
_CREATOR = f"{{{DC_NS}}}creator"


def _add_link(parent: etree._Element, tag: str, link: RelatedLink) -> None:
    etree.SubElement(
        parent, tag, {"rel": "related", "href": link.href, "title": link.title, "type": "text/html"}
    )


# Where :func:`render_entries` writes an entry's related links itself: a processing
# instruction, which lxml writes on a line of its own, indented as the link elements would
# be, and which no text of a record can make (its ``<`` is escaped).
_RELATED_TARGET = "feeds-related-links"
_RELATED_MARK = f"<?{_RELATED_TARGET} ?>".encode("ascii")


def _link_xml(href: str, title: str) -> bytes:
    """The Atom link element of a related article as lxml writes it (see :func:`_add_link`);
    in RSS it is the same but for its ``atom:`` prefix.  Building the elements of an entry's
    dozen related links in both formats, and writing them out, took a third of the time of
    rendering the entries of records: 0.90-0.94 s for 3,000 records of the benchmark's
    corpus at 10,000, 0.59 s without their links, 0.69-0.70 s with them spliced in."""
    href, title = _xml_attribute(href), _xml_attribute(title)
    return f'<link rel="related" href="{href}" title="{title}" type="text/html"/>'.encode()


def _xml_attribute(value: str) -> str:
    """``value`` escaped as libxml2 escapes an attribute value (UTF-8 as it is)."""
    for character, reference in _ATTRIBUTE_REFERENCES:
        if character in value:
            value = value.replace(character, reference)
    return value


_ATTRIBUTE_REFERENCES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\n", "&#10;"),
    ("\r", "&#13;"),
    ("\t", "&#9;"),
)


class _FeedExtras(BaseExtension):  # type: ignore[misc]
    """Feed-level additions: archive links and marker, and the per-format text rules."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []  # (rel, absolute URL), set per format
        self.archive = False
        self.build_date: str | None = None  # lastBuildDate, when feedgen misprints it

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"media": MEDIA_NS, "dc": DC_NS}
        if self.archive:
            namespaces["fh"] = FH_NS
        return namespaces

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        _atom_text(feed.find("title"))
        _atom_text(feed.find("subtitle"))
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        for rel, href in self.links:
            etree.SubElement(feed, "link", rel=rel, href=href, type=ATOM_TYPE)
        return feed

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss[0]
        for name in ("title", "description"):
            element = channel.find(name)
            if element is not None and element.text:
                element.text = rss_text(element.text)
        if self.build_date is not None:
            _set_text(channel.find("lastBuildDate"), self.build_date)
        if self.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        for rel, href in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", rel=rel, href=href, type=RSS_TYPE)
        return rss


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.related: tuple[RelatedLink, ...] = ()
        # Whether the related links are left for render_entries to write (_RELATED_MARK).
        self.related_spliced = False
        self.thumbnail: tuple[str, int | None, int | None] | None = None
        self.creator: str | None = None
        # The elements whose text the rules of each format change (see _changed_texts).
        self.atom_texts: tuple[str, ...] = ()
        self.rss_texts: tuple[str, ...] = ()
        self.pub_date: str | None = None  # pubDate, when feedgen misprints it

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen builds Atom documents from unqualified elements under a default namespace.
        for name in self.atom_texts:
            _atom_text(entry.find(name))
        self._add_related(entry, "link")
        self._thumbnail(entry)
        return entry

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for element in [found for name in self.rss_texts for found in item.findall(name)]:
            if element.text:
                element.text = rss_text(element.text)
        if self.pub_date is not None:
            _set_text(item.find("pubDate"), self.pub_date)
        if self.creator:
            etree.SubElement(item, _CREATOR).text = self.creator
        # RSS 2.0 has no related links of its own; atom:link is the common extension.
        self._add_related(item, _ATOM_LINK)
        self._thumbnail(item)
        return item

    def _add_related(self, parent: etree._Element, tag: str) -> None:
        """The related links, or where they go when the caller writes them itself."""
        if self.related_spliced and self.related:
            parent.append(etree.ProcessingInstruction(_RELATED_TARGET))
            return
        for link in self.related:
            _add_link(parent, tag, link)

    def _thumbnail(self, parent: etree._Element) -> None:
        if self.thumbnail is None:
            return
        url, width, height = self.thumbnail
        attributes = {"url": url}
        if width and height:
            attributes |= {"width": str(width), "height": str(height)}
        etree.SubElement(parent, _THUMBNAIL, attributes)


def rss_date(moment: datetime) -> str | None:
    """``moment`` (in UTC) as RSS writes dates, when feedgen would write it wrong: its
    ``strftime`` writes the year 999 as ``999``, which feed readers take for 1999 (and 1
    for 2001).  ``None`` for the years from 1000 on, which feedgen writes right."""
    return format_datetime(moment) if moment.year < 1000 else None


def _set_text(element: etree._Element | None, text: str) -> None:
    if element is not None:
        element.text = text


class Shown(NamedTuple):
    """What the entry of an article shows in every format, worked out once for all of them
    (:class:`feeds.entries.EntryStore`): its text; the related articles it lists, each with
    its text, and whether there are more (:func:`feeds.articles.listed_related`); and its
    HTML content (:func:`entry_content`).  Worked out for each format, the content alone
    took 5.6% of the processor time of a build at 10,000 records whose output was gone."""

    text: Text
    related: list[tuple[Article, Text]]
    more: bool
    content: str


def shown(article: Article, articles: Mapping[str, Article]) -> Shown:
    """What the entry of ``article`` shows, its related articles found in ``articles``."""
    listed, more = listed_related(article, articles)
    text = article.text
    return Shown(text, listed, more, entry_content(article, text, listed, more=more))


def entry_content(
    article: Article, text: Text, related: Sequence[tuple[Article, Text]], *, more: bool = False
) -> str:
    """The HTML body of the entry of ``article`` (whose text is ``text``): the excerpt, the
    image, and the ``related`` articles it lists, with their texts, as a visible list, since
    most readers ignore link elements, saying when there are ``more`` than it lists
    (:func:`feeds.articles.listed_related`).  All text is escaped."""
    parts = []
    if (image := text.image) is not None:
        size = ""
        if image.width and image.height:
            size = f' width="{image.width}" height="{image.height}"'
        parts.append(f'<p><img src="{html.escape(image.url)}"{size} alt=""></p>')
    if text.excerpt:
        parts.append(f"<p>{html.escape(text.excerpt)}</p>")
    parts.append(
        f'<p><a href="{html.escape(text.url)}">Read on {html.escape(article.provider.name)}</a></p>'
    )
    if related:
        items = "".join(
            _related_item(other_text.url, other_text.title, other.provider.name)
            for other, other_text in related
        )
        parts.append(f"<h3>Related articles</h3><ul>{items}</ul>")
        if more:
            parts.append(f"<p>Only the first {len(related)} related articles are listed.</p>")
    return "".join(parts)


def feed_title(config: Config, spec: FeedSpec, page: int | None = None) -> str:
    title = config.title if spec.kind is FeedKind.ALL else f"{spec.name} – {config.title}"  # noqa: RUF001
    return title if page is None else f"{title} (archive {page})"


def feed_description(config: Config, spec: FeedSpec) -> str:
    if spec.kind is FeedKind.TOPIC:
        return f"Articles about {spec.name}"
    if spec.kind is FeedKind.PROVIDER:
        return f"Articles from {spec.name}"
    return config.description


@dataclass(frozen=True, slots=True)
class EntryXml:
    """One entry as it is written inside an Atom and an RSS document, ready to splice in.

    An entry's bytes do not depend on the document around it (the namespaces are declared on
    the root, the indentation is the same in every document), so each is rendered once and
    shared by every document that lists it: the all-articles feed, its topics and its
    provider, each with their archive pages.
    """

    atom: bytes
    rss: bytes


# Where entries sit in a pretty-printed document: they are the root's (Atom) or the channel's
# (RSS) last children, indented by 2 or 4 spaces, and an element's text can never hold a raw
# ``<``, so these markers cannot occur anywhere else.
_ENTRY_MARKS = {"atom": (b"  <entry>\n", b"</entry>\n"), "rss": (b"    <item>\n", b"</item>\n")}
# What a search for the entries of a written document looks for: each opening with the line
# break before it and the start of its first child's line (every entry has children, each on
# a line of its own, and feedgen writes an Atom entry's id first).  The opening alone is
# spaces and common letters, which a search passes a few bytes at a time: in documents of
# 650 KB, this took 0.21 ms against 0.33 ms (Atom) and 0.23 ms against 0.32 ms (RSS).
_ENTRY_SEARCH = {"atom": b"\n  <entry>\n    <id>", "rss": b"\n    <item>\n      <"}
_SENTINEL_ID = "urn:feeds:entries-go-here"


def _entries_region(document: bytes, fmt: str) -> tuple[int, int]:
    """Where the entries of a pretty-printed document begin and end."""
    opening, closing = _ENTRY_MARKS[fmt]
    start = document.index(b"\n" + opening) + 1
    end = document.rindex(closing) + len(closing)
    return start, end


def pieces(
    text: bytes,
    mark: bytes,
    start: int,
    end: int,
    *,
    skip: int = 0,
    marks: Sequence[int] | None = None,
) -> list[bytes]:
    """``text[start:end]`` cut where each ``mark`` in it begins: what comes before the first
    mark, then a piece from each mark, without its first ``skip`` bytes (at most all of
    them), to the next.  ``marks``: where they begin (:func:`mark_positions`), when these
    bytes were searched before.

    Each piece is sliced once from ``text``.  Splitting a copy of the region and putting
    each mark back copied a document three times; the documents of a feed page weigh
    300 KB when entries list a dozen related articles, and a build that changed one title
    took entries back out of hundreds of them."""
    if marks is None:
        marks = mark_positions(text, mark, start, end)
    starts = [start, *(at + skip for at in marks)]
    return [text[first:last] for first, last in zip(starts, [*marks, end], strict=True)]


def mark_positions(text: bytes, mark: bytes, start: int, end: int, *, lead: int = 0) -> list[int]:
    """Where each ``mark`` in ``text[start:end]`` begins: searching for them is most of the
    time :func:`pieces` takes.  With ``lead``, ``mark`` is what surrounds each mark, which
    begins ``lead`` bytes into it (a longer text is searched faster)."""
    marks = []
    at = text.find(mark, max(start - lead, 0), end)  # a negative start counts from the end
    while at >= 0:
        marks.append(at + lead)
        at = text.find(mark, at + len(mark), end)
    return marks


def _cut(
    text: bytes, fmt: str, start: int, end: int, marks: Sequence[int] | None = None
) -> list[bytes]:
    """The entries of ``text[start:end]`` (a document's, from :func:`_entries_region`),
    each as bytes to splice into a document; ``marks``, where they begin, when known."""
    return pieces(text, _ENTRY_MARKS[fmt][0], start, end, marks=marks)[1:]


def entry_marks(document: bytes, fmt: str) -> list[int]:
    """Where the entries of a document as :func:`render_document` wrote it begin, for
    :func:`written_entries` to cut the same bytes again without searching."""
    if b"\n" + _ENTRY_MARKS[fmt][0] not in document:
        return []
    start, end = _entries_region(document, fmt)
    return mark_positions(document, _ENTRY_SEARCH[fmt], start, end, lead=1)


def written_entries(document: bytes, fmt: str, marks: Sequence[int] | None = None) -> list[bytes]:
    """The entries of a document as :func:`render_document` wrote it, in order: each is
    the bytes it was spliced in as.  ``marks``: where they begin (:func:`entry_marks`),
    when these very bytes were searched before."""
    if marks is None:
        marks = entry_marks(document, fmt)
    if not marks:
        return []
    return _cut(document, fmt, *_entries_region(document, fmt), marks)


def render_entries(
    items: Sequence[tuple[Article, datetime]],
    articles: Mapping[str, Article],
    shown_of: Callable[[Article], Shown] | None = None,
) -> list[EntryXml]:
    """Each ``(article, updated)`` rendered with feedgen, in one document per format that is
    then cut into its entries (much faster than one document per entry); what each shows
    is ``shown_of`` it, by default worked out from ``articles``."""
    if not items:
        return []
    generator = FeedGenerator()
    generator.register_extension("feeds", _FeedExtras, _EntryExtras, atom=True, rss=True)
    generator.id(_SENTINEL_ID)
    generator.title("entries")
    generator.description("entries")
    generator.link(href="http://localhost/", rel="self")
    related = []
    for article, updated in items:
        seen = shown(article, articles) if shown_of is None else shown_of(article)
        extras = _add_entry(generator, article, seen, updated, order="append")
        extras.related_spliced = True
        if extras.related:
            related.append([_link_xml(link.href, link.title) for link in extras.related])
    cut = {}
    for fmt in FORMATS:
        if fmt == "atom":
            document = generator.atom_str(pretty=True, encoding="UTF-8")
        else:
            document = generator.rss_str(pretty=True, encoding="UTF-8")
        start, end = _entries_region(document, fmt)
        region = _escape_ampersands(_with_related(document[start:end], related, fmt))
        cut[fmt] = _cut(region, fmt, 0, len(region))
        if len(cut[fmt]) != len(items):
            raise AssertionError(f"cut {len(cut[fmt])} {fmt} entries out of {len(items)}")
    return [EntryXml(atom, rss) for atom, rss in zip(cut["atom"], cut["rss"], strict=True)]


def _with_related(region: bytes, related: Sequence[Sequence[bytes]], fmt: str) -> bytes:
    """``region`` (of a document in format ``fmt``) with the links of ``related`` (those of
    each entry that has any, in order, as :func:`_link_xml` writes them) where its entries
    mark them, each on a line of its own, indented as the line of the mark."""
    if not related:
        return region
    parts = region.split(_RELATED_MARK)
    if len(parts) != len(related) + 1:
        raise AssertionError(f"{len(parts) - 1} marks of related links for {len(related)} entries")
    joined = [parts[0]]
    for links, after in zip(related, parts[1:], strict=True):
        before = joined[-1]
        indent = b"\n" + before[before.rindex(b"\n") + 1 :]
        if fmt == "rss":  # the same elements, in the Atom namespace
            joined.append(indent.join(b"<atom:" + link[1:] for link in links))
        else:
            joined.append(indent.join(links))
        joined.append(after)
    return b"".join(joined)


def render_document(
    spec: FeedSpec, config: Config, page: int | None, entries: Sequence[EntryXml]
) -> dict[str, bytes]:
    """The documents of one feed (its subscription document, or archive page ``page``), by
    format name, with ``entries`` (from :func:`render_entries`, in document order) spliced in
    where feedgen writes entries."""
    generator = _generator(spec, config, page)
    extras: _FeedExtras = generator.feeds
    out: dict[str, bytes] = {}
    for fmt, (_suffix, media_type) in FORMATS.items():
        name = file_name(spec, fmt, page)
        generator.link(
            [
                {"href": config.url_for(name), "rel": "self", "type": media_type},
                {"href": config.base_url, "rel": "alternate", "type": "text/html"},
            ],
            replace=True,
        )
        extras.links = [(rel, config.url_for(path)) for rel, path in page_links(spec, fmt, page)]
        if fmt == "atom":
            document = generator.atom_str(pretty=True, encoding="UTF-8")
        else:
            document = generator.rss_str(pretty=True, encoding="UTF-8")
        start, end = _entries_region(document, fmt)
        # The stylesheet goes into the part before the entries, which holds the declaration,
        # so that the document is joined once: adding it to the whole document copied
        # the whole document twice more (hundreds of kilobytes, when entries list a dozen
        # related articles).
        out[fmt] = b"".join(
            [
                _with_stylesheet(_escape_ampersands(document[:start]), name),
                *(getattr(entry, fmt) for entry in entries),
                _escape_ampersands(document[end:]),
            ]
        )
    return out


def stylesheet_href(name: str) -> str:
    """``feed.xsl`` relative to the document ``name``: it works on any host and path."""
    return "../" * name.count("/") + STYLESHEET


_DECLARATION_END = b"?>\n"


def _escape_ampersands(xml: bytes) -> bytes:
    """Write ``&`` as a hexadecimal character reference (see the module docstring)."""
    return xml.replace(b"&amp;", b"&#x26;")


def _with_stylesheet(document: bytes, name: str) -> bytes:
    """Add the stylesheet instruction after the XML declaration."""
    declaration, _, body = document.partition(_DECLARATION_END)
    instruction = f'<?xml-stylesheet type="text/xsl" href="{stylesheet_href(name)}"?>\n'
    return declaration + _DECLARATION_END + instruction.encode("ascii") + body


def _generator(spec: FeedSpec, config: Config, page: int | None) -> Any:
    """The document's feed-level elements, and one placeholder entry that marks where
    :func:`render_document` splices the real ones."""
    generator = FeedGenerator()
    generator.register_extension("feeds", _FeedExtras, _EntryExtras, atom=True, rss=True)
    extras: _FeedExtras = generator.feeds
    extras.archive = page is not None
    generator.id(feed_id(spec))  # one logical feed: archive pages share its id
    generator.title(feed_title(config, spec, page))
    generator.subtitle(feed_description(config, spec))
    generator.language(config.language)
    generator.generator("feeds", version=__version__)
    generator.author(name=person_name(config.title), uri=config.base_url)
    entries = document_entries(spec, page)
    # UTC throughout: the RSS profile's dates allow only half- and full-hour offsets.
    updated = max((a.updated for a in entries), default=EPOCH).astimezone(UTC)
    generator.updated(updated)
    generator.lastBuildDate(updated)
    extras.build_date = rss_date(updated)
    placeholder = generator.add_entry()
    placeholder.id(_SENTINEL_ID)
    placeholder.title("entries")
    placeholder.updated(updated)
    placeholder.content("entries")
    return generator


def distinct_updates(entries: tuple[Article, ...]) -> list[datetime]:
    """Each entry's ``updated`` time in UTC, made distinct within one document.

    Validators warn when two entries of a document claim the very same update time (Atom's
    "as accurate as possible").  Records often give times to the minute, so an entry whose
    time is already taken, in document order, is moved on by a microsecond at a time: no
    reader can tell, times without a clash are written exactly, and a document's times
    depend on its own entries only (so an archive page keeps its bytes while it keeps its
    entries).  Past the last moment a datetime holds, the search turns back.
    """
    taken: set[datetime] = set()
    stamps = []
    for article in entries:
        stamp = article.updated.astimezone(UTC)
        step = _MICROSECOND
        while stamp in taken:
            if stamp == _LAST_MOMENT:
                step = -_MICROSECOND
            stamp += step
        taken.add(stamp)
        stamps.append(stamp)
    return stamps


def _changed_texts(article: Article, text: Text) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The elements of the entry of ``article`` (whose text is ``text``) whose text the
    rules of Atom (:func:`_atom_text`) and of RSS (:func:`rss_text`) change, by name.
    Finding an element in the tree costs more than telling from the article that nothing
    changes, which is so for nearly every entry."""
    atom = (("title", text.title), ("summary", text.excerpt))
    rss = (("title", (text.title,)), ("category", article.topics))
    return (
        tuple(name for name, value in atom if _atom_html(value)),
        tuple(name for name, texts in rss if any(map(has_markup, texts))),
    )


def _add_entry(
    generator: Any,
    article: Article,
    seen: Shown,
    updated: datetime,
    order: str = "prepend",
) -> _EntryExtras:
    """Add the entry of ``article`` to ``generator``, showing ``seen``; the entry's
    extension, which writes what feedgen does not (:class:`_EntryExtras`)."""
    text = seen.text
    entry = generator.add_entry(order=order)
    entry.id(article_id(article))
    entry.title(text.title)
    entry.link(href=text.url)
    published = article.published.astimezone(UTC)
    entry.published(published)
    entry.updated(updated)
    # RSS descriptions are HTML: the excerpt is text, so it is escaped for RSS and left
    # as text for Atom.  Order matters: description() first, so summary() keeps it.
    entry.description(html.escape(text.excerpt) or html.escape(text.title))
    if text.excerpt:
        entry.summary(text.excerpt)
    entry.content(seen.content, type="html")
    author = person_name(article.provider.name)
    entry.author(name=author, uri=provider_url(article.provider))
    if article.topics:
        # One call for all: feedgen maps every category it holds to RSS on each call, so
        # a call per topic took time in the square of their number (13% of the
        # instructions of rendering the records citing about ten of bench/othershape.py,
        # whose articles gather two dozen topics).
        entry.category([{"term": topic} for topic in article.topics])
    extras: _EntryExtras = entry.feeds
    extras.creator = author
    extras.related = tuple(RelatedLink.to(other_text) for _, other_text in seen.related)
    extras.atom_texts, extras.rss_texts = _changed_texts(article, text)
    extras.pub_date = rss_date(published)
    if (image := text.image) is not None:
        extras.thumbnail = (image.url, image.width, image.height)
    return extras
