"""Merging again only what changed gives the graph a merge of every file gives.

Each test changes records between builds (edits, new copies of one article, removals,
records that stop or start being published, citations of other records) and compares the
graph of a build with the last build's graph at hand with one merged from every file, in
order, article for article.
"""

from __future__ import annotations

import itertools
import math
import pickle
import random
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from sys import intern
from typing import Any

import pytest
import yaml

from feeds import cache as cache_module
from feeds import graphcache, keys, plan
from feeds.api import check_source
from feeds.archive import page_marks
from feeds.articles import Article, Image, Provider, Text
from feeds.cache import Cache, append_record, code_fingerprint, digest
from feeds.crosscheck import Facts, citing
from feeds.diagnostics import Diagnostic, Severity
from feeds.plan import NewestFirst, newest_first
from feeds.records import discover, display_path
from feeds.scan import FileResult, from_summary, scan, summary_of
from feeds.schema import load_schema, schema_key
from tests.corpus import write_corpus

NOW = datetime(2030, 1, 1, tzinfo=UTC)
ENTRY_DIGEST = keys.entry_digest  # the tests count the calls of the module's name


def graphs(folder: Path, cache: Path) -> tuple[dict[str, Article], dict[str, Article]]:
    """The graph with the cache and last graph, and the graph merged from every file.

    The entry digests kept with the graph are those of the graph merged from every file,
    and so is what the graph record now holds, read back as the next build reads it.  So
    are what checking found in each file and the results the record keeps of them."""
    paths, _ = discover([folder])
    schema = load_schema()
    kept = check_source(paths, schema, NOW, cache=cache, graph_record=cache / "graph.pickle")
    fresh = check_source(paths, schema, NOW)
    assert kept.checked == fresh.checked
    assert_newest_first(kept.ordered, kept.graph)
    assert kept.published == fresh.published
    expected = {key: ENTRY_DIGEST(article, fresh.graph) for key, article in fresh.graph.items()}
    assert kept.entry_digests == expected
    recorded = recorded_state(cache)
    assert recorded is not None
    assert list(recorded.graph.items()) == list(fresh.graph.items())
    assert recorded.entry_digests == expected
    if recorded.ordered is not None:  # else too much changed since it was written whole
        assert_newest_first(recorded.ordered, recorded.graph)
    labels = {display_path(path) for path in paths}
    assert set(recorded.contributors) <= labels  # none of a file removed or left out
    results = {result.file: result._replace(articles=None) for result in scan(paths, schema, None)}
    assert {label: result for label, (_, result) in recorded.results.items()} == results
    contents = {display_path(path): digest(path.read_bytes()) for path in paths}
    assert {label: content for label, (content, _) in recorded.results.items()} == contents
    return kept.graph, fresh.graph


def assert_newest_first(ordered: NewestFirst | None, graph: Mapping[str, Article]) -> None:
    """``ordered`` holds the very articles of ``graph``, as sorting them gives them, each
    with its own page mark."""
    assert ordered is not None
    keys = [article.key for article in ordered.articles]
    assert keys == [a.key for a in newest_first(graph.values())]
    assert all(article is graph[article.key] for article in ordered.articles)
    assert ordered.marks == page_marks(keys)


def recorded_state(cache: Path) -> graphcache.GraphState | None:
    context = f"{code_fingerprint()}:{schema_key(load_schema())}"
    return graphcache.load_state(cache / "graph.pickle", context)


def front(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8").split("---\n")[1])
    assert isinstance(data, dict)
    return data


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(f"---\n{yaml.safe_dump(data, allow_unicode=True)}---\nBody.\n", "utf-8")


def edit_title(rng: random.Random, records: list[Path]) -> None:
    path = rng.choice(records)
    data = front(path)
    data["title"] = f"Edited {rng.randrange(10**6)}"
    write(path, data)


def copy_record(rng: random.Random, records: list[Path]) -> None:
    """A second record of the same article, before or after the first in file order."""
    path = rng.choice(records)
    data = front(path)
    data["title"] = f"Copy {rng.randrange(10**6)}"
    data["topics"] = [f"Copied topic {rng.randrange(5)}"]
    write(path.with_name(f"{rng.choice(['0', 'z'])}-copy-{rng.randrange(10**6)}.md"), data)


def remove_record(rng: random.Random, records: list[Path]) -> None:
    rng.choice(records).unlink()


def toggle_published(rng: random.Random, records: list[Path]) -> None:
    path = rng.choice(records)
    data = front(path)
    data["published"] = data.get("published") is False
    write(path, data)


def cite_another_record(rng: random.Random, records: list[Path]) -> None:
    path, other = rng.sample(records, 2)
    data, cited = front(path), front(other)
    cited.pop("related", None)
    cited["title"] = f"Cited as {rng.randrange(10**6)}"
    data["related"] = [*(data.get("related") or []), cited]
    write(path, data)


def drop_related(rng: random.Random, records: list[Path]) -> None:
    path = rng.choice(records)
    data = front(path)
    data["related"] = (data.get("related") or [])[1:]
    write(path, data)


def move_url(rng: random.Random, records: list[Path]) -> None:
    path = rng.choice(records)
    data = front(path)
    data["webUrl"] = f"https://moved.example.com/{rng.randrange(10**6)}/"
    write(path, data)


def break_record(rng: random.Random, records: list[Path]) -> None:
    path = rng.choice(records)
    data = front(path)
    data["publishedDateTime"] = "not a date"
    write(path, data)


CHANGES: list[Callable[[random.Random, list[Path]], None]] = [
    edit_title,
    copy_record,
    remove_record,
    toggle_published,
    cite_another_record,
    drop_related,
    move_url,
    break_record,
]


@pytest.mark.parametrize("seed", range(6))
def test_every_build_of_a_changing_corpus_has_the_graph_of_a_full_merge(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 80, seed=seed)
    merged_again = []
    spy = graphcache.merge_changes

    def counted(*args: Any, **kwargs: Any) -> graphcache.GraphState | None:
        state = spy(*args, **kwargs)
        merged_again.append(state is not None)
        return state

    monkeypatch.setattr(graphcache, "merge_changes", counted)
    appended = []
    append = append_record

    def counted_append(*args: Any) -> Any:
        end = append(*args)
        appended.append(end is not None)
        return end

    monkeypatch.setattr(graphcache, "append_record", counted_append)
    # Each build's order comes from the last build's, however much changed.
    monkeypatch.setattr(plan, "RESORT_SHARE", math.inf)
    sorted_all = []
    sort = plan.newest_first

    def counted_sort(articles: Iterable[Article]) -> list[Article]:
        sorted_all.append(True)
        return sort(articles)

    monkeypatch.setattr(plan, "newest_first", counted_sort)
    marked = []
    mark = page_marks

    def counted_marks(keys: Iterable[str]) -> array[int]:
        marks = mark(keys)
        marked.append(len(marks))
        return marks

    monkeypatch.setattr(plan, "page_marks", counted_marks)
    rng = random.Random(seed)
    kept, fresh = graphs(folder, cache)
    assert len(sorted_all) == 1  # the first build sorts them all: it has no last order
    assert marked == [len(kept)]  # and marks them all
    assert list(kept.items()) == list(fresh.items())
    hashed = []

    def counted_digest(article: Article, articles: Any) -> bytes:
        hashed.append(article.key)
        return ENTRY_DIGEST(article, articles)

    monkeypatch.setattr(keys, "entry_digest", counted_digest)
    for _ in range(12):
        records = sorted(p for p in folder.iterdir() if p.suffix in {".md", ".txt"})
        for change in rng.sample(CHANGES, rng.randint(1, 3)):
            change(rng, records)
            records = sorted(p for p in folder.iterdir() if p.suffix in {".md", ".txt"})
        kept, fresh = graphs(folder, cache)
        assert list(kept.items()) == list(fresh.items())
    assert len(merged_again) == 12 and all(merged_again)  # each build merged only changes
    assert len(sorted_all) == 1  # and took the order of the articles from the last build
    assert sum(marked[1:]) < 12 * len(kept) / 2  # and the marks of those not merged again
    recorded = recorded_state(cache)
    assert recorded is not None and recorded.ordered is not None
    assert any(appended)  # and kept them by appending them to the graph record
    assert len(hashed) < 12 * len(kept) / 2  # and hashed the entries of only some articles


def test_results_of_unchanged_files_come_from_the_graph_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one record is edited, no other file's result is looked up in the cache
    database but those of the records whose articles are merged again."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    asked: list[tuple[str, bool]] = []
    look_up = Cache.results

    def counted(
        self: Cache, keys: Iterable[tuple[str, bytes]], context: str, *, summary: bool = False
    ) -> dict[str, Any]:
        keys = list(keys)
        asked.extend((label, summary) for label, _ in keys)
        return look_up(self, keys, context, summary=summary)

    monkeypatch.setattr(Cache, "results", counted)
    edit_title(random.Random(4), sorted(folder.iterdir()))
    graphs(folder, cache)
    assert not [label for label, summary in asked if summary]
    assert 0 < len(asked) <= 10


def test_a_graph_record_of_other_code_is_passed_over_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 20)
    graphs(folder, cache)
    code, schema = code_fingerprint(), schema_key(load_schema())
    unpickled: list[object] = []
    load = cache_module._Restricted.load

    def counted(self: pickle.Unpickler) -> object:
        unpickled.append(self)
        return load(self)

    monkeypatch.setattr(cache_module._Restricted, "load", counted)
    record = cache / "graph.pickle"
    assert graphcache.load_state(record, f"{code}:another schema") is None
    assert graphcache.load_state(record, f"other code:{schema}") is None
    assert not unpickled
    assert graphcache.load_state(record, f"{code}:{schema}") is not None
    assert unpickled


def test_a_graph_record_that_is_damaged_or_of_other_code_is_not_used(tmp_path: Path) -> None:
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    record = cache / "graph.pickle"
    assert graphcache.load_state(record, "another code:another schema") is None
    blob = bytearray(record.read_bytes())
    blob[-5] ^= 0xFF
    record.write_bytes(bytes(blob))
    edit_title(random.Random(1), sorted(folder.iterdir()))
    kept, fresh = graphs(folder, cache)
    assert list(kept.items()) == list(fresh.items())


def test_a_graph_record_gives_back_every_field_as_it_was(tmp_path: Path) -> None:
    """Dates keep their offset and microseconds, and an update date its own; an address
    that is not the key, an image without a size and an article without a record come
    back as they were (the record writes dates and such addresses apart)."""
    india = timezone(timedelta(hours=5, minutes=30))

    def article(key: str, **fields: Any) -> Article:
        text: dict[str, Any] = {
            "url": fields.pop("url", key),
            "title": f"Title of {key}",
            "excerpt": "Exc\u00e9rpt \U0001f4f0",
            "image": fields.pop("image", None),
        }
        values: dict[str, Any] = {
            "key": key,
            "published": datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
            "provider": Provider("Paper", "paper.example.com"),
            "topics": ("One",),
            "related": (),
            "source": None,
            **fields,
        }
        values.setdefault("updated", values["published"])
        return Article(**values, held_text=Text(**text))

    shared_related = ("https://a.example.com/",)  # as merging shares it
    graph = {
        a.key: a
        for a in [
            article("https://a.example.com/", source="a.md", related=("https://b.example.com/",)),
            article(
                "https://b.example.com/",
                url="https://B.example.com:443/?utm_source=x",
                published=datetime(2020, 2, 29, 23, 59, 59, 123456, tzinfo=india),
                updated=datetime(2021, 1, 1, tzinfo=timezone(timedelta(hours=-3))),
                image=Image("https://b.example.com/i.png", None, 600),
                related=("https://a.example.com/",),
            ),
            article(  # updated at the very moment of publication, told in another offset
                "https://c.example.com/",
                published=datetime(2021, 1, 1, 12, tzinfo=UTC),
                updated=datetime(2021, 1, 1, 14, tzinfo=timezone(timedelta(hours=2))),
                related=shared_related,
            ),
            article("https://d.example.com/", related=shared_related),
        ]
    }
    state = graphcache.GraphState(graph, {"a.md": (b"digest", tuple(graph))}, build=b"build")
    record = tmp_path / "graph.pickle"
    graphcache.store_state(record, state, "context", None)
    read = graphcache.load_state(record, "context")
    assert read is not None
    assert list(read.graph.items()) == list(graph.items())
    for key, before in graph.items():
        after = read.graph[key]
        assert after.published.isoformat() == before.published.isoformat()
        assert after.updated.isoformat() == before.updated.isoformat()
    assert read.contributors == state.contributors
    assert read.build == b"build"
    # Each key, label, tuple of topics and of related keys is read back once, whatever
    # names it.
    a, b, c, d = read.graph.values()
    assert a.related[0] is b.key and b.related[0] is a.key
    assert next(iter(read.contributors)) is a.source
    assert a.topics is b.topics is c.topics
    assert c.related == d.related and c.related is d.related
    # Without the frame of the text, the record is not used.
    kind = graphcache._kind("context")
    frames, _ = cache_module.read_records(record, kind, graphcache._CLASSES)
    cache_module.write_record(record, kind, frames[0])
    assert graphcache.load_state(record, "context") is None


def test_a_graph_record_writes_what_the_results_share_once(tmp_path: Path) -> None:
    """The files' labels and what diagnostics are made of are written once for every
    result that names them, and read back as one object each."""
    labels = [f"{number}.md" for number in range(100)]
    article = Article(
        "https://a.example.com/",
        datetime(2021, 3, 4, tzinfo=UTC),
        datetime(2021, 3, 4, tzinfo=UTC),
        Provider("Paper", "paper.example.com"),
        ("One",),
        (),
        labels[0],
        Text("https://a.example.com/", "Title", "", None),
    )
    results = {
        label: (
            b"content",
            FileResult(
                label,
                (Diagnostic(label, 1, 1, "title", "rule", "message", Severity.WARNING),),
                None,
                label is labels[0],
                None,
            ),
        )
        for label in labels
    }
    state = graphcache.GraphState(
        {article.key: article}, {labels[0]: (b"content", (article.key,))}, results=results
    )
    record = tmp_path / "graph.pickle"
    graphcache.store_state(record, state, "context", None)
    assert record.read_bytes().count(b"feeds.diagnostics") < 5
    read = graphcache.load_state(record, "context")
    assert read is not None
    assert read.results == results
    result = read.results["7.md"][1]
    assert result.diagnostics[0].file is result.file
    assert read.graph[article.key].source is read.results["0.md"][1].file


def test_a_graph_read_back_reads_the_text_of_each_article_when_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The articles read back hold where the record holds their text, and read it from
    there the first time it is asked for, as it was; they compare equal to those stored.
    The record written whole again, in its own place, from the graph read back, copies
    those texts from the file it replaces and gives them back the same."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    _, fresh = graphs(folder, cache)
    state = recorded_state(cache)
    assert state is not None
    (held,) = {id(a.held_text): a.held_text for a in state.graph.values()}.values()
    assert type(held) is graphcache.RecordedTexts  # one for every article
    reads: list[int] = []
    blob = graphcache.RecordedTexts.blob

    def counted(texts: graphcache.RecordedTexts, place: int) -> bytes:
        reads.append(place)
        return blob(texts, place)

    with monkeypatch.context() as patched:
        patched.setattr(graphcache.RecordedTexts, "blob", counted)
        for _ in range(2):
            assert [a.text for a in state.graph.values()] == [a.text for a in fresh.values()]
    assert sorted(reads) == list(range(len(fresh)))  # each read once
    assert all(type(a.text) is Text for a in state.graph.values())
    assert any(a.text.url != a.key for a in fresh.values())  # the record holds such too
    assert any(a.text.image is not None for a in fresh.values())
    assert any(a.text.image is None for a in fresh.values())
    assert list(state.graph.items()) == list(fresh.items())
    context = f"{code_fingerprint()}:{schema_key(load_schema())}"
    record = cache / "graph.pickle"
    before = record.stat().st_ino
    unread = recorded_state(cache)  # none of its texts read before the record is replaced
    assert unread is not None
    with monkeypatch.context() as patched:  # copied as recorded, not read
        patched.setattr(graphcache.RecordedTexts, "read", None)
        graphcache.store_state(record, state, context, None)  # whole, over what it reads
    assert record.stat().st_ino != before
    again = recorded_state(cache)
    assert again is not None
    assert [a.text for a in again.graph.values()] == [a.text for a in fresh.values()]
    # A graph read back before reads its texts from the file it was read from, whatever
    # is written in its place.
    fewer = dict(list(fresh.items())[5:])
    graphcache.store_state(record, graphcache.GraphState(fewer, {}), context, None)
    assert [a.text for a in unread.graph.values()] == [a.text for a in fresh.values()]


def test_an_article_read_back_is_equal_to_it_and_hashed_and_pickled_as_it(
    tmp_path: Path,
) -> None:
    """Its text held in the record, it compares as its fields do, that text included."""
    text = Text("https://a.example.com/x?utm=1", "Title", "Excerpt", Image("i.png", 1, None))
    published = datetime(2021, 3, 4, tzinfo=UTC)
    article = Article(
        "https://a.example.com/x", published, published, Provider("P", "p.com"), (), (), None, text
    )
    record = tmp_path / "graph.pickle"
    graphcache.store_state(record, graphcache.GraphState({article.key: article}, {}), "c", None)
    read = graphcache.load_state(record, "c")
    assert read is not None
    (recorded,) = read.graph.values()
    assert type(recorded.held_text) is graphcache.RecordedTexts
    assert recorded.text == text
    assert recorded == article and article == recorded and hash(recorded) == hash(article)
    assert (recorded != article, article != recorded) == (False, False)
    other = article._replace(held_text=text._replace(excerpt=""))
    assert recorded != other and other != recorded and not recorded == other  # noqa: SIM201
    assert hash(recorded) != hash(other)
    assert recorded != article._replace(key="https://a.example.com/y")
    assert recorded != article._replace(topics=("T",)) and recorded == recorded._replace()
    copy = pickle.loads(pickle.dumps(recorded))
    assert type(copy.held_text) is Text and copy == article


def test_a_graph_record_gives_back_shared_values_once_and_images_as_images(
    tmp_path: Path,
) -> None:
    """Articles of one provider, or with the same topics, share them once read back,
    however many equal copies the graph held: the record holds each once."""
    published = datetime(2021, 3, 4, tzinfo=UTC)
    graph = {
        key: Article(
            key,
            published,
            published,
            Provider("Paper", f"paper{index % 2}.example.com"),
            tuple(["One", "Two"][: 1 + index % 2]),
            (),
            None,
            Text(key, "Title", "", Image(f"{key}i.png", 4, 3) if index % 3 else None),
        )
        for index, key in enumerate(f"https://{n}.example.com/" for n in range(12))
    }
    record = tmp_path / "graph.pickle"
    state = graphcache.GraphState(graph, {}, build=b"build")
    graphcache.store_state(record, state, "context", None)
    read = graphcache.load_state(record, "context")
    assert read is not None
    assert list(read.graph.items()) == list(graph.items())
    articles = list(read.graph.values())
    assert all(type(article) is Article for article in articles)
    assert all(type(article.text) is Text for article in articles)
    assert all(type(a.text.image) is Image for a in articles if a.text.image)
    assert len({id(article.provider) for article in articles}) == 2
    assert len({id(article.topics) for article in articles}) == 2


def test_a_record_of_a_graph_out_of_key_order_gives_back_each_text_and_digest(
    tmp_path: Path,
) -> None:
    """Merging keeps the graph in key order, and a record of it finds each text and entry
    digest by bisection.  One of keys in another order is read back as it was all the
    same, and the record written whole again from it copies each text from there."""
    published = datetime(2021, 3, 4, tzinfo=UTC)
    paper = Provider("Paper", "paper.example.com")
    order = [f"https://example.com/{letter}" for letter in "qwertyuiop"]
    graph = {
        key: Article(key, published, published, paper, (), (), None, Text(key, key[-1], "", None))
        for key in order
    }
    digests = {key: bytes([at]) * keys.DIGEST_SIZE for at, key in enumerate(order)}
    record = tmp_path / "graph.pickle"
    graphcache.store_state(record, graphcache.GraphState(graph, {}, digests), "c", None)
    read = graphcache.load_state(record, "c")
    assert read is not None
    assert list(read.graph) == order
    assert [read.graph[key].text.title for key in sorted(order)] == sorted("qwertyuiop")
    assert type(read.entry_digests) is dict
    assert read.entry_digests == digests
    graphcache.store_state(record, read, "c", None)
    again = graphcache.load_state(record, "c")
    assert again is not None
    assert list(again.graph.items()) == list(graph.items())


def test_an_order_is_read_back_only_with_a_mark_for_each_article() -> None:
    """The graph is read back without its order (the build then sorts it) when the
    positions or the marks recorded with it are not one for each article."""
    published = datetime(2021, 3, 4, tzinfo=UTC)
    paper = Provider("Paper", "paper.example.com")
    articles = [
        Article(key, published, published, paper, (), (), None, Text(key, "T", "", None))
        for key in (f"https://example.com/{n}" for n in range(6))
    ]
    order, marks = graphcache._order_of(articles, None)
    ordered = graphcache._ordered(articles, order, marks)
    assert_newest_first(ordered, {article.key: article for article in articles})
    assert graphcache._ordered(articles, order, marks[:-4]) is None
    assert graphcache._ordered(articles, order[:-4], marks) is None
    assert graphcache._ordered(articles, order, None) is None


def test_a_summary_keeps_citations_whose_urls_are_interned_as_they_are() -> None:
    """The results taken back from workers or the cache cite interned URLs: their
    summaries, which the graph record holds, keep the very keys of related articles they
    hold, where about a million citations were made again at 100k records.  Keys equal to
    an interned URL but not that one are made again with it, so that the record holds
    each URL once."""
    cited = intern("https://cited.example.com/one")
    facts = Facts(
        "a.md",
        None,
        intern("https://a.example.com/"),
        "Title",
        1,
        "2021-01-01T00:00:00Z",
        1_609_459_200_000_000,
        *citing([(cited, 2, "2020-12-31T00:00:00Z")]),
    )
    result = FileResult("a.md", (), facts, True, None)
    summary = summary_of(result)
    assert summary[2] is not None
    assert summary[2][7] is facts.cited
    assert from_summary(summary) == result
    equal = "".join(["https://cited.example.com/", "one"])
    assert equal == cited and equal is not cited
    other = facts._replace(cited=(equal,))
    state = summary_of(result._replace(facts=other))[2]
    assert state is not None
    assert state[7] == other.cited
    assert state[7][0] is cited
    assert Facts._make(state).citations == ((0, cited, 2, "2020-12-31T00:00:00Z"),)


def test_a_lost_cached_result_falls_back_to_merging_every_file(tmp_path: Path) -> None:
    """The articles of unchanged files are read back from the check cache; when that has
    lost them, every file is merged again."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    records = sorted(folder.iterdir())
    cite_another_record(random.Random(3), records)  # so an unchanged record is merged again
    with sqlite3.connect(next(cache.glob("*.sqlite3"))) as db:
        db.execute("UPDATE files SET payload = NULL")
    kept, fresh = graphs(folder, cache)
    assert list(kept.items()) == list(fresh.items())


def record_file(cache: Path) -> tuple[int, int]:
    """The inode and size of the graph record."""
    state = (cache / "graph.pickle").stat()
    return state.st_ino, state.st_size


def test_a_build_appends_its_changes_until_they_outweigh_a_quarter_of_the_graph(
    tmp_path: Path,
) -> None:
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    inode, whole = record_file(cache)
    rng = random.Random(2)
    sizes = [whole]
    while record_file(cache)[0] == inode:
        assert len(sizes) < 60, "the record was never written whole again"
        edit_title(rng, sorted(folder.iterdir()))
        kept, fresh = graphs(folder, cache)
        assert list(kept.items()) == list(fresh.items())
        sizes.append(record_file(cache)[1])
    appended = [after - before for before, after in itertools.pairwise(sizes[:-1])]
    assert len(appended) >= 3  # several builds appended; each added far less than the whole
    assert all(0 < size < whole / 10 for size in appended)
    recorded = recorded_state(cache)
    assert recorded is not None and recorded.recorded is not None
    assert recorded.recorded.changed == 0  # written whole again: no changes to read


def test_a_build_appends_at_most_so_many_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change appended is read back by every later build: small ones too."""
    monkeypatch.setattr(graphcache, "APPEND_AT_MOST", 3)
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    rng = random.Random(4)
    inodes = [record_file(cache)[0]]
    for _ in range(5):
        edit_title(rng, sorted(folder.iterdir()))
        kept, fresh = graphs(folder, cache)
        assert list(kept.items()) == list(fresh.items())
        inodes.append(record_file(cache)[0])
    # Written whole by the first build and again by the fifth, after three changes.
    assert [inode == inodes[0] for inode in inodes] == [True, True, True, True, False, False]
    recorded = recorded_state(cache)
    assert recorded is not None and recorded.recorded is not None
    assert recorded.recorded.appended == 1


@pytest.mark.parametrize("damage", ["cut short", "junk after", "flipped"])
def test_a_damaged_change_is_not_read_and_the_record_is_written_whole_again(
    tmp_path: Path, damage: str
) -> None:
    """A change cut short (a build stopped while appending it) or followed by bytes that
    are no change: the record is read up to the last whole change, an earlier build's
    graph, and the next build writes the record whole, not after the damage."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    graphs(folder, cache)
    record = cache / "graph.pickle"
    first = recorded_state(cache)
    whole = record.stat().st_size
    edit_title(random.Random(5), sorted(folder.iterdir()))
    graphs(folder, cache)
    blob = record.read_bytes()
    assert len(blob) > whole  # the edit was appended
    if damage == "cut short":
        record.write_bytes(blob[:-7])
    elif damage == "junk after":
        record.write_bytes(blob + b"\0" * 50)
    else:
        record.write_bytes(blob[:-7] + bytes([blob[-7] ^ 1]) + blob[-6:])
    read = recorded_state(cache)
    assert first is not None and read is not None
    assert damage == "junk after" or list(read.graph.items()) == list(first.graph.items())
    inode = record.stat().st_ino
    edit_title(random.Random(6), sorted(folder.iterdir()))
    kept, fresh = graphs(folder, cache)
    assert list(kept.items()) == list(fresh.items())
    assert record.stat().st_ino != inode  # written whole, in a new file
