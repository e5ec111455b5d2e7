"""The ``feeds`` command: a thin shell over :mod:`feeds.api`.

Exit codes: 0 success, 1 invalid records (or, for ``build``, a failed build, or skipped
records with ``--strict``), 2 usage errors such as a path that does not exist.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from feeds import __version__

if TYPE_CHECKING:
    from feeds.config import Config

EXIT_INVALID = 1
EXIT_USAGE = 2

_Command = TypeVar("_Command", bound=Callable[..., Any])


def _cache_options(command: _Command) -> _Command:
    command = click.option(
        "--no-cache", is_flag=True, help="Check every file again; read and write no cache."
    )(command)
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Cache of files already checked [default: .feeds-cache].",
    )(command)


@contextmanager
def _cache_warnings() -> Iterator[None]:
    """A cache that cannot be used is worth one line, not a traceback nor a failure.

    Other warnings are shown as Python shows them, once the warnings caught are no longer
    recorded: shown while they were, each was recorded again, among those being shown, and
    a single warning from a library made a command fill the memory of the machine.  Which
    are caught is left to the filters in force, as a ``-W`` option sets them: those of
    libraries that Python hides are hidden.  Those of feeds itself (the cache's) are always
    caught, whatever the filters: ``PYTHONWARNINGS=error`` made an unusable cache a
    traceback, and ``ignore`` hid it."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.filterwarnings("always", category=UserWarning, module=r"feeds(\.|$)")
            caught = recorded  # filled as warnings come, until the block is left
            yield
    finally:
        if caught:
            from feeds.cache import CacheWarning  # only now: it imports SQLite

            for warning in caught:
                if issubclass(warning.category, CacheWarning):
                    click.echo(f"warning: {warning.message}", err=True)
                else:
                    warnings.showwarning(
                        warning.message,
                        warning.category,
                        warning.filename,
                        warning.lineno,
                        warning.file,
                        warning.line,
                    )


def run() -> None:
    """The ``feeds`` command, as a process that ends with it.

    The process ends without freeing what the command made (:func:`os._exit`): the
    system takes all of it back at once, where freeing it object by object took a
    twentieth of a build that changed one record of 100,000 (see
    :func:`feeds.api.leave_to_exit`).  Only output needs flushing first; an error that
    is not an exit still ends the usual way, with its traceback."""
    from feeds.api import leave_to_exit

    leave_to_exit()
    try:
        main()
        code = 0
    except SystemExit as done:
        code = _exit_code(done)
    for stream in (sys.stdout, sys.stderr):
        if not _flushed(stream):  # what was to be said there is lost
            code = code or EXIT_INVALID
    os._exit(code)


def _flushed(stream: TextIO | None) -> bool:
    """Whether what was written to ``stream`` went out: not to a closed pipe or stream, nor
    to none at all (Python starts without one for a descriptor closed before it started)."""
    if stream is None:
        return False
    try:
        stream.flush()
    except (OSError, ValueError):
        return False
    return True


def _exit_code(done: SystemExit) -> int:
    """The status :class:`SystemExit` ends a process with, its message said as Python does."""
    if done.code is None:
        return 0
    if isinstance(done.code, int):
        return done.code
    click.echo(done.code, err=True)
    return 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feeds")
def main() -> None:
    """Turn a folder of news records into Atom and RSS feeds, guarded by a schema."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=True, path_type=Path))
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON Schema (YAML) to check against [default: schemas/record.yaml, else built in].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for annotations in GitHub Actions.",
)
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
@_cache_options
def validate(
    paths: tuple[Path, ...],
    *,
    schema_path: Path | None,
    output_format: str,
    strict: bool,
    no_cache: bool,
    cache_dir: Path | None,
) -> None:
    """Check records against the schema and report every problem.

    PATHS are record files or folders of them (.md, .markdown, .txt) [default: seeds].
    Exit code 0 when there are no errors (warnings alone pass unless --strict), 1 otherwise.
    """
    from feeds.api import validate as run_validate
    from feeds.progress import for_terminal
    from feeds.report import Summary, as_json, github_lines, text_lines

    # The settings are read once, and only when asked for: a run given its paths, schema
    # and no cache never reads them.
    project = functools.cache(_project_config)
    cache = None if no_cache else cache_dir or project().cache
    schema = _schema(schema_path, project, cache)
    targets = list(paths) or [_default_source(project)]
    with _cache_warnings():
        report = run_validate(targets, schema, cache=cache, progress=for_terminal())
    if strict:
        report = report.strict()
    summary = Summary(
        len(report.files), report.invalid_files, report.errors, report.warnings, strict
    )
    if output_format == "json":
        click.echo(as_json(report.diagnostics, summary))
    else:
        lines = github_lines if output_format == "github" else text_lines
        for line in lines(report.diagnostics):
            click.echo(line)
    click.echo(summary.sentence(), err=True)
    if not summary.valid:
        raise SystemExit(EXIT_INVALID)


@main.command()
@click.option(
    "--source",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of records [default: seeds].",
)
@click.option(
    "--out",
    "output",
    type=click.Path(path_type=Path),
    help="Output folder, replaced as a whole [default: out].",
)
@click.option("--base-url", help="Absolute URL the output folder is served from.")
@click.option("--title", help="Site title, used in feed titles.")
@click.option(
    "--entries",
    "entries_per_feed",
    type=click.IntRange(1, 10_000),
    help="Newest entries per feed [default: 50].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Settings file [default: feeds.toml or pyproject.toml].",
)
@click.option("--strict", is_flag=True, help="Exit 1 when any record was skipped.")
@_cache_options
def build(strict: bool, config_file: Path | None, no_cache: bool, **overrides: Any) -> None:
    """Publish Atom and RSS feeds per topic and per provider, plus one with everything."""
    from dataclasses import replace

    from feeds.api import SourceError, check_output
    from feeds.api import build as run_build
    from feeds.config import ConfigError, load_config
    from feeds.output import OutputError, OutputRefused
    from feeds.progress import for_terminal
    from feeds.records import display_path
    from feeds.report import plural
    from feeds.schema import SchemaError, load_schema

    overrides["cache"] = overrides.pop("cache_dir")
    try:
        config = load_config(Path.cwd(), config_file, **overrides)
        if no_cache:
            config = replace(config, cache=None)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    try:
        check_output(config)  # before the schema is read, and kept in the cache folder
        try:
            schema = load_schema(config.schema, cache=config.cache)
        except SchemaError as error:
            raise click.UsageError(str(error)) from error
        with _cache_warnings():
            report = run_build(config, schema, progress=for_terminal())
    except (OutputError, SourceError) as error:
        # A refused folder is not an output yet, and may be the publisher's own.
        if isinstance(error, OutputRefused):
            unchanged = "nothing was written"
        else:
            unchanged = "the previous output is unchanged"
        click.echo(f"error: {error}; {unchanged}", err=True)
        raise SystemExit(EXIT_INVALID) from error

    for problem in report.folder_problems:
        click.echo(f"warning: {problem.format()}", err=True)
    for warning in report.warnings:
        click.echo(warning.format(), err=True)
    for item in report.skipped:
        first = item.diagnostics[0]
        more = len(item.diagnostics) - 1
        extra = f" (and {plural(more, 'more problem')})" if more else ""
        click.echo(f"skipped {first.format()}{extra}", err=True)

    done = "Up to date, nothing written:" if report.unchanged else "Wrote"
    where = "in" if report.unchanged else "to"
    summary = (
        f"{done} {plural(report.feeds, 'feed')} ({plural(len(report.files), 'file')}) {where} "
        f"{display_path(report.output)}/: {plural(report.articles, 'article')} from "
        f"{plural(report.published, 'published record')}"
    )
    notes = []
    if report.unpublished:
        notes.append(f"{report.unpublished} unpublished")
    if report.skipped:
        notes.append(f"{len(report.skipped)} invalid, skipped")
    click.echo(summary + (f" ({', '.join(notes)})." if notes else "."))
    if strict and (report.skipped or report.folder_problems):
        raise SystemExit(EXIT_INVALID)


def _project_config() -> Config:
    """The settings of the project in the working folder; bad ones are a usage error."""
    from feeds.config import ConfigError, load_config

    try:
        return load_config(Path.cwd())
    except ConfigError as error:
        raise click.UsageError(str(error)) from error


def _default_source(project: Callable[[], Config]) -> Path:
    source = project().source
    if not source.exists():
        raise click.UsageError(f"no PATHS given and the default folder {source} does not exist")
    return source


def _schema(path: Path | None, project: Callable[[], Config], cache: Path | None) -> Any:
    from feeds.schema import SchemaError, load_schema

    try:
        return load_schema(project().schema if path is None else path, cache=cache)
    except SchemaError as error:
        raise click.UsageError(str(error)) from error
