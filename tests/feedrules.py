"""The W3C Feed Validation Service's rules that our feeds meet, restated to check with lxml.

Each rule names the validator message it guards against (``ContainsHTML``, ``MissingSelf``,
...).  ``problems(path, data, out, base_url)`` returns every broken rule of one Atom or RSS
document as readable strings; an empty list means the document is clean.
"""

from __future__ import annotations

import functools
import html.entities
import re
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath

import html5lib
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM}}}"
MEDIA = "{http://search.yahoo.com/mrss/}"
FH = "{http://purl.org/syndication/history/1.0}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# The validator's namespace table, for the prefixes we use: a known namespace must have
# its usual prefix, and an unknown one is a warning (UnknownNamespace).
NAMESPACES = {
    "http://www.w3.org/2005/Atom": "atom",
    "http://search.yahoo.com/mrss/": "media",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/syndication/history/1.0": "fh",
}
REGISTERED_RELS = {
    "alternate",
    "current",
    "enclosure",
    "first",
    "last",
    "next",
    "next-archive",
    "prev-archive",
    "previous",
    "related",
    "self",
    "via",
}
HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "i", "img", "li", "ol", "p", "pre", "q", "s", "script", "small", "span", "strong",
    "style", "sub", "sup", "table", "td", "th", "tr", "u", "ul", "title", "iframe", "object",
    "embed", "font", "center", "section", "article", "header", "footer", "nav", "main",
}  # fmt: skip
SAFE_HTML = {"a", "p", "img", "h3", "ul", "li", "b", "i", "em", "strong", "br"}
SAFE_ATTRIBUTES = {"href", "src", "alt", "width", "height", "title"}
URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+")
UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|[+-]\d\d:\d\d)")
RFC2822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d\d:\d\d:\d\d ([+-]\d\d[03]0|GMT)"
)
MIME = re.compile(r"[^\s()<>,;:\\\"/\[\]?=]+/[^\s()<>,;:\\\"/\[\]?=]+")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
END_TAG = re.compile(r"</(\w+)>")
ENTITY = re.compile(r"&(#?\w+)")
BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")
EMAIL = re.compile(
    r"<([A-Z0-9_\-+.']+)@(([0-9]{1,3}\.){3}|([A-Z0-9\-]+\.)+)[A-Z0-9][-A-Z0-9]*>", re.I
)


def _lines_escaped(raw_lines: list[str], element: etree._Element) -> bool:
    """The validator's RSS-Profile test: text on lines holding ``&#x`` is escaped on purpose."""
    line: int = getattr(element, "sourceline", None) or 1  # lxml-stubs mistypes it
    return "&#x" in raw_lines[line - 1]


def nonhtml(value: str, where: str, escaped: bool, rss: bool) -> list[str]:
    """ContainsHTML / ContainsUndeclaredHTML / CharacterData for plain-text values."""
    tags = [t for t in END_TAG.findall(value) if t.lower() in HTML_TAGS]
    if tags:
        return [f"{where}: end tag </{tags[0]}> in text (ContainsHTML)"]
    if escaped:
        return []
    for name in ENTITY.findall(value):
        if name in html.entities.name2codepoint or name == "apos" or not name.isalpha():
            return [f"{where}: entity-like &{name} in text (ContainsHTML)"]
    if rss and re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
        return [f"{where}: markup-like text (CharacterData)"]
    return []


def safe_html(value: str, where: str) -> list[str]:
    """NotHtml / SecurityRisk: strict HTML5 parse, and only harmless elements."""
    return [f"{where}: {problem}" for problem in _html_problems(value)]


@functools.lru_cache(maxsize=4096)
def _html_problems(value: str) -> tuple[str, ...]:
    # The same entry content appears in many documents: parse each text once.
    try:
        fragment = html5lib.HTMLParser(strict=True).parseFragment(value)
    except html5lib.html5parser.ParseError as error:
        return (f"invalid HTML ({error})",)
    out = []
    for node in fragment.iter():
        if not isinstance(node.tag, str) or node.tag == "DOCUMENT_FRAGMENT":
            continue
        tag = node.tag.split("}")[-1]
        if tag not in SAFE_HTML:
            out.append(f"element <{tag}> (SecurityRisk)")
        out.extend(
            f"attribute {name} (SecurityRiskAttr)"
            for name in node.attrib
            if name not in SAFE_ATTRIBUTES
        )
        for name in ("href", "src"):
            if name in node.attrib and not URI.fullmatch(node.attrib[name]):
                out.append(f"relative or invalid URL {node.attrib[name]!r}")
    return tuple(out)


def plausible(moment: datetime, where: str) -> list[str]:
    """ImplausibleDate: before 1990 or more than ten minutes in the future."""
    if moment.year < 1990 or moment.timestamp() > time.time() + 600:
        return [f"{where}: implausible date {moment.isoformat()} (ImplausibleDate)"]
    return []


def uri(value: str | None, where: str) -> list[str]:
    if value is None or not URI.fullmatch(value):
        return [f"{where}: not an absolute URI: {value!r} (InvalidFullLink/InvalidUriChar)"]
    return []


def common(document: etree._ElementTree, raw: str, name: str, out: Path) -> list[str]:
    """Rules for both formats: characters, namespaces, stylesheet."""
    found = []
    if BAD_CHARACTERS.search(raw):
        found.append(f"{name}: C1 control or U+FFFD character (BadCharacters)")
    for node in document.getroot().iter():
        for prefix, namespace in (node.nsmap or {}).items():
            if namespace not in NAMESPACES:
                found.append(f"{name}: unknown namespace {namespace} (UnknownNamespace)")
            elif prefix is not None and NAMESPACES[namespace] != prefix:
                found.append(f"{name}: prefix {prefix} for {namespace} (NonstdPrefix)")
    instructions = [
        node
        for node in document.getroot().itersiblings(preceding=True)
        if isinstance(node, etree._ProcessingInstruction)
    ]
    if len(instructions) != 1 or instructions[0].target != "xml-stylesheet":
        found.append(f"{name}: expected one xml-stylesheet instruction")
    else:
        href = instructions[0].get("href") or ""
        target = (out / PurePosixPath(name).parent / href).resolve()
        if instructions[0].get("type") != "text/xsl" or not target.is_file():
            found.append(f"{name}: stylesheet {href!r} does not resolve to a file")
    return found


def atom_text(element: etree._Element, where: str, raw_lines: list[str]) -> list[str]:
    kind = element.get("type", "text")
    value = element.text or ""
    if kind == "html":
        return safe_html(value, where)
    if kind != "text":
        return [f"{where}: unexpected type {kind!r}"]
    return nonhtml(value, where, _lines_escaped(raw_lines, element), rss=False)


def atom(document: etree._ElementTree, raw_lines: list[str], name: str, url: str) -> list[str]:
    feed = document.getroot()
    found = []
    if feed.tag != f"{A}feed":
        return [f"{name}: not an Atom feed"]
    if not LANGUAGE.fullmatch(feed.get(XML_LANG) or ""):
        found.append(f"{name}: xml:lang missing or invalid")
    for child in ("id", "title", "updated", "author"):
        if feed.find(f"{A}{child}") is None:
            found.append(f"{name}: feed has no {child} (MissingElement/MissingAuthor)")
    seen_entry = False
    for node in feed:
        if node.tag == f"{A}entry":
            seen_entry = True
        elif seen_entry:
            found.append(f"{name}: {node.tag} after an entry (MisplacedMetadata)")
    found += links(feed, name, url)
    for person in feed.iter(f"{A}name"):  # author names: plain text, no addresses
        where = f"{name} author/name"
        found += nonhtml(person.text or "", where, _lines_escaped(raw_lines, person), rss=False)
        if EMAIL.search(person.text or ""):
            found.append(f"{where}: bracketed e-mail address (ContainsEmail)")
    for text in ("title", "subtitle"):
        element = feed.find(f"{A}{text}")
        if element is not None:
            found += atom_text(element, f"{name} feed/{text}", raw_lines)
    ids: set[str] = set()
    updates: set[str] = set()
    for entry in feed.iter(f"{A}entry"):
        found += atom_entry(entry, raw_lines, name, ids, updates)
    return found


def atom_entry(
    entry: etree._Element, raw_lines: list[str], name: str, ids: set[str], updates: set[str]
) -> list[str]:
    """One Atom entry; ``ids`` and ``updates`` collect what the document's entries use."""
    found: list[str] = []
    where = f"{name} entry {entry.findtext(f'{A}id')}"
    entry_id = entry.findtext(f"{A}id") or ""
    if not UUID_URN.fullmatch(entry_id):
        found.append(f"{where}: id is not a urn:uuid (InvalidURN)")
    if entry_id in ids:
        found.append(f"{where}: duplicate id (DuplicateIds)")
    ids.add(entry_id)
    updated = entry.findtext(f"{A}updated") or ""
    if updated in updates:
        found.append(f"{where}: updated {updated} taken by another entry (DuplicateUpdated)")
    updates.add(updated)
    if entry.find(f"{A}author/{A}name") is None:
        found.append(f"{where}: no author (MissingAuthor)")
    found += uri(entry.findtext(f"{A}author/{A}uri"), f"{where} author/uri")
    for child in ("title", "summary"):
        element = entry.find(f"{A}{child}")
        if element is not None:
            found += atom_text(element, f"{where} {child}", raw_lines)
    content = entry.find(f"{A}content")
    if content is None or content.get("type") != "html":
        found.append(f"{where}: no html content")
    else:
        found += safe_html(content.text or "", f"{where} content")
    for child in ("updated", "published"):
        value = entry.findtext(f"{A}{child}") or ""
        if not RFC3339.fullmatch(value):
            found.append(f"{where}: {child} {value!r} (InvalidRFC3339Date)")
        else:
            found += plausible(datetime.fromisoformat(value), f"{where} {child}")
    found += links(entry, where, None)
    found += thumbnails(entry, where)
    return found


def links(parent: etree._Element, where: str, self_url: str | None) -> list[str]:
    found = []
    alternates = set()
    rels = []
    for link in parent.findall(f"{A}link"):
        rel = link.get("rel", "alternate")
        rels.append(rel)
        if rel not in REGISTERED_RELS:
            found.append(f"{where}: link rel {rel!r} (UnregisteredAtomLinkRel)")
        found += uri(link.get("href"), f"{where} link[{rel}]")
        if link.get("type") and not MIME.fullmatch(link.get("type", "")):
            found.append(f"{where}: link type {link.get('type')!r} (InvalidMIMEType)")
        if link.get("title") is not None:
            # The validator checks attributes against another element's line: never escaped.
            found += nonhtml(link.get("title", ""), f"{where} link title", False, rss=True)
        if rel == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                found.append(f"{where}: two alternate links {key} (DuplicateAtomLink)")
            alternates.add(key)
        if self_url is not None and rel == "self" and link.get("href") != self_url:
            found.append(f"{where}: self link {link.get('href')} (SelfDoesntMatchLocation)")
    if self_url is not None:
        if "self" not in rels:
            found.append(f"{where}: no self link (MissingSelf/MissingAtomSelfLink)")
        archive = parent.find(f"{FH}archive") is not None
        if archive and "current" not in rels:
            found.append(f"{where}: archive without current link (MissingCurrentInArchive)")
        if archive and not {"prev-archive", "next-archive"} & set(rels):
            found.append(f"{where}: archive without archive links (ArchiveIncomplete)")
    elif {"current", "prev-archive", "next-archive"} & set(rels):
        found.append(f"{where}: feed history link in an entry (FeedHistoryRelInEntry)")
    return found


def thumbnails(parent: etree._Element, where: str) -> list[str]:
    found = []
    for thumbnail in parent.findall(f"{MEDIA}thumbnail"):
        found += uri(thumbnail.get("url"), f"{where} media:thumbnail")
        for side in ("width", "height"):
            value = thumbnail.get(side)
            if value is not None and not (value.isdigit() and int(value) > 0):
                found.append(f"{where}: media:thumbnail {side}={value!r} (InvalidInteger)")
        unexpected = set(thumbnail.attrib) - {"url", "width", "height", "time"}
        if unexpected:
            found.append(f"{where}: media:thumbnail attributes {unexpected}")
    return found


def rss_date(value: str | None, where: str) -> list[str]:
    if value is None or not RFC2822.fullmatch(value):
        return [f"{where}: date {value!r} (InvalidRFC2822Date)"]
    moment = parsedate_to_datetime(value)
    if moment.strftime("%a") != value[:3]:
        return [f"{where}: wrong day of week in {value!r} (IncorrectDOW)"]
    return plausible(moment, where)


def rss(document: etree._ElementTree, raw_lines: list[str], name: str, url: str) -> list[str]:
    root = document.getroot()
    if root.tag != "rss" or root.get("version") != "2.0":
        return [f"{name}: not RSS 2.0"]
    channel = root.find("channel")
    assert channel is not None
    found = []
    for child in ("title", "link", "description"):
        if not (channel.findtext(child) or "").strip():
            found.append(f"{name}: channel has no {child} (MissingElement)")
    if not LANGUAGE.fullmatch(channel.findtext("language") or ""):
        found.append(f"{name}: language missing or invalid")
    found += uri(channel.findtext("link"), f"{name} channel/link")
    found += rss_date(channel.findtext("lastBuildDate"), f"{name} lastBuildDate")
    for child in ("title", "description"):
        element = channel.find(child)
        if element is not None:
            escaped = _lines_escaped(raw_lines, element)
            found += nonhtml(element.text or "", f"{name} channel/{child}", escaped, rss=True)
    image = channel.find("image")
    if image is not None and (
        int(image.findtext("width") or 88) > 144 or int(image.findtext("height") or 31) > 400
    ):
        found.append(f"{name}: image larger than 144x400 (InvalidWidth/InvalidHeight)")
    seen_item = False
    for node in channel:
        if node.tag == "item":
            seen_item = True
        elif seen_item:
            found.append(f"{name}: {node.tag} after an item (MisplacedItem)")
    found += links(channel, name, url)
    guids = set()
    for item in channel.iter("item"):
        where = f"{name} item {item.findtext('guid')}"
        guid = item.find("guid")
        if guid is None:
            found.append(f"{where}: no guid (MissingGuid)")
        else:
            if guid.get("isPermaLink") != "false" or not UUID_URN.fullmatch(guid.text or ""):
                found.append(f"{where}: guid must be a urn:uuid, not a permalink")
            if guid.text in guids:
                found.append(f"{where}: duplicate guid (DuplicateValue)")
            guids.add(guid.text)
        if item.find("author") is not None:
            found.append(f"{where}: author needs an e-mail; use dc:creator (InvalidContact)")
        children = [child.tag for child in item]
        if f"{CONTENT}encoded" in children and (
            "description" not in children
            or children.index("description") > children.index(f"{CONTENT}encoded")
        ):
            found.append(f"{where}: content:encoded before description")
        for text in [item.find("title"), *item.findall("category")]:
            if text is not None:
                escaped = _lines_escaped(raw_lines, text)
                found += nonhtml(text.text or "", f"{where} {text.tag}", escaped, rss=True)
        found += safe_html(item.findtext("description") or "", f"{where} description")
        found += safe_html(item.findtext(f"{CONTENT}encoded") or "", f"{where} content")
        found += uri(item.findtext("link"), f"{where} link")
        found += rss_date(item.findtext("pubDate"), f"{where} pubDate")
        found += links(item, where, None)
        found += thumbnails(item, where)
    return found


def problems(out: Path, name: str, base_url: str) -> list[str]:
    """Every broken rule of the Atom or RSS document ``out/name``."""
    data = (out / name).read_bytes()
    if not data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"):
        return [f"{name}: no UTF-8 XML declaration"]
    raw = data.decode("utf-8")
    document = etree.ElementTree(etree.fromstring(data, etree.XMLParser(resolve_entities=False)))
    lines = raw.split("\n")
    found = common(document, raw, name, out)
    check = atom if name.endswith(".atom.xml") else rss
    return found + check(document, lines, name, f"{base_url}{name}")


def opml_problems(path: Path) -> list[str]:
    """The validator's OPML rules for a subscription list: version, head and body, outline
    text (read as HTML), and a type on every outline that names a feed."""
    root = etree.parse(str(path)).getroot()
    found = []
    if root.tag != "opml" or root.get("version") != "2.0":
        found.append("not OPML 2.0 (InvalidOPMLVersion)")
    head, body = root.find("head"), root.find("body")
    if head is None or body is None or body.find("outline") is None:
        return [*found, "head, body and an outline are required (MissingElement)"]
    allowed = {"title", "dateCreated", "dateModified", "ownerName", "ownerEmail", "ownerId"}
    found += [f"head/{c.tag} (UndefinedElement)" for c in head if c.tag not in allowed]
    for when in ("dateCreated", "dateModified"):
        if head.find(when) is not None:
            found += rss_date(head.findtext(when), f"head/{when}")
    found += safe_html(head.findtext("title") or "", "head/title")
    for outline in body.iter("outline"):
        where = f"outline {outline.get('text')!r}"
        if outline.get("text") is None:
            found.append(f"{where}: no text (MissingAttribute)")
        for name in ("text", "title", "description"):
            if outline.get(name) is not None:
                found += safe_html(outline.get(name, ""), f"{where} {name}")
        kind = outline.get("type")
        if kind is None and set(outline.attrib) & {"title", "xmlUrl", "htmlUrl", "description"}:
            found.append(f"{where}: no type (MissingOutlineType)")
        if kind == "rss":
            if outline.get("xmlUrl") is None or outline.get("title") is None:
                found.append(f"{where}: rss outline without xmlUrl or title")
            found += uri(outline.get("xmlUrl"), f"{where} xmlUrl")
            found += uri(outline.get("htmlUrl"), f"{where} htmlUrl")
    return found
