"""The documents of a build whose keys the last build already worked out.

A document's key is a digest of the settings, the feed and page, and the entry digests of
the articles it lists, in order (:class:`feeds.keys.DocumentKeys`).  Working it out
means going over every entry of every document: 2.7 million at 100,000 records, about
1.7 s of a build that changed one record.  Yet after a few records changed, most documents
list the very articles they listed before, each showing what it showed.

What changed is known from the article graph (:class:`feeds.graphcache.GraphState`): the
keys merged again, whose articles or entries may differ, with each one's article as it
was.  The rest are the same articles, with the same entry digests.  So a document's key
is the one the last build recorded for its files (:attr:`feeds.rendercache.LastBuild.files`)
when:

- that build was made from the graph this one was merged from, with the same settings and
  code, and its feed at the same path had the same kind, key and name;
- none of the articles it lists was merged again with another entry; and
- the articles it lists are where they were: none that changed its date or left or joined
  its feed sits among them.  A feed's archive pages are cut from its oldest entry, each
  where the entries before its end say (:mod:`feeds.archive`), so the pages older than
  every such article keep their entries.
  The subscription document keeps them only when no article left or joined the feed or
  moved in it: it also says how many pages there are.

Anything else is keyed from its entries, as before.  After one record changed at 100,000
records (outside corpus), listing the documents with their keys took 0.49 s instead of
1.7-1.9 s, and the build 13.5-15.8 s instead of 14.8-17.7 s.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate, chain

from feeds.articles import Article
from feeds.config import Config
from feeds.keys import settings_key
from feeds.plan import FeedKind, FeedPlan, FeedSpec, feeds_listing, rank_in_feed
from feeds.render import file_name
from feeds.rendercache import LastBuild

# A feed as the documents' keys name it: kind, key and name (its path is where it is).
Shape = tuple[str, str, str]


def shape_of(spec: FeedSpec) -> Shape:
    return (spec.kind.value, spec.key, spec.name)


def settings_digest(config: Config) -> bytes:
    """What the keys of a build's documents depend on besides the feed and its entries."""
    return hashlib.blake2b(settings_key(config), digest_size=16).digest()


def shapes_of(plan: FeedPlan) -> dict[str, Shape]:
    """Each feed of ``plan`` by path, as the next build compares it (:class:`KnownKeys`)."""
    return {spec.path: shape_of(spec) for spec in plan.feeds}


def page_ends(spec: FeedSpec) -> list[int]:
    """How many entries the archive pages of ``spec`` hold, from page 1 to each page."""
    return list(accumulate(map(len, spec.archives)))


class _Listed:
    """A feed's entries, newest first, as one sequence: the subscription document's, then
    the archive pages from the newest.  ``ends`` is :func:`page_ends` of the feed."""

    def __init__(self, spec: FeedSpec, ends: list[int]) -> None:
        self._spec = spec
        self._ends = ends
        self._current = len(spec.entries)

    def __len__(self) -> int:
        return self._spec.total

    def __getitem__(self, index: int) -> Article:
        if index < self._current:
            return self._spec.entries[index]
        oldest_first = self._spec.total - 1 - index
        page = bisect_right(self._ends, oldest_first)  # from 0: page 1 is 0
        before = self._ends[page - 1] if page else 0
        entries = self._spec.archives[page]
        return entries[len(entries) - 1 - (oldest_first - before)]

    def newest_first(self) -> Iterator[Article]:
        """Its entries in the order it indexes them, without a call per entry."""
        return chain(self._spec.entries, *reversed(self._spec.archives))


@dataclass
class _Changes:
    """What changed in one feed: how many of its oldest entries surely kept their places,
    and the documents (``None`` for the subscription one) that list an entry merged again,
    or whose entries are not all as they were; ``ends``, :func:`page_ends` of the feed."""

    unmoved: int
    touched: set[int | None]
    ends: list[int]


# Looking for this share of a feed's entries, a search by rank each, costs about what
# listing the feed by key once does: in the all-articles feed of the bench's 10,000 records,
# a search took 27.6 us and listing 0.44 us an entry.  After 100 records citing about ten
# were added to 9,900 (bench/othershape.py), working out which keys still hold took 4.71 s,
# searching for each article merged again in each of its feeds; 0.60 s with such feeds
# listed instead.
SEARCH_AT_MOST = 1 / 50


def _places(spec: FeedSpec, ends: list[int], articles: list[Article]) -> list[int | None]:
    """Where each of ``articles`` is listed in the feed of ``spec``, newest first: ``None``
    for one that is not where its rank puts it (it is not in the feed, or another article
    of its key is).  Searched for by rank, or, when there are many, looked up by key."""
    entries = _Listed(spec, ends)
    if len(articles) <= SEARCH_AT_MOST * spec.total:
        found = (bisect_left(entries, rank_in_feed(a), key=rank_in_feed) for a in articles)
    else:
        where = {entry.key: index for index, entry in enumerate(entries.newest_first())}
        found = (where.get(article.key, len(entries)) for article in articles)
    return [
        index if index < len(entries) and entries[index] is article else None
        for article, index in zip(articles, found, strict=True)
    ]


class KnownKeys:
    """The keys that the ``last`` build recorded for the documents of ``plan``, where they
    are surely the same (see the module's docstring).  ``changed`` holds, by key, the
    article as it was (``None`` when there was none) of every article merged again since
    the graph that build was made from."""

    def __init__(
        self,
        plan: FeedPlan,
        config: Config,
        last: LastBuild,
        changed: Mapping[str, Article | None],
    ) -> None:
        self._files = last.files
        # By feed, what changed in it: only for the feeds the last build wrote at the same
        # path under the same settings; the documents of the others are keyed again.
        self._changes: dict[tuple[FeedKind, str], _Changes] = {}
        if last.settings and last.settings == settings_digest(config):
            self._changes = self._find(plan, changed, last.shapes)

    def _find(
        self,
        plan: FeedPlan,
        changed: Mapping[str, Article | None],
        shapes: Mapping[str, Shape],
    ) -> dict[tuple[FeedKind, str], _Changes]:
        specs = {
            (spec.kind, spec.key): spec
            for spec in plan.feeds
            if shapes.get(spec.path) == shape_of(spec)
        }
        # By feed, the rank of the oldest version of an article that left, joined or moved
        # in it: the entries older than that one are where they were, whichever way any
        # moved.  Each version is ranked once, however many feeds list it.
        oldest_moved: dict[tuple[FeedKind, str], tuple[int, str]] = {}
        # By feed, the articles merged again that stayed where they were in it.
        shown: dict[tuple[FeedKind, str], list[Article]] = defaultdict(list)
        for key, before in changed.items():
            now = plan.articles.get(key)
            if now is not None and (
                now is before  # the same article: another entry, at most
                or (
                    before is not None
                    and rank_in_feed(now) == rank_in_feed(before)
                    and set(feeds_listing(now)) == set(feeds_listing(before))
                )
            ):
                for feed in feeds_listing(now):
                    if feed in specs:
                        shown[feed].append(now)
                continue
            for version in (before, now):
                if version is not None:
                    rank = rank_in_feed(version)
                    for feed in feeds_listing(version):
                        oldest_moved[feed] = max(oldest_moved.get(feed, rank), rank)
        changes = {}
        for feed, spec in specs.items():
            unmoved = spec.total
            ends = page_ends(spec)
            if (oldest := oldest_moved.get(feed)) is not None:
                entries = _Listed(spec, ends)
                unmoved = spec.total - bisect_right(entries, oldest, key=rank_in_feed)
            # An article that left or joined the feed, or moved in it, changes what the
            # subscription document lists or how many pages it says there are.
            changes[feed] = _Changes(unmoved, {None} if feed in oldest_moved else set(), ends)
        for feed, articles in shown.items():
            listing, ends = specs[feed], changes[feed].ends
            for index in _places(listing, ends, articles):
                if index is None:
                    changes[feed].unmoved = 0  # not where it ranks: nothing is taken as known
                    changes[feed].touched.add(None)
                    continue
                page = bisect_right(ends, listing.total - 1 - index) + 1
                changes[feed].touched.add(page if page <= len(listing.archives) else None)
        return changes

    def key(self, spec: FeedSpec, page: int | None) -> bytes | None:
        """The key of the document of ``spec`` (its archive page ``page``), when the last
        build's is surely still its key; else ``None``."""
        changes = self._changes.get((spec.kind, spec.key))
        if changes is None or page in changes.touched:
            return None
        if page is not None and changes.ends[page - 1] > changes.unmoved:
            return None
        # Its files were recorded together under its key; before any is linked, each is
        # checked against that key (:func:`feeds.rendercache.still_there`).
        found = self._files.get(file_name(spec, "atom", page))
        return found[0] if found is not None and found[0] else None
