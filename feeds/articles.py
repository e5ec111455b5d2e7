"""The article graph: published records and the articles they cite, merged by URL.

A related article is an article in its own right.  The same page cited by several records
(or published as a record too) is one article, related to all of them, so a reader sees it
once and can follow the links either way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from sys import intern
from typing import Any, NamedTuple, Protocol

from feeds.checks import parse_datetime
from feeds.urls import canonical_url


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str
    # Worked out once, as the provider is made: planning looks it up for every article
    # (1.5 million times at 100,000 records), and the graph shares one provider among many.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.domain.strip().lower().removeprefix("www."))


class Image(NamedTuple):
    url: str
    width: int | None
    height: int | None


class Text(NamedTuple):
    """What the entry of an article shows of it besides its dates, provider and topics: its
    address, title, excerpt and image.  Most of what an article weighs (at 100,000 records,
    excerpts, images and titles were 561 MB of the 1.4 GB the graph took), and kept in a
    tuple of its own so that it can be held apart from the rest."""

    url: str
    title: str
    excerpt: str
    image: Image | None


class TextSource(Protocol):
    """Where the texts of articles are held apart, each found by its article's key
    (:class:`feeds.texts.HeldTexts`): the record of the graph, or a build's spill file."""

    def read(self, key: str) -> Text: ...


class Article(NamedTuple):
    """One entry, whichever feeds it appears in.

    ``key`` is the canonical URL: it identifies the article across records, feeds and builds.
    ``related`` holds the keys of related articles, in the order they were first cited.
    ``source`` is the record file that published it, or ``None`` for an article known only
    because a record cites it.  ``held_text`` is its :class:`Text`, or where it is held
    apart (:mod:`feeds.texts`), found there by the key; read as :attr:`text`.

    A named tuple, like :class:`Image`, not a data class: a build that changed one record
    makes every article of the graph it kept again, and restoring the 77,000 articles of
    10,000 records took 0.17 s as frozen data classes against 0.09 s as named tuples.  It
    cannot be changed either: ``_replace`` makes a changed copy.

    Articles compare, hash and pickle as their fields do, the text read where it is held.
    Where a text is held apart, the article holds nothing of its own for it: an object
    standing for each of the 771,238 texts of 100,000 records, and the number of its place,
    weighed 56 MB.
    """

    key: str
    published: datetime
    updated: datetime
    provider: Provider
    topics: tuple[str, ...]
    related: tuple[str, ...]
    source: str | None
    held_text: Text | TextSource

    @property
    def text(self) -> Text:
        """Its address, title, excerpt and image."""
        held = self.held_text
        return held if isinstance(held, Text) else held.read(self.key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Article):
            return NotImplemented
        held, other_held = self.held_text, other.held_text
        # Two articles of one key whose texts one source holds hold the same text.
        return self[:_TEXT_FIELD] == other[:_TEXT_FIELD] and (
            held is other_held or self.text == other.text
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((*self[:_TEXT_FIELD], self.text))

    def __reduce__(self) -> tuple[Any, ...]:
        return Article, (*self[:_TEXT_FIELD], self.text)


# Where an article holds its text, after every other field.
_TEXT_FIELD = 7


def plain_values(article: Article, text: Text | None = None) -> tuple[Any, ...]:
    """Every field of ``article`` as plain values, flat: how articles travel and are
    hashed, since pickling or ``repr`` of data classes field by field is several times
    slower and thousands of articles go through it every build.  ``text`` is its text,
    when the caller has read it already."""
    if text is None:
        text = article.text
    image = text.image
    return (
        article.key,
        text.url,
        text.title,
        text.excerpt,
        article.published,
        article.updated,
        article.provider.name,
        article.provider.domain,
        None if image is None else (image.url, image.width, image.height),
        article.topics,
        article.related,
        article.source,
    )


# Where :func:`plain_values` puts the related keys.
RELATED_VALUE = 10


def plain_values_as_related(article: Article) -> tuple[Any, ...]:
    """The :func:`plain_values` of ``article`` with only what an entry that lists it among
    its related articles shows of it: its key, address, title and provider
    (:func:`feeds.render.entry_content`, :func:`feeds.jsonfeed.render_item`); its excerpt,
    image, topics and related keys left out.  Kept beside :func:`plain_values`, whose
    layout it repeats.  A render worker's shipment (:class:`feeds.parallel.Shipment`)
    holds ten or more such articles for each entry: 40 documents of records citing ten
    others drawn from a whole archive weighed 7.07 MB, and pickling, unpickling and
    opening them took 127 ms, against 2.85 MB and 76 ms sent this way."""
    text = article.text
    return (
        article.key,
        text.url,
        text.title,
        "",
        article.published,
        article.published,
        article.provider.name,
        article.provider.domain,
        None,
        (),
        (),
        None,
    )


# The related articles an entry lists at most.  An article that many records cite is
# related to every one of them.  Five articles, each cited by 2,000 records of 10,000,
# listed them all in their entries, in every feed that held one of them: the output
# weighed 11 GB, and a change to any of the 10,000 records rendered again every document
# holding one of the five (a build that changed one record took 4.9-5.0 s, and 1.2 s
# without the five).  Listing 50, the output weighs 4.9 GB, and such a build takes
# 1.3-1.6 s, or 2.5 s when the record changed is one of the 50 listed.
RELATED_LISTED = 50


def listed_related(
    article: Article, articles: Mapping[str, Article]
) -> tuple[list[tuple[Article, Text]], bool]:
    """The related articles the entry of ``article`` lists, in the order they were first
    cited, each with its text: the first :data:`RELATED_LISTED` of those ``articles``
    holds; and whether it holds more.  The articles that entry depends on are those of
    :func:`related_shown`.  Each text is asked for once here: one held apart
    (:mod:`feeds.texts`) takes a few calls to find each time."""
    keys, more = listed_keys(article, articles)
    return [(other, other.text) for other in map(articles.__getitem__, keys)], more


def listed_keys(article: Article, articles: Mapping[str, Article]) -> tuple[list[str], bool]:
    """The keys of the related articles :func:`listed_related` gives, and whether there are
    more: what an entry lists, without asking for any text."""
    shown = related_shown(article, articles)
    return shown[:RELATED_LISTED], len(shown) > RELATED_LISTED


def related_shown(article: Article, articles: Mapping[str, Article]) -> list[str]:
    """The keys of the related articles of ``article`` that its entry shows something of:
    those it lists (:func:`listed_related`), and the next one held, which tells whether
    there are more.  Keys that ``articles`` does not hold are passed over, and none is
    looked up after that next one: an article may have thousands of related articles."""
    return list(islice(filter(articles.__contains__, article.related), RELATED_LISTED + 1))


# Values that thousands of articles share are kept once.
_PROVIDERS: dict[tuple[str, str], Provider] = {}
_TOPICS: dict[tuple[str, ...], tuple[str, ...]] = {}


def from_plain_values(states: Iterable[tuple[Any, ...]]) -> tuple[Article, ...]:
    """The articles whose :func:`plain_values` are ``states``."""
    return from_plain_columns(list(zip(*states, strict=True)))


def from_plain_columns(columns: Sequence[Sequence[Any]]) -> tuple[Article, ...]:
    """The articles whose :func:`plain_values` are held field by field in ``columns``."""
    if not columns:
        return ()
    *first, names, domains, images, topics, related, sources = columns
    pairs = list(zip(names, domains, strict=True))
    providers = {pair: provider_of(*pair) for pair in set(pairs)}
    shared_topics = list(map(_shared_topics, topics))
    return from_article_columns(
        [*first, list(map(providers.__getitem__, pairs)), images, shared_topics, related, sources]
    )


def _shared_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    """``topics`` as held already, when an equal tuple is; else held from now on, each
    topic once for all the tuples that name it.  Each record's topics were strings of
    their own: the graph of 10,000 records held 16,248 of them, for 38 topics, and its
    record wrote each of them out."""
    found = _TOPICS.get(topics)
    if found is None:  # kept by the tuple it holds, not by ``topics`` and its strings
        found = tuple(map(intern, topics))
        _TOPICS[found] = found
    return found


def from_article_columns(columns: Sequence[Sequence[Any]]) -> tuple[Article, ...]:
    """The articles whose fields are held in ``columns``, one per value of
    :func:`plain_values`, with a provider made already in place of its name and domain,
    and each image as a plain tuple.  Worked a column at a time, and each article made
    straight from its fields as a tuple: restoring the 770,000 articles of 100,000 records
    that way took 1.3 s, against 2.3 s for one article at a time."""
    if not columns:
        return ()
    keys = list(map(intern, columns[0]))
    urls, titles, excerpts, published, updated, providers, images, *rest = columns[1:]
    texts = zip(
        [key if url == key else url for key, url in zip(keys, urls, strict=True)],
        titles,
        excerpts,
        [None if image is None else _IMAGE_OF(image) for image in images],
        strict=True,
    )
    return from_recorded_columns(
        [keys, published, updated, providers, *rest, list(map(_TEXT_OF, texts))]
    )


def from_recorded_columns(columns: Sequence[Iterable[Any]]) -> tuple[Article, ...]:
    """The articles whose fields come in ``columns``, one per field of :class:`Article`
    in order, as the graph record holds them (:mod:`feeds.graphcache`): each key is one
    string already, for every article and result that names it, and topics are taken as
    they come: the record holds each list of them once, where canonicalizing them again
    took 46 ms at 30,000 records."""
    if not columns:
        return ()
    return tuple(map(_ARTICLE_OF, zip(*columns, strict=True)))


# An article (its text, an image) from its fields as one tuple, without a call of its
# constructor per article: making the 231,000 images of 30,000 records took 87 ms so,
# against 131 ms with ``Image._make``.
_ARTICLE_OF: Callable[[tuple[Any, ...]], Article] = partial(tuple.__new__, Article)
_TEXT_OF: Callable[[tuple[Any, ...]], Text] = partial(tuple.__new__, Text)
_IMAGE_OF: Callable[[tuple[Any, ...]], Image] = partial(tuple.__new__, Image)


def provider_of(name: str, domain: str) -> Provider:
    """The provider so named, made once for every article of it."""
    provider = _PROVIDERS.get((name, domain))
    if provider is None:
        provider = _PROVIDERS[name, domain] = Provider(name, domain)
    return provider


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """The part of a valid record that feeds need: where it came from and its data."""

    file: str
    data: Mapping[str, Any]


def is_published(data: Mapping[str, Any]) -> bool:
    """Records are published unless they say ``published: false``."""
    return data.get("published", True) is not False


def _article(data: Mapping[str, Any], source: str | None) -> Article:
    provider = data["provider"]
    published = parse_datetime(data["publishedDateTime"])
    images = data.get("images") or []
    image = None
    if images:
        first = images[0]
        image = Image(first["url"], first.get("width"), first.get("height"))
    return Article(
        key=canonical_url(data["webUrl"]),
        published=published,
        # Records carry no revision date; a distinct field keeps the entry model honest.
        updated=published,
        provider=Provider(" ".join(provider["name"].split()), provider["domain"].strip()),
        topics=tuple(dict.fromkeys(" ".join(t.split()) for t in data.get("topics", ()))),
        related=(),
        source=source,
        held_text=Text(
            url=data["webUrl"].strip(),
            title=" ".join(data["title"].split()),
            excerpt=(data.get("excerpt") or "").strip(),
            image=image,
        ),
    )


def record_articles(record: PublishedRecord) -> tuple[Article, ...]:
    """The articles one published record contributes: its own, then those it cites (without
    itself), in its order.  Depends on the record alone, so it is computed once per file
    content, and the record's data need not be kept."""
    parent = _article(record.data, record.file)
    cited = (_article(item, None) for item in record.data.get("related") or ())
    return (parent, *(child for child in cited if child.key != parent.key))


def build_graph(records: Iterable[PublishedRecord]) -> dict[str, Article]:
    """Every article to publish, by key (see :func:`merge_articles`)."""
    return merge_articles(
        record_articles(record) for record in records if is_published(record.data)
    )


def merge_articles(
    contributions: Iterable[tuple[Article, ...]],
    hold: Callable[[Article, dict[str, Article]], Article] | None = None,
) -> dict[str, Article]:
    """Every article to publish, by key, from what each record contributes
    (:func:`record_articles`); each as ``hold`` gives it back, if given, as it is taken,
    with those taken before (:meth:`feeds.texts.SpilledTexts.hold`).

    Records are taken in the order given (the caller sorts them by file), so which of two
    conflicting descriptions of one article wins never depends on the file system.  A record's
    own description beats a citation's; among citations, the first wins.  Topics flow from
    records to the articles they cite; ``related`` is made symmetric.
    """
    articles: dict[str, Article] = {}
    # By key, the topics met, in order, each once as far as they are merged yet
    # (:func:`_union`), and the related keys met, repeats included, in order: one key as
    # itself, more in a list.  Most articles are cited by one record only: they take
    # its topics as they are, and name it alone.  A list of each per article (777,000 of
    # them at 100,000 records) weighed about 150 MB while merging, and left memory in
    # pieces once let go: where documents start to be written, 236 MB of small blocks
    # were free in the allocator's arenas, and 130 MB without the lists.
    topics: dict[str, tuple[str, ...]] = {}
    related: dict[str, str | list[str]] = {}

    def add(article: Article) -> None:
        key = article.key
        current = articles.get(key)
        # The first description taken, unless a record's own comes after citations'.
        if current is None or (current.source is None and article.source is not None):
            articles[key] = article if hold is None else hold(article, articles)
        topics[key] = article.topics if current is None else _union(topics[key], article.topics)

    def relate(key: str, other: str) -> None:
        held = related.get(key)
        if held is None:
            related[key] = other
        elif isinstance(held, list):
            held.append(other)
        else:
            related[key] = [held, other]

    for parent, *children in contributions:
        add(parent)
        for child in children:
            add(child)
            topics[child.key] = _union(topics[child.key], parent.topics)
            relate(parent.key, child.key)
            relate(child.key, parent.key)

    merged = {}
    # Equal tuples of topics or related keys are held once: most articles are cited by one
    # record only, and share its topics and their one related key with the others it
    # cites.  At 100,000 records, 771,238 articles held 194,610 distinct tuples of related
    # keys (45 MB as a tuple each) and 127,211 of topics.
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key in sorted(articles):
        # Each article as given is let go as its merged copy is made, so that the copy can
        # take its place in memory: the graph is not held twice at its largest.
        article = articles.pop(key)
        # A record's own topics first, in its order; then those of records citing it.
        # (Built directly: ``dataclasses.replace`` costs several times more, per article.)
        topics_of = _in_order(article.topics, topics.pop(key))
        met = related.pop(key, None)
        if met is None:
            related_of: tuple[str, ...] = ()
        elif isinstance(met, list):
            related_of = tuple(dict.fromkeys(met))
        else:
            related_of = (met,)
        merged[key] = Article(
            key,
            article.published,
            article.updated,
            article.provider,
            shared.setdefault(topics_of, topics_of),
            shared.setdefault(related_of, related_of),
            article.source,
            article.held_text,
        )
    return merged


def _in_order(first: tuple[str, ...], met: tuple[str, ...]) -> tuple[str, ...]:
    """``first``, then the topics ``met`` (see :func:`_union`) not already named, each once."""
    if met[: len(first)] == first and len(set(met)) == len(met):  # mostly: ``met`` is first
        return met
    return tuple(dict.fromkeys(first + met))


def _union(met: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    """``met``, then the topics of ``more`` it lacks: ``met`` itself when there are none.
    Repeats within either may stay, for :func:`_in_order` to drop."""
    if more is met or not more:
        return met
    if not met:
        return more
    joined = tuple(dict.fromkeys(met + more))
    return met if len(joined) == len(met) else joined


def remerge(
    previous: Mapping[str, Article],
    affected: Collection[str],
    contributions: Iterable[tuple[Article, ...]],
) -> dict[str, Article]:
    """``previous`` with the articles of the ``affected`` keys merged again from
    ``contributions``: every contribution that mentions one of those keys, in file order.

    An article depends only on the contributions that mention it, so this is what
    :func:`merge_articles` of every contribution gives, when ``previous`` is that of the
    others; an affected key no contribution mentions any more is dropped."""
    fresh = merge_articles(contributions)
    graph = dict(previous)
    added = False
    for key in affected:
        article = fresh.get(key)
        if article is None:
            graph.pop(key, None)
        else:
            added = added or key not in graph
            graph[key] = article
    # Keys replaced keep their place and keys dropped leave the rest in order: only new
    # keys need the graph sorted again.
    return dict(sorted(graph.items())) if added else graph
