"""Checks beyond the schema: warnings about one record, and checks across records.

The schema sees one record at a time.  Some mistakes only show among several: two records
of the same article (after :func:`feeds.urls.canonical_url`), or a record citing an article
under another title or date than that article's own record gives.  These are pure functions
over a few :class:`Facts` of each record, which are small enough to keep (and cache) for every
file; the records themselves are not kept.  Only a file that has a finding is read again, by
the caller's ``locate``, to place it at a line and column.  The caller passes the current
time, so results do not depend on when tests run.
"""

from __future__ import annotations

import marshal
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import accumulate, chain, compress, count
from operator import attrgetter, ne
from typing import Any, NamedTuple

import xxhash

from feeds.checks import date_values, future_date_findings, moment, rfc3339_datetime
from feeds.diagnostics import Diagnostic, Severity
from feeds.records import Finding, Placer, Record
from feeds.urls import RECENT, canonical_url

# A related article as the checks across records see it: its index in ``related``, its
# canonical URL, a fingerprint of its title (see :func:`title_print`) and its date as written.
Citation = tuple[int, str, int, str]
# Where a file's findings are placed: a locator for the file, read again, or the places
# known for its content.
Locate = Callable[[str], Placer]


class Facts(NamedTuple):
    """What the checks across records need of one readable record.

    ``latest`` is the latest RFC 3339 date anywhere in it (microseconds since the epoch), so
    only a record with a date after ``now`` is read again to say which.  The other fields are
    set for schema-valid records only: their fields have the right types.  ``published`` is
    false for a record that says ``published: false``.

    Its related articles are held as :func:`citing` makes them: their keys; the
    :func:`claim` of each, what it says of its article as one number, packed; and what each
    says, packed apart and read only for a record whose claims are not those of the
    articles' own records (:func:`citing_others_otherwise`).  A build that changed one of
    100,000 records takes back the facts of every other one, citing 990,000 articles: as a
    tuple per citation, they took 0.53 s of the 1.0 s that reading back the first frame of
    the graph record took (:mod:`feeds.graphcache`).

    A named tuple, as :class:`feeds.articles.Article` is: a build that changed one record
    takes back the facts of every other one from the record of its graph
    (:func:`feeds.scan.from_summary`), and making those of 30,000 records took 0.09 s as
    frozen data classes, 0.02 s as named tuples.
    """

    file: str
    latest: int | None
    key: str | None = None  # canonical URL
    title: str = ""  # as a reader sees it
    # Its :func:`title_print`, worked out once, where the record is read: every build
    # compares it with the prints of the citations of the article.
    title_print: int = 0
    date: str = ""  # as written
    instant: int | None = None  # ``date`` in microseconds since the epoch
    cited: tuple[str, ...] = ()  # the canonical URL of each related article, in order
    claims: bytes = b""  # the claim of each, in 8 bytes (see :func:`citing`)
    said: bytes = b""  # the title print and date as written of each (see :func:`citing`)
    published: bool = True

    @property
    def citations(self) -> tuple[Citation, ...]:
        """Each related article as its index, key, title print and date as written."""
        said: tuple[tuple[int, str], ...] = marshal.loads(self.said) if self.said else ()
        return tuple(
            (index, key, print_, date)
            for index, (key, (print_, date)) in enumerate(zip(self.cited, said, strict=True))
        )


def citing(cited: Iterable[tuple[str, int, str]]) -> tuple[tuple[str, ...], bytes, bytes]:
    """The ``cited``, ``claims`` and ``said`` of :class:`Facts` for related articles given
    as their key, title print and date as written, in order."""
    keys: list[str] = []
    claims = array("Q")
    said: list[tuple[int, str]] = []
    for key, print_, date in cited:
        keys.append(key)
        claims.append(claim(print_, date))
        said.append((print_, date))
    return tuple(keys), claims.tobytes(), (marshal.dumps(tuple(said)) if said else b"")


def claim(title_print: int, date: str) -> int:
    """What a record says of an article, its title print and date as written, as one
    number: equal sayings, equal claims.  Two sayings that differ but claim alike would
    only hide a warning, as two titles that print alike would (:func:`title_print`)."""
    return xxhash.xxh3_64_intdigest(date.encode("utf-8", "surrogatepass"), title_print)


def instant(value: Any) -> int | None:
    """An RFC 3339 date as microseconds since the epoch (equal for equal moments), or None."""
    return _instant(value) if isinstance(value, str) else None


# Records cite the same articles, with the same dates, again and again.
@lru_cache(maxsize=RECENT)
def _instant(value: str) -> int | None:
    when = rfc3339_datetime(value)
    return None if when is None else moment(when)


def _normal_title(value: Any) -> str:
    return " ".join(str(value).split())


def title_print(title: Any) -> int:
    """A fingerprint of a title as a reader sees it: equal titles, equal prints.  Kept for
    every citation instead of the title itself, which would cost far more memory.  XXH3:
    two titles that differ but print alike would only hide a warning, and it took 1.0 us
    where BLAKE2b took 1.6 us, for each title of the tens of thousands a corpus of 10,000
    records cites."""
    return _title_print(title) if isinstance(title, str) else _title_print(str(title))


# Records cite the same articles, with the same titles, again and again.
@lru_cache(maxsize=RECENT)
def _title_print(title: str) -> int:
    text = _normal_title(title).encode("utf-8", "surrogatepass")
    return xxhash.xxh3_64_intdigest(text)


def facts_of(record: Record, valid: bool, *, published: bool = True) -> Facts:
    """The facts of ``record``; ``valid`` when it passed the schema, ``published`` when it
    does not say ``published: false``."""
    data = record.data
    moments = [instant(value) for _, value in date_values(data)]
    latest = max((when for when in moments if when is not None), default=None)
    if not valid:
        return Facts(record.file, latest)
    cited, claims, said = citing(
        (canonical_url(cited["webUrl"]), title_print(cited["title"]), cited["publishedDateTime"])
        for cited in data.get("related") or ()
    )
    date = data["publishedDateTime"]
    title = _normal_title(data["title"])
    return Facts(
        record.file,
        latest,
        canonical_url(data["webUrl"]),
        title,
        title_print(title),
        date,
        instant(date),
        cited,
        claims,
        said,
        published,
    )


@dataclass(frozen=True)
class Review:
    """What the checks across records found, by file.

    ``diagnostics`` apply whatever the command.  ``first_copies`` are the errors on the first
    record of an article that later records repeat: ``validate`` reports them, while ``build``
    publishes that first record and skips the later copies (whose errors name it).
    """

    diagnostics: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict)
    first_copies: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict)


def review(facts: Sequence[Facts], now: datetime, locate: Locate) -> Review:
    """Dates in the future for every record in ``facts``; checks across those that are
    schema-valid.  ``facts`` come in file order, which decides which of two copies is the
    first.  ``locate`` is called once per file that has a finding."""
    locators: dict[str, Placer] = {}

    def locator(file: str) -> Placer:
        found = locators.get(file)
        if found is None:
            found = locators[file] = locate(file)
        return found

    findings: dict[str, list[Finding]] = {
        file: list(found)
        for file, found in future_findings(((f.file, f.latest) for f in facts), now, locator)
    }
    first_findings: dict[str, list[Finding]] = {}

    owners: dict[str, Facts] = {}
    for item in facts:
        if item.key is None:
            continue
        first = owners.setdefault(item.key, item)
        if first is not item:
            findings.setdefault(item.file, []).append(_copy_of(first, locator, later=True))
            first_findings.setdefault(first.file, []).append(_copy_of(item, locator, later=False))
    screened = list(citing_others_otherwise(facts, owners))
    for item in screened:
        contradictions = list(contradicting_citations(item, owners))
        if contradictions:
            findings.setdefault(item.file, []).extend(contradictions)
    for file, finding in published_anyway(screened, owners):
        findings.setdefault(file, []).append(finding)

    def placed(found: Mapping[str, list[Finding]]) -> dict[str, tuple[Diagnostic, ...]]:
        out = {}
        for file, items in found.items():
            if items:
                out[file] = locator(file).place(items)
                # What was read to place them goes now, not once every file is placed:
                # with 299 files to place at 10,000 records, a build took 86 MB more.
                locators.pop(file)
        return out

    return Review(placed(findings), placed(first_findings))


def future_findings(
    latest: Iterable[tuple[str, int | None]], now: datetime, locate: Locate
) -> Iterator[tuple[str, list[Finding]]]:
    """The dates after ``now`` in each file whose ``latest`` date (see :class:`Facts`) is
    after it; only those files are read again, by ``locate``."""
    now_instant = moment(now)
    for file, latest_instant in latest:
        if latest_instant is not None and latest_instant > now_instant:
            yield file, list(future_date_findings(locate(file).record.data, now))


def _copy_of(other: Facts, locator: Locate, *, later: bool) -> Finding:
    where = f"{other.file}:{locator(other.file).position(('webUrl',))[0]}"
    if later:
        message = (
            f"the same article as {where} (equal URLs once canonical); keep one record per "
            f"article: this later copy is not published"
        )
    else:
        message = (
            f"the same article as {where} (equal URLs once canonical); keep one record per "
            f"article: only this first copy is published"
        )
    return Finding(("webUrl",), "duplicate-url", message, Severity.ERROR)


_CITED, _CLAIMS = attrgetter("cited"), attrgetter("claims")
# Not a claim: what an unpublished record of an article expects of its citations.
_NO_CLAIM = -1


def citing_others_otherwise(facts: Sequence[Facts], owners: Mapping[str, Facts]) -> Iterator[Facts]:
    """The schema-valid records of ``facts``, in order, with a related article whose key,
    title and date as written are not those of the article's own record in ``owners``, or
    whose own record is not published: all those that :func:`contradicting_citations` may
    find something in.

    Most citations either name an article without a record or agree with its record word
    for word.  They are told apart all at once, by lookups over every citation: with a
    generator per record, the checks of 99,700 records took 1.3-1.6 s in every build,
    against 0.8-1.0 s.  What each says is looked up as its :func:`claim`: screening 99,800
    records citing 990,000 articles took 0.33 s, against 0.39 s for a tuple of what each
    says, made to be looked up in a set."""
    citing = [item for item in facts if item.key is not None and item.cited]
    keys = list(chain.from_iterable(map(_CITED, citing)))
    claims = array("Q", b"".join(map(_CLAIMS, citing)))
    expected = {
        key: claim(owner.title_print, owner.date) if owner.published else _NO_CLAIM
        for key, owner in owners.items()
    }
    # A citation of an article without a record of its own is expected to say what it says.
    odd = compress(count(), map(ne, map(expected.get, keys, claims), claims))
    ends = list(accumulate(map(len, map(_CITED, citing))))
    last = -1
    for position in odd:
        index = bisect_right(ends, position)
        if index != last:
            last = index
            yield citing[index]


def contradicting_citations(item: Facts, owners: Mapping[str, Facts]) -> Iterator[Finding]:
    """Related articles whose title or date differ from their own record's: one of the two
    is out of date, and the feeds would show the record's version only (unless that record
    is not published: see :func:`published_anyway`)."""
    for index, key, cited_title, date in item.citations:
        owner = owners.get(key)
        if owner is None or owner.file == item.file:
            continue
        if not owner.published:  # the feeds show a citation's version: see published_anyway
            continue
        if cited_title != owner.title_print:
            yield Finding(
                ("related", index, "title"),
                "related-mismatch",
                f"title differs from the article's own record {owner.file}, "
                f"which says {owner.title!r}",
                Severity.WARNING,
            )
        if date != owner.date and owner.instant is not None:
            cited = instant(date)
            if cited is not None and cited != owner.instant:
                yield Finding(
                    ("related", index, "publishedDateTime"),
                    "related-mismatch",
                    f"date {date!r} differs from the article's own record {owner.file}, "
                    f"which says {owner.date!r}",
                    Severity.WARNING,
                )


# Records named in a finding that lists the records citing an unpublished one.
_CITING_NAMED = 3


def published_anyway(
    screened: Iterable[Facts], owners: Mapping[str, Facts]
) -> Iterator[tuple[str, Finding]]:
    """A warning for each record that says ``published: false`` while published records
    cite its article (``screened`` holds them all: see :func:`citing_others_otherwise`):
    the feeds publish it all the same, as their related article, under what they say of
    it.  Given once, on that record, where the publisher said it: placing a finding reads
    the file again, and many records may cite one.  A later copy of an article
    (``duplicate-url``) is not published, so it publishes nothing it cites."""
    # By unpublished record, the records citing it and where, in file order.
    citing: dict[str, dict[str, list[str]]] = {}
    for item in screened:
        if not item.published or owners.get(item.key or "") is not item:
            continue
        for index, key in enumerate(item.cited):
            owner = owners.get(key)
            if owner is not None and not owner.published and owner.file != item.file:
                where = citing.setdefault(owner.file, {}).setdefault(item.file, [])
                where.append(f"related[{index}]")
    for file, records in citing.items():
        named = ", ".join(
            f"{record} ({', '.join(fields)})"
            for record, fields in list(records.items())[:_CITING_NAMED]
        )
        if len(records) > _CITING_NAMED:
            named += f" and {len(records) - _CITING_NAMED} more"
        yield (
            file,
            Finding(
                ("published",),
                "unpublished-cited",
                f"the article is published all the same, as a related article of published "
                f"records that cite it: {named}; remove it from their related articles, or "
                "publish this record",
                Severity.WARNING,
            ),
        )
