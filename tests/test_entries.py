"""Documents assembled from shared entries are byte for byte what feedgen and ``json.dumps``
write for the whole document at once.

The oracle here renders each document the slow, obvious way (every entry added to one
feedgen generator; one ``json.dumps`` of the whole JSON Feed), on the seeds and on a corpus
of awkward records (markup in titles, ampersands, line breaks, Unicode, clashing times).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from feeds import entries as entry_store
from feeds import render
from feeds.api import check_source
from feeds.articles import Article, Text
from feeds.config import Config
from feeds.jsonfeed import _item, json_name, render_json
from feeds.plan import FeedPlan, FeedSpec, documents_listing, plan_feeds
from feeds.publish import feed_documents, in_rendering_order, pages, publish, render_feeds
from feeds.records import discover
from feeds.schema import load_schema
from tests.conftest import SEEDS
from tests.corpus import write_corpus

CONFIG = Config(entries_per_feed=7, base_url="https://feeds.example.org/news/")


def make_plan(source: Path) -> FeedPlan:
    paths, _ = discover([source])
    graph = check_source(paths, load_schema(), datetime.now(UTC)).graph
    return plan_feeds(graph, CONFIG.entries_per_feed)  # as a build plans: already clean


@pytest.fixture(scope="module", params=["seeds", "corpus"])
def plan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FeedPlan:
    if request.param == "seeds":
        return make_plan(SEEDS)
    folder = tmp_path_factory.mktemp("corpus") / "records"
    write_corpus(folder, 300)
    return make_plan(folder)


def documents(plan: FeedPlan) -> Iterator[tuple[FeedSpec, int | None]]:
    for spec in plan.feeds:
        for page in pages(spec):
            yield spec, page


def whole_xml(spec: FeedSpec, plan: FeedPlan, page: int | None, fmt: str) -> bytes:
    """One feedgen document with every entry added to it, finished as the renderer does."""
    generator = render._generator(spec, CONFIG, page)
    generator.remove_entry(0)  # the placeholder
    entries = render.document_entries(spec, page)
    stamps = render.distinct_updates(entries)
    for article, stamp in reversed(list(zip(entries, stamps, strict=True))):
        render._add_entry(generator, article, render.shown(article, plan.articles), stamp)
    name = render.file_name(spec, fmt, page)
    media_type = render.FORMATS[fmt][1]
    generator.link(
        [
            {"href": CONFIG.url_for(name), "rel": "self", "type": media_type},
            {"href": CONFIG.base_url, "rel": "alternate", "type": "text/html"},
        ],
        replace=True,
    )
    generator.feeds.links = [
        (rel, CONFIG.url_for(path)) for rel, path in render.page_links(spec, fmt, page)
    ]
    document: bytes = (
        generator.atom_str(pretty=True, encoding="UTF-8")
        if fmt == "atom"
        else generator.rss_str(pretty=True, encoding="UTF-8")
    )
    return render._with_stylesheet(render._escape_ampersands(document), name)


def whole_json(spec: FeedSpec, plan: FeedPlan, page: int | None) -> bytes:
    document = json.loads(render_json(spec, CONFIG, page, []))
    document["items"] = [
        _item(a, render.shown(a, plan.articles)) for a in render.document_entries(spec, page)
    ]
    return f"{json.dumps(document, ensure_ascii=False, indent=2)}\n".encode()


def test_the_corpus_has_archives_and_clashing_times(plan: FeedPlan) -> None:
    assert any(spec.archives for spec in plan.feeds) or len(plan.articles) < 10
    if len(plan.articles) > 100:
        clashing = [
            spec
            for spec, page in documents(plan)
            if len({a.updated for a in render.document_entries(spec, page)})
            < len(render.document_entries(spec, page))
        ]
        assert clashing, "the corpus must have documents whose entries share an update time"


def test_published_documents_equal_whole_documents(plan: FeedPlan) -> None:
    published = {d.path: d.content for d in publish(plan, CONFIG)}
    compared = 0
    for spec, page in documents(plan):
        for fmt in render.FORMATS:
            name = render.file_name(spec, fmt, page)
            assert published[name] == whole_xml(spec, plan, page, fmt), name
        assert published[json_name(spec, page)] == whole_json(spec, plan, page)
        compared += 1
    assert compared == sum(len(pages(spec)) for spec in plan.feeds)


def test_a_document_names_the_files_it_is_rendered_into(plan: FeedPlan) -> None:
    """As a build looks its files up in earlier outputs: one per XML format, then the
    JSON Feed."""
    store = entry_store.EntryStore(plan.articles)
    for document in feed_documents(plan, CONFIG):  # archive pages too, of the corpus
        rendered = render_feeds([document], plan.articles, CONFIG, store=store)
        assert document.names == [file.path for file in rendered]


def test_an_empty_document_equals_feedgen_without_entries(plan: FeedPlan) -> None:
    spec = FeedSpec(plan.feeds[0].kind, "", "All articles", "all", entries=(), total=0, archives=())
    entries: list[render.EntryXml] = []
    for fmt, document in render.render_document(spec, CONFIG, None, entries).items():
        assert document == whole_xml(spec, plan, None, fmt)
    assert render_json(spec, CONFIG, None, []) == whole_json(spec, plan, None)


def test_entries_look_up_only_the_texts_their_formats_change(
    plan: FeedPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Titles, summaries and categories are looked up in feedgen's tree only when the rules
    of a format change them (``render._changed_texts``); looking up every one writes the
    same bytes."""
    articles = list(plan.articles.values())
    items = [(article, article.updated) for article in articles]
    quick = render.render_entries(items, plan.articles)
    if len(articles) > 100:  # the corpus has every kind of text the rules change
        changed = [render._changed_texts(article, article.text) for article in articles]
        assert {name for atom, _ in changed for name in atom} == {"title", "summary"}
        assert {name for _, rss in changed for name in rss} == {"title", "category"}
        assert ((), ()) in changed
    monkeypatch.setattr(
        render,
        "_changed_texts",
        lambda _article, _text: (("title", "summary"), ("title", "category")),
    )
    assert render.render_entries(items, plan.articles) == quick


def test_documents_come_newest_first_by_their_middle_entry(plan: FeedPlan) -> None:
    """The order that keeps shared entries at hand (see ``feeds.publish.in_rendering_order``)."""
    ordered = in_rendering_order(feed_documents(plan, CONFIG))
    assert len(ordered) == len(list(documents(plan)))
    assert {(d.spec.path, d.page) for d in ordered} == {
        (spec.path, page) for spec, page in documents(plan)
    }
    middles = []
    for document in ordered:
        entries = render.document_entries(document.spec, document.page)
        if entries:
            middles.append(entries[len(entries) // 2].published)
    assert middles == sorted(middles, reverse=True)


def test_what_an_entry_shows_is_worked_out_once_for_every_format(
    plan: FeedPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document's entries are rendered as Atom and RSS, then as JSON Feed items: their
    text, related articles and content are worked out once for all three."""
    worked_out: list[str] = []

    def counted(article: Article, articles: Mapping[str, Article]) -> render.Shown:
        worked_out.append(article.key)
        return render.shown(article, articles)

    monkeypatch.setattr(entry_store, "shown", counted)
    store = entry_store.EntryStore(plan.articles)
    listed = list(plan.articles.values())[:20]
    xml = store.xml(listed, [article.updated for article in listed])
    items = store.json(listed)
    assert sorted(worked_out) == sorted(article.key for article in listed)
    alone = entry_store.EntryStore(plan.articles, capacity=0)
    assert alone.xml(listed, [article.updated for article in listed]) == xml
    assert alone.json(listed) == items


# Values a related link may hold: every printable ASCII character, the three control
# characters XML allows, and letters beyond ASCII.
AWKWARD_VALUES = [
    "".join(map(chr, range(0x20, 0x7F))),
    "tab\there, line\nbreak, carriage\rreturn",
    'Tom & Jerry say "<b>hi</b>" &amp; ]]> it\'s',
    "naïve façade 🚀 עברית \u2028 \ufffd",
    "",
]


@pytest.mark.parametrize("value", AWKWARD_VALUES)
@pytest.mark.parametrize("fmt", list(render.FORMATS))
def test_related_links_are_spliced_in_as_lxml_writes_them(value: str, fmt: str) -> None:
    """Entries rendered in bulk have their related links spliced in as bytes where they
    are marked (``render._with_related``): the very bytes of the elements, as feedgen's
    documents hold them.  The address holds the value as it is; the title, as link titles
    show it."""
    link = render.RelatedLink.to(Text(f"https://example.org/a?b={value}", value, "", None))
    tag = "link" if fmt == "atom" else render._ATOM_LINK

    def document(marked: bool) -> bytes:
        # As feedgen writes them: Atom elements unqualified; RSS items in the channel, with
        # the atom prefix declared.
        if fmt == "atom":
            root = etree.Element("feed")
            entry = etree.SubElement(root, "entry")
        else:
            root = etree.Element("rss", nsmap=NSMAP)
            entry = etree.SubElement(etree.SubElement(root, "channel"), "item")
        etree.SubElement(entry, "id").text = "before"
        if marked:
            entry.append(etree.ProcessingInstruction(render._RELATED_TARGET))
        else:
            render._add_link(entry, tag, link)
            render._add_link(entry, tag, link)
        etree.SubElement(entry, "id").text = "after"
        return etree.tostring(root, pretty_print=True, encoding="UTF-8")

    xml = render._link_xml(link.href, link.title)
    assert render._with_related(document(marked=True), [[xml, xml]], fmt) == document(marked=False)


NSMAP = {"atom": render.ATOM_NS}


def test_an_article_is_listed_in_as_many_documents_as_documents_listing_says(
    plan: FeedPlan,
) -> None:
    """What :meth:`feeds.entries.EntryStore.made` counts to."""
    listed = Counter(
        article.key
        for spec, page in documents(plan)
        for article in render.document_entries(spec, page)
    )
    assert listed == {key: documents_listing(a) for key, a in plan.articles.items()}


def test_an_entry_is_kept_until_every_document_listing_it_is_made(
    plan: FeedPlan, rendered: list[str]
) -> None:
    """And no longer: each is rendered once per time it shows (a document may move an
    entry's time by microseconds, see ``render.distinct_updates``), and once every
    document is made the store holds only the entries of the other times an article
    showed at, however many it had room for."""
    ordered = in_rendering_order(feed_documents(plan, CONFIG))
    times: dict[str, set[datetime]] = {}
    for document in ordered:
        entries = document.entries
        for article, stamp in zip(entries, render.distinct_updates(entries), strict=True):
            times.setdefault(article.key, set()).add(stamp)
    store = entry_store.EntryStore(plan.articles, capacity=len(plan.articles) + 1)
    for _ in render_feeds(ordered, plan.articles, CONFIG, store=store):
        pass
    assert Counter(rendered) == {key: len(stamps) for key, stamps in times.items()}
    assert len(store) == sum(len(stamps) - 1 for stamps in times.values())


def test_a_store_counts_the_documents_made_only_for_the_entries_it_holds(
    plan: FeedPlan,
) -> None:
    """So that what it counts weighs no more than what it holds, whatever it renders."""
    store = entry_store.EntryStore(plan.articles, capacity=2)
    for _ in render_feeds(
        in_rendering_order(feed_documents(plan, CONFIG)), plan.articles, CONFIG, store=store
    ):
        assert len(store._made) <= 2


def test_entries_let_go_while_documents_still_list_them_are_put_aside(
    plan: FeedPlan, rendered: list[str], tmp_path: Path
) -> None:
    """With room for two entries at hand, a store that puts the others aside renders each
    as often as one with room for all (once per time it shows), into the same bytes; once
    every document is made, no JSON Feed item is left aside, nor anything counted."""
    ordered = in_rendering_order(feed_documents(plan, CONFIG))
    roomy = entry_store.EntryStore(plan.articles, capacity=len(plan.articles) + 1)
    expected = [d.content for d in render_feeds(ordered, plan.articles, CONFIG, store=roomy)]
    once = Counter(rendered)
    rendered.clear()
    store = entry_store.EntryStore(plan.articles, capacity=2, aside=True, aside_folder=tmp_path)
    made = []
    for document in render_feeds(ordered, plan.articles, CONFIG, store=store):
        made.append(document.content)
        assert len(store._made) <= 2 + len(store._json_aside)
    assert made == expected
    assert Counter(rendered) == once
    assert len(store._json_aside) == 0
    assert store._made == {}


def test_entries_the_aside_cannot_hold_are_rendered_again(
    plan: FeedPlan, rendered: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into the same bytes; and what is counted goes with them."""
    ordered = in_rendering_order(feed_documents(plan, CONFIG))
    expected = [d.content for d in render_feeds(ordered, plan.articles, CONFIG)]
    rendered.clear()
    monkeypatch.setattr(entry_store, "ASIDE_MOST", 1)
    store = entry_store.EntryStore(plan.articles, capacity=2, aside=True, aside_folder=tmp_path)
    made = []
    for document in render_feeds(ordered, plan.articles, CONFIG, store=store):
        made.append(document.content)
        assert len(store._made) <= 3
    assert made == expected
    if len(plan.articles) > 100:
        assert len(rendered) > len(set(rendered)) + len(plan.articles) // 2


@given(st.text(st.characters(exclude_categories=["Cs"])))
@example("https://example.org/a?b=c&d=é")
def test_an_article_id_is_the_uuid5_of_its_key(key: str) -> None:
    """Worked out without :class:`uuid.UUID` (``render._urn``, which names feeds too): the
    very ids it gives."""
    assert render._urn(key) == f"urn:uuid:{uuid.uuid5(render._NAMESPACE, key)}"
