"""The library API behind the command line: validate records, build feeds.

Data flows one way: files → records → validated articles → feed plan → rendered files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.config import Config
from feeds.crosscheck import review
from feeds.diagnostics import Diagnostic, Severity, sort_key
from feeds.records import Loaded, discover, read_record
from feeds.schema import Schema, load_schema

if TYPE_CHECKING:
    from feeds.plan import FeedPlan


@dataclass(frozen=True)
class CheckedFile:
    """A file with every problem found in it; ``record`` is set when it was readable."""

    loaded: Loaded
    diagnostics: tuple[Diagnostic, ...]

    @property
    def valid(self) -> bool:
        return self.loaded.record is not None and not any(
            d.severity is Severity.ERROR for d in self.diagnostics
        )


@dataclass(frozen=True)
class ValidationReport:
    files: tuple[CheckedFile, ...]
    diagnostics: tuple[Diagnostic, ...]  # every problem, in file order, folders included

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    @property
    def invalid_files(self) -> int:
        return sum(not f.valid for f in self.files)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def strict(self) -> ValidationReport:
        """The same report with every warning counted as an error (``--strict``)."""
        return ValidationReport(
            tuple(replace(f, diagnostics=tuple(map(_as_error, f.diagnostics))) for f in self.files),
            tuple(map(_as_error, self.diagnostics)),
        )


def _as_error(diagnostic: Diagnostic) -> Diagnostic:
    return replace(diagnostic, severity=Severity.ERROR)


def check_files(paths: Iterable[Path], schema: Schema) -> list[CheckedFile]:
    checked = []
    for path in paths:
        loaded = read_record(path)
        diagnostics = loaded.diagnostics
        if loaded.record is not None:
            diagnostics += schema.check(loaded.record)
        checked.append(CheckedFile(loaded, tuple(sorted(diagnostics, key=sort_key))))
    return checked


def reviewed(
    checked: Sequence[CheckedFile], now: datetime, *, publishing: bool
) -> list[CheckedFile]:
    """``checked`` with what the checks beyond the schema found (:mod:`feeds.crosscheck`).

    When ``publishing``, the first of several records of one article stays valid (it is
    published) and only the later copies get an error."""
    records = [item.loaded.record for item in checked if item.loaded.record is not None]
    valid = {item.loaded.file for item in checked if item.valid}
    found = review(records, valid, now)
    out = []
    for item in checked:
        extra = found.diagnostics.get(item.loaded.file, ())
        if not publishing:
            extra += found.first_copies.get(item.loaded.file, ())
        diagnostics = tuple(sorted(item.diagnostics + extra, key=sort_key))
        out.append(CheckedFile(item.loaded, diagnostics) if extra else item)
    return out


def validate(
    paths: Sequence[Path], schema: Schema | None = None, now: datetime | None = None
) -> ValidationReport:
    """Check every record file under ``paths`` against the schema, and across records.

    ``now`` is the time dates in the future are measured against [default: the clock]."""
    schema = schema or load_schema()
    files, folder_problems = discover(paths)
    checked = check_files(files, schema)
    checked = reviewed(checked, now or datetime.now(UTC), publishing=False)
    diagnostics = [*folder_problems]
    for item in checked:
        diagnostics.extend(item.diagnostics)
    return ValidationReport(tuple(checked), tuple(diagnostics))


@dataclass(frozen=True)
class BuildReport:
    records: int  # record files read
    published: int  # valid records that are published
    unpublished: int
    skipped: tuple[CheckedFile, ...]  # invalid records, left out of the feeds
    folder_problems: tuple[Diagnostic, ...]
    articles: int  # entries: published records plus the articles they cite
    feeds: int
    files: tuple[str, ...]  # written, relative to the output folder
    output: Path
    warnings: tuple[Diagnostic, ...] = ()  # about records that were published anyway


def build(config: Config, schema: Schema | None = None, now: datetime | None = None) -> BuildReport:
    """Validate the records under ``config.source`` and publish their feeds into
    ``config.output``, replacing its previous contents in one step.

    Of several records of one article, the first in file order is published."""
    # Imported here: ``feeds validate`` never renders, and starts faster without these.
    from feeds.articles import PublishedRecord, build_graph, is_published
    from feeds.output import build_lock
    from feeds.plan import plan_feeds
    from feeds.sanitize import clean_articles

    schema = schema or load_schema(config.schema)
    paths, folder_problems = discover([config.source])
    checked = check_files(paths, schema)
    checked = reviewed(checked, now or datetime.now(UTC), publishing=True)
    valid = [
        PublishedRecord(item.loaded.file, item.loaded.record.data)
        for item in checked
        if item.valid and item.loaded.record is not None
    ]
    published = [record for record in valid if is_published(record.data)]
    graph = build_graph(published)
    plan = plan_feeds(clean_articles(graph), config.entries_per_feed)
    with build_lock(config.output):
        written = _write(plan, config)
    return BuildReport(
        records=len(checked),
        published=len(published),
        unpublished=len(valid) - len(published),
        skipped=tuple(item for item in checked if not item.valid),
        folder_problems=tuple(folder_problems),
        articles=len(graph),
        feeds=len(plan.feeds),
        files=tuple(sorted(written)),
        output=config.output,
        warnings=tuple(
            d
            for item in checked
            if item.valid
            for d in item.diagnostics
            if d.severity is Severity.WARNING
        ),
    )


def _write(plan: FeedPlan, config: Config) -> list[str]:
    """Publish ``plan`` into ``config.output``, reusing what the last build wrote there the
    same, and remember what was written for the next build (:mod:`feeds.rendercache`)."""
    from feeds.output import staged
    from feeds.parallel import write_documents
    from feeds.rendercache import load_manifest, manifest_path, store_manifest

    record = None if config.cache is None else manifest_path(config.cache, config.output)
    previous = {} if record is None else load_manifest(record)
    with staged(config.output) as staging:
        written = write_documents(staging, plan, config, previous)
    if record is not None:
        keys = [(path, key) for path, key in written.items() if key is not None]
        with contextlib.suppress(OSError):  # a build without a record is only slower next time
            store_manifest(record, config.output, keys)
    return list(written)
