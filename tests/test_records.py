"""Loading records: every kind of bad file becomes a diagnostic that names it, never a crash."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from frontmatter.default_handlers import YAMLHandler
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds import records, yamlfast
from feeds.records import (
    FRONT_MATTER_BOUNDARY,
    MAX_RECORD_BYTES,
    RECORD_SUFFIXES,
    NamedFiles,
    absolute_names,
    closing_boundary,
    discover,
    discover_names,
    display_names,
    display_path,
    labels_of,
    names_of,
    parse_record,
    picked,
    read_bounded,
    read_record,
    read_stated,
    record_file_names,
)
from tests.conftest import SEEDS, RecordFactory, record_data, record_text
from tests.corpus import write_corpus

yamlfast_load = yamlfast.load


def only_problem(raw: bytes) -> tuple[int | None, int | None, str, str]:
    loaded = parse_record("r.md", raw)
    assert len(loaded.diagnostics) == 1, loaded.diagnostics
    d = loaded.diagnostics[0]
    assert d.file == "r.md"
    return d.line, d.column, d.rule, d.message


def test_seeds_with_front_matter_load() -> None:
    for name in ["000_1f48a30587e22eab.txt", "003_12ead75e1d8571b3.txt"]:
        loaded = read_record(SEEDS / name)
        assert loaded.record is not None and not loaded.diagnostics
        assert loaded.record.data["provider"]["domain"] in {"venturebeat.com", "neowin.net"}
        # Dates stay text: the schema checks them as RFC 3339 whatever YAML would make of them.
        assert isinstance(loaded.record.data["publishedDateTime"], str)


def test_seed_without_front_matter_is_reported() -> None:
    loaded = read_record(SEEDS / "004_0896647a9e7e4cea.txt")
    assert loaded.record is None
    (d,) = loaded.diagnostics
    assert (d.line, d.rule) == (1, "front-matter")
    assert "no front matter" in d.message


def test_byte_order_mark_and_crlf_are_fine() -> None:
    text = record_text(record_data()).replace("\n", "\r\n")
    loaded = parse_record("r.md", b"\xef\xbb\xbf" + text.encode())
    assert loaded.record is not None and not loaded.diagnostics
    assert loaded.record.data["title"] == "A valid article"
    assert loaded.record.body == "Body text.\r\n"


def test_body_is_optional() -> None:
    loaded = parse_record("r.md", b"---\ntitle: x\n---\n")
    assert loaded.record is not None and loaded.record.body == ""


@pytest.mark.parametrize(
    ("raw", "rule", "words"),
    [
        (b"", "front-matter", "empty"),
        (b"  \n\n", "front-matter", "empty"),
        (b"title: no fences\n", "front-matter", "no front matter"),
        (b"---\ntitle: x\n", "front-matter", "not closed"),
        (b"---\n---\nbody", "front-matter", "empty"),
        (b"---\n- a\n- b\n---\n", "front-matter", "a list"),
        (b"---\njust a string\n---\n", "front-matter", "a single value"),
        (b"---\ntitle: [unclosed\n---\n", "yaml", "invalid YAML"),
        (b"---\ntitle: x\n  bad: indent\n---\n", "yaml", "invalid YAML"),
        (b'---\ntitle: "\x01"\n---\n', "control-character", "U+0001"),
        (b"---\ntitle: caf\xe9\n---\n", "encoding", "not valid UTF-8"),
        (b"---\ntitle: !!python/object:os.system x\n---\n", "yaml", "invalid YAML"),
    ],
)
def test_bad_files_get_one_clear_diagnostic(raw: bytes, rule: str, words: str) -> None:
    _line, _column, got_rule, message = only_problem(raw)
    assert got_rule == rule
    assert words in message


def test_yaml_error_points_into_the_file() -> None:
    line, column, _rule, _message = only_problem(b"---\na: 1\nb: [x\nc: 3\n---\n")
    assert line is not None and line >= 3
    assert column is not None


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        # The key missing its colon is on line 3; PyYAML notices on line 4.
        (
            b"---\na: b\nc\nd: e\n---\n",
            (4, 1),
            "invalid YAML: while scanning a simple key at line 3: could not find expected ':'",
        ),
        # The first of two anchors of one name (libyaml leaves the name out, PyYAML not).
        (
            b"---\na: &x 1\nb:\n  c: &x 2\n---\n",
            (4, 6),
            "invalid YAML: found duplicate anchor( 'x')?; first occurrence at line 2: second "
            "occurrence",
        ),
        # A quote left open on line 2 runs to the end of the front matter.
        (
            b'---\na: "x\nb: 1\n---\n',
            (4, 1),
            "invalid YAML: while scanning a quoted scalar at line 2: found unexpected end",
        ),
        # An integer longer than Python converts, a whole front matter's worth of digits.
        (
            b"---\na: 1\nquality: " + b"9" * 5000 + b"\n---\n",
            (3, 10),
            "invalid YAML: a number of 5000 digits is too long to read; quote it if it is text",
        ),
        # Both on one line: no line to add.
        (
            b"---\na: &\n---\n",
            (2, 5),
            "invalid YAML: while scanning an anchor: (did not find )?expected alphabetic",
        ),
    ],
)
def test_yaml_errors_say_what_was_being_read_and_where(
    raw: bytes, where: tuple[int, int], message: str
) -> None:
    """PyYAML's context, with its own line where that is another."""
    line, column, _rule, got = only_problem(raw)
    assert (line, column) == where
    assert re.match(message, got), got


def test_encoding_error_points_at_the_byte() -> None:
    line, column, _rule, message = only_problem(b"---\ntitle: ok\nexcerpt: caf\xe9\n---\n")
    assert (line, column) == (3, 13)
    assert "0xe9" in message


def test_duplicate_keys_are_errors_with_both_lines() -> None:
    raw = b"---\ntitle: one\nprovider:\n  name: A\n  name: B\ntitle: two\n---\n"
    loaded = parse_record("r.md", raw)
    found = {(d.field, d.rule, d.line) for d in loaded.diagnostics}
    assert ("title", "duplicate-key", 6) in found
    assert ("provider.name", "duplicate-key", 5) in found
    messages = " ".join(d.message for d in loaded.diagnostics)
    assert "first at line 2" in messages and "first at line 4" in messages


def test_merge_keys_are_not_duplicates() -> None:
    raw = b"---\nbase: &b {name: A, domain: a.com}\nprovider:\n  <<: *b\n  name: B\n---\n"
    loaded = parse_record("r.md", raw)
    assert loaded.record is not None and not loaded.diagnostics
    assert loaded.record.data["provider"] == {"name": "B", "domain": "a.com"}


def test_alias_bomb_is_bounded() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    raw = ("---\n" + "\n".join(lines) + "\n---\n").encode()
    _line, _column, rule, message = only_problem(raw)
    assert rule == "too-large"
    assert "aliases" in message


def test_self_referencing_alias_is_bounded() -> None:
    _line, _column, rule, _message = only_problem(b"---\na: &a [*a]\n---\n")
    assert rule == "too-large"


def test_escaped_control_characters_are_reported_with_their_field() -> None:
    loaded = parse_record("r.md", b'---\ntitle: ok\nexcerpt: "bell \\a here"\n---\n')
    (d,) = loaded.diagnostics
    assert (d.field, d.rule, d.line) == ("excerpt", "control-character", 3)
    assert "U+0007" in d.message


@pytest.mark.parametrize("loader", ["libyaml", "pure"])
def test_raw_control_characters_point_at_themselves(
    loader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if loader == "pure":  # PyYAML counts positions in characters, libyaml in bytes
        monkeypatch.setattr(records, "_load_yaml", pure_yaml)
    raw = "---\na: café\nb: x \x07 y\n---\n".encode()
    assert only_problem(raw) == (
        3,
        6,
        "control-character",
        "contains the character U+0007, which YAML does not allow; remove it",
    )


def pure_yaml(text: str, *, fast: bool = True) -> tuple[Any, bool]:
    return yaml.load(text, Loader=yaml.SafeLoader), False


def test_non_text_keys_are_reported() -> None:
    loaded = parse_record("r.md", b"---\ntitle: ok\n1: one\n---\n")
    assert [d.rule for d in loaded.diagnostics] == ["key-type"]


def test_huge_file_is_refused_without_reading_it_all(write_record: RecordFactory) -> None:
    path = write_record("huge.md", b"---\ntitle: x\n---\n" + b"x" * (MAX_RECORD_BYTES + 10))
    loaded = read_record(path)
    assert loaded.record is None
    assert loaded.diagnostics[0].rule == "too-large"


def test_unreadable_file(tmp_path: Path) -> None:
    # A folder where a file is expected fails to open as root too.
    loaded = read_record(tmp_path)
    assert loaded.record is None
    assert loaded.diagnostics[0].rule == "unreadable"
    assert "cannot read file" in loaded.diagnostics[0].message


def test_discover_finds_record_suffixes_in_order(tmp_path: Path) -> None:
    for name in ["b.md", "a.txt", "c.markdown", "d.MD", "skip.json", ".hidden.md"]:
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.md").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "f.md").write_text("x")
    found, problems = discover([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.txt",
        "b.md",
        "c.markdown",
        "d.MD",
        "sub/e.md",
    ]
    assert problems == []


def splitext_suffix(name: str) -> str:
    return os.path.splitext(name)[1]  # noqa: PTH122 - the rule itself, as the reference


@example(["a.x.md", "x.md.bak", "md", "file.", "a..txt", "b.Markdown", ".md", "..md", "x.MD"])
@given(st.lists(st.text(alphabet=".mdtxarkneMDTXİ", min_size=1, max_size=12), max_size=20))
def test_record_file_names_take_the_suffix_splitext_gives(names: list[str]) -> None:
    """Names with no dot, several dots, a dot at the end, or a suffix whose lower case is
    longer (``İ``): the same names as :func:`os.path.splitext` picks, in order."""
    expected = [
        name
        for name in names
        if not name.startswith(".") and splitext_suffix(name).lower() in RECORD_SUFFIXES
    ]
    assert record_file_names(names) == expected


def test_discover_takes_named_files_whatever_their_suffix(tmp_path: Path) -> None:
    named = tmp_path / "record.yaml"
    named.write_text("x")
    found, _ = discover([named, named])
    assert found == [named]


@pytest.mark.parametrize("where", ["relative", "absolute", "outside"])
def test_names_are_shown_as_display_path_shows_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    project = tmp_path / "project"
    for folder in [project / "records", project / "records" / "sub", tmp_path / "elsewhere"]:
        folder.mkdir(parents=True)
        for name in ["a.md", "b.txt"]:
            (folder / name).write_text("x")
    monkeypatch.chdir(project)
    source = {
        "relative": Path("records"),
        "absolute": project / "records",
        "outside": tmp_path / "elsewhere",
    }[where]
    paths, _ = discover([source])
    names, _ = discover_names([source])
    assert [Path(name) for name in names] == paths
    assert display_names(names) == [display_path(path) for path in paths]
    assert display_names(names)[0] == {"outside": paths[0].as_posix()}.get(where, "records/a.md")
    files = NamedFiles(names)
    assert list(files) == paths
    assert files.labels == labels_of(files) == labels_of(paths) == display_names(names)
    assert absolute_names(files) == absolute_names(paths) == [str(p.absolute()) for p in paths]
    assert isinstance(files[1:], NamedFiles)
    assert list(files[1:]) == paths[1:]
    assert files[1:].labels == files.labels[1:]
    some = picked(files, [1, 0])
    assert isinstance(some, NamedFiles)  # names picked, no path made
    assert list(some) == list(picked(paths, [1, 0])) == [paths[1], paths[0]]
    assert some.labels == labels_of(picked(paths, [1, 0])) == [files.labels[i] for i in (1, 0)]
    assert names_of(some) == names_of(picked(paths, [1, 0])) == [str(paths[i]) for i in (1, 0)]
    assert absolute_names(some) == [str(paths[i].absolute()) for i in (1, 0)]


def test_discover_reports_unreadable_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.md").write_text("x")
    (tmp_path / "b.md").write_text("x")
    real_scandir = os.scandir

    def scandir(path: str) -> Any:  # permissions do not stop root, so refuse by hand
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found, problems = discover([tmp_path])
    assert found == [tmp_path / "b.md"]
    (problem,) = problems
    assert problem.rule == "unreadable"
    assert "locked" in problem.file and "Permission denied" in problem.message


def test_an_explicit_timestamp_that_is_no_date_is_reported() -> None:
    loaded = parse_record("r.md", b"---\nc: !!timestamp 2020-02-30 - b\n---\n")
    assert loaded.record is None
    (problem,) = loaded.diagnostics
    assert problem.rule == "yaml" and "!!timestamp" in problem.message


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 150])
def test_a_file_is_read_up_to_one_byte_more_than_allowed(tmp_path: Path, size: int) -> None:
    path = tmp_path / "r.md"
    path.write_bytes(bytes(range(256))[:size] if size < 256 else b"x" * size)
    assert read_bounded(path, 100) == path.read_bytes()[:101]


def test_a_file_that_grows_while_read_is_read_as_far_as_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size the file system gave is only a first guess."""
    path = tmp_path / "r.md"
    path.write_bytes(b"y" * 150)
    real_fstat = os.fstat

    def smaller(fd: int) -> os.stat_result:
        values = list(real_fstat(fd))
        values[6] = 10  # st_size, as it was a moment ago
        return os.stat_result(values)

    monkeypatch.setattr(os, "fstat", smaller)
    assert read_bounded(path, 100) == b"y" * 101
    assert read_bounded(path, 200) == b"y" * 150


def test_the_stat_data_read_with_a_file_are_taken_before_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache takes a file as unchanged when its stat data are those recorded and its
    change time is clear of when they were taken (feeds.cache.settled): a change made
    after the clock was read must move the change time, so the clock comes first."""
    path = tmp_path / "r.md"
    path.write_bytes(b"y" * 150)
    calls: list[str] = []
    real_clock, real_fstat, real_read = time.time_ns, os.fstat, os.read

    def clock() -> int:
        calls.append("clock")
        return real_clock()

    def fstat(fd: int) -> os.stat_result:
        calls.append("stat")
        return real_fstat(fd)

    def read(fd: int, count: int) -> bytes:
        calls.append("read")
        return real_read(fd, count)

    monkeypatch.setattr(time, "time_ns", clock)
    monkeypatch.setattr(os, "fstat", fstat)
    monkeypatch.setattr(os, "read", read)
    before = real_clock()
    raw, state, observed = read_stated(path, 100)
    assert calls[:2] == ["clock", "stat"] and set(calls[2:]) == {"read"}
    assert raw == b"y" * 101
    assert before <= observed <= real_clock()
    assert (state.st_ino, state.st_size) == (path.stat().st_ino, 150)


def test_the_stat_data_read_with_a_file_are_of_the_file_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should another file take its name once it is open, what is read and what it is known
    by next time are both of the file opened."""
    path, other = tmp_path / "r.md", tmp_path / "other.md"
    path.write_bytes(b"first")
    other.write_bytes(b"second, and longer")
    opened = path.stat()
    real_open = os.open

    def replaced_once_open(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        handle = real_open(name, flags, *args, **kwargs)
        if other.exists():
            other.replace(path)
        return handle

    monkeypatch.setattr(os, "open", replaced_once_open)
    raw, state, _ = read_stated(path, 100)
    assert raw == b"first"
    assert (state.st_ino, state.st_size) == (opened.st_ino, opened.st_size)
    assert path.read_bytes() == b"second, and longer"


@pytest.mark.parametrize("working", ["/", "tmp"])
def test_absolute_names_are_those_of_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, working: str
) -> None:
    monkeypatch.chdir("/" if working == "/" else tmp_path)
    paths = [Path("a.md"), Path("x/../b.md"), Path("./c/d.md"), tmp_path / "e.md"]
    assert absolute_names(paths) == [str(path.absolute()) for path in paths]


def test_the_front_matter_boundary_is_python_frontmatters() -> None:
    """Written out in feeds so that reading a record does not import PyYAML with it."""
    ours, theirs = FRONT_MATTER_BOUNDARY, YAMLHandler.FM_BOUNDARY
    assert (ours.pattern, ours.flags) == (theirs.pattern, theirs.flags)


_BOUNDARY_PIECES = st.sampled_from(["---", "-", "----", "\n", "\r\n", " ", "\t", "a", "\n---"])


@given(pieces=st.lists(_BOUNDARY_PIECES, max_size=14), start=st.integers(0, 30))
@settings(max_examples=2000, deadline=None)
def test_the_closing_boundary_is_the_one_a_search_finds(pieces: list[str], start: int) -> None:
    text = "".join(pieces)
    start = min(start, len(text))
    expected = YAMLHandler.FM_BOUNDARY.search(text, start)
    found = closing_boundary(text, start)
    assert (found and found.span()) == (expected and expected.span())


def test_both_yaml_readers_make_the_same_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reads a few files with PyYAML alone and many with the fast reader first
    (feeds.scan.FAST_YAML_MIN_FILES): which one reads a file must not show."""
    taken = []

    def fast_load(text: str) -> tuple[Any, bool] | None:
        loaded = yamlfast_load(text)
        taken.append(loaded is not None)
        return loaded

    monkeypatch.setattr(yamlfast, "load", fast_load)
    write_corpus(tmp_path, count=300)
    paths = sorted([*SEEDS.iterdir(), *tmp_path.iterdir()])
    for path in paths:
        raw = path.read_bytes()
        assert parse_record(path.name, raw, fast=True) == parse_record(path.name, raw, fast=False)
    assert sum(taken) > 100  # the corpus is written in several styles: not all are taken
