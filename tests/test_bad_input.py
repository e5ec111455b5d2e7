"""Bad input, tried on purpose, through the command line as a publisher runs it.

Every broken file lands in one folder beside a good record.  ``feeds validate`` must name
each broken file (with the field, where there is one), exit 1 and print no traceback;
``feeds build`` must skip the same files with the same diagnostics, publish the good record,
and write only feeds that parse cleanly.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feeds.records import MAX_RECORD_BYTES
from tests.cli import assert_no_traceback, feeds
from tests.conftest import record_data, record_text

RELATED = record_data()["related"][0]
GOOD_URL = "https://news.example.com/2021/03/04/valid-article/"


@dataclass(frozen=True)
class Case:
    name: str  # file name under records/
    content: bytes
    words: str  # in the diagnostic: a field path or what is wrong with the file


def record(**changes: Any) -> bytes:
    """A record that differs from the good one in ``changes`` (and in its URL, so that it
    is never a copy of the good record)."""
    slug = re.sub(r"\W+", "-", repr(sorted(changes.items())))[:60]
    changes.setdefault("webUrl", f"https://news.example.com/bad/{slug}")
    return record_text(record_data(**changes)).encode()


def related(**changes: Any) -> list[dict[str, Any]]:
    return [{**RELATED, **changes}]


def alias_bomb() -> bytes:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for previous, name in zip("abcdef", "bcdefg", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return ("---\n" + "\n".join(lines) + "\n---\n").encode()


def whole_file_cases() -> Iterator[Case]:
    good = record()
    yield Case("empty.md", b"", "file is empty")
    yield Case("blank.md", b"\n  \n", "file is empty")
    yield Case("no-front-matter.md", b"Just a story, no fields.\n", "no front matter")
    yield Case("unterminated.md", b"---\ntitle: x\nwebUrl: https://a.example/\n", "not closed")
    yield Case("malformed.md", b"---\ntitle: [unclosed\n---\n", "invalid YAML")
    yield Case("tab-indent.md", b"---\nprovider:\n\tname: x\n---\n", "invalid YAML")
    yield Case("list.md", b"---\n- title\n- webUrl\n---\n", "front matter is a list")
    yield Case("scalar.md", b"---\njust a sentence\n---\n", "front matter is a single value")
    yield Case("empty-front-matter.md", b"---\n---\nbody\n", "front matter is empty")
    yield Case(
        "duplicate-key.md",
        good.replace(b"title: A valid article\n", b"title: First\ntitle: Second\n"),
        "'title' appears twice",
    )
    yield Case(
        "duplicate-nested-key.md",
        good.replace(
            b"  domain: news.example.com\n", b"  domain: a.example\n  domain: b.example\n"
        ),
        "'domain' appears twice",
    )
    yield Case("alias-bomb.md", alias_bomb(), "more than")
    yield Case("self-alias.md", b"---\na: &a [*a]\n---\n", "more than")
    yield Case("latin-1.md", good.replace(b"A valid article", b"Caf\xe9"), "not valid UTF-8")
    yield Case("utf-16.md", record().decode().encode("utf-16"), "not valid UTF-8")
    yield Case(
        "control-escaped.md", good.replace(b"A valid article", b'"bell \\x07 here"'), "U+0007"
    )
    yield Case("control-nul.md", good.replace(b"A valid article", b'"nul \\0 here"'), "U+0000")
    yield Case("noncharacter.md", good.replace(b"A valid article", b'"odd \\uFFFE here"'), "U+FFFE")
    yield Case("control-raw.md", good.replace(b"A valid article", b"raw \x1b here"), "U+001B")
    yield Case("huge.md", good + b"x" * (MAX_RECORD_BYTES + 1), f"larger than {MAX_RECORD_BYTES:,}")
    yield Case("binary.md", bytes(range(256)) * 4, "not valid UTF-8")
    yield Case("non-text-key.md", good.replace(b"heat: 10", b"2021: x\nheat: 10"), "not text")
    yield Case(
        "unhashable-key.md", good.replace(b"heat: 10", b"? [a, b]\n: 1\nheat: 10"), "invalid YAML"
    )
    yield Case("missing-fields.md", b"---\ntitle: Only a title\n---\n", "required field")


WRONG_TYPES: dict[str, dict[str, Any]] = {
    "title": {"title": 5},
    "excerpt": {"excerpt": ["a", "list"]},
    "publishedDateTime": {"publishedDateTime": 20200610},
    "webUrl": {"webUrl": 5},
    "ampWebUrl": {"ampWebUrl": True},
    "cdnAmpWebUrl": {"cdnAmpWebUrl": {"a": 1}},
    "category": {"category": 5},
    "type": {"type": ["article"]},
    "published": {"published": "yes"},
    "quality": {"quality": "high"},
    "heat": {"heat": 1.5},
    "secured": {"secured": 5},
    "provider": {"provider": "Example News"},
    "provider.name": {"provider": {"name": 5, "domain": "news.example.com"}},
    "provider.domain": {"provider": {"name": "Example", "domain": 5}},
    "provider.images": {"provider": {"name": "E", "domain": "e.example", "images": "logo.png"}},
    "topics": {"topics": "AI"},
    "topics[0]": {"topics": [5]},
    "images": {"images": {"url": "https://img.example.com/a.jpg"}},
    "images[0]": {"images": ["https://img.example.com/a.jpg"]},
    "images[0].url": {"images": [{"url": 5}]},
    "images[0].isCached": {"images": [{"url": "https://i.example/a.jpg", "isCached": "yes"}]},
    "images[0].title": {"images": [{"url": "https://i.example/a.jpg", "title": 5}]},
    "related": {"related": {"title": "x"}},
    "related[0]": {"related": ["https://other.example.org/related/"]},
    "related[0].title": {"related": related(title=5)},
    "related[0].excerpt": {"related": related(excerpt=False)},
    "related[0].publishedDateTime": {"related": related(publishedDateTime=5)},
    "related[0].webUrl": {"related": related(webUrl=["https://a.example/"])},
    "related[0].provider": {"related": related(provider="Other Paper")},
    "related[0].provider.domain": {"related": related(provider={"name": "O", "domain": 5})},
    "related[0].quality": {"related": related(quality="good")},
    "related[0].images[0].width": {
        "related": related(images=[{"url": "https://i.example/a.jpg", "width": "640"}])
    },
}

BAD_IMAGE_SIZES: dict[str, dict[str, Any]] = {
    "zero": {"url": "https://i.example/a.jpg", "width": 0},
    "negative": {"url": "https://i.example/a.jpg", "height": -480},
    "too-wide": {"url": "https://i.example/a.jpg", "width": 20_001},
    "fraction": {"url": "https://i.example/a.jpg", "width": 640.5},
    "text": {"url": "https://i.example/a.jpg", "height": "480"},
    "boolean": {"url": "https://i.example/a.jpg", "width": True},
    "huge": {"url": "https://i.example/a.jpg", "height": 10**30},
}

BAD_URLS = {
    "javascript": "javascript:alert(1)",
    "ftp": "ftp://files.example.com/story",
    "relative": "/2021/03/04/story/",
    "scheme-relative": "//news.example.com/story",
    "host-less": "https://",
    "empty-host": "http:///path/only",
    "space": "https://news.example.com/a story",
    "mailto": "mailto:editor@example.com",
    "bad-port": "https://news.example.com:99999/",
    "data": "data:text/html,<script>alert(1)</script>",
}

BAD_DATES = {
    "impossible": "2020-02-30T10:00:00Z",
    "hour-25": "2020-06-10T25:00:00Z",
    # Days that exist where they are written, but not in UTC, where feeds rank and write them.
    "before-year-1": "0001-01-01T00:30:00+01:00",
    "after-year-9999": "9999-12-31T23:30:00-01:00",
    "words": "yesterday afternoon",
    "date-only": "2020-06-10",
    "no-zone": "2020-06-10T18:12:00",
    "us-style": "06/10/2020 18:12",
    "empty": "",
}


def all_cases() -> list[Case]:
    cases = list(whole_file_cases())
    for field, changes in WRONG_TYPES.items():
        cases.append(Case(f"type-{field}.md", record(**changes), f"{field}: expected"))
    for name, image in BAD_IMAGE_SIZES.items():
        field = "images[0].width" if "width" in image else "images[0].height"
        cases.append(Case(f"size-{name}.md", record(images=[image]), field))
    for name, url in BAD_URLS.items():
        cases.append(Case(f"url-{name}.md", record(webUrl=url), "webUrl: "))
        cases.append(Case(f"image-url-{name}.md", record(images=[{"url": url}]), "images[0].url"))
    for name, value in BAD_DATES.items():
        cases.append(Case(f"date-{name}.md", record(publishedDateTime=value), "publishedDateTime"))
    cases.append(
        Case(
            "date-unquoted-impossible.md",
            record().replace(b"'2021-03-04T05:06:07Z'", b"2021-02-29T05:06:07Z"),
            "publishedDateTime",
        )
    )
    return cases


CASES = all_cases()


@dataclass(frozen=True)
class Runs:
    folder: Path
    validate: subprocess.CompletedProcess[str]
    build: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("bad-input")
    records = root / "records"
    records.mkdir()
    (records / "good.md").write_text(record_text(record_data()))
    for case in CASES:
        (records / case.name).write_bytes(case.content)
    locked_file = records / "locked-file.md"
    locked_file.write_text(record_text(record_data(webUrl="https://a.example/locked-file")))
    locked_folder = records / "locked-folder"
    locked_folder.mkdir()
    (locked_folder / "inside.md").write_text(record_text(record_data()))
    os.mkfifo(records / "a-pipe.md")  # reading it would wait for a writer for ever
    locked_file.chmod(0)
    locked_folder.chmod(0)
    try:
        validate = feeds("validate", "records", cwd=root, obey_permissions=True)
        build = feeds(
            "build", "--source", "records", "--out", "out", cwd=root, obey_permissions=True
        )
    finally:
        locked_file.chmod(0o644)
        locked_folder.chmod(0o755)
    return Runs(root, validate, build)


def test_cases_are_distinct() -> None:
    assert len({case.name for case in CASES}) == len(CASES)
    assert len({case.content for case in CASES}) == len(CASES)


def test_validate_fails_without_traceback(runs: Runs) -> None:
    assert runs.validate.returncode == 1, runs.validate.stderr
    assert_no_traceback(runs.validate)
    assert "records/good.md" not in runs.validate.stdout
    total = len(CASES) + 3  # the good one, the locked file and the pipe (not the folder)
    assert runs.validate.stderr.startswith(f"{total} files checked: {total - 1} invalid files")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validate_names_the_file_and_the_problem(runs: Runs, case: Case) -> None:
    lines = [
        line
        for line in runs.validate.stdout.splitlines()
        if line.startswith(f"records/{case.name}:")
    ]
    assert any(": error: " in line and case.words in line for line in lines), lines


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_build_skips_the_file_with_the_same_diagnostic(runs: Runs, case: Case) -> None:
    lines = [
        line
        for line in runs.build.stderr.splitlines()
        if line.startswith(f"skipped records/{case.name}:")
    ]
    assert len(lines) == 1, runs.build.stderr
    first_error = next(
        line
        for line in runs.validate.stdout.splitlines()
        if line.startswith(f"records/{case.name}:") and ": error: " in line
    )
    where, message = first_error.split(" error: ", 1)
    assert lines[0].startswith(f"skipped {where} {message.rsplit(' [', 1)[0]}")


def test_unreadable_file_and_folder_are_named(runs: Runs) -> None:
    assert "records/locked-file.md: error: cannot read file: Permission denied" in (
        runs.validate.stdout
    )
    assert "records/locked-folder: error: cannot read folder: Permission denied" in (
        runs.validate.stdout
    )
    assert "skipped records/locked-file.md: cannot read file" in runs.build.stderr
    assert "records/locked-folder: cannot read folder" in runs.build.stderr


def test_a_named_pipe_is_named_not_waited_for(runs: Runs) -> None:
    assert "records/a-pipe.md: error: cannot read file: not a regular file [unreadable]" in (
        runs.validate.stdout
    )
    assert "skipped records/a-pipe.md: cannot read file: not a regular file" in runs.build.stderr


def test_build_publishes_the_good_record_in_well_formed_feeds(runs: Runs) -> None:
    assert runs.build.returncode == 0, runs.build.stderr
    assert_no_traceback(runs.build)
    assert f"{len(CASES) + 2} invalid, skipped" in runs.build.stdout  # and locked, pipe
    feeds_written = sorted((runs.folder / "out").rglob("*.xml"))
    assert len(feeds_written) == 8  # all, one topic, two providers; Atom and RSS
    for path in feeds_written:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    entries = feedparser.parse((runs.folder / "out" / "all.atom.xml").read_bytes()).entries
    assert sorted(entry.link for entry in entries) == [
        GOOD_URL,
        "https://other.example.org/related/",
    ]
