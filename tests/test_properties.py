"""Properties that must hold for every input, not only the ones we thought of.

Example counts stay modest so the suite stays fast; Hypothesis keeps the failures it finds
in ``.hypothesis/`` and tries them first next time.
"""

from __future__ import annotations

import contextlib
import html
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from feedparser.html import _cp1252
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feeds.api import CheckedFile, build, reviewed
from feeds.checks import (
    credential_findings,
    html_entity_findings,
    may_hold_credentials,
    may_hold_entities,
)
from feeds.config import Config
from feeds.records import Finding, Record, parse_record
from feeds.scan import check_loaded
from feeds.schema import Schema, load_schema
from tests.conftest import SCHEMA, record_data, record_text

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema(SCHEMA)


def check_bytes(raw: bytes, schema: Schema) -> CheckedFile:
    """Everything ``validate`` does to one file's bytes (the checks across records read the
    file again only to place what they find)."""
    result = check_loaded(parse_record("records/r.md", raw), schema)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "r.md")
        path.write_bytes(raw)
        (checked,) = reviewed([result], [path], NOW, publishing=False)
    for d in checked.diagnostics:
        assert d.file == "records/r.md" and d.message and d.rule
        assert d.line is None or d.line >= 1
    return checked


YAML_PIECES = st.sampled_from(
    [
        b"title: x\n", b"webUrl: https://a.example/\n", b"- a\n", b"  - b\n", b"a: &x [1]\n",
        b"b: *x\n", b"<<: *x\n", b"? [a]\n: b\n", b"!!binary aGk=\n",
        b"c: !!timestamp 2020-02-30\n",
        b"\"\\x00\"\n", b"'\n", b"{", b"}\n", b"[", b"---\n", b"...\n", b"%YAML 1.1\n", b"\t\n",
        b"\xef\xbb\xbf", b"\r\n", b"\xff\xfe", b"\xc3", b"&a", b"*a\n", b"topics: [AI]\n",
        b"publishedDateTime: 2020-06-10T18:12:00Z\n", b"provider: {name: a, domain: b}\n",
        b"related: [{title: t}]\n", b"images: [{url: 5, width: 1.5}]\n", b"title: x\n" * 3,
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=600))
def test_any_bytes_give_diagnostics_never_an_exception(raw: bytes, schema: Schema) -> None:
    check_bytes(raw, schema)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(YAML_PIECES | st.binary(max_size=8), max_size=25))
def test_any_front_matter_gives_diagnostics_never_an_exception(
    pieces: list[bytes], schema: Schema
) -> None:
    check_bytes(b"---\n" + b"".join(pieces) + b"\n---\nbody\n", schema)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(YAML_PIECES, max_size=12), line_break=st.sampled_from(["\n", "\r\n"]))
def test_findings_placed_from_the_lines_are_where_composing_places_them(
    pieces: list[bytes], line_break: str, schema: Schema
) -> None:
    """How workers place what they find (``quick``, with the fast reader's gate)."""
    raw = (b"---\n" + b"".join(pieces) + b"---\n").replace(b"\n", line_break.encode())
    loaded = parse_record("records/r.md", raw)
    assert check_loaded(loaded, schema, quick=True) == check_loaded(loaded, schema)


_REQUIRED = ["title", "webUrl", "publishedDateTime", "provider", "topics"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    missing=st.sets(st.sampled_from(_REQUIRED)),
    wrong=st.dictionaries(
        st.sampled_from([*_REQUIRED, "excerpt", "published", "ampWebUrl"]),
        st.sampled_from(["yesterday", "", 5, None, ["a"], "https://a.example/?a=1&amp;b=2"]),
        max_size=3,
    ),
    line_break=st.sampled_from(["\n", "\r\n"]),
)
def test_a_records_findings_placed_from_the_lines_are_where_composing_places_them(
    missing: set[str], wrong: dict[str, Any], line_break: str, schema: Schema
) -> None:
    data = {key: value for key, value in record_data(**wrong).items() if key not in missing}
    raw = record_text(data).replace("\n", line_break).encode()
    loaded = parse_record("records/r.md", raw)
    assert check_loaded(loaded, schema, quick=True) == check_loaded(loaded, schema)


def test_a_records_most_common_findings_are_placed_without_composing_its_yaml(
    schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A title missing, a date that is none: composing a record of seed size to place them
    took a millisecond or more in each worker."""
    data = record_data(publishedDateTime="yesterday")
    del data["title"]
    loaded = parse_record("records/r.md", record_text(data).encode())
    expected = check_loaded(loaded, schema)
    assert {(d.field, d.line, d.column) for d in expected.diagnostics} == {
        ("title", 2, 1),
        ("publishedDateTime", 3, 20),
    }

    def composing(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("composed")

    monkeypatch.setattr(yaml, "compose", composing)
    assert check_loaded(loaded, schema, quick=True) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_as_front_matter_never_raises(text: str, schema: Schema) -> None:
    check_bytes(f"---\n{text}\n---\n".encode("utf-8", "surrogatepass"), schema)


# Text a publisher may well write: markup, entities, quotes, emoji, right-to-left script,
# and anything else XML can carry.
AWKWARD = st.sampled_from(
    [
        "&", "&amp;", "&#038;", "&lt;", "<b>", "</b>", "<script>alert(1)</script>", "<![CDATA[",
        "]]>", '"', "'", "`", "\\", "😀", "👩‍👩‍👧", "שלום", "مرحبا", "\u202e", "\u200f", "Ω",
        "日本語", "e\u0301", "  ", "\t", "\n", "%20", "{{x}}", "${x}", "null", "true", "- ", ": ",
        "# ", "---", "...",
    ]
)  # fmt: skip
XML_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
)
TEXT = st.lists(AWKWARD | st.text(XML_CHARACTERS, min_size=1, max_size=6), max_size=8).map("".join)
VISIBLE_TEXT = st.tuples(st.text("abcXYZ09é", min_size=1, max_size=5), TEXT).map(
    lambda parts: parts[0] + parts[1]
)
DOMAINS = st.sampled_from(["news.example.com", "例え.jp", "a.example", "xn--bcher-kva.example"])
URL_PATH = st.text(st.sampled_from("abcxyz019-._~!$&'()*+,;=:@/%ñ日"), max_size=20).map(
    lambda path: path.replace("%", "%25")
)


@st.composite
def dates(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(datetime(1971, 1, 1), datetime(2035, 12, 31)))
    offset = draw(st.sampled_from([0, 60, -300, 330, 840]))
    zone = timezone(timedelta(minutes=offset))
    text = moment.replace(microsecond=0, tzinfo=zone).isoformat()
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


@st.composite
def articles(draw: st.DrawFn, url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": draw(VISIBLE_TEXT),
        "publishedDateTime": draw(dates()),
        "webUrl": url,
        "provider": {"name": draw(VISIBLE_TEXT), "domain": draw(DOMAINS)},
    }
    if draw(st.booleans()):
        data["excerpt"] = draw(TEXT)
    if draw(st.booleans()):
        size = st.integers(1, 20_000)
        image: dict[str, Any] = {"url": f"https://img.example/{draw(URL_PATH)}"}
        if draw(st.booleans()):
            image |= {"width": draw(size), "height": draw(size)}
        data["images"] = [image]
    return data


@st.composite
def corpora(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One to three valid records with their own URLs, citing each other or new articles."""
    count = draw(st.integers(1, 3))
    urls = [f"https://{draw(DOMAINS)}/{i}/{draw(URL_PATH)}" for i in range(count)]
    records = []
    for url in urls:
        record = draw(articles(url))
        record["topics"] = draw(st.lists(VISIBLE_TEXT, min_size=1, max_size=3))
        record["published"] = draw(st.sampled_from([True, True, False]))
        cited = draw(st.lists(st.sampled_from([*urls, "https://cited.example/x"]), max_size=2))
        record["related"] = [draw(articles(other)) for other in dict.fromkeys(cited)]
        records.append(record)
    return records


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=corpora())
@example(  # a title feedparser takes for UTF-8 misread as Latin-1
    corpus=[
        {
            "title": "0Â¡",
            "publishedDateTime": "2000-01-01T00:00:00+00:00",
            "webUrl": "https://news.example.com/0/",
            "provider": {"name": "0", "domain": "news.example.com"},
            "topics": ["0"],
            "published": True,
            "related": [],
        }
    ]
)
def test_any_valid_records_build_feeds_that_parse_cleanly(
    corpus: list[dict[str, Any]], schema: Schema
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "records").mkdir()
        for index, data in enumerate(corpus):
            (root / "records" / f"{index}.md").write_text(record_text(data), "utf-8")
        config = Config(source=root / "records", output=root / "out")
        report = build(config, schema, now=NOW)
        assert [item.diagnostics for item in report.skipped] == []
        assert report.published == sum(data["published"] for data in corpus)
        written = sorted((root / "out").rglob("*.xml"))
        assert len(written) == sum(name.endswith(".xml") for name in report.files)
        for path in written:
            parsed = feedparser.parse(path.read_bytes())
            assert not parsed.bozo, (path.name, parsed.get("bozo_exception"))
        atom = feedparser.parse((root / "out" / "all.atom.xml").read_bytes())
        # A title that looks like markup is sent as escaped HTML: what a reader shows is
        # the unescaped text.
        titles = {
            html.unescape(entry.title) if entry.title_detail.type == "text/html" else entry.title
            for entry in atom.entries
        }
        for data in corpus:
            if data["published"]:
                assert as_feedparser_shows(" ".join(data["title"].split())) in titles


def as_feedparser_shows(text: str) -> str:
    """``text`` as feedparser gives it from a UTF-8 feed.  It takes text that is UTF-8 once
    encoded as Latin-1 ("0Â¡") for UTF-8 misread as Latin-1, and undoes that; and it reads
    C1 controls as Windows-1252 (feedparser/mixin.py).  feeds writes the record's text."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


_ENTITY_PIECES = st.sampled_from(["&", "#038", "#x26", "amp", ";", "a", "?w=1", " ", "\n", "'"])
# Inside a double-quoted scalar, escapes can write the ``&`` and ``;`` of an entity.
_ESCAPED_PIECES = st.sampled_from(["&", "#038", "amp", ";", "a", "\\x26", "\\u0026", "\\x3b"])


_STYLES = st.sampled_from(['"', "'", "", "|", ">", "escapes"])


def url_in_yaml(start: str, pieces: list[str], escaped: list[str], style: str) -> Record | None:
    """A record whose ``webUrl`` is ``start`` and ``pieces``, written in YAML in ``style``,
    or ``start`` and ``escaped`` in a double-quoted scalar (``"escapes"``)."""
    if style == "escapes":
        yaml_text = f'webUrl: "{start}{"".join(escaped)}"\n'
    else:
        url = start + "".join(pieces)
        yaml_text = yaml.safe_dump({"webUrl": url}, default_style=style or None, width=40)
    return parse_record("r.md", f"---\n{yaml_text}---\n".encode()).record


_USERINFO_PIECES = st.sampled_from(["user", ":", "pw", "@", "a.example", "/", "?", "#", " ", "'"])
_ESCAPED_USERINFO = st.sampled_from(["user", ":", "@", "a.example", "/", "\\x40", "\\u0040"])


@dataclass(frozen=True)
class QuickTest:
    """A quick test on a record's text, the findings it spares most records looking for, and
    how to write URLs that may hold them: from ``start``, plainly or with escapes."""

    start: str
    written: st.SearchStrategy[str]
    escaped: st.SearchStrategy[str]
    findings: Callable[[Mapping[str, Any]], Iterator[Finding]]
    may_hold: Callable[[str], bool]


QUICK_TESTS = {
    "entities": QuickTest(
        "https://example.com/",
        _ENTITY_PIECES,
        _ESCAPED_PIECES,
        html_entity_findings,
        may_hold_entities,
    ),
    "credentials": QuickTest(
        "https://", _USERINFO_PIECES, _ESCAPED_USERINFO, credential_findings, may_hold_credentials
    ),
}


@pytest.mark.parametrize("name", QUICK_TESTS)
@given(data=st.data(), style=_STYLES)
@settings(max_examples=600, deadline=None)
def test_the_quick_test_on_the_text_never_hides_a_finding(
    data: st.DataObject, name: str, style: str
) -> None:
    """The quick tests on the front matter's text that spare most records a walk over their
    URLs never hide what that walk would find in the data, however the URL is written in
    YAML (plain, quoted, as a block, or with escapes that write its characters)."""
    case = QUICK_TESTS[name]
    pieces = data.draw(st.lists(case.written, max_size=8))
    escapes = data.draw(st.lists(case.escaped, max_size=8))
    record = url_in_yaml(case.start, pieces, escapes, style)
    if record is not None and list(case.findings(record.data)):
        assert case.may_hold(record.front_matter)
