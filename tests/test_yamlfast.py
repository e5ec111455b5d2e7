"""The fast YAML reader gives exactly PyYAML's data, or steps aside."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import frontmatter
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds import yamlfast
from feeds.records import (
    MAX_VALUES,
    Finding,
    Locator,
    _Budget,
    _record_loader,
    _to_plain,
    parse_record,
)
from tests.conftest import SEEDS, corpus_module


def slow(text: str) -> Any:
    return yaml.load(text, Loader=_record_loader())


def assert_already_plain(data: Any) -> None:
    """What the fast reader returns needs no conversion: records.py skips it."""
    findings: list[Finding] = []
    assert _to_plain(data, (), findings, _Budget()) == data
    assert findings == []


def front_matter(text: str) -> str:
    return text.split("---\n", 2)[1]


def fast_data(text: str) -> Any | None:
    """What the fast reader gives for ``text``, checked to be as plain as it says."""
    fast = yamlfast.load(text)
    if fast is None:
        return None
    data, already_plain = fast
    if already_plain:
        assert_already_plain(data)
    return data


def read_alike(text: str) -> bool:
    """Whether the fast reader takes ``text``; when it does, it must read what PyYAML reads
    (and be as plain as it says: :func:`fast_data`)."""
    fast = fast_data(text)
    if fast is None:
        return False
    assert fast == slow(text)
    return True


@pytest.mark.parametrize("line_break", ["\n", "\r\n"], ids=["unix", "windows"])
def test_seed_shaped_records_take_the_fast_path_and_agree(line_break: str) -> None:
    corpus = corpus_module().Corpus(seed=11)
    fast_count = 0
    for index in range(300):
        text = corpus.record(index)
        if not text.startswith("---\n"):
            continue
        matter = front_matter(text).replace("\n", line_break)
        fast = fast_data(matter)
        try:
            expected = slow(matter)
        except yaml.YAMLError:
            assert fast is None
            continue
        if fast is not None:
            fast_count += 1
            assert fast == expected
    assert fast_count >= 280  # the fast path is the usual one, not the exception


def test_a_record_with_windows_line_breaks_read_fast_is_the_record_read_slowly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = sorted(SEEDS.iterdir())[0].read_bytes().replace(b"\n", b"\r\n")
    fast = parse_record("seed.md", raw)
    monkeypatch.setattr(yamlfast, "load", lambda text: None)
    assert parse_record("seed.md", raw) == fast


@pytest.mark.parametrize(
    "matter",
    [
        'title: "a\rb"\n',  # a carriage return alone is a line break to YAML 1.1
        "title: a\r\n  b\rc\r\n",
        "title: a\n\rb: c\n",
    ],
)
def test_a_carriage_return_alone_goes_to_pyyaml(matter: str) -> None:
    assert yamlfast.load(matter) is None


@pytest.mark.parametrize("path", sorted(SEEDS.iterdir()), ids=lambda p: p.name)
def test_seeds_agree(path: Path) -> None:
    text = path.read_text("utf-8")
    if not text.startswith("---\n"):
        pytest.skip("no front matter")
    matter = front_matter(text)
    assert read_alike(matter)


@pytest.mark.parametrize(
    "text",
    [
        "a: yes",  # YAML 1.1 boolean, a string in 1.2
        "a: On",
        "a: 017",  # YAML 1.1 octal
        "a: 0o17",
        "a: 1e3",  # a string in YAML 1.1, a number in 1.2
        "a: 1_000",
        "a: 1:20",  # YAML 1.1 sexagesimal
        "a: .inf",
        "a: 0x1F",
        "a: =",
        "a: True",
        "a: ~",
        "yes: 1",
        "base: &b {x: 1}\nc:\n  <<: *b",  # a merge key
        # anchors and aliases: a name given twice (PyYAML refuses it, YAML 1.2 takes the
        # last), an alias before its anchor, a node holding its own alias, aliases of nodes
        # that hold aliases (they could grow the data without bound)
        "a: &x 1\nb: &x 2\nc: *x",
        "a: *x\nb: &x 1",
        "a: &x\n  b: *x",
        "a: &a\n- x\n- x\nb: &b\n- *a\n- *a\nc: *b",
        "a: &x yes\nb: *x",  # a YAML 1.1 word after an anchor
        "a: &x:y 1\nb: *x:y",  # a name PyYAML does not take
        "a: [&x 1, *x]",  # in flow collections
        "&x a: 1\nb: *x",  # on a key
        "a: &x *y\nb: &y 1",
        "a: &x |\n  text\nb: *x\n",  # on a block scalar
        "a: |\n  text\nb: &x 1\nc: *x\n",  # with block scalars elsewhere
        # written out where its alias stands, the node would reach deeper than the gate allows
        "a: &x\n  b:\n    c:\n      d:\n        e: 1\n"
        "g:\n  h:\n    i:\n      j:\n        k:\n          l: *x",
        # ... or the data would hold more values than PyYAML's path allows (a value takes a
        # character at least)
        "a: &x\n" + "".join(f"  k{i}: {i}\n" for i in range(6_000)) + "b: *x\nc: *x\nd: *x\n",
        "a: !!str 1",
        "a: [1, yes]",
        "a: {b: on}",
        "a: [No]",
        "a: [x,\n  OFF]",
        "a: {yes: 1}",
        "a: {true: 1}",  # a boolean key to YAML 1.1, a text key to yaml-rs
        "a: [True, x]",
        "a: [017]",
        "a: [1e3]",
        "a: [1_000, x]",
        "a: [~]",
        "a: [[x]]",  # flow collections nest one level deep only
        "a: [{b: c}]",
        "a: [x #c]",
        "a: [http://x.org]",  # ":" in flow text
        "a: [b: c]",
        "a: [x,\n- y]",  # a line of a flow collection indented no deeper than the key
        "a: [x\n  - y]",  # ... or starting with an indicator
        "a: [x,\n\n  y]",
        "a: [x,]",
        "a: {b: }",
        "a: [x]#c",
        "a: |\n  yes",  # a block scalar without a line break after it
        "a: >\n  text",
        "a: >\n  text\n    deeper\n",  # these three are read alike, but left to PyYAML
        "a: |\n  text \n",
        "a: |\n\n  text\n",
        "a: |\n  \n  text\n",  # a line of spaces only
        "a: |\n   text\n  less\n",
        "a: |2\n   text\n",  # an indentation indicator
        "a: > # c\n  text\n",
        "- |\n  text\n",  # a list item
        "yes: |\n  text\n",
        "a: |\n  x\u2028y\n",  # a line break to YAML 1.1, in the lines of a block
        "a: >\n  x\u2029y\n",
        "a: |\n  x\x85y\n",
        "a: |\n  x\x01y\n",  # a character PyYAML refuses
        "a: |\n  x\ry\n",
        "a: |\n  x\ud800\n",
        "x:\n    a: 'text\nb: |\n    y'\n    c: 017\n",  # no block: a quoted value goes on
        'x:\n    a: "text\nb: |\n    y"\n    c: 017\n',
        "? a\n: b",
        "%YAML 1.1\n---\na: 1",
        "a: 1\na: 2",  # duplicate keys: PyYAML's path reports them
        "a: x\u2028y",
        "a: x\x85y",
        "a:\tb",
        "a: 12345678901234567890123",
        "a: x\r\nb: y",
        "a: b: c",  # a mapping where a value was expected: an error, explained by PyYAML
        "a: b:",
        "a: https: //example.com",
        "a:\n" + "  " * 17 + "b: 1",  # deep nesting is bounded on PyYAML's path
        "a: [" + "x, " * 100_000 + "x]",  # ... and so are values (a value takes a character)
        "a: text\n\n  after a blank line",  # a line break kept: left to PyYAML
        "a: 'text\n\n  after a blank line'",
        # a new item or key where text might have gone on
        "a:\n  - text\n  - 017",
        "  - text\n  - 1e3",
        "a:\n  b: text\n  ? 017",
        "a:\n  - text\n  -\n    b: 017",
        "a: text\n  :not one either",
        "a: 12:30",  # YAML 1.1 sexagesimal: nothing in it but what numbers have
        "a: +.inf",
        "a: 0x1F",
        "a: 2020-06-10 12",
        "a: 1e3 1_0",
        "a: \ufeffx",
        "a: \u2029",
        "a: x\ud800",  # a lone surrogate (from bytes read with surrogateescape, say)
        # a value on the line below its key, where both readers would not read it as that
        "a:\n  yes",
        "a:\n  017",
        "a:\nnot deeper than the key",
        "- a:\n  as deep as the key",
        "a:\n  - 1\n  - x\nb:\n  -5",
        "a:  # a comment\n  text",
        "a:\n  &x text\nb: *x",
        "a: |\n  b:\n    c\nd:\n  e",  # a block scalar's lines keep their breaks
    ],
)
def test_ambiguous_or_unusual_yaml_goes_to_pyyaml(text: str) -> None:
    assert yamlfast.load(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: -2\nc: 0\nd: 1.5\ne: true\nf: false\ng: null\nh:",
        "d: 2020-06-10T18:12:00Z\ne: 2020-06-10\nf: 2020-06-10 18:12:00.5+02:00",
        "a: \"x\\\"y\\n\\/é\\\\\"\nb: 'it''s'\nc: plain text, with [brackets] & stars *\n",
        'list:\n  - one\n  - two: 2\n    three: "3"\n  -\n    four: 4\nempty: []\nnone: {}',
        "t: Künstliche Intelligenz  # a comment\n\"quoted key\": 1\n'single': 2",
        "a: C#\nb: https://example.com/a?b=c&d=e#top  # a comment\nc:\n  - http://x.org:8080/",
        "a: mailto:x@example.com\nb: yes:no\nc: a:b:c",
        # as PyYAML and python-frontmatter write long text: over more lines
        "a: text\n  continued\nb:\n- c: more text\n    continued  \n    and continued",
        "a: text\n  -dash and\n  ?query go on\nb:\n  - text\n    -- too",
        "\"a\": \"two\n  lines\"\nb: \"escaped \\\n  \\ break\"\nc: 'it''s\n  ''quoted'''",
        "- text\n  - continued\n- text\n  [continued] {with} 'quotes' \"and\" & *stars",
        # escapes, as PyYAML writes what is not ASCII unless told otherwise
        "a: 'it''s'\nb: \"\\x41\\u2019\\U0001F600\\N\\_\\L\\P\\ \\e\"",
        # text that starts with a digit, "+", "/" or a character that is not ASCII
        "a: 5G\nb: 3D printing\nc: 10 best\nd: +g7Q/x==\ne: /path\nf: 12:30pm\ng: 0x1Fg",
        "a: — dash\nb: “quoted”\nc: €2bn\nd: \u00a0no-break space\u00a0\ne: (AP) $5",
        # flow collections one level deep, on one line or over more
        "topics: [AI, Robotics]\ntags: ['it''s', \"q\", 5G, 3D printing, 1.5, -2, true, null]",
        "a: [ x , z ]\nb: {c: 1, 'd': text, \"e\": 2020-06-10T18:12:00Z}\nc: [x]  # a comment",
        "images:\n- {url: 'https://x.org/a.jpg?w=1&h=2',\n    width: 50, height: 50}",
        "a: {title: long text\n    that goes on, b: 'x',\n    c: 1}\nc: [é, “q”, €2, (AP), $5, /p]",
        "a:\n  - [x, z]\n  - {b: c}\nd: [a no, nope, 'yes', \"on\"]",
        # block scalars, as people write long text by hand
        # anchors and aliases, as PyYAML writes a value that data holds in several places
        "a: &x 1\nb: *x\nc: &y  # a comment\nd: *y\ne: &z\n- 1\n- two\nf: *z",
        "p: &id001\n  name: Ledger\n  domain: x.org\nr:\n- t: one\n  p: *id001\n- p: *id001",
        "- &a\n  b: 1\n- *a\n- &c text  # c\n- *c\n- &d 2020-06-10 18:12:00+00:00\n- *d",
        "a: &x\n  b:\n    c:\n      d:\n        e: 1\ng:\n  h:\n    i:\n      j:\n        k: *x",
        "a: |\n  x\n  y: 017 # not a comment\nb: >-\n  folded,\n  text\n\n  next\nc: 1\n",
        "a: |+\n  kept\n\n\nb: |-\n  stripped\n\ne:\n- c: >\n    x\n  d: |\n    y\n      z\n",
        "a:\n  b: >+\n    x\n\n  c: |\n    ---\n    ...\n\n\n",
        "a:  |\n  two spaces before the header\n",
        "a: >  \n  spaces after the header\n",
        # values on the line below their keys, as ruamel.yaml writes a long first word
        "webUrl: \n  https://example.com/a/long/path/\ntitle: text that \n  goes on",
        "images:\n  - url: \n      https://x.org/a.jpg\n    width: 50\np:\n  name:\n    Ledger",
        "a:\n  'quoted'\nb:\n    \"two\n  lines\"\nc:\n  [x, z]\nd:\n  text\n    and more",
    ],
)
def test_plain_yaml_reads_fast_and_the_same(text: str) -> None:
    assert read_alike(text)


_scalars = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["yes", "No", "017", "1e3", "1_0", "-0", "0.5", "null", "~", "2020-01-01"]),
    st.lists(
        st.sampled_from(["https", ":", "//", "a", "#", " ", "yes", "?", "=", "&", "é", "1", "-"]),
        max_size=8,
    ).map("".join),
    st.integers(),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", "yes"]), _scalars), max_size=6), st.data()
)
def test_whatever_the_fast_reader_accepts_pyyaml_reads_the_same(
    items: list[tuple[str, Any]], data: st.DataObject
) -> None:
    lines = []
    for key, value in items:
        style = data.draw(st.sampled_from(["plain", "double", "single"]))
        text = str(value)
        if style == "double":
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif style == "single":
            text = "'" + text.replace("'", "''") + "'"
        lines.append(f"{key}: {text}")
    document = "\n".join(lines)
    read_alike(document)


def test_data_read_fast_holds_fewer_values_than_pyyamls_path_allows() -> None:
    assert yamlfast._MAX_CHARACTERS <= MAX_VALUES
    document = "a: &x\n" + "".join(f"  k{i}: {i}\n" for i in range(4_500)) + "b: *x\nc: *x\n"
    assert len(document) < yamlfast._MAX_CHARACTERS  # within it, even written out: fast
    assert fast_data(document) == slow(document)


def test_a_document_of_too_many_lines_is_left_to_pyyaml() -> None:
    most = "a: 1" + "\n" * (yamlfast._MAX_LINES - 1)
    assert yamlfast.plainly_written(most)
    assert not yamlfast.plainly_written(most + "\n")
    assert not yamlfast.plainly_written(most + "\n" + "b: 2")
    assert not yamlfast.plainly_written("\n" * yamlfast._MAX_LINES)  # blank, but as many


@pytest.mark.parametrize("items", [100_000, 250_000])
def test_a_long_flow_list_is_reported_as_pyyamls_path_reports_it(
    items: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = ("---\na: [" + ", ".join(["x"] * items) + "]\n---\n").encode()
    read = parse_record("long.md", raw)
    monkeypatch.setattr(yamlfast, "load", lambda text: None)
    assert read == parse_record("long.md", raw)
    assert (read.record is None) == (items > MAX_VALUES)


def test_a_record_read_fast_is_the_record_read_slowly(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = sorted(SEEDS.iterdir())[0].read_bytes()
    fast = parse_record("seed.md", raw)
    monkeypatch.setattr(yamlfast, "load", lambda text: None)
    assert parse_record("seed.md", raw) == fast


def test_a_record_with_block_scalars_read_fast_is_the_record_read_slowly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Long text written as block scalars, as by hand: the same record, on the fast path."""
    text = sorted(SEEDS.iterdir())[0].read_text("utf-8")
    excerpt = next(line for line in text.splitlines() if line.startswith("excerpt: "))
    words = yaml.safe_load(excerpt)["excerpt"].split(" ")
    folded = "excerpt: >-\n  " + " ".join(words[:8]) + "\n  " + " ".join(words[8:])
    literal = "note: |\n  Checked: yes\n\n  - 017 # not a comment\n"
    text = text.replace(excerpt, f"{folded}\n{literal}", 1)
    assert yamlfast.load(front_matter(text)) is not None
    fast = parse_record("seed.md", text.encode())
    assert fast.record is not None
    assert fast.record.data["excerpt"] == " ".join(words)
    assert fast.record.data["note"] == "Checked: yes\n\n- 017 # not a comment\n"
    monkeypatch.setattr(yamlfast, "load", lambda text: None)
    assert parse_record("seed.md", text.encode()) == fast


@pytest.mark.parametrize(
    "matter",
    [
        'title: "a \\u0001 b"\nexcerpt: "\\x00"\n',  # characters feeds refuses
        'title: "a \\uFFFE b"\nwebUrl: "\\x41"\n',
        'title: "escaped, \\e and fine \\x41"\n',
    ],
)
def test_escapes_are_reported_as_pyyamls_path_reports_them(
    matter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = f"---\n{matter}---\nbody\n".encode()
    assert yamlfast.load(matter) is not None
    fast = parse_record("record.md", raw)
    monkeypatch.setattr(yamlfast, "load", lambda text: None)
    assert parse_record("record.md", raw) == fast


@pytest.mark.parametrize(
    ("escape", "already_plain"),
    [
        ("\\xe9", True),  # as PyYAML writes text that is not ASCII
        ("\\u2019", True),
        ("\\U0001F680", True),  # an emoji, which PyYAML escapes even when told not to
        ("\\x7f", True),
        ("\\uFFFD", True),
        ("\\U0010FFFF", True),
        ("\\x1f", False),  # characters feeds refuses, or may: reported as PyYAML's path does
        ("\\u0000", False),
        ("\\uFFFE", False),
        ("\\U00000041", False),
        ("\\e", False),
    ],
)
def test_escapes_of_characters_xml_carries_need_no_second_look(
    escape: str, *, already_plain: bool
) -> None:
    fast = yamlfast.load(f'title: "a {escape} b"\n')
    assert fast is not None
    assert fast[1] is already_plain


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 0x10FFFF).map(lambda code: f"\\U{code:08X}"),
            st.integers(0, 0xFFFF).map(lambda code: f"\\u{code:04x}"),
            st.integers(0, 0xFF).map(lambda code: f"\\x{code:02X}"),
            st.sampled_from(["a", "\\\\", "\\n", "é", " "]),
        ),
        max_size=6,
    ).map("".join)
)
def test_text_of_escapes_read_fast_is_as_plain_as_it_is_said_to_be(text: str) -> None:
    document = f'title: "{text}"\n'
    read_alike(document)  # checks what it says of the data


def _corpus_data(seed: int, count: int) -> Iterator[dict[str, Any]]:
    """The data of the first ``count`` records of the bench corpus (``seed``) that PyYAML
    reads as a mapping."""
    corpus = corpus_module().Corpus(seed=seed)
    for index in range(count):
        text = corpus.record(index)
        if not text.startswith("---\n"):
            continue
        try:
            data = slow(front_matter(text))
        except yaml.YAMLError:
            continue
        if isinstance(data, dict):
            yield data


def test_records_written_by_python_frontmatter_take_the_fast_path_and_agree() -> None:
    """Records a publisher writes with python-frontmatter (or PyYAML): long text goes on
    over more lines, text starts with digits or quotation marks, dates are quoted, and
    lists and mappings may be written in flow style."""
    taken = read = 0
    for data in _corpus_data(seed=7, count=200):
        styles: list[dict[str, Any]] = [
            {},
            {"allow_unicode": False},
            {"width": 40, "indent": 4},
            {"default_flow_style": None},  # lists and mappings of plain values in flow style
        ]
        for options in styles:
            read += 1
            post = frontmatter.Post("body", **data)
            written = front_matter(frontmatter.dumps(post, **options))
            taken += read_alike(written)
    assert taken >= 0.98 * read


@pytest.mark.parametrize("width", [80, 60], ids=["default-width", "narrow"])
def test_records_written_by_ruamel_yaml_take_the_fast_path_and_agree(width: int) -> None:
    """ruamel.yaml, as a publisher's script may write records with it: a value whose first
    word does not fit on its key's line (a long URL) goes on the line below the key, and
    lines of long text end in a space."""
    from ruamel.yaml import YAML  # noqa: PLC0415 - only this test writes with it

    writer = YAML(typ="rt", pure=True)
    writer.width = width
    taken = read = below = 0
    for data in _corpus_data(seed=11, count=200):
        stream = io.StringIO()
        writer.dump(json.loads(json.dumps(data, default=str)), stream)
        written = stream.getvalue()
        read += 1
        below += re.search(r": *\n +https?://", written) is not None
        taken += read_alike(written)
    assert below >= 0.9 * read  # what this is about: values on the line below their keys
    assert taken >= 0.98 * read


WRITTEN_ELSEWHERE = Path(__file__).parent / "writers"


@pytest.mark.parametrize(
    "path", sorted(WRITTEN_ELSEWHERE.glob("*.yaml")), ids=lambda path: path.stem
)
def test_records_written_by_other_languages_tools_take_the_fast_path_and_agree(
    path: Path,
) -> None:
    """Front matter as js-yaml and the yaml package (Node.js), Ruby's Psych and Go's
    yaml.v3 write it (tests/writers/README.md): folded block scalars, sequences indented
    under their keys, long text on one line."""
    text = path.read_text(encoding="utf-8")
    assert read_alike(text)


def _sharing_providers(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as a script builds it that keeps one mapping per provider: the same object in
    every article of that provider, which PyYAML writes once with an anchor (``&id001``)
    and then as aliases (``*id001``)."""
    providers: dict[str, Any] = {}

    def shared(article: Any) -> Any:
        provider = article.get("provider") if isinstance(article, dict) else None
        if isinstance(provider, dict):
            article["provider"] = providers.setdefault(repr(provider), provider)
        return article

    shared(data)
    related = data.get("related")
    if isinstance(related, list):
        data["related"] = [shared(article) for article in related]
    return data


def test_records_whose_articles_share_providers_take_the_fast_path_and_agree() -> None:
    styles: list[dict[str, Any]] = [
        {},
        {"allow_unicode": True, "width": 60},
        {"default_flow_style": None},
    ]
    taken = sharing = read = 0
    for data in _corpus_data(seed=3, count=200):
        for options in styles:
            written = yaml.safe_dump(_sharing_providers(data), **options)
            read += 1
            sharing += "*id0" in written
            taken += read_alike(written)
    assert sharing >= 0.5 * read  # the corpus's articles share providers
    assert taken >= 0.98 * read


def test_anchors_and_aliases_are_looked_for_where_a_sign_follows_a_space() -> None:
    """Only the lines that may hold an anchor or an alias are cut out of the text: a ``&``
    in a URL starts nothing; a node's lines are counted to its last, at the text's end too."""
    text = "url: https://x.org/?a=1&b=2\nprovider: &p\n  name: X\n\nitems:\n- &q 1\n- *q\nlast: *p"
    starts = yamlfast._lines_with_signs(text)
    assert [text[start:].partition("\n")[0] for start in starts] == [
        "provider: &p",
        "- &q 1",
        "- *q",
        "last: *p",
    ]
    provider = text.index("provider")
    node = yamlfast._node(text, provider, text.index("\n", provider), 0, in_mapping=True)
    # The blank line below it ends no node, but is not one of its lines either.
    assert node == yamlfast._Node(
        provider, text.index("  name"), len("provider: &p\n  name: X\n"), 2
    )
    last = text.rindex("last")
    assert yamlfast._node(text, last, len(text), 0, in_mapping=True).size == len("last: *p") + 1
    assert yamlfast._repeats_bounded(text)


_TEXT_CHARACTERS = st.characters(
    codec="utf-8", exclude_categories=["Cs"], include_characters="\u00a0\u2028\x85\ufeff"
)


@st.composite
def _data_sharing_values(draw: st.DrawFn) -> Any:
    """Data that holds some values in several places: mappings, lists, text and dates,
    nested in each other, as a script that builds records from shared parts makes it."""
    parts: list[Any] = []
    leaves = st.one_of(
        st.text(_TEXT_CHARACTERS, max_size=20),
        st.integers(),
        st.datetimes(timezones=st.just(UTC)),
        st.sampled_from(["yes", "017", "x"]),
    )
    for _ in range(draw(st.integers(1, 4))):
        made: Any = draw(
            st.one_of(
                leaves,
                st.dictionaries(st.sampled_from(["name", "b", "on"]), leaves, max_size=3),
                st.lists(leaves, max_size=3),
            )
        )
        holds_an_earlier_part = draw(st.booleans())
        if parts and holds_an_earlier_part:
            made = {"part": draw(st.sampled_from(parts)), "other": made}
        parts.append(made)
    keys = st.sampled_from(["title", "provider", "related", "a", "b"])
    places = st.sampled_from(parts)
    return draw(
        st.dictionaries(
            keys, st.one_of(places, st.lists(places, max_size=4), st.dictionaries(keys, places))
        )
    )


@settings(max_examples=1000, deadline=None)
@given(
    _data_sharing_values(),
    st.sampled_from([{}, {"width": 20}, {"default_flow_style": None}, {"indent": 4}]),
)
def test_whatever_pyyaml_writes_with_aliases_reads_fast_the_same_or_goes_to_pyyaml(
    data: Any, options: dict[str, Any]
) -> None:
    written = yaml.safe_dump(data, **options)
    read_alike(written)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["title", "excerpt", "a", "yes", "1"]),
        st.one_of(
            st.text(_TEXT_CHARACTERS, max_size=120),
            st.lists(st.text(_TEXT_CHARACTERS, max_size=60), max_size=3),
            st.dictionaries(st.sampled_from(["name", "b"]), st.text(_TEXT_CHARACTERS)),
            st.integers(),
            st.booleans(),
        ),
    ),
    st.sampled_from(
        [
            {},
            {"allow_unicode": True},
            {"width": 20},
            {"indent": 3, "width": 30},
            {"default_flow_style": None, "width": 30},
        ]
    ),
)
def test_whatever_pyyaml_writes_reads_fast_the_same_or_goes_to_pyyaml(
    data: dict[str, Any], options: dict[str, Any]
) -> None:
    written = yaml.safe_dump(data, **options)
    read_alike(written)


# The gate as first written, with Python's look-arounds: the specification that the two RE2
# expressions of feeds/yamlfast.py must meet exactly, since automata cannot look around.
_WORDS_1_1 = r"(?i:yes|no|on|off|y|n|true|false|null)"
_END = r"(?=[ ]|\n|\Z)"
_KEY = rf"""(?:(?!{_WORDS_1_1}:)[A-Za-z_][A-Za-z0-9_-]*|"[^"\\\n]*"|'[^'\n]*')"""
_ESCAPE = r"""\\(?:[0abtnvfre "/\\N_LP]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})"""
_NUMBERS_HAVE = "-0-9a-fA-FiInNoOtTxXzZ.+_"
_TEXT_GOES_ON = r"(?:[^:#\t\n] | :(?=[^ \t\n]) | (?<=[^ ])\#)"
_VALUE = rf"""
    "(?:[^"\\\n]|{_ESCAPE})*(?:\\?\n[ ]+(?=[^ "\n])(?:[^"\\\n]|{_ESCAPE})+)*"
  | '(?:[^'\n]|'')*(?:\n[ ]+(?=[^ \n])(?:[^'\n]|'')+)*'
  | \[\] | \{{\}}
  | -?(?:0|[1-9][0-9]{{0,17}})(?:\.[0-9]{{1,15}})?{_END}
  | (?:true|false|null){_END}
  | [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}
    (?:[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})?)?{_END}
  | (?: [^\W\d_] | [($/] | [^\x00-\x7f]
      | [0-9+](?:(?::+|[ ]+)?[{_NUMBERS_HAVE}])*(?::+|[ ]+)?[^{_NUMBERS_HAVE}:# \t\n] )
    {_TEXT_GOES_ON}*
    (?:\n[ ]+(?=[^:# \t\n])(?![-?](?:[ ]|\n|\Z)){_TEXT_GOES_ON}*)*
  | {{FLOW_SEQUENCE}} | {{FLOW_MAPPING}}
"""
_FLOW_CHARACTER = r"[^:\#,\[\]{}\ \t\n]"
_FLOW_SCALAR = rf"""
    "(?:[^"\\\n]|{_ESCAPE})*(?:\\?\n[ ]+(?=[^ "\n])(?:[^"\\\n]|{_ESCAPE})+)*"
  | '(?:[^'\n]|'')*(?:\n[ ]+(?=[^ \n])(?:[^'\n]|'')+)*'
  | -?(?:0|[1-9][0-9]{{0,17}})(?:\.[0-9]{{1,15}})? | true | false | null
  | [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}
    (?:[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})?)?
  | (?: [^\W\d_] | [($/] | [^\x00-\x7f]
      | [0-9+](?:[ ]*[{_NUMBERS_HAVE}])*[ ]*(?![{_NUMBERS_HAVE}]){_FLOW_CHARACTER} )
    (?:[ ]*{_FLOW_CHARACTER})*
    (?:[ ]*\n[ ]+(?![-?'"!&*|>%@`]){_FLOW_CHARACTER}(?:[ ]*{_FLOW_CHARACTER})*)*
"""
_FLOW_BREAK = r"(?:[ ]*\n[ ]+|[ ]*)"
_FLOW_PAIR = rf"{_KEY}:[ ]+(?:{_FLOW_SCALAR})"
_VALUE = _VALUE.replace(
    "{FLOW_SEQUENCE}",
    rf"\[{_FLOW_BREAK}(?:{_FLOW_SCALAR})(?:[ ]*,{_FLOW_BREAK}(?:{_FLOW_SCALAR}))*[ ]*\]",
).replace(
    "{FLOW_MAPPING}",
    rf"\{{{_FLOW_BREAK}{_FLOW_PAIR}(?:[ ]*,{_FLOW_BREAK}{_FLOW_PAIR})*[ ]*\}}",
)
# An anchor and its value, an anchor alone (its value below) or an alias.
_NAME = r"[0-9A-Za-z_-]+"
_NODE = rf"(?:&{_NAME}[ ]+)?(?:{_VALUE}) | &{_NAME}{_END} | \*{_NAME}{_END}"
_LINE = rf"""
    [ ]{{0,16}}
    (?: (?:-[ ]{{1,3}}){{1,3}}(?:{_NODE})
      | (?:-[ ]{{1,3}}){{0,3}}(?: - | {_KEY}:(?:[ ]+(?:{_NODE}))? )
    )[ ]*(?:[ ]\#[^\n]*)?
  | [ ]*(?:\#[^\n]*)?
"""
_REFERENCE = re.compile(rf"(?:(?:{_LINE})\n){{0,39999}}(?:{_LINE})", re.VERBOSE)


def _taken_as_it_is(character: str) -> bool:
    """Printable to libyaml and to yaml-rs, no line break to YAML 1.1, carried by XML."""
    code = ord(character)
    return (
        character == "\n"
        or 0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or code >= 0x10000
    )


# A line that looks like a key YAML 1.1 reads as a boolean, or like a key or an item whose
# value is a word YAML 1.1 reads as a boolean or null (lower-case true, false and null, which
# both read alike, only with a comment glued on), sends the document to PyYAML.  So does such
# a line that goes on a value over lines: the automaton cannot tell which lines do.
_YAML_1_1_WORD = re.compile(
    rf"""
    ^[ ]*(?:-[ ]+)*{_WORDS_1_1}:(?=[ ]|$)
  | ^[ ]*(?:(?:-[ ]+)+|(?:-[ ]+)*{_KEY}:[ ]+)(?:&{_NAME}[ ]+)?
    (?: (?!(?:true|false|null)[ ]*(?:\#|$)){_WORDS_1_1}[ ]*(?:\#|$)
      | (?:true|false|null)\# )
  | (?:[\[{{,]|:(?=[ \n]))[ \n]*(?!(?:true|false|null)[ \n]*[,\]}}]){_WORDS_1_1}[ \n]*[,\]}}]
  | [\[{{,][ \n]*{_WORDS_1_1}[ \n]*:
    """,
    re.VERBOSE | re.MULTILINE,
)


def plainly_written_by_the_reference(text: str) -> bool:
    return (
        all(map(_taken_as_it_is, text))
        and _YAML_1_1_WORD.search(text) is None
        and _REFERENCE.fullmatch(text) is not None
    )


def test_the_gate_takes_the_corpus_as_its_specification_does() -> None:
    corpus = corpus_module().Corpus(seed=5)
    taken = 0
    for index in range(300):
        text = corpus.record(index)
        if text.startswith("---\n"):
            matter = front_matter(text)
            taken += yamlfast.plainly_written(matter)
            assert yamlfast.plainly_written(matter) == plainly_written_by_the_reference(matter)
    assert taken >= 280


_WORD_SPELLINGS = ["yes", "No", "oN", "OFF", "y", "N", "true", "True", "tRUE", "false", "FALSE"]
_WORD_SPELLINGS += ["fal\u017fe", "null", "Null", "nul", "yess", "truex", "on_", "nOt"]
_KEYS = st.one_of(
    st.sampled_from(["a", "key_1", "b-c", "_x", "1a", '"q: k"', "'s k'", '"a"b"', ""]),
    st.sampled_from(_WORD_SPELLINGS),
)
_VALUES: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(_WORD_SPELLINGS),
    st.sampled_from(["0", "-1", "017", "1.5", "1.", "1e3", "12 34", "[]", "{}", "[1]", "~", "-"]),
    st.sampled_from(["2020-06-10", "2020-06-10T18:12:00Z", "2020-06-10 18:12:00.5+02:00"]),
    st.sampled_from(['"x"', '"a\\"b"', '"\\x41"', "'it''s'", "'a", '"é: yes #"', "é", "Ⅻ", "_a"]),
    st.sampled_from(["5G", "3D x", "10 best", "+g7", "+.inf", "12:30", "1:x", "0x1Fg", ".5G"]),
    st.sampled_from(["— x", "“q”", "€2", "\u00a0", "(AP)", "$5", "/p", "x\u2028", "\ufeffx"]),
    st.lists(
        st.one_of(
            st.sampled_from(["a", "é", "1", ":", "::", "#", " ", "  ", "yes", "true", "/", "'"]),
            st.sampled_from(['"', "\\t", "\\/", "\\v", "\\x", "\\u", "\\ ", "\\", "\\u00e9"]),
            st.sampled_from(["G", "+", "(", "\u00a0", "''", "\n", "\n  ", "\n ", "\\\n   "]),
        ),
        min_size=1,
        max_size=7,
    ).map("".join),
)
_FLOW_SEPARATORS = st.sampled_from([", ", ",", " , ", ",\n  ", ",\n", ",\n ", "\n  , ", ""])


@st.composite
def _flow_collections(draw: st.DrawFn) -> str:
    """Flow sequences and mappings of values: well formed or nearly."""
    items = draw(st.lists(_VALUES, min_size=1, max_size=4))
    if draw(st.booleans()):
        keys = draw(st.lists(_KEYS, min_size=len(items), max_size=len(items)))
        separator = draw(st.sampled_from([": ", ":", ":  ", ": \n  "]))
        items = [f"{key}{separator}{item}" for key, item in zip(keys, items, strict=True)]
        opening, closing = "{", "}"
    else:
        opening, closing = "[", "]"
    text = opening + draw(st.sampled_from(["", " ", "\n  "])) + items[0]
    for item in items[1:]:
        text += draw(_FLOW_SEPARATORS) + item
    return text + draw(st.sampled_from(["", " ", "\n  "])) + closing


_VALUES = st.one_of(_VALUES, _flow_collections())
_COMMENTS = st.sampled_from(["", " # c", "  #c", "#c", " #", " ", "  "])
_PROPERTIES = st.sampled_from(["", "", "", "&a ", "&b  ", "&a", "*a", "*b", "&a:b ", "*a #c", "&"])


@st.composite
def _lines(draw: st.DrawFn) -> str:
    indent = " " * draw(st.integers(0, 18))
    dashes = "".join(draw(st.lists(st.sampled_from(["- ", "-  ", "-"]), max_size=4)))
    shapes = ["key", "key and value", "item", "comment", "blank", "more of a value"]
    shape = draw(st.sampled_from(shapes))
    if shape == "comment":
        return indent + "#" + draw(_VALUES)
    if shape == "blank":
        return indent
    value = draw(_VALUES)
    node = draw(_PROPERTIES)  # an anchor or alias, mostly none
    if shape == "item":
        return indent + dashes + node + value + draw(_COMMENTS)
    if shape == "more of a value":
        return indent + node + value + draw(_COMMENTS)
    separator = draw(st.sampled_from([": ", ":  ", ":", ": ", ":x"]))
    line = indent + dashes + draw(_KEYS) + separator + node
    return line + (value if shape == "key and value" else "") + draw(_COMMENTS)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=5))
def test_the_gate_takes_what_its_specification_takes(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert yamlfast.plainly_written(text) == plainly_written_by_the_reference(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=6))
def test_whatever_the_gate_takes_pyyaml_reads_the_same(lines: list[str]) -> None:
    text = "\n".join(lines)
    read_alike(text)


@st.composite
def _documents_with_block_scalars(draw: st.DrawFn) -> str:
    """Block scalar headers with lines below them of any depth and shape, and the lines
    of other values between them."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        column = draw(st.integers(0, 4))
        lead = " " * column + draw(st.sampled_from(["", "- "]))
        header = draw(st.sampled_from(["|", ">", "|-", ">-", "|+", ">+", "|  ", "> #c", "|2"]))
        lines.append(f"{lead}{draw(_KEYS)}: {header}")
        depth = len(lead) + draw(st.integers(-1, 3))  # mostly deeper than the key
        for _ in range(draw(st.integers(0, 4))):
            deeper = " " * (depth + draw(st.sampled_from([0, 0, 0, 1, 2, -1])))
            lines.append(
                draw(st.one_of(st.just(""), st.just(deeper), _VALUES.map(deeper.__add__), _lines()))
            )
        other = _VALUES.map(f"{lead}k: ".__add__)  # another key of the same mapping
        lines.extend(draw(st.lists(st.one_of(other, _lines()), max_size=2)))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n", "\n\n"]))


_BLOCK_TEXT = (
    st.lists(
        st.sampled_from(["a", "017", "yes", "1e3", ": ", ":", "#", " #", " ", "- ", "? ", "'"]),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .map(str.strip)
    .filter(bool)
)
_BLOCK_TEXT = st.one_of(
    _BLOCK_TEXT,
    st.sampled_from(['"', "[x", "{", "é", "\\e", "---", "...", "&x", "*x", "!!str", "|"]),
    st.sampled_from(["x\u2028y", "x\u2029", "\x85", "x\x01", "x\ty", "\ufeffx", "x\ry"]),
)


@st.composite
def _well_formed_block_scalars(draw: st.DrawFn) -> str:
    """Documents of block scalars written as people write them (and as the fast reader
    takes them, mostly), whose lines hold what would be other values outside them."""
    lines = []
    for index in range(draw(st.integers(1, 3))):
        column = draw(st.sampled_from([0, 2]))
        if column:
            lines.append(f"n{index}:")
        key = draw(st.sampled_from(["k{}", '"k{}"', "'k{}'", "- k{}"])).format(index)
        if key.startswith("-"):
            lines.append(f"{' ' * column}l{index}:")
        header = draw(st.sampled_from(["|", ">", "|-", ">-", "|+", ">+"]))
        lines.append(f"{' ' * column}{key}: {header}")
        depth = column + (2 if key.startswith("-") else 0) + draw(st.integers(1, 3))
        lines.append(" " * depth + draw(_BLOCK_TEXT))
        for _ in range(draw(st.integers(0, 5))):
            more = draw(st.sampled_from([0, 0, 0, 1, 2]))
            blank = draw(st.integers(0, 5)) == 0
            lines.append("" if blank else " " * (depth + more) + draw(_BLOCK_TEXT))
        lines.extend([""] * draw(st.integers(0, 2)))
    return "\n".join(lines) + "\n"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_documents_with_block_scalars(), _well_formed_block_scalars()))
def test_whatever_the_fast_reader_takes_with_block_scalars_pyyaml_reads_the_same(
    text: str,
) -> None:
    read_alike(text)


@st.composite
def _documents_with_values_below(draw: st.DrawFn) -> str:
    """Keys with their values on the lines below them, at any depth (mostly deeper than
    the key), after anything a key's line may end with, and the lines of other values
    between them."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        lead = " " * draw(st.integers(0, 4)) + draw(st.sampled_from(["", "- ", "- - "]))
        ending = draw(st.sampled_from([":", ": ", ":  ", ": #c", ": &a", ":x"]))
        lines.append(f"{lead}{draw(_KEYS)}{ending}")
        depth = max(0, len(lead) + draw(st.integers(-1, 3)))
        lines.append(" " * depth + draw(_PROPERTIES) + draw(_VALUES) + draw(_COMMENTS))
        for _ in range(draw(st.integers(0, 2))):  # more of the value, or other lines
            more = " " * draw(st.integers(0, depth + 2))
            lines.append(draw(st.one_of(_VALUES.map(more.__add__), _lines())))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


_TEXT_BELOW = st.sampled_from(
    [
        *["https://x.org/a?b=c#d", "text", "a:b", "x #y", "'q: x'", '"d: \\" x"', "[a, b]"],
        *["{a: b}", "5G", "1.5", "2020-06-10 18:12:00+00:00", "é", "a - b", "a: b", "a:"],
        *["- a", "b #", "#"],
    ]
)


@st.composite
def _well_formed_values_below(draw: st.DrawFn) -> str:
    """Documents as ruamel.yaml writes them, mostly: values on the line below their keys,
    in mappings and lists at several depths, some of them going on over more lines."""
    lines = []
    for index in range(draw(st.integers(1, 4))):
        lead = ""  # a key of the document itself, or of a mapping or list of its own:
        if index or draw(st.booleans()):
            lines.append(f"n{index}:")
            lead = "  " + draw(st.sampled_from(["", "- ", "  - "]))
        lines.append(f"{lead}k{index}:" + draw(st.sampled_from(["", " ", "  "])))
        # Mostly deeper than the key, as it must be.
        depth = len(lead) + draw(st.sampled_from([1, 2, 2, 4, 2, 0]))
        lines.append(" " * depth + draw(_TEXT_BELOW) + draw(st.sampled_from(["", " "])))
        for _ in range(draw(st.integers(0, 2))):  # more of the value
            deeper = " " * (len(lead) + draw(st.sampled_from([1, 2, 3, 6, 2, 3, 0])))
            lines.append(deeper + draw(_TEXT_BELOW))
        if draw(st.booleans()):
            lines.append(f"{lead.replace('-', ' ')}o{index}: x")
    return "\n".join(lines) + "\n"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_documents_with_values_below(), _well_formed_values_below()))
def test_whatever_the_fast_reader_takes_with_values_below_keys_pyyaml_reads_the_same(
    text: str,
) -> None:
    read_alike(text)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=6))
def test_whatever_the_gate_takes_with_windows_line_breaks_pyyaml_reads_the_same(
    lines: list[str],
) -> None:
    text = "\r\n".join(lines)
    read_alike(text)


@settings(max_examples=3000, deadline=None)
@given(
    st.text(
        st.sampled_from(list("ab yYeEsSnNoOtTrRuUfFlLv\u017fé1-:#'\"\\x\n\t[]{},.+G($/\xa0\x85&*")),
        max_size=30,
    )
)
def test_the_gate_agrees_with_its_specification_character_by_character(text: str) -> None:
    assert yamlfast.plainly_written(text) == plainly_written_by_the_reference(text)


# Keys of the top-level mapping, as the checks across records place their findings at them,
# and values as records hold there, mixed with any value.
_PLACED_KEYS = ["published", "webUrl", "a"]
_PLACED_VALUES = st.one_of(
    st.sampled_from(["false", "true", "x y", '"q"', "'s'", "https://a.example/b?c=d", "7", "[a]"]),
    _VALUES,
)
_PLACED_PROPERTIES = st.sampled_from(["", "", "", "", "", "", "&a ", "*a"])


@st.composite
def _top_level_documents(draw: st.DrawFn) -> str:
    """Front matter of top-level entries, some keys repeated or quoted, with values on their
    key's line, below it, or lists and mappings below it."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from([*_PLACED_KEYS * 3, '"published"', "'a'", "published_x"]))
        shape = draw(st.sampled_from(["value", "below", "list", "mapping", "comment", "blank"]))
        if shape == "comment":
            lines.append("#" + draw(_PLACED_VALUES))
        elif shape == "blank":
            lines.append("")
        elif shape == "value":
            space = draw(st.sampled_from([" ", "  "]))
            lines.append(
                f"{key}:{space}{draw(_PLACED_PROPERTIES)}{draw(_PLACED_VALUES)}{draw(_COMMENTS)}"
            )
        else:
            lines.append(f"{key}:{draw(_COMMENTS)}")
            for _ in range(draw(st.integers(1, 3))):
                if shape == "below":
                    lines.append("  " + draw(_PLACED_VALUES))
                elif shape == "list":
                    lines.append(draw(st.sampled_from(["", "  "])) + "- " + draw(_PLACED_VALUES))
                else:
                    lines.append(f"  {draw(st.sampled_from(_PLACED_KEYS))}: {draw(_PLACED_VALUES)}")
    return "\n".join(lines)


def _placed_both_ways(front: str, line_break: str, key: str) -> tuple[Any, Any]:
    raw = f"---\n{front}\n---\nbody\n".replace("\n", line_break).encode()
    quick = Locator.of_file("r.md", raw, quick=True).position((key,))
    return quick, Locator.of_file("r.md", raw).position((key,))


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(_top_level_documents(), st.lists(_lines(), min_size=1, max_size=6).map("\n".join)),
    st.sampled_from(["\n", "\r\n"]),
)
def test_a_top_level_field_placed_from_the_lines_is_where_pyyaml_places_it(
    front: str, line_break: str
) -> None:
    """For front matter that reads (only records that read have findings to place)."""
    try:
        yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    for key in _PLACED_KEYS:
        quick, composed = _placed_both_ways(front, line_break, key)
        assert quick == composed, key


@pytest.mark.parametrize(
    ("front", "key", "place"),
    [
        ("title: x\npublished: false\nwebUrl: https://a.example/", "published", (1, 11)),
        ("title: x\npublished:   false # no\n", "published", (1, 13)),
        ("published: true\nrelated:\n- a\npublished: false", "published", (3, 11)),  # the last
        ('webUrl: "https://a.example/"\ntopics: [a, b]', "webUrl", (0, 8)),
        ("topics: [a, b]\nwebUrl: x", "topics", (0, 0)),  # a list: at its key
        ("topics: {a: b}\nwebUrl: x", "topics", (0, 0)),
        ("title: x\r\npublished: false\r\n", "published", (1, 11)),  # Windows line breaks
        ("a: b", "published", (0, 0)),  # missing: placed where the mapping starts
        ("# c\n\ntitle: x\npublished_x: z", "published", (2, 0)),
    ],
)
def test_top_level_fields_are_placed_from_the_lines(
    front: str, key: str, place: tuple[int, int]
) -> None:
    assert yamlfast.top_level_place(front, key) == place
    raw = f"---\n{front}\n---\n".encode()
    assert Locator.of_file("r.md", raw).position((key,)) == (place[0] + 2, place[1] + 1)


@pytest.mark.parametrize(
    ("front", "key"),
    [
        ("published:\n  false", "published"),  # below its key
        ("published: # c\n  false", "published"),
        ("published:", "published"),  # null, placed where PyYAML says
        ('"published": false', "published"),  # quoted keys
        ('published: true\n"published": false', "published"),  # the quoted one wins
        ("- a\npublished: false", "published"),  # not a mapping
        ("published: &x false", "published"),  # anchors
        ("published: yes", "published"),  # the gate refuses it
        ("excerpt: >-\n  a\npublished: false", "published"),  # a block: the gate refuses it
        ("published: false", "related[0]"),  # not a plain key
        ('"a": b', "published"),  # missing, but a quoted key might be it
    ],
)
def test_what_the_lines_cannot_tell_is_left_to_pyyaml(front: str, key: str) -> None:
    assert yamlfast.top_level_place(front, key) is None


def test_the_published_and_address_of_corpus_records_are_placed_from_the_lines() -> None:
    for data in _corpus_data(seed=4, count=20):
        written = frontmatter.dumps(frontmatter.Post("", **data)).encode()
        for key in ("published", "webUrl"):
            quick = Locator.of_file("r.md", written, quick=True)
            assert yamlfast.top_level_place(quick.front_matter, key) is not None
            assert quick.position((key,)) == Locator.of_file("r.md", written).position((key,))
