"""The front door, ``index.html``: every feed, how big and how fresh it is, how to subscribe.

Plain HTML and a little CSS, no script: it reads the same in every browser, screen reader
and text browser.  Feed autodiscovery ``<link>`` elements let a reader or browser extension
find the feeds from the site's address alone.  Links to documents are relative, so the page
works wherever the output folder is served; the addresses to copy into a reader are the
absolute URLs under the configured base URL.
"""

from __future__ import annotations

from importlib.resources import files

from lxml import etree
from lxml.html import builder as E

from feeds.config import Config
from feeds.jsonfeed import MEDIA_TYPE as JSON_TYPE
from feeds.jsonfeed import json_name
from feeds.plan import FeedKind, FeedPlan, FeedSpec
from feeds.render import ATOM_TYPE, RSS_TYPE, feed_title, file_name

SECTIONS = [
    (FeedKind.ALL, "Everything", "all"),
    (FeedKind.TOPIC, "Topics", "topics"),
    (FeedKind.PROVIDER, "Providers", "providers"),
]
STYLE = """
body { font: 1rem/1.5 system-ui, sans-serif; max-width: 52rem; margin: 0 auto; padding: 1rem;
       color: #1a1a1a; background: #fff; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.count { text-align: right; }
code { word-break: break-all; font-size: .85rem; }
a { color: #1f4f9c; }
a:focus, a:hover { outline: 2px solid #1f4f9c; }
"""


def stylesheet() -> bytes:
    """The XSLT stylesheet that shows feeds as pages in a browser."""
    return files("feeds").joinpath("feed.xsl").read_bytes()


def favicon() -> bytes:
    """The site's icon.  Browsers ask for ``/favicon.ico`` even when a page names none (a
    feed shown through its stylesheet does so before the stylesheet runs)."""
    return files("feeds").joinpath("favicon.ico").read_bytes()


def _row(spec: FeedSpec, config: Config) -> etree._Element:
    newest = spec.newest
    date = (
        E.TIME(newest.date().isoformat(), datetime=newest.isoformat())
        if newest is not None
        else "–"  # noqa: RUF001 - a dash for "none"
    )
    atom, rss, json = file_name(spec, "atom"), file_name(spec, "rss"), json_name(spec)
    row: etree._Element = E.TR(
        E.TH(spec.name, scope="row"),
        E.TD(str(spec.total), E.CLASS("count")),
        E.TD(date),
        E.TD(
            # Screen readers list links out of context: say whose feed each one is.
            E.A("Atom", href=atom, type=ATOM_TYPE, **{"aria-label": f"{spec.name}, Atom"}),
            " · ",
            E.A("RSS", href=rss, type=RSS_TYPE, **{"aria-label": f"{spec.name}, RSS"}),
            " · ",
            E.A("JSON Feed", href=json, type=JSON_TYPE, **{"aria-label": f"{spec.name}, JSON"}),
            E.BR(),
            E.CODE(config.url_for(atom)),
        ),
    )
    return row


def _section(kind: FeedKind, heading: str, anchor: str, plan: FeedPlan, config: Config) -> list:  # type: ignore[type-arg]
    specs = [s for s in plan.feeds if s.kind is kind]
    if not specs:
        return []
    return [
        E.H2(heading, id=anchor),
        E.TABLE(
            E.CAPTION(f"{len(specs)} feed{'s' if len(specs) != 1 else ''}"),
            E.THEAD(
                E.TR(
                    E.TH("Feed", scope="col"),
                    E.TH("Entries", scope="col"),
                    E.TH("Newest", scope="col"),
                    E.TH("Subscribe", scope="col"),
                )
            ),
            E.TBODY(*[_row(spec, config) for spec in specs]),
        ),
    ]


def render_index(plan: FeedPlan, config: Config) -> bytes:
    discovery = []
    for spec in plan.feeds:
        title = feed_title(config, spec)
        discovery.append(
            E.LINK(rel="alternate", type=ATOM_TYPE, title=title, href=file_name(spec, "atom"))
        )
        if spec.kind is FeedKind.ALL:
            discovery.append(
                E.LINK(rel="alternate", type=RSS_TYPE, title=title, href=file_name(spec, "rss"))
            )
            discovery.append(
                E.LINK(rel="alternate", type=JSON_TYPE, title=title, href=json_name(spec))
            )
    body = [
        E.HEADER(E.H1(config.title), E.P(config.description)),
        E.MAIN(
            E.SECTION(
                E.H2("How to subscribe", id="how"),
                E.P(
                    "Copy a feed's address below into your feed reader, or open a feed to "
                    "see its entries. Atom and RSS carry the same entries; JSON Feed is for "
                    "readers and programs that prefer JSON. To follow every feed at once, "
                    "import the ",
                    E.A("subscription list (OPML)", href="feeds.opml"),
                    " into your reader.",
                ),
            ),
            *[
                item
                for kind, heading, anchor in SECTIONS
                for item in _section(kind, heading, anchor, plan, config)
            ],
        ),
    ]
    page = E.HTML(
        E.HEAD(
            E.META(charset="utf-8"),
            E.META(name="viewport", content="width=device-width, initial-scale=1"),
            E.TITLE(config.title),
            E.LINK(rel="icon", href="favicon.ico"),
            *discovery,
            E.LINK(
                rel="alternate", type="text/x-opml", title="All feeds (OPML)", href="feeds.opml"
            ),
            E.STYLE(STYLE),
        ),
        E.BODY(*body),
        lang=config.language,
    )
    html = etree.tostring(page, method="html", encoding="unicode", pretty_print=True)
    return f"<!DOCTYPE html>\n{html}".encode()
