"""The texts of articles held in a file: spilled as a graph is merged, found by key."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds import aside, graphcache, keys, texts
from feeds.api import check_source
from feeds.articles import (
    Article,
    Image,
    PublishedRecord,
    Text,
    build_graph,
    merge_articles,
    record_articles,
)
from feeds.cache import code_fingerprint
from feeds.plan import newest_first
from feeds.records import discover, parse_record
from feeds.schema import load_schema, schema_key
from feeds.texts import SpilledTexts, text_blob, text_of
from tests.corpus import write_corpus
from tests.test_articles import cited, record
from tests.test_uptodate import spy_on

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def corpus_records(folder: Path, records: int = 40) -> list[PublishedRecord]:
    """The records of a corpus of ``records`` written into ``folder`` that parse."""
    write_corpus(folder, records)
    parsed = [parse_record(path.name, path.read_bytes()).record for path in discover([folder])[0]]
    return [PublishedRecord(r.file, r.data) for r in parsed if r is not None]


def corpus_graph(folder: Path, records: int = 40) -> dict[str, Article]:
    """The graph of a corpus of ``records`` written into ``folder``, its texts in memory."""
    return build_graph(corpus_records(folder, records))


def test_a_text_comes_back_from_its_blob_as_it_was(tmp_path: Path) -> None:
    graph = corpus_graph(tmp_path)
    articles = list(graph.values())
    assert any(a.text.url == a.key for a in articles)
    assert any(a.text.url != a.key for a in articles)
    assert any(a.text.image is None for a in articles)
    assert any(a.text.image is not None for a in articles)
    for article in articles:
        text = text_of(text_blob(article), article.key)
        assert text == article.text
        assert type(text) is Text
        assert text.image is None or type(text.image) is Image
    by_key = next(a for a in articles if a.text.url == a.key)
    assert by_key.key.encode() not in text_blob(by_key)  # the key stands for the address


def test_spilled_texts_read_back_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in any order, as they are spilled, whether written out yet or not."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 300)  # written out every few texts
    articles = list(corpus_graph(tmp_path / "records").values())
    spill = SpilledTexts(tmp_path)
    held: list[Article] = []
    shuffle = random.Random(7).shuffle
    for article in articles:
        held.append(spill.hold(article))
        if len(held) % 7 == 0:
            asked = list(range(len(held)))
            shuffle(asked)
            assert [held[i].text for i in asked] == [articles[i].text for i in asked]
    assert held == articles
    assert all(a.held_text is spill for a in held)
    assert [a.text for a in held] == [a.text for a in articles]
    assert [path.name for path in tmp_path.iterdir()] == ["records"]  # no file left to find


def test_spilled_texts_are_found_by_key_whatever_order_they_came_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article spilled again (a record's own description taking the place of a
    citation's) reads the text spilled last.  The places of the texts are put in key order
    once, as the graph settles, and not again as they are read."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 500)
    graph = corpus_graph(tmp_path / "records")
    taken = list(graph.values())
    random.Random(3).shuffle(taken)
    spill = SpilledTexts(tmp_path)
    first = taken[len(taken) // 2]
    cited = spill.hold(first._replace(held_text=first.text._replace(title="As cited")))
    assert cited.text.title == "As cited"
    held = {cited.key: cited}
    held.update((article.key, spill.hold(article)) for article in taken)
    sorts: list[int] = []
    sort = SpilledTexts._sort

    def counted(self: SpilledTexts) -> None:
        sorts.append(len(self._keys))
        sort(self)

    monkeypatch.setattr(SpilledTexts, "_sort", counted)
    merged = dict(sorted(held.items()))
    spill.settle(merged)
    assert sorts == [len(graph) + 1]  # every text spilled, one twice
    assert [a.text for a in merged.values()] == [a.text for a in graph.values()]
    assert list(merged.items()) == list(graph.items())
    assert sorts == [len(graph) + 1]


def test_held_texts_keep_only_the_last_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(texts, "TEXTS_KEPT", 8)
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 0)
    articles = list(corpus_graph(tmp_path / "records", 10).values())[:10]
    spill = SpilledTexts(tmp_path)
    held = [spill.hold(article) for article in articles]
    reads: list[int] = []
    blob = SpilledTexts.blob

    def counted(self: SpilledTexts, place: int) -> bytes:
        reads.append(place)
        return blob(self, place)

    monkeypatch.setattr(SpilledTexts, "blob", counted)
    for article in held:
        assert article.text is article.text  # kept once read
    assert reads == list(range(10))
    for _ in range(3):
        assert [a.text for a in held[6:]] == [a.text for a in articles[6:]]
    assert reads == list(range(10))  # the last read, kept
    assert held[0].text == articles[0].text
    assert reads == [*range(10), 0]  # read again
    for index, article in [*enumerate(held)] * 3:
        assert article.text == articles[index].text
        assert len(spill._younger) + len(spill._older) <= texts.TEXTS_KEPT


def test_merging_holds_each_article_it_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As it is taken: a record's own article taking the place of a citation's is held
    too, and the graph is the one merged with the texts in memory."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    a = record("a.md", webUrl="https://a.com/1", related=[cited("https://b.com/2")])
    b = record("b.md", webUrl="https://b.com/2", title="Own", related=[cited("https://c.com/3")])
    contributions = [record_articles(a), record_articles(b)]
    spill = SpilledTexts(tmp_path)
    taken: list[str] = []

    def hold(article: Article, before: dict[str, Article]) -> Article:
        taken.append(article.key)
        return spill.hold(article, before)

    graph = merge_articles(contributions, hold)
    assert taken == ["https://a.com/1", "https://b.com/2", "https://b.com/2", "https://c.com/3"]
    assert list(graph.items()) == list(merge_articles(contributions).items())
    assert graph["https://b.com/2"].text.title == "Own"
    assert all(a.held_text is spill for a in graph.values())


def test_the_texts_kept_go_apart_as_soon_as_others_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the graph is merged, not once it is whole: the moment one article too many is
    taken, those taken before hold their texts apart too.  Held to the end, those of the
    first 131,072 articles of 100,000 records made a cold build peak 75 MB higher."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 3)
    contributions = [record_articles(r) for r in corpus_records(tmp_path / "records", 10)]
    spill = SpilledTexts(tmp_path)
    kept_at_each: list[int] = []

    def hold(article: Article, before: dict[str, Article]) -> Article:
        held = spill.hold(article, before)
        kept_at_each.append(sum(type(a.held_text) is Text for a in before.values()))
        return held

    graph = merge_articles(contributions, hold)
    assert kept_at_each[:4] == [0, 1, 2, 0]  # the fourth takes the three before apart
    assert not any(kept_at_each[3:])
    assert all(a.held_text is spill for a in graph.values())
    in_memory = merge_articles(contributions)
    assert list(graph.items()) == list(in_memory.items())
    assert [a.text for a in graph.values()] == [a.text for a in in_memory.values()]


def test_a_graph_merged_from_every_file_holds_its_texts_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a file while the build runs; its record copies them from there, and gives them
    back the same."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    write_corpus(folder, 40)
    paths, _ = discover([folder])
    schema = load_schema()
    in_memory = check_source(paths, schema, NOW).graph  # fewer than spill: none is
    assert all(type(a.held_text) is Text for a in in_memory.values())
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    for kept in (None, cache):
        source = check_source(paths, schema, NOW, cache=kept, graph_record=cache / "graph.pickle")
        assert all(type(a.held_text) is SpilledTexts for a in source.graph.values())
        assert [a.text for a in source.graph.values()] == [a.text for a in in_memory.values()]
    monkeypatch.setattr(graphcache, "text_blob", None)  # copied as spilled, not made again
    (cache / "graph.pickle").unlink()
    source = check_source(paths, schema, NOW, cache=cache, graph_record=cache / "graph.pickle")
    context = f"{code_fingerprint()}:{schema_key(schema)}"
    recorded = graphcache.load_state(cache / "graph.pickle", context)
    assert recorded is not None
    assert [a.text for a in recorded.graph.values()] == [a.text for a in in_memory.values()]


def test_the_first_texts_taken_stay_with_their_articles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to :data:`~feeds.texts.TEXTS_IN_MEMORY`; no file is made before one is spilled."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 5)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 0)
    made: list[Path | None] = []
    unnamed = aside.unnamed_file

    def counted(folder: Path | None) -> object:
        made.append(folder)
        return unnamed(folder)

    monkeypatch.setattr(aside, "unnamed_file", counted)
    articles = list(corpus_graph(tmp_path / "records").values())
    spill = SpilledTexts(tmp_path)
    held = [spill.hold(article) for article in articles[:5]]
    assert all(a is b for a, b in zip(held, articles[:5], strict=True))
    assert made == []
    held += [spill.hold(article) for article in articles[5:]]
    assert made == [tmp_path]  # once
    assert [type(a.held_text) for a in held] == [Text] * 5 + [SpilledTexts] * (len(held) - 5)
    assert [a.text for a in held] == [a.text for a in articles]


def test_a_graph_too_large_to_hold_every_text_holds_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Those of the first articles taken go apart once the graph is whole, when the others
    did; a graph whose texts all stayed with their articles keeps them there."""
    folder = tmp_path / "records"
    write_corpus(folder, 40)
    paths, _ = discover([folder])
    schema = load_schema()
    in_memory = check_source(paths, schema, NOW).graph
    # Each article is taken once or twice (a record's own article replaces a citation's).
    for limit, apart in [(2 * len(in_memory), False), (len(in_memory) - 1, True), (5, True)]:
        monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", limit)
        graph = check_source(paths, schema, NOW).graph
        kinds = {type(a.held_text) for a in graph.values()}
        assert kinds == ({SpilledTexts} if apart else {Text})
        assert list(graph.items()) == list(in_memory.items())
        assert [a.text for a in graph.values()] == [a.text for a in in_memory.values()]


@pytest.mark.parametrize("fails", ["in the folder", "anywhere", "to write"])
def test_a_spill_refused_goes_where_the_system_says_or_stays_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """Where the folder refuses a file, the system's place for temporary files takes it;
    where that fails too, or writing does, the texts stay in memory, packed.  They are
    read back the same either way."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 200)
    articles = list(corpus_graph(tmp_path / "records").values())
    folders: list[Path | None] = []
    temporary = tempfile.TemporaryFile

    def refused(dir: Path | None = None) -> object:  # as tempfile names it
        folders.append(dir)
        if fails == "anywhere" or dir is not None:
            raise PermissionError(13, "Permission denied", str(dir))
        spill = temporary(dir=dir)
        if fails == "to write":
            spill.write = _full  # type: ignore[method-assign]
        return spill

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    spill = SpilledTexts(tmp_path)
    held = [spill.hold(article) for article in articles]
    assert folders == [tmp_path, None]  # tried once each
    assert (spill._spill.written > 0) is (fails == "in the folder")
    assert all(a.held_text is spill for a in held)
    assert [a.text for a in held] == [a.text for a in articles]


def _full(data: object) -> int:
    raise OSError(28, "No space left on device")


def test_entries_whose_texts_are_all_spilled_are_hashed_reading_the_file_in_its_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their digests are those of each entry hashed by itself, texts in memory; but no text
    is asked for by itself: the file is read in its order, a chunk at a time, whether its
    texts were written out yet or not, passing over a text spilled again."""
    monkeypatch.setattr(texts, "TEXTS_IN_MEMORY", 0)
    monkeypatch.setattr(texts, "SPILL_BUFFER_BYTES", 300)  # chunks smaller than some texts
    graph = corpus_graph(tmp_path / "records", 60)
    expected = {key: keys.entry_digest(article, graph) for key, article in graph.items()}
    taken = list(graph.values())
    random.Random(5).shuffle(taken)
    spill = SpilledTexts(tmp_path)
    first = taken[0]
    spill.hold(first._replace(held_text=first.text._replace(title="As cited")))
    merged = {article.key: spill.hold(article) for article in taken}
    merged = dict(sorted(merged.items()))
    spill.settle(merged)
    assert 0 < spill._spill.written < spill._spill.end  # the last texts not written out
    alone = spy_on(monkeypatch, SpilledTexts, "read")
    known = {first.key: b"k" * keys.DIGEST_SIZE}
    digests = keys.entry_digests(merged, known, None, newest_first(merged.values()))
    assert digests == {**expected, **known}
    assert alone == []
    # With one text in memory, or one article fewer, the file does not hold the texts of
    # the articles only: each is asked for.
    one = list(merged)[len(merged) // 2]
    fewer = {key: article for key, article in merged.items() if key != one}
    retitled = graph[one]._replace(held_text=graph[one].text._replace(title="Retitled"))
    merged[one] = retitled
    in_memory = {**graph, one: retitled}
    hashed = keys.entry_digests(merged, {}, None, newest_first(merged.values()))
    assert hashed == {
        key: keys.entry_digest(article, in_memory) for key, article in in_memory.items()
    }
    assert hashed != expected
    assert alone
    alone.clear()
    hashed = keys.entry_digests(fewer, {}, None, newest_first(fewer.values()))
    assert hashed == {key: keys.entry_digest(article, fewer) for key, article in fewer.items()}
    assert alone


def test_entries_are_hashed_in_the_order_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph merged from every file hashes its entries newest first: the related
    articles whose texts an entry shows are then mostly those read last."""
    folder, cache = tmp_path / "records", tmp_path / "cache"
    graph = corpus_graph(folder)
    ordered = newest_first(graph.values())
    assert [a.key for a in ordered] != list(graph)
    hashed: list[str] = []
    entry_digest = keys.entry_digest

    def counted(article: Article, articles: Mapping[str, Article]) -> bytes:
        hashed.append(article.key)
        return entry_digest(article, articles)

    monkeypatch.setattr(keys, "entry_digest", counted)
    digests = keys.entry_digests(graph, {}, None, ordered)
    assert hashed == [a.key for a in ordered]
    assert digests == {key: entry_digest(article, graph) for key, article in graph.items()}
    hashed.clear()
    paths, _ = discover([folder])
    source = check_source(paths, load_schema(), NOW, cache=cache, graph_record=cache / "g")
    assert hashed == [a.key for a in newest_first(source.graph.values())]
