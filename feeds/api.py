"""The library API behind the command line: validate records, build feeds.

Data flows one way: files → records → validated articles → feed plan → rendered files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from feeds.articles import PublishedRecord, build_graph, is_published
from feeds.config import Config
from feeds.diagnostics import Diagnostic, Severity, sort_key
from feeds.output import build_lock, write_tree
from feeds.plan import plan_feeds
from feeds.publish import publish
from feeds.records import Loaded, discover, read_record
from feeds.sanitize import clean_articles
from feeds.schema import Schema, load_schema


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


def check_files(paths: Iterable[Path], schema: Schema) -> list[CheckedFile]:
    checked = []
    for path in paths:
        loaded = read_record(path)
        diagnostics = loaded.diagnostics
        if loaded.record is not None:
            diagnostics += schema.check(loaded.record)
        checked.append(CheckedFile(loaded, tuple(sorted(diagnostics, key=sort_key))))
    return checked


def validate(paths: Sequence[Path], schema: Schema | None = None) -> ValidationReport:
    """Check every record file under ``paths`` against the schema."""
    schema = schema or load_schema()
    files, folder_problems = discover(paths)
    checked = check_files(files, schema)
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


def build(config: Config, schema: Schema | None = None) -> BuildReport:
    """Validate the records under ``config.source`` and publish their feeds into
    ``config.output``, replacing its previous contents in one step."""
    schema = schema or load_schema(config.schema)
    paths, folder_problems = discover([config.source])
    checked = check_files(paths, schema)
    valid = [
        PublishedRecord(item.loaded.file, item.loaded.record.data)
        for item in checked
        if item.valid and item.loaded.record is not None
    ]
    published = [record for record in valid if is_published(record.data)]
    graph = build_graph(published)
    plan = plan_feeds(clean_articles(graph), config.entries_per_feed)
    files = publish(plan, config)
    with build_lock(config.output):
        write_tree(config.output, files)
    return BuildReport(
        records=len(checked),
        published=len(published),
        unpublished=len(valid) - len(published),
        skipped=tuple(item for item in checked if not item.valid),
        folder_problems=tuple(folder_problems),
        articles=len(graph),
        feeds=len(plan.feeds),
        files=tuple(sorted(files)),
        output=config.output,
    )
