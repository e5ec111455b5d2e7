"""Loading records: files on disk become plain data (or diagnostics), never exceptions.

A record is a text file whose YAML front matter describes one news article.  Parsing is done
once, on a fast path that keeps no positions; only a record that turns out to have problems is
parsed again (:class:`Locator`) to find the line and column of each offending value.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

from feeds.diagnostics import Diagnostic, Severity, format_field_path

if TYPE_CHECKING:
    import yaml

RECORD_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
MAX_RECORD_BYTES = 4 * 1024 * 1024
# A record of seed shape holds a few hundred values; these bounds stop alias "bombs" and
# self-referencing aliases long before they cost real time or memory.
MAX_VALUES = 200_000
MAX_DEPTH = 64

FieldPath = tuple[str | int, ...]
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# PyYAML is imported only when a record needs it (see :mod:`feeds.yamlfast`): importing it
# took a fifth of what ``feeds validate`` on one plainly written file takes.
@functools.cache
def _record_loader() -> type[yaml.SafeLoader]:
    import yaml  # noqa: PLC0415

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class RecordLoader(base):  # type: ignore[valid-type,misc]
        """Safe YAML without implicit timestamps.

        Dates stay the strings the publisher wrote, so one RFC 3339 check covers quoted
        and unquoted dates alike, and a date without a time zone is reported instead of
        being silently read as local time.
        """

        yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        has_duplicate_keys = False

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            # Noticing duplicates here is nearly free; finding where they are is left to
            # the slow path, which only runs for records that have them.
            keys = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
            if len(keys) != len(set(keys)):
                self.has_duplicate_keys = True
            return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    return RecordLoader


@functools.cache
def _placing_loader() -> type[yaml.SafeLoader]:
    """A loader for composing the node tree to find where fields are: every node gets the
    tag of its kind, since only marks and key text are looked at.  Resolving each scalar's
    tag tries regular expressions in Python: placing the problems of 166 invalid records
    took 0.173 s with it, 0.155 s without."""
    import yaml  # noqa: PLC0415

    tags = {
        yaml.ScalarNode: "tag:yaml.org,2002:str",
        yaml.SequenceNode: "tag:yaml.org,2002:seq",
        yaml.MappingNode: "tag:yaml.org,2002:map",
    }

    class PlacingLoader(_record_loader()):  # type: ignore[misc]
        def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
            return tags[kind]

    return PlacingLoader


def _load_yaml(text: str, *, fast: bool = True) -> tuple[Any, bool, bool]:
    """The data in ``text``, whether any mapping in it repeats a key, and whether the data
    is already plain (see :func:`feeds.yamlfast.load`); read by :mod:`feeds.yamlfast` when
    ``fast`` and it can, else by PyYAML (the two give the same data)."""
    if fast:
        # Imported when a record is first read: a build with nothing to do reads none.
        from feeds import yamlfast  # noqa: PLC0415

        loaded = yamlfast.load(text)
        if loaded is not None:  # read without error, so without duplicate keys
            data, already_plain = loaded
            return data, False, already_plain
    loader: Any = _record_loader()(text)  # a class made on first use: see _record_loader
    try:
        return loader.get_single_data(), loader.has_duplicate_keys, False
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem known by field path, before it is placed at a line and column."""

    path: FieldPath
    rule: str
    message: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed record: its front matter as plain JSON-like data, and its body."""

    file: str
    data: Mapping[str, Any]
    body: str
    front_matter: str = field(repr=False)
    first_line: int  # 0-based line of the file at which ``front_matter`` starts


@dataclass(frozen=True, slots=True)
class Loaded:
    """The outcome of reading one file: a record unless the file could not be read as one."""

    file: str
    record: Record | None
    diagnostics: tuple[Diagnostic, ...]


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Record files under ``paths``, in a stable order, and the folders that could not be read.

    A file named explicitly is taken whatever its suffix (pre-commit passes file names); in
    folders only record suffixes count, and hidden entries are skipped.
    """
    names, problems = discover_names(paths)
    return [Path(name) for name in names], problems


def discover_names(paths: Sequence[Path]) -> tuple[list[str], list[Diagnostic]]:
    """:func:`discover`, with each file named as :meth:`Path.as_posix` names it.  A build
    that finds nothing to do needs no :class:`Path` per file: making them took a tenth of it.
    """
    # By name: a build finds tens of thousands, and names are quicker to sort than paths.
    found: set[str] = set()
    problems: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found.update(_walk(path, problems))
        else:
            found.add(path.as_posix())
    return sorted(found), problems


def _walk(folder: Path, problems: list[Diagnostic]) -> Iterator[str]:
    """Record files under ``folder``, named as :meth:`Path.as_posix` names them."""

    def on_error(error: OSError) -> None:
        problems.append(
            Diagnostic(
                file=display_path(Path(error.filename or folder)),
                line=None,
                column=None,
                field="",
                rule="unreadable",
                message=f"cannot read folder: {error.strerror or error}",
            )
        )

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(root).as_posix()  # once per folder: "." and "./" are left out, as by Path
        prefix = "" if base == "." else base.rstrip("/") + "/"
        yield from [prefix + name for name in record_file_names(files)]


def record_file_names(names: Iterable[str]) -> list[str]:
    """The names among ``names`` (of files in one folder) that :func:`discover` takes: not
    hidden, with a record suffix in any case.  The suffix of such a name is what follows its
    last dot, as :func:`os.path.splitext` has it, taken here by slicing in one comprehension
    rather than with a call per file: listing 100,000 records took 0.14-0.15 s against
    0.19-0.25 s."""
    return [
        name
        for name in names
        if name[name.rfind(".") :].lower() in RECORD_SUFFIXES and not name.startswith(".")
    ]


def picked(paths: Sequence[Path], indexes: Sequence[int]) -> Sequence[Path]:
    """The files of ``paths`` at ``indexes``, in that order; of :class:`NamedFiles`, their
    names and labels only, no path made.  A cold build at 100,000 records made a path of
    every file to name it to its workers and to the cache: 37 MB of them, held through the
    scan by the build and by each worker it forked meanwhile."""
    if isinstance(paths, NamedFiles):
        names, labels = paths.names, paths.labels
        return NamedFiles([names[i] for i in indexes], [labels[i] for i in indexes])
    return [paths[i] for i in indexes]


def names_of(paths: Sequence[Path]) -> Sequence[str]:
    """The name of each of ``paths``, as ``str`` gives it; of :class:`NamedFiles`, with no
    path made (see :func:`picked`)."""
    return paths.names if isinstance(paths, NamedFiles) else [str(path) for path in paths]


def absolute_names(paths: Sequence[Path]) -> list[str]:
    """``str(path.absolute())`` of each path (the cache knows files by these), with the
    working folder asked for once rather than once per file."""
    prefix = str(Path.cwd()).rstrip("/") + "/"
    if isinstance(paths, NamedFiles) and os.sep == "/":  # the names are those of the paths
        return [name if name.startswith("/") else prefix + name for name in paths.names]
    return [str(path) if path.is_absolute() else prefix + str(path) for path in paths]


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working folder when inside it."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return str(path)
    return path.as_posix()


def display_names(names: Iterable[str]) -> list[str]:
    """:func:`display_path` of each of ``names`` (as :meth:`Path.as_posix` writes them), with
    the working folder asked for once rather than once per file."""
    prefix = Path.cwd().as_posix().rstrip("/") + "/"
    return [name[len(prefix) :] if name.startswith(prefix) else name for name in names]


class NamedFiles(Sequence[Path]):
    """Files by the names :func:`discover_names` gives them, each made a :class:`Path` only
    when asked for, with their :func:`display_names` worked out once: a build that reads a
    few of 100,000 files needs a few paths, and making them all, then their names again
    from them, took a twentieth of such a build."""

    def __init__(self, names: Sequence[str], labels: Sequence[str] | None = None) -> None:
        self.names = names
        self.labels = display_names(names) if labels is None else labels

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> Path: ...

    @overload
    def __getitem__(self, index: slice) -> NamedFiles: ...

    def __getitem__(self, index: int | slice) -> Path | NamedFiles:
        if isinstance(index, slice):
            return NamedFiles(self.names[index], self.labels[index])
        return Path(self.names[index])


def labels_of(paths: Sequence[Path]) -> Sequence[str]:
    """How messages name each of ``paths`` (:func:`display_path`)."""
    if isinstance(paths, NamedFiles):
        return paths.labels
    return display_names(path.as_posix() for path in paths)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, but no more than ``max_bytes + 1`` of them (one more than allowed
    tells a file that is too large).  ``OSError`` when it cannot be read.

    Asking for ``max_bytes + 1`` at once would allocate that much for every file; the size
    the file system gives is asked for instead, and the rest, should the file have grown.

    Only a regular file is read: a named pipe among the records would block the run for
    good (it is opened without waiting for a writer, then refused), and a device may never
    end."""
    return read_stated(path, max_bytes)[0]


def read_stated(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result, int]:
    """:func:`read_bounded`, with the stat data of the file and when they were taken
    (nanoseconds since the epoch), before its bytes were read: what the cache knows the
    file again by (:func:`feeds.cache.settled`).  Taken from the file opened, they are of
    the very file read, and its path is looked up once: stating each record by its path
    first took 10-15 us more of the 300-400 us that checking it takes."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        observed = time.time_ns()
        state = os.fstat(handle)
        if not stat.S_ISREG(state.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        wanted = min(state.st_size, max_bytes) + 1
        raw = _read_at_most(handle, wanted)
        if len(raw) == wanted <= max_bytes:
            raw += _read_at_most(handle, max_bytes + 1 - wanted)
    finally:
        os.close(handle)
    return raw, state, observed


def _read_at_most(handle: int, count: int) -> bytes:
    """Up to ``count`` bytes, fewer only at the end of the file."""
    raw = os.read(handle, count)
    while raw and len(raw) < count:
        more = os.read(handle, count - len(raw))
        if not more:
            break
        raw += more
    return raw


def read_record(path: Path, max_bytes: int = MAX_RECORD_BYTES) -> Loaded:
    """Read one file from disk; every failure becomes a diagnostic naming the file."""
    label = display_path(path)
    try:
        raw = read_bounded(path, max_bytes)
    except OSError as error:
        return _failed(label, "unreadable", f"cannot read file: {error.strerror or error}")
    if len(raw) > max_bytes:
        return _failed(
            label, "too-large", f"file is larger than {max_bytes:,} bytes; a record is far smaller"
        )
    return parse_record(label, raw)


# python-frontmatter's ``YAMLHandler.FM_BOUNDARY``, written out: importing python-frontmatter
# imports PyYAML, which a plainly written record does not need.  tests/test_records.py
# checks that the two are the same.
FRONT_MATTER_BOUNDARY = re.compile(r"^-{3,}\s*$", re.MULTILINE)


def closing_boundary(text: str, start: int) -> re.Match[str] | None:
    """``FRONT_MATTER_BOUNDARY.search(text, start)``: the first ``---`` line at or after
    ``start``.

    The search tries the pattern at every character of the front matter, which took longer
    than checking the rest of a record; only the starts of lines that begin with ``---``
    are tried here."""
    position = start
    while True:
        if position == 0 or text[position - 1] == "\n":
            found = FRONT_MATTER_BOUNDARY.match(text, position)
            if found is not None:
                return found
        newline = text.find("\n---", position)
        if newline < 0:
            return None
        position = newline + 1


def _front_matter(text: str, opening: re.Match[str], closing: re.Match[str]) -> tuple[str, int]:
    """The front matter between the ``opening`` and ``closing`` lines of ``text``, and the
    0-based line of the file it starts at."""
    return text[opening.end() : closing.start()], text.count("\n", 0, opening.end())


def parse_record(file: str, raw: bytes, *, fast: bool = True) -> Loaded:
    """Turn a file's bytes into a record, or into diagnostics that say why it is not one.
    ``fast``: try the fast YAML reader first (see :data:`feeds.scan.FAST_YAML_MIN_FILES`)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return _failed(
            file,
            "encoding",
            f"byte 0x{raw[error.start]:02x} is not valid UTF-8; save the file as UTF-8",
            line,
            column,
        )
    if not text.strip():
        return _failed(file, "front-matter", "file is empty; a record needs YAML front matter")

    opening = FRONT_MATTER_BOUNDARY.match(text)
    if opening is None:
        return _failed(
            file,
            "front-matter",
            "no front matter: a record starts with a '---' line, then YAML fields, then '---'",
            1,
            1,
        )
    closing = closing_boundary(text, opening.end())
    if closing is None:
        return _failed(
            file, "front-matter", "front matter is not closed: add a '---' line after it", 1, 1
        )
    front_matter, first_line = _front_matter(text, opening, closing)
    body = text[closing.end() :].lstrip("\r\n")

    try:
        data, has_duplicate_keys, already_plain = _load_yaml(front_matter, fast=fast)
    except Exception as error:  # what PyYAML refused, told apart there; others go on up
        return _unreadable(file, front_matter, first_line, error)

    if data is None:
        return _failed(file, "front-matter", "front matter is empty", first_line + 1, 1)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return _failed(
            file,
            "front-matter",
            f"front matter is {kind}; it must be a mapping of field names to values",
            first_line + 2,
            1,
        )

    findings: list[Finding] = []
    plain = data if already_plain else _to_plain(data, (), findings, _Budget())
    record = Record(file, plain, body, front_matter, first_line)
    if not findings and not has_duplicate_keys:
        return Loaded(file, record, ())
    locator = Locator(record)  # composes the node tree once, for every finding
    if any(finding.rule == "too-large" for finding in findings):
        # Nothing of the data was kept; checking it further would only report it missing.
        return Loaded(file, None, locator.place(findings))
    if has_duplicate_keys:
        findings.extend(_duplicate_keys(locator))
    return Loaded(file, record, locator.place(findings))


def _unreadable(file: str, front_matter: str, first_line: int, error: Exception) -> Loaded:
    """What is wrong with ``front_matter``, which PyYAML could not read (``error``).  An
    error of any other kind is raised again."""
    import yaml  # noqa: PLC0415 - PyYAML raised ``error``: it is imported already

    if isinstance(error, yaml.reader.ReaderError):
        # A character YAML refuses, raw in the text.  libyaml counts ``position`` in bytes,
        # PyYAML in characters; the first such character is the one refused either way.
        start = front_matter.find(chr(error.character))
        if start < 0:
            start = min(max(error.position, 0), len(front_matter))
        line, column = _place(front_matter, first_line, start)
        return _failed(
            file,
            "control-character",
            f"contains the character U+{error.character:04X}, which YAML does not allow; remove it",
            line,
            column,
        )
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or str(error)
        if error.context and error.problem:
            # What PyYAML was reading says where to look: "while scanning a simple key" on
            # the line before "could not find expected ':'", the first of two anchors.
            context, at = error.context, error.context_mark
            if at is not None and mark is not None and at.line != mark.line:
                context = f"{context} at line {first_line + at.line + 1}"
            problem = f"{context}: {problem}"
        if mark is None:
            return _failed(file, "yaml", f"invalid YAML: {problem}", first_line + 1, 1)
        return _failed(
            file, "yaml", f"invalid YAML: {problem}", first_line + mark.line + 1, mark.column + 1
        )
    if isinstance(error, ValueError) and (long := _long_number(front_matter)) is not None:
        line, column = _place(front_matter, first_line, long.start())
        return _failed(
            file,
            "yaml",
            f"invalid YAML: a number of {len(long.group())} digits is too long to read; "
            "quote it if it is text",
            line,
            column,
        )
    if isinstance(error, yaml.YAMLError | RecursionError | ValueError | TypeError | OverflowError):
        return _failed(file, "yaml", f"invalid YAML: {error}", first_line + 1, 1)
    if isinstance(error, AttributeError):  # PyYAML on ``!!timestamp`` text that is no date at all
        return _failed(
            file, "yaml", "invalid YAML: a !!timestamp that is not a date", first_line + 1, 1
        )
    raise error


def _place(front_matter: str, first_line: int, offset: int) -> tuple[int, int]:
    """The line and column in the file of ``offset`` in ``front_matter``, which starts
    after line ``first_line``."""
    line = first_line + front_matter.count("\n", 0, offset) + 1
    return line, offset - (front_matter.rfind("\n", 0, offset) + 1) + 1


def _long_number(text: str) -> re.Match[str] | None:
    """The first run of digits in ``text`` longer than Python converts to an integer (it
    refuses, against attacks on its quadratic conversion): YAML reads one as a number."""
    limit = sys.get_int_max_str_digits()  # 0: no limit
    return re.search(rf"\d{{{limit + 1},}}", text) if limit else None


def _failed(
    file: str, rule: str, message: str, line: int | None = None, column: int | None = None
) -> Loaded:
    return Loaded(file, None, (Diagnostic(file, line, column, "", rule, message),))


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_VALUES


class _TooLarge(Exception):
    pass


def _to_plain(value: Any, path: FieldPath, findings: list[Finding], budget: _Budget) -> Any:
    """Copy YAML data into JSON-shaped data, reporting what JSON cannot hold.

    The copy is bounded, so aliases that expand to millions of values (or to themselves)
    are reported instead of exhausting memory.
    """
    try:
        return _plain_value(value, path, findings, budget)
    except _TooLarge:
        findings.clear()
        findings.append(
            Finding(
                (),
                "too-large",
                f"front matter expands to more than {MAX_VALUES:,} values or nests deeper than "
                f"{MAX_DEPTH} levels (YAML aliases?)",
            )
        )
        return {}


def _plain_value(value: Any, path: FieldPath, findings: list[Finding], budget: _Budget) -> Any:
    budget.left -= 1
    if budget.left < 0 or len(path) > MAX_DEPTH:
        raise _TooLarge
    if isinstance(value, str):
        bad = first_xml_illegal(value)
        if bad is not None:
            findings.append(
                Finding(
                    path,
                    "control-character",
                    f"contains the control character U+{ord(bad):04X}, which feeds cannot carry",
                )
            )
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                findings.append(
                    Finding(
                        (*path, str(key)),
                        "key-type",
                        f"field name {key!r} is not text; quote it",
                    )
                )
                continue
            plain[key] = _plain_value(item, (*path, key), findings, budget)
        return plain
    if isinstance(value, list):
        return [_plain_value(item, (*path, i), findings, budget) for i, item in enumerate(value)]
    if isinstance(value, datetime | date):  # only from an explicit !!timestamp tag
        return value.isoformat()
    findings.append(
        Finding(path, "type", f"a YAML {type(value).__name__} cannot be used in a record")
    )
    return None


_XML_ILLEGAL = frozenset([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])


def first_xml_illegal(text: str) -> str | None:
    """The first character XML 1.0 cannot carry, if any (surrogates included)."""
    if text.isprintable():
        return None
    for ch in text:
        code = ord(ch)
        if code in _XML_ILLEGAL or 0xD800 <= code <= 0xDFFF:
            return ch
    return None


def _duplicate_keys(locator: Locator) -> Iterator[Finding]:
    """PyYAML keeps the last of two equal keys and drops the first without a word: data loss."""
    for path, key, first in locator.duplicates():
        yield Finding(
            (*path, key),
            "duplicate-key",
            f"field {key!r} appears twice (first at line {first}); the first value would be lost",
        )


def _without_front_matter(file: str) -> Record:
    """A record of ``file`` with no front matter and no data, for a file that holds none:
    a locator places every finding in it at its first line."""
    return Record(file, {}, "", "", 0)


class Locator:
    """Finds where a field path sits in the file, by composing the YAML node tree once.

    ``quick``: a top-level field is placed from the lines of the front matter when the
    fast reader's gate takes them (:func:`feeds.yamlfast.top_level_place`), without
    composing its YAML; for runs of many files, as loading the gate takes 30 ms."""

    def __init__(self, record: Record, *, quick: bool = False) -> None:
        self._record: Record | None = record
        self._raw = b""
        self.file = record.file
        self.front_matter = record.front_matter
        self.first_line = record.first_line
        self._root: yaml.Node | None = None
        self._composed = False
        self._quick = quick

    @classmethod
    def of_file(cls, file: str, raw: bytes, *, quick: bool = False) -> Locator:
        """A locator for the bytes ``raw`` of ``file``, read again to place what the checks
        across records found in it.  Placing needs the text of its front matter only: the
        record's data is read from it when asked for (:attr:`record`), as reading it took
        nearly half of the 1 ms that placing a finding in a seed-sized file took.
        ``quick`` as for the class."""
        locator = cls(_without_front_matter(file), quick=quick)  # until one is found
        locator._record, locator._raw = None, raw
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return locator
        opening = FRONT_MATTER_BOUNDARY.match(text)
        closing = None if opening is None else closing_boundary(text, opening.end())
        if opening is not None and closing is not None:
            locator.front_matter, locator.first_line = _front_matter(text, opening, closing)
        return locator

    @property
    def record(self) -> Record:
        """The record the located file holds (one without data where it holds none)."""
        if self._record is None:
            record = parse_record(self.file, self._raw).record
            self._record = record or _without_front_matter(self.file)
            self._raw = b""
        return self._record

    @property
    def root(self) -> yaml.Node | None:
        if not self._composed:
            import yaml  # noqa: PLC0415 - only records with problems are placed

            self._composed = True
            try:
                self._root = yaml.compose(self.front_matter, Loader=_placing_loader())
            except (yaml.YAMLError, RecursionError):
                self._root = None
        return self._root

    def position(self, path: FieldPath) -> tuple[int, int]:
        """Line and column (1-based, in the file) of the value at ``path``, or of the nearest
        enclosing value that exists (a missing field is reported at its parent)."""
        if self._quick and len(path) == 1 and isinstance(path[0], str) and not self._composed:
            from feeds import yamlfast  # noqa: PLC0415 - as in _load_yaml

            place = yamlfast.top_level_place(self.front_matter, path[0])
            if place is not None:  # found without composing the whole tree
                return self.first_line + place[0] + 1, place[1] + 1
        import yaml  # noqa: PLC0415 - as in root

        node = self.root
        mark = node.start_mark if node is not None else None
        for part in path:
            child = _child(node, part) if node is not None else None
            if child is None:
                break
            key_node, node = child
            # A scalar is shown where its value starts; a nested block by its key.
            scalar = isinstance(node, yaml.ScalarNode)
            mark = node.start_mark if scalar or key_node is None else key_node.start_mark
        if mark is None:
            return self.first_line + 1, 1
        return self.first_line + mark.line + 1, mark.column + 1

    def place(self, findings: Iterable[Finding]) -> tuple[Diagnostic, ...]:
        return _placed(self.file, findings, self.position)

    def duplicates(self) -> Iterator[tuple[FieldPath, str, int]]:
        """Every key that appears twice in one mapping: its path, the key, its first line."""
        import yaml  # noqa: PLC0415 - as in root

        stack: list[tuple[yaml.Node, FieldPath]] = []
        if self.root is not None:
            stack.append((self.root, ()))
        seen_nodes: set[int] = set()
        while stack:
            node, path = stack.pop()
            if id(node) in seen_nodes:  # aliases share nodes
                continue
            seen_nodes.add(id(node))
            if isinstance(node, yaml.MappingNode):
                first_seen: dict[str, int] = {}
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                        key = key_node.value
                        if key in first_seen:
                            yield path, key, first_seen[key]
                        else:
                            first_seen[key] = self.first_line + key_node.start_mark.line + 1
                        stack.append((value_node, (*path, key)))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, (*path, i)) for i, item in enumerate(node.value))


def _placed(
    file: str, findings: Iterable[Finding], position: Callable[[FieldPath], tuple[int, int]]
) -> tuple[Diagnostic, ...]:
    out = []
    for finding in findings:
        line, column = position(finding.path)
        out.append(
            Diagnostic(
                file,
                line,
                column,
                format_field_path(finding.path),
                finding.rule,
                finding.message,
                finding.severity,
            )
        )
    return tuple(out)


class Placer(Protocol):
    """What places findings in one file: a :class:`Locator`, or :class:`KnownPlaces`."""

    @property
    def record(self) -> Record: ...

    def position(self, path: FieldPath) -> tuple[int, int]: ...

    def place(self, findings: Iterable[Finding]) -> tuple[Diagnostic, ...]: ...


class KnownPlaces:
    """Places findings in one file by the places found before in the same content, and
    reads the file (once) only for a place not among those.

    What the checks across records find in a file depends on other files, so it is found
    again each run; where a field sits depends on the file's content alone.  Reading a file
    and composing its YAML to place its findings took 2 to 3 ms, each run, for each file in
    which a check across records finds something: with 845 such files among 10,000, a build
    after one record changed took 3.2-4.1 s, against 1.4 s when they are placed from here.

    ``known`` and :attr:`found` hold places by field, as reported (``related[0].title``):
    the checks that need them name fields of records only.  ``locate`` reads the file; it
    says too whether the file still holds the content whose places are kept (it may have
    changed since it was checked): only then are new places kept."""

    def __init__(
        self,
        file: str,
        known: Mapping[str, tuple[int, int]],
        locate: Callable[[], tuple[Locator, bool]],
    ) -> None:
        self.file = file
        self.found: dict[str, tuple[int, int]] = {}  # places not known before, to keep
        self._known = dict(known)
        self._locate = locate
        self._located: tuple[Locator, bool] | None = None

    @property
    def _locator(self) -> tuple[Locator, bool]:
        if self._located is None:
            self._located = self._locate()
        return self._located

    @property
    def record(self) -> Record:
        return self._locator[0].record

    def position(self, path: FieldPath) -> tuple[int, int]:
        key = format_field_path(path)
        found = self._known.get(key)
        if found is None:
            locator, same = self._locator
            found = self._known[key] = locator.position(path)
            if same:
                self.found[key] = found
        return found

    def place(self, findings: Iterable[Finding]) -> tuple[Diagnostic, ...]:
        """Place ``findings``, then let go of the file read to place them (it is read again
        if more are placed): its YAML tree is the size of a few hundred kilobytes, and
        builds place findings in hundreds of files."""
        placed = _placed(self.file, findings, self.position)
        self._located = None
        return placed


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    import yaml  # noqa: PLC0415 - as in Locator.root

    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in reversed(node.value):  # the last of equal keys wins
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None
