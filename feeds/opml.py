"""An OPML 2.0 subscription list of every feed, so a reader can subscribe to all at once.

Validators read an outline's ``text`` and ``title`` as HTML: text that HTML would misread
(``<``, or ``&`` before a word) is written escaped; groups carry ``text`` only, since a
``title`` would make them look like feeds without a type.
"""

from __future__ import annotations

import re
from email.utils import format_datetime

from lxml import etree

from feeds.config import Config
from feeds.plan import FeedKind, FeedPlan, FeedSpec
from feeds.render import EPOCH, as_html, feed_title, file_name

GROUPS = [
    (FeedKind.ALL, "All articles"),
    (FeedKind.TOPIC, "Topics"),
    (FeedKind.PROVIDER, "Providers"),
]


_MISREAD = re.compile(r"<|&(?!\s)")


def opml_text(text: str) -> str:
    return as_html(text) if _MISREAD.search(text) else text


def _outline(parent: etree._Element, spec: FeedSpec, config: Config) -> None:
    etree.SubElement(
        parent,
        "outline",
        type="rss",
        text=opml_text(spec.name),
        title=opml_text(feed_title(config, spec)),
        xmlUrl=config.url_for(file_name(spec, "atom")),
        htmlUrl=config.base_url,
    )


def render_opml(plan: FeedPlan, config: Config) -> bytes:
    """Feeds grouped as on the front page: the all-articles feed, topics, providers.
    ``xmlUrl`` names the Atom document; the date is the newest entry's, so the file only
    changes when the feeds do."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = opml_text(config.title)
    newest = max((s.updated for s in plan.feeds if s.updated), default=EPOCH)
    etree.SubElement(head, "dateModified").text = format_datetime(newest.astimezone(EPOCH.tzinfo))
    body = etree.SubElement(opml, "body")
    for kind, label in GROUPS:
        specs = [s for s in plan.feeds if s.kind is kind]
        if not specs:
            continue
        if kind is FeedKind.ALL:
            for spec in specs:
                _outline(body, spec, config)
            continue
        group = etree.SubElement(body, "outline", text=label)
        for spec in specs:
            _outline(group, spec, config)
    return etree.tostring(opml, pretty_print=True, xml_declaration=True, encoding="UTF-8")
