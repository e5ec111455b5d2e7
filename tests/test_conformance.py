"""Every document passes the W3C Feed Validation Service's rules (as restated in
``tests/feedrules.py``), feedparser reads it without complaint, and JSON Feeds meet the
JSON Feed 1.1 specification: on the seeds and on a corpus of awkward records."""

from __future__ import annotations

import functools
import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import jsonschema_rs
import pytest
from lxml import etree

from feeds.api import BuildReport, build
from feeds.config import Config, load_config
from feeds.sanitize import plain_attribute, plain_title
from tests.conftest import SEEDS
from tests.corpus import write_corpus
from tests.feedrules import opml_problems, problems

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://localhost:8000/"
CORPUS_RECORDS = 1100


@dataclass(frozen=True)
class Built:
    out: Path
    report: BuildReport
    tainted: frozenset[str]  # record files written with control characters

    def documents(self, suffix: str) -> list[str]:
        return sorted(p.relative_to(self.out).as_posix() for p in self.out.rglob(f"*{suffix}"))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("seeds")
    shutil.copytree(SEEDS, root / "seeds")
    config = load_config(root)
    return Built(config.output, build(config), frozenset())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("corpus")
    tainted = write_corpus(root / "records", CORPUS_RECORDS)
    # Small pages, so that every feed of the corpus has archives too.
    config = Config(source=root / "records", output=root / "out", entries_per_feed=20)
    return Built(config.output, build(config), frozenset(tainted))


@functools.cache
def parse(path: Path) -> Any:
    """feedparser's reading of a document; each is read once per session (it is slow)."""
    return feedparser.parse(path.read_bytes())


def all_problems(built: Built) -> list[str]:
    found = []
    for suffix in (".atom.xml", ".rss.xml"):
        for name in built.documents(suffix):
            found += problems(built.out, name, BASE)
    return found


def test_seed_feeds_pass_every_rule(seeds: Built) -> None:
    assert all_problems(seeds) == []


@pytest.mark.parametrize("which", ["seeds", "corpus"])
def test_opml_passes_every_rule_and_lists_every_feed(
    which: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(which)
    assert opml_problems(built.out / "feeds.opml") == []
    outlines = etree.parse(str(built.out / "feeds.opml")).iter("outline")
    listed = [str(o.get("xmlUrl")) for o in outlines if o.get("xmlUrl")]
    subscriptions = [n for n in built.documents(".atom.xml") if "/archive/" not in n]
    assert sorted(listed) == sorted(f"{BASE}{n}" for n in subscriptions)


def test_corpus_is_large_and_awkward(corpus: Built) -> None:
    assert corpus.report.records == CORPUS_RECORDS
    assert corpus.report.published > 900
    assert len(corpus.documents(".atom.xml")) > 50  # archives included
    text = "".join((corpus.out / n).read_text("utf-8") for n in corpus.documents(".atom.xml"))
    for sample in ["🚀", "مرحبا", "&#x26;", 'type="html"', "+00:00"]:
        assert sample in text


def test_corpus_feeds_pass_every_rule(corpus: Built) -> None:
    found = all_problems(corpus)
    assert found == [], f"{len(found)} problems, first: {found[:20]}"


def test_records_with_control_characters_are_skipped_and_the_rest_published(
    corpus: Built,
) -> None:
    skipped = {Path(item.loaded.file).name for item in corpus.report.skipped}
    assert corpus.tainted, "the corpus must exercise control characters"
    # Tainted records are skipped (or their control characters never reach a document).
    assert skipped <= corpus.tainted
    control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
    for path in corpus.out.rglob("*"):
        if path.is_file() and path.suffix != ".ico":
            assert not control.search(path.read_text("utf-8")), path
    # Every other record made it: the all-articles feed and its archives hold every article.
    ids: set[str] = set()
    for name in corpus.documents(".atom.xml"):
        if name == "all.atom.xml" or name.startswith("all/archive/"):
            ids.update(e.id for e in parse(corpus.out / name).entries)
    assert len(ids) == corpus.report.articles


@pytest.mark.parametrize("which", ["seeds", "corpus"])
def test_feedparser_reads_every_document_without_bozo(
    which: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(which)
    for suffix, version in ((".atom.xml", "atom10"), (".rss.xml", "rss20")):
        for name in built.documents(suffix):
            parsed = parse(built.out / name)
            assert not parsed.bozo, (name, parsed.get("bozo_exception"))
            assert parsed.version == version, name


def test_feed_documents_have_unique_ids_and_dates_in_order(corpus: Built) -> None:
    for name in corpus.documents(".atom.xml"):
        parsed = parse(corpus.out / name)
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids)), name
        dates = [e.published_parsed for e in parsed.entries]
        assert dates == sorted(dates, reverse=True), name


# JSON Feed 1.1, https://jsonfeed.org/version/1.1, as a schema: required members and types.
AUTHOR = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "url": {"type": "string", "format": "uri"}},
    "anyOf": [{"required": ["name"]}, {"required": ["url"]}],
}
JSON_FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string", "minLength": 1},
        "home_page_url": {"type": "string", "format": "uri"},
        "feed_url": {"type": "string", "format": "uri"},
        "next_url": {"type": "string", "format": "uri"},
        "description": {"type": "string"},
        "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]+)*$"},
        "expired": {"type": "boolean"},
        "authors": {"type": "array", "minItems": 1, "items": AUTHOR},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "format": "uri"},
                    "title": {"type": "string"},
                    "content_html": {"type": "string"},
                    "content_text": {"type": "string"},
                    "summary": {"type": "string"},
                    "image": {"type": "string", "format": "uri"},
                    "date_published": {"type": "string", "format": "date-time"},
                    "date_modified": {"type": "string", "format": "date-time"},
                    "authors": {"type": "array", "items": AUTHOR},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "patternProperties": {"^_": {"type": "object"}},
            },
        },
    },
}


@pytest.mark.parametrize("which", ["seeds", "corpus"])
def test_json_feeds_follow_the_json_feed_1_1_spec(
    which: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(which)
    validator = jsonschema_rs.validator_for(JSON_FEED_SCHEMA, validate_formats=True)
    xml_names = {n.removesuffix(".atom.xml") for n in built.documents(".atom.xml")}
    json_names = built.documents(".json")
    assert {n.removesuffix(".json") for n in json_names} == xml_names  # one beside each
    for name in json_names:
        document = json.loads((built.out / name).read_text("utf-8"))
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], (name, errors[:5])
        assert document["feed_url"] == f"{BASE}{name}"
        atom = parse(built.out / name.replace(".json", ".atom.xml"))
        assert [i["id"] for i in document["items"]] == [e.id for e in atom.entries]
        for item in document["items"]:
            for key in ("date_published", "date_modified"):
                if key in item:  # RFC 3339, with an offset
                    assert datetime.fromisoformat(item[key]).tzinfo is not None


def test_json_feed_lists_related_articles(seeds: Built) -> None:
    document = json.loads((seeds.out / "all.json").read_text("utf-8"))
    by_url = {item["url"]: item for item in document["items"]}
    item = by_url[
        "https://www.neowin.net/news/ibm-backs-out-from-facial-recognition-business-over-concerns-of-racial-and-ethnic-bias"
    ]
    (related,) = item["_feeds"]["related"]
    assert related["url"].startswith("https://www.scmp.com/")
    assert "Related articles" in item["content_html"]


def test_stylesheet_renders_every_kind_of_document(corpus: Built) -> None:
    transform = etree.XSLT(etree.parse(str(corpus.out / "feed.xsl")))
    for name in ["all.atom.xml", "all.rss.xml", "all/archive/1.atom.xml", "all/archive/2.rss.xml"]:
        page = str(transform(etree.parse(str(corpus.out / name))))
        document = etree.fromstring(page.encode(), etree.HTMLParser())
        assert document.get("lang") == "en"
        assert document.findtext(".//h1")
        feed = etree.parse(str(corpus.out / name)).iter()
        listed = sum(etree.QName(node).localname in ("entry", "item") for node in feed)
        assert len(document.findall(".//article")) == listed >= 10, name
        assert document.findall(".//article//img")
        assert "<script" not in page


def test_corpus_builds_are_byte_identical(corpus: Built, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build(Config(source=corpus.out.parent / "records", output=again, entries_per_feed=20))
    files = sorted(p.relative_to(corpus.out) for p in corpus.out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((corpus.out / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_every_related_link_has_a_title_readers_can_show(corpus: Built) -> None:
    """Titles that look like markup lose it rather than the title (validators read link
    titles as plain text)."""
    for name in corpus.documents(".atom.xml"):
        for link in etree.parse(str(corpus.out / name)).iter(f"{ATOM}link"):
            if link.get("rel") == "related":
                title = link.get("title")
                assert title and plain_attribute(title), (name, link.get("href"), title)


@pytest.mark.parametrize(
    ("title", "plain"),
    [
        ("Plain words", "Plain words"),
        ("Tom & Jerry", "Tom & Jerry"),
        ("<b>Bold</b> moves in AI", "Bold moves in AI"),
        ("AT&amp;T deal", "AT&T deal"),
        ("&#39;quoted&#39;", "'quoted'"),
        ("<b></b>", "Related article"),
    ],
)
def test_plain_title(title: str, plain: str) -> None:
    assert plain_title(title, fallback="Related article") == plain
