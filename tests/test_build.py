"""End to end on the sample seeds: what subscribers' readers actually receive."""

from __future__ import annotations

import html
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree

from feeds import api
from feeds.api import build
from feeds.articles import RELATED_LISTED
from feeds.config import Config, load_config
from feeds.output import OutputError
from tests.conftest import (
    HOT,
    REPO,
    RecordFactory,
    cite_one_article,
    corpus_module,
    record_data,
    tree,
)

GOLDEN = REPO / "tests" / "golden"
ATOM = "{http://www.w3.org/2005/Atom}"

VENTUREBEAT = "https://venturebeat.com/2020/06/10/ibm-walked-away-from-facial-recognition-what-about-amazon-and-microsoft/"
NEOWIN = "https://www.neowin.net/news/ibm-backs-out-from-facial-recognition-business-over-concerns-of-racial-and-ethnic-bias"
ANDROID_AUTHORITY = "https://www.androidauthority.com/tech-news-56-1127243/"
SCMP = "https://www.scmp.com/tech/big-tech/article/3088133/ibm-turns-away-facial-recognition-business-amid-public-furore-over"
FASTCOMPANY = "https://www.fastcompany.com/90516450/ibm-microsoft-and-amazons-face-recognition-bans-dont-go-far-enough?partner=rss"
FORBES = "https://www.forbes.com/sites/isabeltogoh/2020/06/09/ibm-will-no-longer-offer-or-develop-facial-recognition-software-in-pursuit-of-racial-justice-reform/"

FEED_PATHS = [
    "all",
    "providers/android-authority",
    "providers/neowin",
    "providers/south-china-morning-post",
    "providers/venturebeat",
    "topics/ai",
    "topics/computer-vision",
]
EXPECTED_FILES = [f"{name}.{fmt}.xml" for name in FEED_PATHS for fmt in ["atom", "rss"]]
EVERY_FILE = [
    *EXPECTED_FILES,
    *[f"{name}.json" for name in FEED_PATHS],
    "favicon.ico",
    "feed.xsl",
    "feeds.opml",
    "index.html",
]


def parse(path: Path) -> Any:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return parsed


@pytest.fixture
def built(project: Path) -> Path:
    report = build(load_config(project))
    assert report.published == 2
    assert report.unpublished == 2
    assert [s.loaded.file for s in report.skipped] == ["seeds/004_0896647a9e7e4cea.txt"]
    return project / "out"


def test_writes_topic_provider_and_all_feeds_in_every_format(built: Path) -> None:
    assert sorted(tree(built)) == sorted(EVERY_FILE)


def test_matches_golden_output(built: Path) -> None:
    produced = tree(built)
    if os.environ.get("FEEDS_UPDATE_GOLDEN"):
        for name, data in produced.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    assert produced == tree(GOLDEN)


def test_second_build_is_byte_identical(project: Path, built: Path) -> None:
    first = tree(built)
    build(load_config(project))
    assert tree(built) == first


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_every_feed_parses_cleanly_in_feedparser(built: Path, name: str) -> None:
    parsed = parse(built / name)
    assert parsed.version == ("atom10" if name.endswith(".atom.xml") else "rss20")
    assert parsed.entries
    for entry in parsed.entries:
        assert entry.id.startswith("urn:uuid:")
        assert entry.link.startswith("https://")
        assert entry.title
        assert entry.published_parsed
    dates = [entry.published_parsed for entry in parsed.entries]
    assert dates == sorted(dates, reverse=True)
    # Atom <updated> and RSS <lastBuildDate>: the newest entry's date, never the wall clock.
    assert parsed.feed.updated_parsed == max(dates)


def links(built: Path, name: str) -> dict[str, Any]:
    return {entry.link: entry for entry in parse(built / name).entries}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_published_records_and_their_related_articles_are_entries(built: Path, fmt: str) -> None:
    entries = links(built, f"all.{fmt}.xml")
    assert set(entries) == {VENTUREBEAT, NEOWIN, ANDROID_AUTHORITY, SCMP}
    assert FASTCOMPANY not in entries and FORBES not in entries  # unpublished


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_entries_carry_titled_related_links(built: Path, fmt: str) -> None:
    entries = links(built, f"all.{fmt}.xml")
    related = [
        (link.href, link.title, link.type)
        for link in entries[VENTUREBEAT].links
        if link.rel == "related"
    ]
    assert related == [
        (
            ANDROID_AUTHORITY,
            "Why IBM abandoned facial recognition, and more tech news you need to know today",
            "text/html",
        )
    ]
    back = [link.href for link in entries[ANDROID_AUTHORITY].links if link.rel == "related"]
    assert back == [VENTUREBEAT]


def test_feedgen_link_attributes_survive_in_atom(built: Path) -> None:
    """feedgen issue #135 drops rel, title and type from Atom entry links; check the XML."""
    document = etree.parse(str(built / "all.atom.xml"))
    related = document.findall(f"{ATOM}entry/{ATOM}link[@rel='related']")
    assert len(related) == 4
    assert all(link.get("title") and link.get("type") == "text/html" for link in related)


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_related_articles_are_listed_in_visible_content(built: Path, fmt: str) -> None:
    entry = links(built, f"all.{fmt}.xml")[NEOWIN]
    html = entry.content[0].value
    assert "Related articles" in html
    assert f'<a href="{SCMP}">IBM turns away from facial recognition business' in html
    assert "(South China Morning Post)" in html


@pytest.mark.parametrize("citing", [RELATED_LISTED, RELATED_LISTED + 3])
def test_an_entry_lists_its_first_related_articles_and_says_when_there_are_more(
    tmp_path: Path, write_record: RecordFactory, citing: int
) -> None:
    """An article that many records cite is related to each of them: its entry links to
    the first it met, in file order, and says that there are more."""
    urls = cite_one_article(write_record, citing)
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out))
    listed = urls[:RELATED_LISTED]
    note = f"<p>Only the first {RELATED_LISTED} related articles are listed.</p>"
    items = json.loads((out / "all.json").read_bytes())["items"]
    contents = [item["content_html"] for item in items if item["url"] == HOT]
    for fmt in ["atom", "rss"]:
        entries = links(out, f"all.{fmt}.xml")
        entry = entries[HOT]
        assert [link.href for link in entry.links if link.rel == "related"] == listed
        contents.append(entry.content[0].value)
        # Each record citing it links to it all the same.
        last = entries[urls[-1]]
        assert [link.href for link in last.links if link.rel == "related"] == [HOT]
    assert len(contents) == 3
    for content in contents:
        assert [url for url in urls if f'<a href="{url}">' in content] == listed
        assert (note in content) == (citing > RELATED_LISTED)


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_entry_details(built: Path, fmt: str) -> None:
    entry = links(built, f"providers/venturebeat.{fmt}.xml")[VENTUREBEAT]
    assert entry.summary.startswith("Algorithmic Justice League founder")
    assert [tag.term for tag in entry.tags] == ["Computer Vision", "AI"]
    assert entry.author == "VentureBeat"
    (thumbnail,) = entry.media_thumbnail
    assert thumbnail["width"] == "1200" and thumbnail["height"] == "600"
    assert thumbnail["url"].startswith("https://venturebeat.com/wp-content/uploads/")


def test_ids_are_the_same_in_every_feed_and_format(built: Path) -> None:
    ids: dict[str, set[str]] = {}
    for name in EXPECTED_FILES:
        for entry in parse(built / name).entries:
            ids.setdefault(entry.link, set()).add(entry.id)
    assert all(len(found) == 1 for found in ids.values())
    assert len({next(iter(found)) for found in ids.values()}) == len(ids)


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_feed_level_metadata(built: Path, name: str) -> None:
    parsed = parse(built / name)
    feed = parsed.feed
    (self_link,) = [link for link in feed.links if link.rel == "self"]
    assert self_link.href == f"http://localhost:8000/{name}"
    assert self_link.type == (
        "application/atom+xml" if name.endswith(".atom.xml") else "application/rss+xml"
    )
    assert feed.link == "http://localhost:8000/"
    assert feed.generator == "feeds"
    assert feed.language == "en"
    assert feed.title == "feeds" or feed.title.endswith(" \u2013 feeds")


def test_topic_and_provider_membership(built: Path) -> None:
    assert set(links(built, "topics/computer-vision.atom.xml")) == {
        VENTUREBEAT,
        NEOWIN,
        ANDROID_AUTHORITY,
        SCMP,
    }
    assert set(links(built, "providers/neowin.atom.xml")) == {NEOWIN}
    assert set(links(built, "providers/south-china-morning-post.rss.xml")) == {SCMP}


def shown(detail: Any) -> str:
    """What a reader shows for a feedparser text value: HTML is decoded, text is as it is."""
    value: str = detail.value
    return html.unescape(value) if detail.type == "text/html" else value


def test_markup_in_excerpts_is_shown_as_text_never_injected(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    excerpt = 'Tom & Jerry <script>alert("x")</script> <b>bold</b>'
    write_record("a.md", excerpt=excerpt, title="Fish & <i>chips</i>")
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out))
    for fmt in ["atom", "rss"]:
        (entry, *_rest) = [
            e
            for e in parse(out / f"all.{fmt}.xml").entries
            if e.link.startswith("https://news.example.com")
        ]
        # Escaped where a reader would take it for markup, so it shows as the same text.
        assert entry.title_detail.type == "text/html"
        assert "<i>" not in entry.title
        assert shown(entry.title_detail) == "Fish & <i>chips</i>"
        content = entry.content[0].value
        assert "<script>" not in content and "<b>" not in content
        assert "&lt;script&gt;" in content
        assert entry.summary_detail.type == "text/html"
        assert "<script>" not in entry.summary and "&lt;script&gt;" in entry.summary
        assert shown(entry.summary_detail) == excerpt


def test_plain_text_stays_plain(tmp_path: Path, write_record: RecordFactory) -> None:
    write_record("a.md", excerpt="Tom & Jerry, 3 < 4", title="AT&T buys R&D")
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out))
    entry = links(out, "all.atom.xml")["https://news.example.com/2021/03/04/valid-article/"]
    assert (entry.title, entry.title_detail.type) == ("AT&T buys R&D", "text/plain")
    assert (entry.summary, entry.summary_detail.type) == ("Tom & Jerry, 3 < 4", "text/plain")


def test_dates_at_the_ends_of_the_calendar_are_published_as_written(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    # The year 999 alone in its feeds; two entries of one document on the last microsecond
    # there is, which an entry is moved off to keep update times distinct.
    write_record(
        "old.md",
        webUrl="https://old.example.com/a",
        publishedDateTime="0999-06-10T18:12:00Z",
        provider={"name": "Old", "domain": "old.example.com"},
        topics=["Old"],
        related=None,
    )
    last = "9999-12-31T23:59:59.999999Z"
    write_record("last-1.md", webUrl="https://news.example.com/1", publishedDateTime=last)
    write_record("last-2.md", webUrl="https://news.example.com/2", publishedDateTime=last)
    out = tmp_path / "out"
    report = build(Config(source=tmp_path / "records", output=out))
    assert (report.published, report.skipped) == (3, ())

    old = parse(out / "topics" / "old.rss.xml")
    assert old.feed.updated_parsed[:3] == (999, 6, 10)  # from lastBuildDate
    assert [entry.published_parsed[:3] for entry in old.entries] == [(999, 6, 10)]
    assert (
        b"<pubDate>Mon, 10 Jun 0999 18:12:00 +0000</pubDate>" in (out / "all.rss.xml").read_bytes()
    )
    for name in ("all.rss.xml", "all.atom.xml"):
        years = sorted(entry.published_parsed[0] for entry in parse(out / name).entries)
        assert years[0] == 999 and years[-2:] == [9999, 9999]
    updated = [entry.updated for entry in parse(out / "topics" / "testing.atom.xml").entries]
    assert sorted(updated[:2]) == [
        "9999-12-31T23:59:59.999998+00:00",
        "9999-12-31T23:59:59.999999+00:00",
    ]


def test_invalid_records_are_skipped_and_valid_ones_published(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("good.md")
    write_record("bad-url.md", webUrl="javascript:alert(1)")
    write_record("bad-date.md", publishedDateTime="2020-02-30T00:00:00Z")
    write_record("no-front-matter.md", "just text")
    report = build(Config(source=tmp_path / "records", output=tmp_path / "out"))
    assert report.published == 1
    assert sorted(Path(s.loaded.file).name for s in report.skipped) == [
        "bad-date.md",
        "bad-url.md",
        "no-front-matter.md",
    ]


def test_a_failed_build_leaves_the_previous_output_whole(
    project: Path, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(built)

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("feeds.output._swap_in", explode)
    with pytest.raises(OutputError, match="No space left"):
        build(replace(load_config(project), cache=None))  # no cache: a build that writes
    assert tree(built) == before
    assert [p.name for p in project.iterdir() if p.name.startswith(".staging")] == []


def test_build_replaces_stale_files(project: Path, built: Path) -> None:
    (built / "stale.xml").write_text("old")
    build(load_config(project))
    assert sorted(tree(built)) == sorted(EVERY_FILE)


def test_output_in_a_file_is_an_error(tmp_path: Path, write_record: RecordFactory) -> None:
    write_record()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    with pytest.raises(OutputError):
        build(Config(source=tmp_path / "records", output=blocker / "out"))
    assert blocker.read_text() == "a file"


@pytest.mark.parametrize(
    ("output", "cache", "words"),
    [
        ("records", None, "is the folder of records"),
        (".", None, "holds the folder of records"),
        ("out", "out/cache", "holds the cache folder"),
        ("records-link", None, "is the folder of records"),  # the same folder, by a link
    ],
)
def test_an_output_folder_that_holds_what_a_build_reads_is_refused(
    tmp_path: Path, write_record: RecordFactory, output: str, cache: str | None, words: str
) -> None:
    write_record()
    (tmp_path / "records-link").symlink_to(tmp_path / "records")
    before = tree(tmp_path)
    config = Config(
        source=tmp_path / "records",
        output=tmp_path / output,
        cache=None if cache is None else tmp_path / cache,
    )
    with pytest.raises(OutputError, match=words):
        build(config)
    assert tree(tmp_path) == before  # not a file written, not even the lock


def test_the_schema_may_not_lie_in_the_output_folder(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record()
    schema = tmp_path / "out" / "record.yaml"
    schema.parent.mkdir()
    schema.write_bytes((REPO / "schemas" / "record.yaml").read_bytes())
    config = Config(source=tmp_path / "records", output=tmp_path / "out", schema=schema)
    with pytest.raises(OutputError, match="holds the schema"):
        api.check_output(config)


@pytest.mark.parametrize("mine", ["index.html", ".git"])
def test_a_folder_feeds_did_not_write_is_not_replaced(
    tmp_path: Path, write_record: RecordFactory, mine: str
) -> None:
    write_record()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / mine).write_text("mine")
    with pytest.raises(OutputError, match="holds files that feeds did not write"):
        build(Config(source=tmp_path / "records", output=tmp_path / "out"))
    assert tree(tmp_path / "out") == {mine: b"mine"}


def test_an_empty_folder_or_an_output_of_feeds_is_replaced(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record()
    (tmp_path / "out").mkdir()
    config = Config(source=tmp_path / "records", output=tmp_path / "out")
    assert build(config).feeds > 0
    (tmp_path / "out" / "stale.xml").write_text("old")
    build(config)
    assert "stale.xml" not in tree(tmp_path / "out")


@pytest.mark.parametrize("made", [True, False], ids=["folder", "folder-to-make"])
def test_an_output_folder_behind_a_link_is_replaced_where_the_link_points(
    tmp_path: Path, write_record: RecordFactory, made: bool
) -> None:
    """``out -> /var/www/feeds`` is how many sites deploy: the folder served is the one a
    build must replace, and the link must stay."""
    write_record(title="First")
    served = tmp_path / "www" / "feeds"
    served.parent.mkdir()
    if made:
        served.mkdir()
    (tmp_path / "out").symlink_to(served)
    config = Config(source=tmp_path / "records", output=tmp_path / "out")
    assert build(config).output == served
    write_record(title="Second")
    build(config)
    assert (tmp_path / "out").readlink() == served
    assert parse(served / "all.atom.xml").entries[0].title == "Second"
    beside = sorted(path.name for path in tmp_path.iterdir())
    assert beside == ["out", "records", "www"]  # nothing of the build's but through the link
    assert sorted(path.name for path in served.parent.iterdir()) == [".feeds.lock", "feeds"]


def test_an_output_folder_that_is_a_loop_of_links_is_refused(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "out").symlink_to(tmp_path / "loop")
    before = sorted(path.name for path in tmp_path.iterdir())
    with pytest.raises(OutputError, match=r"the output folder .*out is a loop of symbolic links"):
        build(Config(source=tmp_path / "records", output=tmp_path / "out"))
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_an_output_folder_that_is_a_mount_point_is_refused(
    tmp_path: Path, write_record: RecordFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A volume mounted as the output folder (``docker run -v site:/app/out``) cannot be
    renamed: the build says so before it writes anything, and what to do instead.  (Mounting
    one takes privileges a test may not have: the mount is told by ``os.path.ismount``.)"""
    write_record()
    volume = tmp_path / "out"
    volume.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: path == volume or real_ismount(path))
    before = tree(tmp_path)
    with pytest.raises(OutputError, match=r"is a mount point.* such as .*out/site$"):
        build(Config(source=tmp_path / "records", output=volume))
    assert tree(tmp_path) == before
    assert build(Config(source=tmp_path / "records", output=volume / "site")).feeds > 0


def test_record_data_fixture_is_valid() -> None:
    assert record_data()["title"]


def test_records_written_by_python_frontmatter_publish_what_the_same_records_do(
    tmp_path: Path,
) -> None:
    """The same records, written like the seeds or loaded and dumped by python-frontmatter
    (keys sorted, text folded over several lines, dates unquoted with a space; lists and
    mappings in flow style too, or providers written once and then as aliases) or by
    ruamel.yaml (long URLs on the line below their keys), publish the same bytes: the style
    a publisher's script writes in changes nothing."""
    styles = list(corpus_module().WRITERS)
    outputs = []
    for style in styles:
        corpus_module().Corpus(seed=9, written_by=style).write(tmp_path / style, 40)
        report = build(Config(source=tmp_path / style, output=tmp_path / f"out-{style}"))
        assert report.published > 35
        outputs.append((report.published, len(report.skipped), tree(tmp_path / f"out-{style}")))
    assert all(output == outputs[0] for output in outputs[1:])
    name = sorted(path.name for path in (tmp_path / "hand").iterdir())[1]
    assert len({(tmp_path / style / name).read_text() for style in styles}) == len(styles)


def test_a_build_leaves_what_it_made_to_a_process_that_exits_without_freeing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only when asked (the command line): a library caller gets its memory back."""
    first = build(load_config(project))
    assert api._LEFT_TO_EXIT is None
    monkeypatch.setattr(api, "_LEFT_TO_EXIT", None)
    api.leave_to_exit()
    left = api._LEFT_TO_EXIT
    assert left is not None and not left
    (project / "seeds" / "000_1f48a30587e22eab.txt").unlink()  # so that there is work to do
    report = build(load_config(project))
    (source, plan), (last, run, *_) = left
    assert len(source.graph) == report.articles
    assert len(plan.feeds) == report.feeds
    assert sorted(str(row[0]) for row in last.rows) == sorted(first.files)  # read of the first
    assert len(run.names) == len(list((project / "seeds").iterdir()))
    left.clear()
    build(load_config(project))  # nothing to do: what it read of the last build is left too
    [(last, *_)] = left
    assert sorted(str(row[0]) for row in last.rows) == sorted(report.files)
