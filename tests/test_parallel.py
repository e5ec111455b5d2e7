"""Rendering on every core: the documents shared out, and what a worker process is sent."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Container
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import pytest

from feeds import parallel
from feeds.api import build
from feeds.articles import RELATED_LISTED
from feeds.cache import FileStat, content_digest, packed_state
from feeds.config import Config
from feeds.earlier import EarlierEntries, SameDigests
from feeds.jsonfeed import render_json
from feeds.output import OutputError, Staging, staged
from feeds.parallel import Shipment, write_documents
from feeds.plan import FeedPlan
from feeds.publish import FeedDocument, feed_documents, in_rendering_order, render_feeds
from feeds.render import distinct_updates, render_document
from feeds.workers import cores
from tests.conftest import HOT, RecordFactory, cite_one_article
from tests.corpus import write_corpus
from tests.test_entries import CONFIG, make_plan
from tests.test_incremental import assert_same_as_cold, edit_record

T = TypeVar("T")


@pytest.fixture(scope="module")
def corpus_plan(tmp_path_factory: pytest.TempPathFactory) -> FeedPlan:
    folder = tmp_path_factory.mktemp("corpus") / "records"
    write_corpus(folder, 300)
    return make_plan(folder)


def all_documents(plan: FeedPlan) -> list[FeedDocument]:
    return in_rendering_order(feed_documents(plan, CONFIG))


def test_both_ends_take_every_document_once_in_order(corpus_plan: FeedPlan) -> None:
    documents = all_documents(corpus_plan)
    queue = parallel._Queue(documents)
    newest = queue.newest()
    front: list[FeedDocument] = []
    back: list[list[FeedDocument]] = []
    while True:  # alternate: a document from the front, a batch from the back
        document = next(newest, None)
        if document is None:
            break
        front.append(document)
        if batch := queue.oldest():
            back.append(batch)
    assert queue.oldest() == []
    taken = front + [document for batch in reversed(back) for document in batch]
    assert taken == documents
    assert len(back) > 1


def test_batches_shrink_towards_the_end(
    corpus_plan: FeedPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 400)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 20)
    documents = all_documents(corpus_plan)
    queue = parallel._Queue(documents)
    sizes = []
    while batch := queue.oldest():
        sizes.append(sum(len(d.entries) + 1 for d in batch))
    assert max(sizes) < 400 + max(len(d.entries) + 1 for d in documents)
    assert sizes[-1] < sizes[0]


def test_a_shipment_renders_what_the_plan_renders(corpus_plan: FeedPlan) -> None:
    documents = all_documents(corpus_plan)
    for start in range(0, len(documents), 25):
        batch = documents[start : start + 25]
        sent = pickle.loads(pickle.dumps(Shipment.of(batch, corpus_plan.articles)))
        opened, articles = sent.opened()
        assert [d.names for d in opened] == [d.names for d in batch]
        assert [d.key for d in opened] == [d.key for d in batch]
        assert [d.entries for d in opened] == [d.entries for d in batch]
        # The entries, every related article of theirs the graph holds (they list them
        # all: fewer than RELATED_LISTED each), and nothing else.
        listed = {article.key for document in batch for article in document.entries}
        related = {
            key
            for document in batch
            for article in document.entries
            for key in article.related
            if key in corpus_plan.articles
        }
        assert all(
            len(article.related) <= RELATED_LISTED for article in corpus_plan.articles.values()
        )
        assert set(articles) == listed | related
        # Entries whole; the others only as an entry shows them (address, title, provider).
        assert all(articles[key] == corpus_plan.articles[key] for key in listed)
        for key in related - listed:
            whole, sent_as = corpus_plan.articles[key], articles[key]
            assert (sent_as.text.url, sent_as.text.title, sent_as.provider) == (
                whole.text.url,
                whole.text.title,
                whole.provider,
            )
            assert (sent_as.text.excerpt, sent_as.text.image, sent_as.topics, sent_as.related) == (
                "",
                None,
                (),
                (),
            )
        here = [(f.path, f.content) for f in render_feeds(batch, corpus_plan.articles, CONFIG)]
        there = [(f.path, f.content) for f in render_feeds(opened, articles, CONFIG)]
        assert there == here


def test_a_shipment_holds_the_related_articles_an_entry_shows(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    """Those it lists, and the next one, by which the worker knows that there are more."""
    urls = cite_one_article(write_record, RELATED_LISTED + 3)
    plan = make_plan(tmp_path / "records")
    alone = [d for d in all_documents(plan) if [a.key for a in d.entries] == [HOT]]
    assert alone  # its provider's feed, in each format
    opened, articles = pickle.loads(pickle.dumps(Shipment.of(alone, plan.articles))).opened()
    assert sorted(articles) == sorted([HOT, *urls[: RELATED_LISTED + 1]])
    here = [(f.path, f.content) for f in render_feeds(alone, plan.articles, CONFIG)]
    there = [(f.path, f.content) for f in render_feeds(opened, articles, CONFIG)]
    assert there == here
    assert all(isinstance(content, bytes) and b"Only the first" in content for _, content in here)


def test_a_narrowed_spec_heads_its_document_as_the_whole_spec(corpus_plan: FeedPlan) -> None:
    documents = all_documents(corpus_plan)
    opened, _ = Shipment.of(documents, corpus_plan.articles).opened()
    for whole, narrow in zip(documents, opened, strict=True):
        assert len(narrow.spec.archives) == len(whole.spec.archives)
        stamps = distinct_updates(whole.entries)
        assert stamps == distinct_updates(narrow.entries)
        # The document around the entries: feed elements, self and archive links.
        assert render_document(narrow.spec, CONFIG, narrow.page, []) == render_document(
            whole.spec, CONFIG, whole.page, []
        )
        assert render_json(narrow.spec, CONFIG, narrow.page, []) == render_json(
            whole.spec, CONFIG, whole.page, []
        )


def test_a_worker_renders_its_share(
    corpus_plan: FeedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small batches, so that the worker has some before this process has taken them all;
    what both write equals what one process writes."""
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    by_worker: list[int] = []
    feed = parallel._feed

    def counted(*args: Any, **kwargs: Any) -> parallel.Rendered:
        written, digests, linked, documents = feed(*args, **kwargs)
        by_worker.append(documents)
        return written, digests, linked, documents

    monkeypatch.setattr(parallel, "_feed", counted)
    written = {}
    for jobs in (1, 2):
        output = tmp_path / f"out{jobs}"
        with staged(output) as staging:
            paths = write_documents(staging, corpus_plan, CONFIG, {}, jobs=jobs, min_entries=0)
        written[jobs] = {p: (output / p).read_bytes() for p in paths}
        # The digest of every file, wherever it was written, for the record of the output.
        assert staging.digests == {p: content_digest(b) for p, b in written[jobs].items()}
    assert written[1] == written[2]
    assert len(by_worker) == 1
    assert 0 < by_worker[0] < len(all_documents(corpus_plan))


def test_the_documents_to_render_come_newest_first_by_their_middle_entry(
    corpus_plan: FeedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the order that keeps shared entries at hand, not the plan's
    (:func:`feeds.publish.in_rendering_order`)."""
    queued: list[list[tuple[str, int | None]]] = []
    queue = parallel._Queue

    def spy(documents: list[FeedDocument]) -> parallel._Queue:
        queued.append([(document.spec.path, document.page) for document in documents])
        return queue(documents)

    monkeypatch.setattr(parallel, "_Queue", spy)
    with staged(tmp_path / "out") as staging:
        write_documents(staging, corpus_plan, CONFIG, {}, jobs=1)
    planned = [(d.spec.path, d.page) for d in feed_documents(corpus_plan, CONFIG)]
    ordered = [(d.spec.path, d.page) for d in all_documents(corpus_plan)]
    assert ordered != planned
    assert queued == [ordered]


def test_what_a_worker_links_from_the_output_in_place_is_told_to_this_process(
    corpus_plan: FeedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written again as the output in place holds them, every file is linked from there,
    by this process and the worker alike; this process knows them all as linked, for the
    record of the output (:attr:`feeds.output.Staging.linked`)."""
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    output = tmp_path / "out"
    with staged(output) as staging:
        first = write_documents(staging, corpus_plan, CONFIG, {}, jobs=1)
    in_place = {
        path: (key, packed_state(FileStat.of(output / path)), staging.digests[path])
        for path, key in first.items()
    }
    before = {path: (output / path).stat().st_ino for path in first}
    with staged(output) as staging:
        staging.in_place = in_place
        again = write_documents(staging, corpus_plan, CONFIG, {}, jobs=2, min_entries=0)
    assert again == first
    assert staging.linked == set(first)
    assert {path: (output / path).stat().st_ino for path in first} == before


def refuse(shipment: Shipment) -> list[tuple[str, bytes]]:
    """What a worker does instead of rendering, in the test below (it imports this module)."""
    raise OutputError(f"refused {len(shipment.documents)} documents")


def test_a_failing_worker_fails_the_build(
    corpus_plan: FeedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error in a worker reaches the caller, the output is left as it was, and the
    threads that fed the worker are gone."""
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    monkeypatch.setattr(parallel, "_render_shipment", refuse)
    output = tmp_path / "out"
    output.mkdir()
    (output / "kept.txt").write_bytes(b"as it was")
    with pytest.raises(OutputError, match="refused"), staged(output) as staging:
        write_documents(staging, corpus_plan, CONFIG, {}, jobs=2, min_entries=0)
    assert [p.name for p in output.iterdir()] == ["kept.txt"]
    assert not any(t.name.startswith("ThreadPoolExecutor") for t in threading.enumerate())


def test_what_a_worker_starts_from_is_taken_before_this_process_renders(
    corpus_plan: FeedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process starts with the first task sent to it, which pickles what it starts
    from.  Were that the first batch, sent from a feeding thread while this process renders
    and adds to the staging folder's state, pickling would race with those changes
    ("OrderedDict mutated during iteration", seen in a build after 100 records were added):
    it must happen in this thread, before."""
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    pickled_in: list[threading.Thread] = []
    getstate = Staging.__getstate__

    def recorded(self: Staging) -> object:
        pickled_in.append(threading.current_thread())
        return getstate(self)

    monkeypatch.setattr(Staging, "__getstate__", recorded)
    with staged(tmp_path / "out") as staging:
        write_documents(staging, corpus_plan, CONFIG, {}, jobs=2, min_entries=0)
    assert pickled_in == [threading.current_thread()]


SCRIPT = """
import sys
from pathlib import Path

from feeds import parallel
from feeds.api import build
from feeds.articles import RELATED_LISTED
from feeds.config import Config

print("imported", flush=True)  # here, and in each render worker
if __name__ == "__main__":
    parallel.PARALLEL_MIN_ENTRIES = 0
    parallel.BATCH_ENTRIES = parallel.MIN_BATCH_ENTRIES = 50
    folder = Path(sys.argv[1])
    report = build(Config(source=folder / "records", output=folder / "out", entries_per_feed=7))
    print("feeds", report.feeds, flush=True)
"""


def test_a_script_that_builds_under_the_main_guard(tmp_path: Path) -> None:
    """As the README tells: each render worker (started with multiprocessing's ``spawn``)
    imports the calling script again, and the guard keeps it from building too."""
    if cores() < 2:
        pytest.skip("one core: a build renders in this process only")
    write_corpus(tmp_path / "records", 120)
    script = tmp_path / "publish.py"
    script.write_text(SCRIPT, "utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # This process, and a worker for each other core.
    assert lines.count("imported") == cores()
    assert lines[-1].startswith("feeds ") and int(lines[-1].split()[1]) > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.lock",
        "out",
        "publish.py",
        "records",
    ]


def cached_corpus(folder: Path) -> Config:
    """Settings to build 120 records written under ``folder``, with a cache."""
    write_corpus(folder / "records", 120)
    return Config(
        source=folder / "records",
        output=folder / "out",
        cache=folder / "cache",
        entries_per_feed=7,
    )


def test_a_build_that_takes_nearly_every_entry_from_the_last_output_starts_no_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one excerpt changed, the documents made again list more entries than the
    threshold, but the last build's files lend all of them but that article's: a worker
    would cost more to start than the few left to render."""
    if cores() < 2:
        pytest.skip("one core: a build renders in this process only")
    config = cached_corpus(tmp_path)
    workers: list[int] = []
    listed: list[int] = []
    start_workers, work = parallel._start_workers, parallel._work

    def starting(stack: Any, count: int, *args: Any, **kwargs: Any) -> Any:
        workers.append(count)
        return start_workers(stack, count, *args, **kwargs)

    def counting(documents: list[FeedDocument], earlier: Any) -> int:
        listed.append(sum(len(document.entries) for document in documents))
        return work(documents, earlier)

    monkeypatch.setattr(parallel, "PARALLEL_MIN_ENTRIES", 20)
    monkeypatch.setattr(parallel, "_start_workers", starting)
    monkeypatch.setattr(parallel, "_work", counting)
    build(config)
    edit_record(config, sorted(path.name for path in config.source.iterdir())[60], excerpt="New.")
    build(config)
    assert listed[1] > parallel.PARALLEL_MIN_ENTRIES
    assert workers == [1, 0]  # the cold build rendered with one, the next with none


class _Lending:
    def __init__(self, lent: set[str]) -> None:
        self.lent = lent

    def lends(self, key: str) -> bool:
        return key in self.lent


def _work(listed: int, lent: int) -> int:
    entries = [SimpleNamespace(key=f"a{n}") for n in range(listed)]
    documents = [SimpleNamespace(entries=entries[n : n + 50]) for n in range(0, listed, 50)]
    lending = _Lending({f"a{n}" for n in range(lent)})
    return parallel._work(cast(Any, documents), cast(Any, lending))


def test_documents_whose_entries_are_nearly_all_lent_are_made_in_one_process() -> None:
    """The builds that ``LENT_SHARE`` was set from: after one title changed in 10,000
    records citing about ten, a worker took as long and 1.4 times the processor time; after
    100 records were added to 10,000, rendering 5,500 entries and lending 260,000, it was
    worth it."""
    assert _work(26_305, 25_787) < parallel.PARALLEL_MIN_ENTRIES
    assert _work(265_500, 260_000) >= parallel.PARALLEL_MIN_ENTRIES
    assert _work(5_100, 0) >= parallel.PARALLEL_MIN_ENTRIES  # nothing to lend: all rendered


class ThreadWorker(ThreadPoolExecutor):
    """A render worker in a thread of this process, where the test sees what it renders,
    sent what a worker process is sent through pickle, as a process would be."""

    def __init__(
        self,
        max_workers: int,
        mp_context: object,
        initializer: Callable[..., object],
        initargs: tuple[object, ...],
    ) -> None:
        self.sent = [pickle.dumps(initargs)]
        super().__init__(max_workers, initializer=initializer, initargs=pickle.loads(self.sent[0]))

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        self.sent.append(pickle.dumps(args))
        return super().submit(fn, *pickle.loads(self.sent[-1]), **kwargs)


def test_a_worker_lends_the_entries_it_is_told_with_each_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rendered: list[str]
) -> None:
    """A new site title makes every document again, and the last build's files lend every
    entry, in a worker too.  The worker is told which with each batch, for the entries of
    that batch only, and is never sent the digest of every article (see
    :meth:`feeds.earlier.EarlierEntries.for_workers`)."""
    config = cached_corpus(tmp_path)
    build(config)
    workers: list[ThreadWorker] = []
    lendable: list[Container[str]] = []
    start = EarlierEntries.__init__

    def worker(*args: Any, **kwargs: Any) -> ThreadWorker:
        workers.append(ThreadWorker(*args, **kwargs))
        return workers[-1]

    def lending(self: EarlierEntries, output: Path, previous: Any, lends: Container[str]) -> None:
        lendable.append(lends)
        start(self, output, previous, lends)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", worker)
    # A worker watches the build's process to end with it; a thread of that very process
    # would watch it to the end of the tests, a thread that keeps later builds from forking.
    monkeypatch.setattr(parallel, "follow", lambda parent: None)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ENTRIES", 0)
    monkeypatch.setattr(parallel, "BATCH_ENTRIES", 200)
    monkeypatch.setattr(parallel, "MIN_BATCH_ENTRIES", 50)
    monkeypatch.setattr(EarlierEntries, "__init__", lending)
    retitled = replace(config, title="Another site title")
    rendered.clear()
    build(retitled)
    assert rendered == []
    [sent] = [worker.sent for worker in workers]
    shipments = [args[0] for args in map(pickle.loads, sent[1:]) if args]
    assert len(shipments) > 1
    same = lendable[0]  # this process's; the worker's lend nothing until told
    assert isinstance(same, SameDigests)
    for shipment in shipments:
        listed = {key for *_, keys in shipment.documents for key in keys}
        assert shipment.lendable == {key for key in listed if key in same}
        assert shipment.lendable
    started = sent[0]
    assert not [digest for digest in same.earlier.values() if digest in started]
    assert_same_as_cold(retitled, tmp_path)
