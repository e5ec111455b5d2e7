"""The article graph of the last build, kept so that the next one merges again only what changed.

Merging folds what each published record contributes, in file order, and an article depends
only on the contributions that mention it (:func:`feeds.articles.merge_articles`).  So a
build keeps its merged graph with, for each contributing file, the hash of its content and
the keys its contribution mentions.  The next build finds the files that contribute
something else now (changed, added, removed, or no longer the first record of their
article), merges again the articles they mention, from every contribution that mentions
them, and keeps the rest (:func:`feeds.articles.remerge`).

With the graph goes the digest of what each article's entry shows
(:func:`feeds.keys.entry_digests`): after a change, only the entries of articles
merged again, or listing one of those among their related articles, are hashed again.
And so does what checking found in each file, with the hash of the content it was found
in: the next build takes back the results of the files it finds the same from here, at
once, where looking each up in the cache database took several times longer (a tenth of
a build that changed one record).

The record is one file per output folder, checked like the build record
(:mod:`feeds.rendercache`): a missing, damaged or foreign one, or one made by other code or
for another schema, is ignored and the graph is merged from every file.  A build that merged
only what changed appends what it changed to the record (:func:`store_state`): writing
the whole graph again took longer than merging.  Once the changes outweigh a quarter of the
graph, or number :data:`APPEND_AT_MOST`, the whole graph is written again, the text of the
articles apart (:func:`_split`), then the changes after it.

The text of the articles (:class:`~feeds.articles.Text`) is most of what the graph weighs,
and a build that changed one record shows that of a few hundred articles: it is read from
the record when it is shown (:class:`RecordedTexts`).

And with the graph goes the order of its articles newest first, which the feed plan lists
them in, and the mark of each that says where archive pages end
(:func:`feeds.archive.page_marks`): the next build finds where the articles it merged
again go, instead of sorting them all, and marks those alone (:func:`feeds.plan.reordered`).
"""

from __future__ import annotations

import hashlib
import os
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from sys import intern
from typing import Any

from feeds.articles import (
    Article,
    from_plain_values,
    from_recorded_columns,
    merge_articles,
    plain_values,
    provider_of,
    remerge,
)
from feeds.cache import (
    DATE_CLASSES,
    DIAGNOSTIC_CLASSES,
    STREAMED_CLASSES,
    Deferred,
    Raw,
    RawFrame,
    RecordEnd,
    SharedFirst,
    Streamed,
    Unshared,
    append_record,
    read_records,
    record_path,
    write_record,
)
from feeds.diagnostics import Diagnostic, Severity
from feeds.keys import DIGEST_SIZE, RecordedDigests, as_dict, copied, in_key_order, unpacked
from feeds.plan import NewestFirst, reordered
from feeds.scan import FileResult, Summary, from_summary, summary_of
from feeds.texts import HeldTexts, SpilledTexts, text_blob

_FORMAT = b"feeds-graph-13"  # 13: the page marks of the articles with their order
# Articles keep their dates as ``datetime``; results hold diagnostics.
_CLASSES = DATE_CLASSES | DIAGNOSTIC_CLASSES | STREAMED_CLASSES
# Changes are appended until they reach this share of the size of the whole graph, or this
# many of them: every later build reads each back and applies it (2,000 changes of one record
# each added 0.2 s to reading back the graph of 10,000 records), and the changes of a record
# or two weigh so little that a quarter of the graph takes thousands of builds.
APPEND_UP_TO = 0.25
APPEND_AT_MOST = 256
_FIRST = itemgetter(0)

Contributors = Mapping[str, tuple[bytes, tuple[str, ...]]]  # label → (content hash, keys)
Results = Mapping[str, tuple[bytes, FileResult]]  # label → (content hash, result)


@dataclass(frozen=True)
class GraphState:
    """A merged graph and, by file label, the content hash and article keys of each file
    that contributed to it, in file order; and the result of every file checked, without
    its articles, by label with the hash of its content."""

    graph: dict[str, Article]
    contributors: Contributors
    entry_digests: Mapping[str, bytes] = field(default_factory=dict)  # those known
    results: Results = field(default_factory=dict)
    recorded: Recorded | None = None  # the record it was read from
    # Names the build that recorded it, so that the output that build wrote can be told
    # apart from another's (feeds.earlier.EarlierEntries).
    build: bytes = b""
    # The keys whose article or entry digest may differ from those of the graph it was
    # merged from (:func:`merge_changes`); ``None`` when any may.
    remerged: frozenset[str] | None = None
    # The articles of the graph newest first, with their page marks, when known.
    ordered: NewestFirst | None = None


@dataclass(frozen=True)
class Recorded:
    """Where a graph was read from: the record file and where the last frame read into it
    ends; how many articles and contributors its first frames hold (the whole graph)
    and how many the changes after them replace or remove; where the frames of the file
    end, those left out included (see :func:`load_state`); and how many changes were read."""

    path: Path
    end: RecordEnd
    whole: int
    changed: int
    read_to: RecordEnd
    appended: int


def graph_path(cache_folder: Path, output: Path) -> Path:
    return record_path(cache_folder, output, "graph")


def _kind(context: str) -> bytes:
    """The first line of a record made for ``context`` (code and schema): a record made by
    other code or for another schema is passed over before any of it is read.  At 100,000
    records, the first build after the code or the schema changed read the whole record
    (550 MB) to find it was another's: 3.5 s, in which the process grew to 440 MB, just
    before it forks the checking workers."""
    digest = hashlib.blake2b(context.encode(), digest_size=16).hexdigest()
    return b"%s %s\n" % (_FORMAT, digest.encode("ascii"))


def load_state(path: Path, context: str, in_place: bytes = b"") -> GraphState | None:
    """The graph recorded at ``path`` for ``context`` (code and schema), if intact.

    ``in_place`` names the build whose output is in place.  The changes that builds after
    it appended, and that they never published (they were stopped half-way), are left out:
    the graph is then the one that output was made from, whose entries the next build can
    take from it (:class:`feeds.earlier.EarlierEntries`), and the next build appends its
    changes in their place."""
    try:
        frames, ends = read_records(
            path, _kind(context), _CLASSES, raw={_TEXT_FRAME}, shared_first={_SHARED_FRAME}
        )
        if len(frames) < _WHOLE_FRAMES:
            return None
        _, whole = frames[_SHARED_FRAME]
        shared, rows, digests, order, marks, checked, first_build = whole
        _, dates, frame, text_ends, *_ = frames
        article_keys = shared[0] if shared else []
        in_order = in_key_order(article_keys)
        texts = RecordedTexts(
            path, frame, text_ends, article_keys, ends[_TEXT_FRAME].inode, in_order=in_order
        )
        restored = from_recorded_columns(_joined(shared, dates, texts))
        graph = {article.key: article for article in restored}
        ordered = _ordered(restored, order, marks)
        # The record holds them as they were written (its digest and kind vouch for
        # that): taken as they are, where converting each value again took 0.36 s at 100k.
        contributors = {label: (key, keys) for label, key, keys in rows}
        results = {summary[0]: (content, from_summary(summary)) for content, summary in checked}
        known: MutableMapping[str, bytes] = {}
        if isinstance(digests, bytes) and len(digests) == DIGEST_SIZE * len(graph):
            known = _known_digests(article_keys, digests, in_order=in_order)
        changes = frames[_WHOLE_FRAMES:]
        builds = [first_build, *(change[-1] for change in changes)]
        if in_place and in_place in builds:
            changes = changes[: builds.index(in_place)]
        # The articles the changes replace or remove, as they were before any was made.
        before = {key: graph.get(key) for change in changes for key in _changed_keys(change)}
        added = [
            _apply(
                change,
                graph=graph,
                contributors=contributors,
                known=known,
                results=results,
            )
            for change in changes
        ]
        build = changes[-1][-1] if changes else first_build
        if any(added):  # merging keeps the graph in key order, and so must its changes
            graph = dict(sorted(graph.items()))
        if ordered is not None and before:
            ordered = _reordered(ordered, before, graph)
        changed = sum(map(_size, changes))
    except Exception:  # no record, or a body that is not our rows: ignored as a whole
        return None
    whole = len(restored) + len(rows) + len(checked)
    end = ends[_WHOLE_FRAMES - 1 + len(changes)]
    recorded = Recorded(path, end, whole, changed, ends[-1], len(changes))
    return GraphState(graph, contributors, known, results, recorded, bytes(build), ordered=ordered)


def _known_digests(
    keys: Sequence[str], packed: bytes, *, in_order: bool
) -> MutableMapping[str, bytes]:
    """The entry digests ``packed`` in the order of ``keys``, by key: each looked up where
    it is (:class:`~feeds.keys.RecordedDigests`), the keys being in order
    (:func:`~feeds.keys.in_key_order`), as the graph keeps them; else in a dict."""
    if in_order:
        return RecordedDigests(keys, packed)
    return unpacked(keys, packed)


def _ordered(articles: Sequence[Article], order: Any, marks: Any) -> NewestFirst | None:
    """``articles`` (in key order) newest first, as the positions ``order`` give them, with
    their ``marks`` (both packed as :func:`_order_of` packs them); ``None`` when they are
    not those of these articles."""
    positions, marked = array("I"), array("I")
    for packed, into in ((order, positions), (marks, marked)):
        if not isinstance(packed, bytes) or len(packed) != into.itemsize * len(articles):
            return None
        into.frombytes(packed)
    return NewestFirst(list(map(articles.__getitem__, positions)), marked)


def _order_of(articles: Sequence[Article], ordered: NewestFirst | None) -> tuple[bytes, bytes]:
    """The position of each of ``articles`` (in key order) in :func:`feeds.plan.newest_first`
    order, which ``ordered`` holds them in when it is known, and the page mark of each
    article in that order, packed."""
    if ordered is None or len(ordered.articles) != len(articles):
        ordered = NewestFirst.of(articles)
    where = {key: at for at, key in enumerate(map(_KEY_OF, articles))}
    order = array("I", map(where.__getitem__, map(_KEY_OF, ordered.articles)))
    return order.tobytes(), ordered.marks.tobytes()


def _reordered(
    ordered: NewestFirst, before: Mapping[str, Article | None], graph: Mapping[str, Article]
) -> NewestFirst | None:
    """``ordered`` (that of a graph) for ``graph``, where only the articles of the keys of
    ``before`` may differ from those it holds (``before`` holds those, ``None`` where it
    held none): see :func:`feeds.plan.reordered`."""
    gone = []
    come = []
    for key, old in before.items():
        new = graph.get(key)
        if new is old:
            continue
        if old is not None:
            gone.append(old)
        if new is not None:
            come.append(new)
    return reordered(ordered, gone, come)


def _changed_keys(change: Change) -> Iterator[str]:
    """The keys of the articles ``change`` replaces, adds or removes."""
    yield from map(_FIRST, change[0])
    yield from change[1]


def store_state(path: Path, state: GraphState, context: str, previous: GraphState | None) -> None:
    """Record ``state`` at ``path``: as its changes since ``previous``, appended to the record
    ``previous`` was read from, while that record is as it was read and the changes stay
    small; else as a whole."""
    recorded = previous.recorded if previous is not None else None
    if previous is not None and recorded is not None and recorded.path == path:
        change = _changes(previous, state)
        small = recorded.changed + _size(change) <= APPEND_UP_TO * recorded.whole
        if (
            small
            and recorded.appended < APPEND_AT_MOST
            and append_record(path, change, recorded.end, recorded.read_to) is not None
        ):
            return
    rows = [(label, key, keys) for label, (key, keys) in state.contributors.items()]
    articles = list(state.graph.values())
    order, marks = _order_of(articles, state.ordered)
    shared, dates = _split(articles)
    known = as_dict(state.entry_digests)
    digests = [known.get(key, b"") for key in state.graph]
    packed = b"".join(digests) if all(len(d) == DIGEST_SIZE for d in digests) else b""
    # Each summary is made as it is written, and let go.
    checked = Streamed((key, summary_of(result)) for key, result in state.results.values())
    ends: array[int] = array("Q")
    write_record(
        path,
        _kind(context),
        SharedFirst(
            _common(shared, state.contributors, state.results),
            (shared, rows, packed, order, marks, checked, state.build),
        ),
        Unshared(dates),
        Raw(_text_blobs(articles, ends)),
        Deferred(ends.tobytes),
    )


# The graph's articles are recorded in four frames: the columns of their fields that hold
# values articles and results share (keys, topics, files), each of those written and read
# back once (:func:`_common`); their dates; the text of each (:class:`RecordedTexts`); and
# where each text ends.  Providers are recorded once each, in a table after the first frame's
# columns, and each article's as its place in that table: read back as names and
# domains, they took 52 ms to find again at 30,000 records, against 8 ms.
_WHOLE_FRAMES = 4
_SHARED_FRAME = 0
_TEXT_FRAME = 2


def _common(
    shared: Sequence[Sequence[Any]], contributors: Contributors, results: Results
) -> tuple[Sequence[Any], ...]:
    """What the values of the first frame share, written before them with the memo, so
    that each is written and read back once (:class:`~feeds.cache.SharedFirst`): the
    articles' keys, which related keys, contributors and results name too; the files'
    labels, which articles, contributors and results name; each tuple of topics and of
    related keys, which many articles share (:func:`feeds.articles.merge_articles`); and
    what the results' diagnostics are made of.

    The rest is written without the memo.  At 100k records, writing the frame with it
    held 169 MB beyond the pickle, and 27 MB so; a cold build peaked at 1,184 MB as it
    wrote it, against 1,252 MB."""
    if not shared:
        return ()
    keys, _, topics, related, *_ = shared
    labels = [*contributors, *(result.file for _, result in results.values())]
    # The column of keys itself, which the rest then names as a whole.
    return keys, labels, _distinct(topics), _distinct(related), (Diagnostic, *Severity)


def _distinct(values: Iterable[object]) -> list[object]:
    """Each object of ``values`` once."""
    return list({id(value): value for value in values}.values())


class RecordedTexts(HeldTexts):
    """The texts of the articles of a graph record, each read from its file when it is
    asked for.

    The frame they are in is read once to check its digest
    (:func:`feeds.cache.read_records`); the file stays open, so that a record written in
    its place meanwhile leaves this one readable, and appending to it writes after its
    frames."""

    def __init__(
        self,
        path: Path,
        frame: RawFrame,
        ends: bytes,
        keys: Sequence[str],
        inode: int,
        *,
        in_order: bool,
    ) -> None:
        where: array[int] = array("Q")
        where.frombytes(ends)
        if len(where) != len(keys) or (where and where[-1] != frame.size):
            raise ValueError("the ends of the texts are not those of their frame")
        file = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, file)
        if os.fstat(file).st_ino != inode:
            raise ValueError("the record was replaced as it was read")
        super().__init__(file, frame.offset, keys, where, in_order=in_order)


def _text_blobs(articles: Sequence[Article], ends: array[int]) -> Iterator[bytes]:
    """The text of each of ``articles`` as :class:`RecordedTexts` reads it, appending where
    each ends to ``ends``.  A text held in a file already is copied as it is there: looked
    for first after the last one copied, as both keep key order."""
    end = 0
    after = 0  # the place after the last text copied
    for article in articles:
        held = article.held_text
        if isinstance(held, HeldTexts):
            place = held.place(article.key, after)
            after = place + 1
            blob = held.blob(place)
        else:
            blob = text_blob(article)
        end += len(blob)
        ends.append(end)
        yield blob


def _split(articles: Sequence[Article]) -> tuple[list[list[Any]], list[Streamed]]:
    """The columns of the first two frames of a record of ``articles``:

    - those of shared values, with the keys interned, as the results' URLs are
      (:func:`feeds.scan.summary_of`), and equal topics one tuple, so that each is held
      once; each article's provider as its place in the table of providers (name and
      domain) that follows the columns;
    - their dates as ISO 8601 text, an update date ``None`` when it is the publication
      date itself (a datetime is pickled as a call, which has no place without a memo),
      each made as its frame is written (:class:`~feeds.cache.Streamed`).  Made whole
      beforehand, as the results' citations were made again (:func:`feeds.scan.summary_of`),
      writing the record of 100k records held 343 MB beyond the graph at its peak; 167 MB
      without either."""
    if not articles:
        return [], []
    places: dict[tuple[str, str], int] = {}
    providers = [
        places.setdefault((provider.name, provider.domain), len(places))
        for provider in map(_PROVIDER_OF, articles)
    ]
    keys = list(map(intern, map(_KEY_OF, articles)))
    topics: dict[tuple[str, ...], tuple[str, ...]] = {}
    listed = list(map(_TOPICS_OF, articles))
    shared: list[list[Any]] = [
        keys,
        providers,
        list(map(topics.setdefault, listed, listed)),
        list(map(_RELATED_OF, articles)),
        list(map(_SOURCE_OF, articles)),
        list(places),
    ]
    dates = [
        Streamed(article.published.isoformat() for article in articles),
        Streamed(
            None if article.updated is article.published else article.updated.isoformat()
            for article in articles
        ),
    ]
    return shared, dates


_KEY_OF, _PROVIDER_OF, _TOPICS_OF, _RELATED_OF, _SOURCE_OF = map(
    attrgetter, ("key", "provider", "topics", "related", "source")
)


def _joined(
    shared: list[list[Any]], dates: list[list[Any]], texts: RecordedTexts
) -> list[Iterable[Any]]:
    """The columns that :func:`_split` split into ``shared`` and ``dates``, with the
    ``texts`` that follow them, one per field of an article, as
    :func:`feeds.articles.from_recorded_columns` takes them.  The providers and the texts
    are given as they are made, not in lists: two more lists of every article at the
    moment reading the graph back peaks."""
    if not shared:
        return []
    keys, places, topics, related, sources, table = shared
    published = list(map(datetime.fromisoformat, dates[0]))
    updated = [
        old if new is None else datetime.fromisoformat(new)
        for old, new in zip(published, dates[1], strict=True)
    ]
    providers = [provider_of(name, domain) for name, domain in table]
    return [
        keys,
        published,
        updated,
        map(providers.__getitem__, places),
        topics,
        related,
        sources,
        repeat(texts, len(keys)),
    ]


# Plain values, as records hold: articles added or replaced, keys of articles
# removed, contributors added or replaced, their labels removed, entry digests added or
# replaced, their keys removed, results added or replaced, their labels removed, and the
# build that made the change.
Change = tuple[
    list[Any],
    list[str],
    list[Any],
    list[str],
    list[tuple[str, bytes]],
    list[str],
    list[tuple[bytes, Summary]],
    list[str],
    bytes,
]


def _changes(previous: GraphState, state: GraphState) -> Change:
    """What turns ``previous`` into ``state``: articles, contributors and entry digests
    added or replaced, and those removed.  (Merging keeps every article it did not merge
    again as the very same object, so most are told apart without comparing fields.)"""
    before, after = previous.graph, state.graph
    known, now = previous.entry_digests, state.entry_digests
    # Only the keys merged again can differ, when they are known.
    keys: Iterable[str] = after if state.remerged is None else state.remerged
    articles = [
        plain_values(article)
        for key in keys
        if (article := after.get(key)) is not None
        and (old := before.get(key)) is not article
        and old != article
    ]
    digests = [
        (key, digest)
        for key in keys
        if (digest := now.get(key)) is not None and known.get(key) != digest
    ]
    if state.remerged is None:
        gone = [key for key in before if key not in after]
        forgotten = [key for key in known if key not in now]
    else:
        gone = [key for key in state.remerged if key in before and key not in after]
        forgotten = [key for key in state.remerged if key in known and key not in now]
    rows = [
        (label, value[0], value[1])
        for label, value in state.contributors.items()
        if previous.contributors.get(label) != value
    ]
    left = [label for label in previous.contributors if label not in state.contributors]
    checked = [
        (value[0], summary_of(value[1]))
        for label, value in state.results.items()
        if (old_result := previous.results.get(label)) is not value and old_result != value
    ]
    unchecked = [label for label in previous.results if label not in state.results]
    return (
        articles,
        gone,
        rows,
        left,
        digests,
        forgotten,
        checked,
        unchecked,
        state.build,
    )


def _size(change: Change) -> int:
    """How many articles, contributors and results ``change`` replaces or removes."""
    articles, gone, rows, left, _, _, checked, unchecked, _ = change
    return len(articles) + len(gone) + len(rows) + len(left) + len(checked) + len(unchecked)


def _apply(
    change: Change,
    *,
    graph: dict[str, Article],
    contributors: dict[str, tuple[bytes, tuple[str, ...]]],
    known: MutableMapping[str, bytes],
    results: dict[str, tuple[bytes, FileResult]],
) -> bool:
    """Make the change; whether it added articles (at the end of the graph)."""
    articles, gone, rows, left, digests, forgotten, checked, unchecked, _ = change
    added = False
    for article in from_plain_values(articles):
        added = added or article.key not in graph
        graph[article.key] = article
    for key in gone:
        del graph[key]
    for label, key, keys in rows:
        contributors[label] = (key, keys)
    for label in left:
        del contributors[label]
    known.update(digests)
    for key in forgotten:
        del known[key]
    for content, summary in checked:
        results[summary[0]] = (content, from_summary(summary))
    for label in unchecked:
        del results[label]
    return added


def contributing(scanned: Iterable[FileResult], kept: list[FileResult]) -> Iterator[FileResult]:
    """The results of the records whose articles are published, in file order.  Every
    result is appended to ``kept`` without its articles.

    Of several valid records of one article only the first is published (even when it is
    not published itself): the checks across records give the later copies an error
    (:func:`feeds.crosscheck.review`)."""
    owners: set[str] = set()
    for result in scanned:
        kept.append(result if result.articles is None else result._replace(articles=None))
        key = None if result.facts is None else result.facts.key  # set for valid records
        if key is None or key in owners:
            continue
        owners.add(key)
        if result.published:
            yield result


def merge_all(
    scanned: Iterable[FileResult],
    kept: list[FileResult],
    digests: Mapping[str, bytes],
    texts: SpilledTexts | None = None,
) -> GraphState:
    """The graph of every contribution, merged as they come: only the graph is held, with
    the text of each article where ``texts`` put it, if given."""
    contributors: dict[str, tuple[bytes, tuple[str, ...]]] = {}

    def contributions() -> Iterator[tuple[Article, ...]]:
        for result in contributing(scanned, kept):
            articles = result.articles or ()
            contributors[result.file] = (
                digests.get(result.file, b""),
                tuple(article.key for article in articles),
            )
            yield articles

    graph = merge_articles(contributions(), None if texts is None else texts.hold)
    if texts is not None:
        texts.settle(graph)
    return GraphState(graph, contributors)


def merge_changes(
    scanned: Iterable[FileResult],
    kept: list[FileResult],
    digests: Mapping[str, bytes],
    previous: GraphState,
    reload: Callable[[Sequence[str]], Mapping[str, FileResult]],
) -> GraphState | None:
    """The graph of ``previous`` updated for what changed since.

    ``scanned`` lacks the articles of the files contributing what they did to ``previous``
    (same label, same hash); ``reload`` gives those of the ones needed again.  ``None``
    when it cannot (a cached result is gone): the caller then merges every file."""
    now: dict[str, tuple[bytes, tuple[str, ...]]] = {}
    fresh: dict[str, tuple[Article, ...]] = {}
    for result in contributing(scanned, kept):
        digest = digests.get(result.file, b"")
        known = previous.contributors.get(result.file)
        if result.articles is None and known is not None and known[0] == digest:
            now[result.file] = known
            continue
        if result.articles is None:  # published, yet without articles: not ours to guess
            return None
        fresh[result.file] = result.articles
        now[result.file] = (digest, tuple(article.key for article in result.articles))
    affected: set[str] = set()
    for label, (digest, keys) in previous.contributors.items():
        if now.get(label, (None,))[0] != digest or label in fresh:
            affected.update(keys)
    for label in fresh:
        affected.update(now[label][1])
    again = [label for label, (_, keys) in now.items() if not affected.isdisjoint(keys)]
    reloaded = reload([label for label in again if label not in fresh])
    contributions = []
    for label in again:
        articles = fresh.get(label)
        if articles is None:
            cached = reloaded.get(label)
            if cached is None or cached.articles is None:
                return None
            articles = cached.articles
        contributions.append(articles)
    graph = remerge(previous.graph, affected, contributions)
    # An entry shows its article and the title, address and provider of each related one.
    # Related is symmetric, and an article not merged again lists the same ones as before:
    # those that list a key merged again are among the related of that key, before or now.
    remerged = set(affected)
    for key in affected:
        for merged in (previous.graph, graph):
            if (article := merged.get(key)) is not None:
                remerged.update(article.related)
    still_shown = copied(previous.entry_digests)
    for key in remerged:
        still_shown.pop(key, None)
    ordered = None
    if previous.ordered is not None:
        ordered = _reordered(
            previous.ordered, {key: previous.graph.get(key) for key in affected}, graph
        )
    return GraphState(graph, now, still_shown, remerged=frozenset(remerged), ordered=ordered)
