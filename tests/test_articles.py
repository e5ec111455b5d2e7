"""The article graph and the feed plan built on it."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds import articles as articles_module
from feeds import plan
from feeds.archive import page_marks
from feeds.articles import (
    RELATED_VALUE,
    Article,
    Image,
    Provider,
    PublishedRecord,
    Text,
    build_graph,
    from_plain_columns,
    from_plain_values,
    is_published,
    merge_articles,
    plain_values,
    record_articles,
)
from feeds.plan import (
    FeedKind,
    NewestFirst,
    assign_slugs,
    feeds_listing,
    newest_first,
    plan_feeds,
    rank_in_feed,
    reordered,
)
from feeds.records import discover, parse_record
from feeds.sanitize import clean_article, clean_articles
from tests.conftest import record_data
from tests.corpus import write_corpus


def cited(
    url: str,
    title: str = "Cited",
    provider: str = "Other Paper",
    domain: str = "other.example.org",
    date: str = "2021-01-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "title": title,
        "webUrl": url,
        "publishedDateTime": date,
        "provider": {"name": provider, "domain": domain},
    }


def record(file: str, **changes: Any) -> PublishedRecord:
    return PublishedRecord(file, record_data(**changes))


def test_merging_names_each_topic_of_an_article_once() -> None:
    """However the article was made: records' topics come once each already."""
    own = record_articles(record("a.md", webUrl="https://a.com/1", topics=["One"]))[0]
    twice = own._replace(topics=("One", "Two", "One"))
    for contributions in ([(twice,)], [(twice,), (own,)], [(own,), (twice,)]):
        assert merge_articles(contributions)["https://a.com/1"].topics == ("One", "Two")


def test_a_merged_graph_holds_equal_topics_and_related_keys_once(tmp_path: Path) -> None:
    """Most articles are cited by one record only, and share its topics and their one
    related key with the others it cites."""
    write_corpus(tmp_path, 30)
    records = [
        parse_record(path.name, path.read_bytes()).record for path in discover([tmp_path])[0]
    ]
    graph = build_graph(PublishedRecord(r.file, r.data) for r in records if r is not None)
    related = [a.related for a in graph.values()]
    topics = [a.topics for a in graph.values()]
    assert len(set(related)) < len(related) and len(set(topics)) < len(topics)  # some equal
    assert len({id(keys) for keys in related}) == len(set(related))
    assert len({id(names) for names in topics}) == len(set(topics))


def test_articles_come_back_whole_from_their_plain_values_and_columns(tmp_path: Path) -> None:
    """As named tuples of the same fields, each provider, list of topics and topic shared."""
    write_corpus(tmp_path, 30)
    records = [
        parse_record(path.name, path.read_bytes()).record for path in discover([tmp_path])[0]
    ]
    articles = list(
        build_graph(PublishedRecord(r.file, r.data) for r in records if r is not None).values()
    )
    # Copies, so that nothing is shared because the originals were.
    states = pickle.loads(pickle.dumps([plain_values(a) for a in articles]))
    columns = pickle.loads(pickle.dumps(list(zip(*map(plain_values, articles), strict=True))))
    for restored in (from_plain_values(states), from_plain_columns(columns)):
        assert list(restored) == articles
        assert all(type(article) is Article for article in restored)
        assert all(type(article.text) is Text for article in restored)
        assert all(a.text.image is None or type(a.text.image) is Image for a in restored)
        assert len({id(a.provider) for a in restored}) == len({a.provider for a in restored})
        assert len({id(a.topics) for a in restored}) == len({a.topics for a in restored})
        named = {id(topic): topic for a in restored for topic in a.topics}
        assert len(named) == len(set(named.values())) < sum(len(a.topics) for a in restored)
        cited_by_key = [a for a in restored if a.text.url == a.key]
        assert cited_by_key and all(a.text.url is a.key for a in cited_by_key)
    # What shares them holds each tuple once, not the one it was first given as well.
    assert all(key is held for key, held in articles_module._TOPICS.items())
    assert from_plain_values([]) == from_plain_columns([]) == ()


def test_the_related_keys_are_where_plain_values_puts_them() -> None:
    (article, *_) = build_graph([record("a.md")]).values()
    assert article.related
    assert plain_values(article)[RELATED_VALUE] is article.related


def test_an_article_keeps_the_topics_of_every_record_citing_it_in_order() -> None:
    """Its own first, then those of the records citing it, in file order, each once,
    whichever description of it wins."""
    shared = cited("https://shared.example.com/story")
    a = record("a.md", webUrl="https://a.com/1", related=[shared], topics=["Alpha", "Beta"])
    b = record("b.md", webUrl="https://b.com/2", related=[shared], topics=["Gamma", "Alpha"])
    c = record(
        "c.md",
        webUrl="https://shared.example.com/story",
        topics=["Own", "Beta", "Own"],
        related=[],
    )
    d = record("d.md", webUrl="https://d.com/4", related=[shared], topics=["Delta"])
    graph = build_graph([a, b, c, d])
    assert graph["https://shared.example.com/story"].topics == (
        "Own",
        "Beta",
        "Alpha",
        "Gamma",
        "Delta",
    )
    assert graph["https://shared.example.com/story"].related == (
        "https://a.com/1",
        "https://b.com/2",
        "https://d.com/4",
    )
    assert graph["https://a.com/1"].topics == ("Alpha", "Beta")


def test_records_and_related_articles_are_articles() -> None:
    graph = build_graph([record("a.md")])
    assert set(graph) == {
        "https://news.example.com/2021/03/04/valid-article/",
        "https://other.example.org/related/",
    }
    parent = graph["https://news.example.com/2021/03/04/valid-article/"]
    child = graph["https://other.example.org/related/"]
    assert parent.source == "a.md" and child.source is None
    assert parent.related == (child.key,)
    assert child.related == (parent.key,)  # links work both ways
    assert child.topics == parent.topics == ("Testing",)


def test_unpublished_records_and_what_only_they_cite_are_left_out() -> None:
    graph = build_graph([record("a.md", published=False)])
    assert graph == {}


def test_an_article_cited_twice_is_one_article_linked_to_both() -> None:
    shared = cited("https://Shared.example.com:443/story?utm_source=feed")
    a = record("a.md", webUrl="https://a.com/1", related=[shared], topics=["Alpha"])
    b = record(
        "b.md",
        webUrl="https://b.com/2",
        related=[cited("https://shared.example.com/story", title="Other title")],
        topics=["Beta"],
    )
    graph = build_graph([a, b])
    article = graph["https://shared.example.com/story"]
    assert article.text.title == "Cited"  # the first citation wins, in file order
    assert article.text.url == "https://Shared.example.com:443/story?utm_source=feed"
    assert set(article.related) == {"https://a.com/1", "https://b.com/2"}
    assert article.topics == ("Alpha", "Beta")


def test_a_record_beats_a_citation_of_the_same_article() -> None:
    a = record(
        "a.md", webUrl="https://a.com/1", related=[cited("https://b.com/2", title="As cited")]
    )
    b = record("b.md", webUrl="https://b.com/2", title="As published", topics=["Own"], related=[])
    graph = build_graph([a, b])
    article = graph["https://b.com/2"]
    assert (article.text.title, article.source) == ("As published", "b.md")
    assert article.topics == ("Own", "Testing")
    assert article.related == ("https://a.com/1",)


def test_a_record_citing_itself_is_not_its_own_relative() -> None:
    a = record("a.md", webUrl="https://a.com/1", related=[cited("https://a.com/1")])
    graph = build_graph([a])
    assert graph["https://a.com/1"].related == ()


def test_graph_does_not_depend_on_dict_order() -> None:
    records = [
        record(f"{i}.md", webUrl=f"https://a.com/{i}", related=[cited(f"https://c.com/{i % 3}")])
        for i in range(9)
    ]
    assert list(build_graph(records)) == sorted(build_graph(records))


def test_plan_has_all_topic_and_provider_feeds_newest_first() -> None:
    a = record(
        "a.md",
        webUrl="https://a.com/1",
        topics=["AI", "Computer Vision"],
        publishedDateTime="2021-05-01T00:00:00Z",
        related=[cited("https://b.com/2", date="2021-06-01T00:00:00+02:00")],
    )
    plan = plan_feeds(build_graph([a]), entries_per_feed=50)
    paths = [(f.kind, f.path) for f in plan.feeds]
    assert paths == [
        (FeedKind.ALL, "all"),
        (FeedKind.TOPIC, "topics/ai"),
        (FeedKind.TOPIC, "topics/computer-vision"),
        (FeedKind.PROVIDER, "providers/example-news"),
        (FeedKind.PROVIDER, "providers/other-paper"),
    ]
    everything = plan.feeds[0]
    assert [e.key for e in everything.entries] == ["https://b.com/2", "https://a.com/1"]
    listing = {(f.kind, f.key): {e.key for e in f.entries} for f in plan.feeds}
    for article in plan.articles.values():  # the feeds it is said to be listed in, and only those
        said = set(feeds_listing(article))
        assert said == {feed for feed, keys in listing.items() if article.key in keys}
    assert everything.updated is not None and everything.updated.isoformat() == (
        "2021-06-01T00:00:00+02:00"
    )


def test_plan_keeps_the_newest_n_entries() -> None:
    records = [
        record(
            f"{i:02}.md",
            webUrl=f"https://a.com/{i}",
            related=[],
            publishedDateTime=f"2021-01-{i + 1:02}T00:00:00Z",
        )
        for i in range(20)
    ]
    plan = plan_feeds(build_graph(records), entries_per_feed=5)
    everything = plan.feeds[0]
    assert everything.total == 20
    assert [e.key for e in everything.entries[:5]] == [
        f"https://a.com/{i}" for i in (19, 18, 17, 16, 15)
    ]
    assert 5 <= len(everything.entries) <= 14  # the rest is in archive pages
    assert len(everything.entries) + sum(map(len, everything.archives)) == 20


def test_equal_dates_are_ordered_by_url() -> None:
    records = [record(f"{n}.md", webUrl=f"https://a.com/{n}", related=[]) for n in "cab"]
    plan = plan_feeds(build_graph(records), entries_per_feed=5)
    assert [e.key for e in plan.feeds[0].entries] == [
        "https://a.com/a",
        "https://a.com/b",
        "https://a.com/c",
    ]


def test_provider_feeds_group_by_domain() -> None:
    a = record(
        "a.md",
        webUrl="https://a.com/1",
        related=[cited("https://b.com/2", provider="Other", domain="WWW.Other.example.org")],
    )
    b = record(
        "b.md",
        webUrl="https://a.com/3",
        related=[],
        provider={"name": "Other Paper", "domain": "other.example.org"},
    )
    plan = plan_feeds(build_graph([a, b]), entries_per_feed=5)
    providers = [f for f in plan.feeds if f.kind is FeedKind.PROVIDER]
    assert sorted(f.total for f in providers) == [1, 2]


def test_slugs_are_url_safe_and_unicode_aware() -> None:
    slugs = assign_slugs(
        {
            "Computer Vision": "Computer Vision",
            "Künstliche Intelligenz": "Künstliche Intelligenz",
            "../../etc/passwd": "../../etc/passwd",
            "C++ & C#": "C++ & C#",
            "🙂": "🙂",
            "Москва": "Москва",
        }
    )
    assert slugs["Computer Vision"] == "computer-vision"
    assert slugs["Künstliche Intelligenz"] == "kunstliche-intelligenz"
    assert slugs["../../etc/passwd"] == "etc-passwd"
    assert slugs["Москва"] == "moskva"
    assert slugs["🙂"] == "untitled"
    for slug in slugs.values():
        assert slug and all(c.isascii() and (c.isalnum() or c == "-") for c in slug)


def test_slug_collisions_are_resolved_deterministically() -> None:
    names = {"ai": "ai", "AI": "AI", "Ai": "Ai"}
    slugs = assign_slugs(names)
    assert len(set(slugs.values())) == 3
    assert slugs["AI"] == "ai"  # the key that sorts first keeps the plain slug
    assert all(s.startswith("ai-") for k, s in slugs.items() if k != "AI")
    assert assign_slugs(dict(reversed(names.items()))) == slugs
    # Adding an unrelated name changes no existing slug.
    assert {
        k: v for k, v in assign_slugs({**names, "Robots": "Robots"}).items() if k in names
    } == slugs


def test_cleaning_each_description_then_merging_equals_cleaning_the_merged_graph(
    tmp_path: Path,
) -> None:
    """Builds clean what each file contributes, once per file content, instead of the merged
    graph: the two must give the same articles, field for field and in the same order."""
    folder = tmp_path / "records"
    write_corpus(folder, 400)
    paths, _ = discover([folder])
    records = []
    for path in paths:
        loaded = parse_record(path.name, path.read_bytes())
        if loaded.record is not None and not loaded.diagnostics:
            records.append(PublishedRecord(path.name, loaded.record.data))
    published = [r for r in records if is_published(r.data)]
    assert len(published) > 300

    cleaned_last = clean_articles(build_graph(published))
    cleaned_first = merge_articles(tuple(map(clean_article, record_articles(r))) for r in published)
    assert list(cleaned_first.items()) == list(cleaned_last.items())
    assert clean_articles(cleaned_first) == cleaned_first  # cleaning again changes nothing


def test_newest_first_breaks_ties_by_url_whatever_the_order_and_time_zone() -> None:
    same_moment = ["2021-05-01T12:00:00Z", "2021-05-01T14:00:00+02:00", "2021-05-01T07:00:00-05:00"]
    records = [
        record(f"{n}.md", webUrl=f"https://{name}.example/", publishedDateTime=moment, related=[])
        for n, (name, moment) in enumerate(zip("cab", same_moment, strict=True))
    ]
    later = record("z.md", webUrl="https://z.example/", publishedDateTime="2021-05-02T00:00:00Z")
    articles = [a for r in records for a in record_articles(r)] + [record_articles(later)[0]]
    expected = [
        "https://z.example/",
        "https://a.example/",
        "https://b.example/",
        "https://c.example/",
    ]
    assert [a.key for a in newest_first(articles)] == expected
    assert [a.key for a in newest_first(reversed(articles))] == expected
    assert [a.key for a in sorted(articles, key=rank_in_feed)] == expected


def test_newest_first_orders_by_moment_not_by_the_clock_of_each_offset() -> None:
    # Read as local clock times, these come in the reverse order.
    moments = {
        "https://east.example/": "2021-05-01T12:00:00+05:00",  # 07:00 UTC
        "https://utc.example/": "2021-05-01T08:00:00Z",
        "https://west.example/": "2021-05-01T03:30:00-05:00",  # 08:30 UTC
    }
    articles = [
        record_articles(record(f"{n}.md", webUrl=url, publishedDateTime=moment, related=[]))[0]
        for n, (url, moment) in enumerate(moments.items())
    ]
    expected = ["https://west.example/", "https://utc.example/", "https://east.example/"]
    assert [a.key for a in newest_first(articles)] == expected
    assert [a.key for a in sorted(articles, key=rank_in_feed)] == expected


# Moments with equal ones among them, written in other offsets.
_MOMENTS = [
    datetime(2021, 5, 1, 12, tzinfo=UTC),
    datetime(2021, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))),
    datetime(2021, 5, 2, tzinfo=UTC),
    datetime(2020, 1, 1, 3, 30, tzinfo=timezone(-timedelta(hours=5))),
]
_KEYS = [f"https://{n}.example/" for n in range(12)]


def dated(key: str, published: datetime) -> Article:
    text = Text(key, "Title", "", None)
    return Article(key, published, published, Provider("P", "p.example"), ("T",), (), None, text)


@given(st.data())
def test_the_order_of_a_graph_comes_from_the_last_for_the_articles_that_changed(
    data: st.DataObject,
) -> None:
    """Articles gone, come, or come again with another date, among those kept: the order
    made from the last one is what sorting them all gives, of the very articles."""
    keys = data.draw(st.lists(st.sampled_from(_KEYS), unique=True))
    before = {key: dated(key, data.draw(st.sampled_from(_MOMENTS))) for key in keys}
    after = dict(before)
    changed = data.draw(st.lists(st.sampled_from(_KEYS), unique=True))
    for key in changed:
        if data.draw(st.booleans()):
            after.pop(key, None)
        else:
            after[key] = dated(key, data.draw(st.sampled_from(_MOMENTS)))
    gone = [before[key] for key in changed if key in before]
    come = [after[key] for key in changed if key in after]
    with patch.object(plan, "RESORT_SHARE", math.inf):
        ordered = reordered(NewestFirst.of(before.values()), gone, come)
    assert ordered is not None
    keys = [article.key for article in ordered.articles]
    assert keys == [a.key for a in newest_first(after.values())]
    assert all(article is after[article.key] for article in ordered.articles)
    assert ordered.marks == page_marks(keys)  # each article's own, moved with it


def test_the_order_of_a_graph_is_sorted_again_when_it_cannot_come_from_the_last() -> None:
    """When the changes are many, or do not fit the last order: the caller sorts."""
    articles = [dated(key, _MOMENTS[n % 4]) for n, key in enumerate(_KEYS)]
    before = NewestFirst.of(articles)
    other = dated(_KEYS[0], _MOMENTS[2])
    with patch.object(plan, "RESORT_SHARE", 1.0):
        assert reordered(before, [other], []) is None  # not the article it holds
        assert reordered(before, [articles[0], articles[0]], []) is None  # gone twice
        assert reordered(before, [articles[0]], [other, other]) is None  # come twice
        assert reordered(before, [articles[0]], [other]) is not None
    assert reordered(before, [articles[0]], [other]) is None  # 2 changes of 12: too many


def test_a_plan_takes_the_order_it_is_given_and_comes_out_the_same() -> None:
    articles = {key: dated(key, _MOMENTS[n % 4]) for n, key in enumerate(sorted(_KEYS))}
    ordered = NewestFirst.of(articles.values())
    expected = plan_feeds(articles, 5)
    with (
        patch.object(plan, "newest_first", side_effect=AssertionError("sorted again")),
        patch.object(plan, "page_marks", side_effect=AssertionError("marked again")),
    ):
        assert plan_feeds(articles, 5, ordered) == expected


def test_an_order_holds_a_mark_for_each_of_its_articles() -> None:
    ordered = NewestFirst.of(dated(key, _MOMENTS[0]) for key in _KEYS)
    with pytest.raises(ValueError, match="11 marks for 12 articles"):
        NewestFirst(ordered.articles, ordered.marks[1:])


def test_a_provider_key_ignores_case_spaces_and_www_and_survives_pickling() -> None:
    provider = Provider("Paper", " WWW.Paper.Example.org ")
    assert provider.key == "paper.example.org"
    assert provider == Provider("Paper", " WWW.Paper.Example.org ")
    assert pickle.loads(pickle.dumps(provider)).key == "paper.example.org"


def test_every_feed_holds_its_articles_newest_first_and_nothing_else(tmp_path: Path) -> None:
    """The plan sorts all articles once and deals them out to feeds: each feed must hold
    exactly the articles of its topic or provider, in their own newest-first order."""
    folder = tmp_path / "records"
    write_corpus(folder, 400)
    published = []
    for path in discover([folder])[0]:
        loaded = parse_record(path.name, path.read_bytes())
        record = loaded.record
        if record is not None and not loaded.diagnostics and is_published(record.data):
            published.append(PublishedRecord(path.name, record.data))
    graph = build_graph(published)
    plan = plan_feeds(graph, entries_per_feed=7)
    assert len(plan.feeds) > 10
    for spec in plan.feeds:
        if spec.kind is FeedKind.ALL:
            members = list(graph.values())
        elif spec.kind is FeedKind.TOPIC:
            members = [a for a in graph.values() if spec.key in a.topics]
        else:
            members = [a for a in graph.values() if a.provider.key == spec.key]
        listed = [a for page in spec.archives for a in reversed(page)] + list(
            reversed(spec.entries)
        )
        assert listed[::-1] == newest_first(members), spec.path
        assert spec.total == len(members)
