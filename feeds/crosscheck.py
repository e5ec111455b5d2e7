"""Checks beyond the schema: warnings about one record, and checks across records.

The schema sees one record at a time.  Some mistakes only show among several: two records
of the same article (after :func:`feeds.urls.canonical_url`), or a record citing an article
under another title or date than that article's own record gives.  These are pure functions
over parsed records; the caller passes the current time, so results do not depend on when
tests run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feeds.checks import (
    future_date_findings,
    html_entity_findings,
    is_rfc3339,
    parse_datetime,
)
from feeds.diagnostics import Diagnostic, Severity
from feeds.records import Finding, Locator, Record
from feeds.urls import canonical_url


@dataclass(frozen=True)
class Review:
    """What the checks beyond the schema found, by file.

    ``diagnostics`` apply whatever the command.  ``first_copies`` are the errors on the first
    record of an article that later records repeat: ``validate`` reports them, while ``build``
    publishes that first record and skips the later copies (whose errors name it).
    """

    diagnostics: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict)
    first_copies: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict)


def review(records: Sequence[Record], valid: Collection[str], now: datetime) -> Review:
    """Warnings for every record in ``records``; checks across those whose file is in
    ``valid`` (schema-valid, so their fields have the right types).  ``records`` come in
    file order, which decides which of two copies is the first."""
    findings: dict[str, list[Finding]] = {}
    first_findings: dict[str, list[Finding]] = {}
    by_file = {record.file: record for record in records}
    for record in records:
        found = findings.setdefault(record.file, [])
        found.extend(html_entity_findings(record.data))
        found.extend(future_date_findings(record.data, now))

    checked = [record for record in records if record.file in valid]
    owners: dict[str, Record] = {}
    for record in checked:
        key = canonical_url(record.data["webUrl"])
        first = owners.setdefault(key, record)
        if first is not record:
            findings[record.file].append(_copy_of(first, record, later=True))
            first_findings.setdefault(first.file, []).append(_copy_of(record, first, later=False))
    for record in checked:
        findings[record.file].extend(contradicting_citations(record, owners))

    def placed(found: Mapping[str, list[Finding]]) -> dict[str, tuple[Diagnostic, ...]]:
        return {file: Locator(by_file[file]).place(items) for file, items in found.items() if items}

    return Review(placed(findings), placed(first_findings))


def _line_of(record: Record, path: tuple[str | int, ...]) -> int:
    return Locator(record).position(path)[0]


def _copy_of(other: Record, record: Record, *, later: bool) -> Finding:
    where = f"{other.file}:{_line_of(other, ('webUrl',))}"
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


def _normal_title(value: Any) -> str:
    return " ".join(str(value).split())


def contradicting_citations(record: Record, owners: Mapping[str, Record]) -> Iterator[Finding]:
    """Related articles whose title or date differ from their own record's: one of the two
    is out of date, and the feeds would show the record's version only."""
    for index, cited in enumerate(record.data.get("related") or ()):
        owner = owners.get(canonical_url(cited["webUrl"]))
        if owner is None or owner.file == record.file:
            continue
        title, own_title = cited["title"], owner.data["title"]
        if _normal_title(title) != _normal_title(own_title):
            yield Finding(
                ("related", index, "title"),
                "related-mismatch",
                f"title differs from the article's own record {owner.file}, "
                f"which says {_normal_title(own_title)!r}",
                Severity.WARNING,
            )
        date, own_date = cited["publishedDateTime"], owner.data["publishedDateTime"]
        if (
            is_rfc3339(date)
            and is_rfc3339(own_date)
            and parse_datetime(date) != parse_datetime(own_date)
        ):
            yield Finding(
                ("related", index, "publishedDateTime"),
                "related-mismatch",
                f"date {date!r} differs from the article's own record {owner.file}, "
                f"which says {own_date!r}",
                Severity.WARNING,
            )
