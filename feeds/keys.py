"""The keys of what a build renders: a digest of everything an entry or a document is made from.

Before a document is rendered, everything it is made from is known: the settings, the code,
the feed and page, and the inputs of each of its entries (the article, the title, address
and provider of each related article, and the entry's update time).  Their digest is the
document's *key*: a build renders a document again only when its key is not that of the
file the last build wrote for it (:mod:`feeds.rendercache`).  The code fingerprint in every
key means a new version of feeds renders afresh.

Kept apart from the record of the last build (:mod:`feeds.rendercache`), which a build
with nothing to do reads: such a build imports neither the articles, the plan, nor what
hashes them.
"""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from itertools import islice
from operator import attrgetter, itemgetter, lt
from typing import TYPE_CHECKING, Any

import orjson

from feeds.articles import (
    RELATED_VALUE,
    Article,
    Provider,
    Text,
    listed_keys,
    plain_values,
)
from feeds.cache import code_fingerprint
from feeds.config import Config
from feeds.plan import FeedSpec
from feeds.progress import Progress, Quiet

if TYPE_CHECKING:
    from feeds.texts import SpilledTexts

DIGEST_SIZE = 20  # bytes of a document key or an entry digest
_KEY = attrgetter("key")
_FIRST = itemgetter(0)


def entry_digest(
    article: Article,
    articles: Mapping[str, Article],
    *,
    text: Text | None = None,
    related: Callable[[str], bytes] | None = None,
) -> bytes:
    """The digest of what the entry of ``article`` shows in any document: the article, its
    update time included, the :func:`related_digest` of each related article it lists
    (:func:`feeds.articles.listed_related`), and whether there are more.  Not the keys of
    the others: an article that a thousand records cite keeps its entry as more records
    cite it.  ``text`` is the article's text and ``related`` gives the related digest of
    an article by key, when the caller has them already."""
    listed, more = listed_keys(article, articles)
    if related is None:
        digests = [
            related_digest(other.text, other.provider)
            for other in map(articles.__getitem__, listed)
        ]
    else:
        digests = list(map(related, listed))
    values = plain_values(article, text)
    hasher = hashlib.blake2b(
        _encoded((values[:RELATED_VALUE], values[RELATED_VALUE + 1 :], more)),
        digest_size=DIGEST_SIZE,
    )
    hasher.update(b"".join(digests))
    return hasher.digest()


RELATED_DIGEST_SIZE = 16


def related_digest(text: Text, provider: Provider) -> bytes:
    """What the entry of an article that lists another among its related articles shows of
    it: its address, title and provider (:func:`feeds.render.entry_content`).  Made once
    per article where every entry is hashed (:func:`entry_digests`), and not for each
    entry listing it."""
    shown = _encoded((text.url, text.title, provider.name))
    return hashlib.blake2b(shown, digest_size=RELATED_DIGEST_SIZE).digest()


class RecordedDigests(MutableMapping[str, bytes]):
    """Entry digests by key as the record of the graph holds them (:mod:`feeds.graphcache`):
    packed one after another in ``packed``, in the order of ``keys`` (sorted), each cut
    out when asked for; with those set and removed since held apart.

    At 100,000 records, a build that changed one record asks for about 30,000 of the
    771,238.  Made into a dict, they took 0.21 s to read back and about 70 MB, and such a
    build copied the dict three times more as it went (:meth:`copy` copies the changes
    only).  Asked for most digests, a dict is quicker: :func:`as_dicts`."""

    def __init__(self, keys: Sequence[str], packed: bytes) -> None:
        if len(packed) != DIGEST_SIZE * len(keys):
            raise ValueError("a digest for each key")
        self._keys = keys
        self._packed = packed
        self._set: dict[str, bytes] = {}  # set since: looked up first
        self._removed: set[str] = set()  # packed ones removed since (and maybe set again)
        self._size = len(keys)

    def _packed_digest(self, key: str) -> bytes | None:
        at = place_of(self._keys, key)
        if at is None:
            return None
        start = at * DIGEST_SIZE
        return self._packed[start : start + DIGEST_SIZE]

    def _digest(self, key: str) -> bytes | None:
        found = self._set.get(key)
        if found is None and key not in self._removed:
            found = self._packed_digest(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        found = self._digest(key)
        return default if found is None else found

    def __getitem__(self, key: str) -> bytes:
        found = self._digest(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._digest(key) is not None

    def __setitem__(self, key: str, digest: bytes) -> None:
        if key not in self:
            self._size += 1
        self._set[key] = digest

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._size -= 1
        self._set.pop(key, None)
        if self._packed_digest(key) is not None:
            self._removed.add(key)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        for key in self._keys:
            if key not in self._set and key not in self._removed:
                yield key
        yield from self._set

    def copy(self) -> RecordedDigests:
        """The same digests, the packed ones shared."""
        other = RecordedDigests.__new__(RecordedDigests)
        other._keys, other._packed, other._size = self._keys, self._packed, self._size
        other._set = dict(self._set)
        other._removed = set(self._removed)
        return other

    def as_dict(self) -> dict[str, bytes]:
        """Every digest, by key, in a dict."""
        return self._over(self._packed_dict())

    def _packed_dict(self) -> dict[str, bytes]:
        return unpacked(self._keys, self._packed)

    def _over(self, packed: dict[str, bytes]) -> dict[str, bytes]:
        """Every digest, by key, in a dict: a copy of those packed (``packed``, from
        :meth:`_packed_dict`) with the changes made since."""
        digests = dict(packed)
        for key in self._removed:
            del digests[key]
        digests.update(self._set)
        return digests


def unpacked(keys: Sequence[str], packed: bytes) -> dict[str, bytes]:
    """Digests ``packed`` one after another, each by the key at its place in ``keys``: cut
    by struct, 0.19 s for the 771,238 of 100,000 records, against 0.24 s for a slice each."""
    cut = map(_FIRST, struct.iter_unpack(f"{DIGEST_SIZE}s", packed))
    return dict(zip(keys, cut, strict=True))


def copied(digests: Mapping[str, bytes]) -> MutableMapping[str, bytes]:
    """A copy of ``digests`` to change: of a :class:`RecordedDigests`, only its changes."""
    return digests.copy() if isinstance(digests, RecordedDigests) else dict(digests)


def copied_dict(digests: Mapping[str, bytes]) -> dict[str, bytes]:
    """A copy of ``digests`` to change, in a dict, to ask for each of them."""
    return digests.as_dict() if isinstance(digests, RecordedDigests) else dict(digests)


def packed(digests: Mapping[str, bytes], keys: Collection[str]) -> Mapping[str, bytes]:
    """``digests``, those of the articles of ``keys`` (in order: the graph keeps them so),
    packed as the graph record packs them (:class:`RecordedDigests`); as given when some
    key has none, or the keys are out of order.  A build holds them to its end, and the
    dict of the 771,238 of 100,000 records held about 78 MB."""
    if isinstance(digests, RecordedDigests) or len(digests) != len(keys):
        return digests
    ordered = list(keys)
    found = [digest for digest in map(digests.get, ordered) if digest is not None]
    if len(found) != len(ordered) or any(len(digest) != DIGEST_SIZE for digest in found):
        return digests
    if not in_key_order(ordered):
        return digests
    return RecordedDigests(ordered, b"".join(found))


def place_of(keys: Sequence[str], key: str) -> int | None:
    """Where ``key`` is among ``keys`` (in key order: :func:`in_key_order`), if there."""
    at = bisect_left(keys, key)
    return at if at < len(keys) and keys[at] == key else None


def in_key_order(keys: Sequence[str]) -> bool:
    """Whether ``keys`` are sorted, each once, as :class:`RecordedDigests` and
    :class:`feeds.texts.HeldTexts` find each by bisection."""
    return all(map(lt, keys, islice(keys, 1, None)))


def as_dict(digests: Mapping[str, bytes]) -> Mapping[str, bytes]:
    """``digests`` in a dict, to ask for each of them."""
    return digests.as_dict() if isinstance(digests, RecordedDigests) else digests


def as_dicts(*mappings: Mapping[str, bytes]) -> list[Mapping[str, bytes]]:
    """Each of ``mappings`` of digests in a dict, to ask for each digest.  Those read from
    one graph record (:class:`RecordedDigests` copied from one another) share the packed
    digests, which are cut once, and their dicts share each digest.  A build that changed
    100 records at 100k makes dicts of the digests of two graphs, its own and the last:
    made apart, they took 0.47-0.53 s and held 122-124 MB; so, 0.24-0.26 s and 66-73 MB."""
    packed: dict[int, dict[str, bytes]] = {}
    made: list[Mapping[str, bytes]] = []
    for digests in mappings:
        if isinstance(digests, RecordedDigests):
            cut = packed.get(id(digests._packed))
            if cut is None:
                cut = packed[id(digests._packed)] = digests._packed_dict()
            made.append(digests._over(cut))
        else:
            made.append(digests)
    return made


# Articles hashed between two steps of :func:`entry_digests`' progress.
PROGRESS_STEP = 4_096


def entry_digests(
    articles: Mapping[str, Article],
    known: Mapping[str, bytes],
    missing: Collection[str] | None = None,
    order: Iterable[Article] | None = None,
    *,
    progress: Progress | None = None,
) -> MutableMapping[str, bytes]:
    """The entry digest of every article, taken from ``known`` where it is there; with
    ``missing``, ``known`` holds every article's but those keys' (when it holds too few
    for that, every article is looked for in it).

    Articles are hashed in ``order`` when given (all of them, newest first): an entry
    shows the title of its related articles, which are mostly of its time, and texts held
    apart are then mostly still at hand (:class:`feeds.texts.HeldTexts`).  Hashing the
    77,000 articles of 10,000 records, every text held apart, read 76,824 texts in
    0.93-0.98 s that way, against 134,165 in 1.37-1.54 s in key order.  When one file
    holds every text apart, as in a graph merged from every file of a large corpus, they
    are read from it in its order instead (:func:`_hashed_in_file_order`).

    ``progress`` is told how far it has got going over every article: a cold build of
    100,000 records spent 17 s on that, and showed nothing of it between reading the files
    and writing the documents."""
    if missing is None or len(known) + len(missing) < len(articles):
        progress = progress or Quiet()
        progress.start(f"Preparing {len(articles)} entries", len(articles))
        try:
            held = _held_apart(articles)
            if held is not None:
                return _hashed_in_file_order(articles, known, held, progress)
            each = iter(articles.values() if order is None else order)
            hashed: dict[str, bytes] = {}
            while step := list(islice(each, PROGRESS_STEP)):
                hashed.update({a.key: known.get(a.key) or entry_digest(a, articles) for a in step})
                progress.advance(len(step))
        finally:
            progress.finish()
        return hashed
    digests = copied(known)
    for key in missing:
        if (article := articles.get(key)) is not None:
            digests[key] = entry_digest(article, articles)
    return digests


def _held_apart(articles: Mapping[str, Article]) -> SpilledTexts | None:
    """The texts of ``articles``, when one spill file holds each of them apart
    (:class:`feeds.texts.SpilledTexts`), and no others."""
    from feeds.texts import SpilledTexts  # noqa: PLC0415 - feeds.texts imports this module

    first = next(iter(articles.values()), None)
    held = None if first is None else first.held_text
    if not isinstance(held, SpilledTexts):
        return None
    if not all(article.held_text is held for article in articles.values()):
        return None
    return held if len(held.keys_held()) == len(articles) else None


def _hashed_in_file_order(
    articles: Mapping[str, Article],
    known: Mapping[str, bytes],
    held: SpilledTexts,
    progress: Progress,
) -> dict[str, bytes]:
    """The entry digests of ``articles``, whose texts ``held`` holds, taken from ``known``
    where there: in two passes over the texts in the order of their file, one to make
    every article's :func:`related_digest`, the other to hash every entry.

    Entries list related articles from anywhere in a corpus, and ask for their texts in
    no order a cache of recent texts can follow: a cold build of 100,000 records citing
    others from anywhere hashed its entries in 11.7 s, asking for each text by itself."""
    order = held.file_order()
    made = bytearray(RELATED_DIGEST_SIZE * len(order))  # by the place of each text
    for place, key, text in held.in_file_order(order):
        at = place * RELATED_DIGEST_SIZE
        made[at : at + RELATED_DIGEST_SIZE] = related_digest(text, articles[key].provider)
    related = bytes(made)
    del made
    keys_held = held.keys_held()

    def related_of(key: str) -> bytes:  # each key an entry shows is held: see _held_apart
        at = bisect_left(keys_held, key) * RELATED_DIGEST_SIZE
        return related[at : at + RELATED_DIGEST_SIZE]

    hashed: dict[str, bytes] = {}
    for done, (_, key, text) in enumerate(held.in_file_order(order), 1):
        article = articles[key]
        hashed[key] = known.get(key) or entry_digest(
            article, articles, text=text, related=related_of
        )
        if done % PROGRESS_STEP == 0:
            progress.advance(PROGRESS_STEP)
    progress.advance(len(order) % PROGRESS_STEP)
    return hashed


class DocumentKeys:
    """The key of each document of a build; each article is hashed once, however many
    documents list it, and not at all when its digest is ``known``
    (:func:`entry_digests`).  Asked for ``every`` document's key, it copies ``known``
    into a dict, where each digest is found quicker than where the graph record packs
    them (:class:`RecordedDigests`)."""

    def __init__(
        self,
        articles: Mapping[str, Article],
        config: Config,
        known: Mapping[str, bytes] | None = None,
        *,
        every: bool = False,
    ) -> None:
        self._articles = articles
        self._entries = (copied_dict if every else copied)(known or {})
        self._settings = settings_key(config)

    def entry(self, article: Article) -> bytes:
        found = self._entries.get(article.key)
        if found is None:
            found = self._entries[article.key] = entry_digest(article, self._articles)
        return found

    def document(self, spec: FeedSpec, page: int | None, entries: Sequence[Article]) -> bytes:
        """The key of the document of ``spec`` (its archive page ``page``) that lists
        ``entries``.

        The update times a document writes are made distinct from its entries' own, in
        order (:func:`feeds.render.distinct_updates`), and those are in the entries'
        digests: so the digests, in order, are all a key needs of the entries, and the
        times are worked out only for the documents that are rendered.  An archive page
        does not say how many pages there are; the subscription document links the newest."""
        try:  # each digest known, mostly: looked up without a call per entry
            digests = list(map(self._entries.__getitem__, map(_KEY, entries)))
        except KeyError:
            digests = [self.entry(article) for article in entries]
        archives = len(spec.archives) if page is None else None
        identity = (spec.kind, spec.key, spec.name, spec.path, page, archives)
        hasher = hashlib.blake2b(self._settings, digest_size=DIGEST_SIZE)
        hasher.update(repr(identity).encode())
        hasher.update(b"".join(digests))
        return hasher.digest()


def settings_key(config: Config) -> bytes:
    """What every document depends on besides its entries: the code and the settings it
    shows."""
    return repr((code_fingerprint(), config.shown)).encode()


def _encoded(values: tuple[Any, ...]) -> bytes:
    """``values`` as bytes that differ whenever they do: JSON, ten times quicker than
    ``repr``; ``repr`` for what JSON cannot hold (lone surrogates, integers over 64 bits)."""
    try:
        return orjson.dumps(values)
    except orjson.JSONEncodeError:
        return repr(values).encode()
