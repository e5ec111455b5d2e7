"""Warnings for what is legal but probably wrong, and checks across records."""

from __future__ import annotations

import re
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from feeds import records, yamlfast
from feeds.api import build, validate
from feeds.cache import open_cache
from feeds.config import Config
from feeds.crosscheck import (
    Facts,
    citing,
    citing_others_otherwise,
    contradicting_citations,
    instant,
    published_anyway,
    review,
    title_print,
)
from feeds.diagnostics import Diagnostic, Severity
from feeds.records import Finding, KnownPlaces, Locator, parse_record
from feeds.scan import FAST_YAML_MIN_FILES
from tests.conftest import SEEDS, RecordFactory, record_data

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def problems(folder: Path) -> list[Diagnostic]:
    return list(validate([folder], now=NOW).diagnostics)


def rules(folder: Path) -> list[tuple[str, str, str, Severity]]:
    return [(Path(d.file).name, d.field, d.rule, d.severity) for d in problems(folder)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"webUrl": "https://a.example/?x=1&amp;y=2"}, "webUrl"),
        ({"ampWebUrl": "https://a.example/amp?x=1&#038;y=2"}, "ampWebUrl"),
        ({"images": [{"url": "https://i.example/a.jpg?w=1&#x26;h=2"}]}, "images[0].url"),
        (
            {"provider": {"name": "P", "domain": "p.example", "images": [{"url": "https://p.example/l.png?a&amp;b"}]}},
            "provider.images[0].url",
        ),
        (
            {"related": [{**record_data()["related"][0], "webUrl": "https://r.example/?a=1&amp;b=2"}]},
            "related[0].webUrl",
        ),
    ],
)  # fmt: skip
def test_html_entity_in_a_url_is_a_warning(
    tmp_path: Path, write_record: RecordFactory, changes: dict[str, Any], field: str
) -> None:
    write_record("a.md", **changes)
    assert rules(tmp_path / "records") == [("a.md", field, "html-entity", Severity.WARNING)]


def test_ampersands_and_semicolons_that_are_not_entities_are_fine(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("a.md", webUrl="https://a.example/p;v=1?a=1&b=2&copyright=x&z;")
    assert problems(tmp_path / "records") == []


@pytest.mark.parametrize(
    ("changes", "field", "held"),
    [
        ({"webUrl": "https://editor:s3cret@a.example/x"}, "webUrl", "a user name and password"),
        ({"ampWebUrl": "https://editor@a.example/amp"}, "ampWebUrl", "a user name"),
        ({"images": [{"url": "https://u:p@i.example/a.jpg"}]}, "images[0].url", "a user name and password"),  # noqa: E501
        (
            {"related": [{**record_data()["related"][0], "webUrl": "http://:pw@r.example/"}]},
            "related[0].webUrl",
            "a user name and password",
        ),
    ],
)  # fmt: skip
def test_a_user_name_or_password_in_a_url_is_a_warning_that_names_neither(
    tmp_path: Path, write_record: RecordFactory, changes: dict[str, Any], field: str, held: str
) -> None:
    write_record("a.md", **changes)
    (warning,) = problems(tmp_path / "records")
    assert (warning.field, warning.rule, warning.severity) == (
        field,
        "url-credentials",
        Severity.WARNING,
    )
    assert f"URL holds {held} before its host" in warning.message
    assert "s3cret" not in warning.message and "editor" not in warning.message


@pytest.mark.parametrize(
    "url",
    [
        "https://medium.com/@someone/a-post",
        "https://a.example/?mail=a@b.example",
        "https://a.example/#@top",
        "https://a.example/a@b",
    ],
)
def test_an_at_sign_after_the_host_is_no_user_name(
    tmp_path: Path, write_record: RecordFactory, url: str
) -> None:
    write_record("a.md", webUrl=url)
    assert problems(tmp_path / "records") == []


def test_seed_000_is_valid_with_one_warning() -> None:
    report = validate([SEEDS / "000_1f48a30587e22eab.txt"], now=NOW)
    assert report.ok and report.invalid_files == 0
    (warning,) = report.diagnostics
    assert (warning.line, warning.column, warning.field, warning.severity) == (
        27,
        10,
        "images[0].url",
        Severity.WARNING,
    )
    assert "'&#038;'" in warning.message and "'&'" in warning.message


def test_dates_in_the_future_are_warnings(tmp_path: Path, write_record: RecordFactory) -> None:
    related = {**record_data()["related"][0], "publishedDateTime": "2025-01-01T01:00:00+00:00"}
    write_record(
        "a.md",
        publishedDateTime="2025-01-01T00:30:00Z",
        updatedDateTime="2024-12-31T23:59:59-01:00",  # 00:59:59 UTC: also after NOW
        related=[related],
    )
    write_record("b.md", webUrl="https://b.example/", publishedDateTime="2025-01-01T00:00:00Z")
    found = problems(tmp_path / "records")
    assert [(Path(d.file).name, d.field, d.rule) for d in found] == [
        ("a.md", "publishedDateTime", "future-date"),
        ("a.md", "related[0].publishedDateTime", "future-date"),
        ("a.md", "updatedDateTime", "future-date"),
    ]
    assert all(d.severity is Severity.WARNING for d in found)
    assert "checked at 2025-01-01T00:00:00Z" in found[0].message
    # Exactly now is not in the future; and the real clock is used when none is given.
    assert validate([tmp_path / "records"]).warnings == 0


def test_same_article_twice_is_an_error_naming_both_files(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("a.md", webUrl="https://news.example.com/story?utm_source=x")
    write_record("b.md", webUrl="HTTPS://News.Example.com:443/story#top", title="Other")
    write_record("c.md", webUrl="https://news.example.com/another")
    report = validate([tmp_path / "records"], now=NOW)
    assert report.errors == 2 and report.invalid_files == 2
    first, later = report.diagnostics
    assert (Path(first.file).name, first.field, first.rule, first.line) == (
        "a.md",
        "webUrl",
        "duplicate-url",
        5,
    )
    assert Path(later.file).name == "b.md" and later.line == 5
    assert "records/b.md:5" in first.message and "records/a.md:5" in later.message
    assert "not published" in later.message


def test_build_publishes_the_first_copy_and_skips_the_later(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("a.md", webUrl="https://news.example.com/story", title="First copy")
    write_record("b.md", webUrl="https://news.example.com/story/", title="Not a copy")
    write_record("c.md", webUrl="https://news.example.com/story?utm_medium=x", title="Copy")
    out = tmp_path / "out"
    report = build(Config(source=tmp_path / "records", output=out), now=NOW)
    assert [Path(s.loaded.file).name for s in report.skipped] == ["c.md"]
    (problem,) = report.skipped[0].diagnostics
    assert problem.rule == "duplicate-url" and "a.md" in problem.message
    parsed = feedparser.parse((out / "all.atom.xml").read_bytes())
    titles = sorted(e.title for e in parsed.entries)
    assert titles == ["A related article", "First copy", "Not a copy"]


def test_related_article_contradicting_its_record_is_a_warning(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    cited = record_data()["related"][0]
    write_record(
        "a.md",
        webUrl=cited["webUrl"],
        title="The real title",
        publishedDateTime="2021-03-02T23:02:03Z",  # the same moment as the citation's date
        provider=cited["provider"],
    )
    write_record("b.md", related=[cited])  # cites a.md as "A related article"
    write_record(
        "c.md",
        webUrl="https://c.example/",
        related=[
            {**cited, "title": " The real   title ", "publishedDateTime": "2021-01-01T00:00:00Z"}
        ],
    )
    found = problems(tmp_path / "records")
    assert [(Path(d.file).name, d.field, d.rule, d.severity) for d in found] == [
        ("b.md", "related[0].title", "related-mismatch", Severity.WARNING),
        ("c.md", "related[0].publishedDateTime", "related-mismatch", Severity.WARNING),
    ]
    assert "records/a.md" in found[0].message and "'The real title'" in found[0].message
    assert "'2021-03-02T23:02:03Z'" in found[1].message


def test_an_unpublished_record_that_published_ones_cite_is_a_warning(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    """It says ``published: false``, yet the published records that cite its article
    publish it as their related article, under what they say of it: the publisher should
    know, once, where they said it."""
    cited = record_data()["related"][0]
    write_record("a.md", webUrl=cited["webUrl"], title="Not yet", provider=cited["provider"],
                 published=False)  # fmt: skip
    again = {**cited, "webUrl": f"{cited['webUrl']}?utm_source=feed"}  # the same article
    for name in "bcdefg":
        write_record(f"{name}.md", webUrl=f"https://{name}.example/",
                     related=[cited, again] if name == "b" else [cited],
                     published=name != "c")  # fmt: skip
    found = problems(tmp_path / "records")
    assert [(Path(d.file).name, d.field, d.rule, d.severity) for d in found] == [
        ("a.md", "published", "unpublished-cited", Severity.WARNING),
    ]
    named = r"\S*/b\.md \(related\[0\], related\[1\]\), "
    named += ", ".join(rf"\S*/{name}\.md \(related\[0\]\)" for name in "de")
    assert re.search(f"{named} and 2 more;", found[0].message)
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out, cache=None))
    parsed = feedparser.parse((out / "all.atom.xml").read_bytes())
    assert "A related article" in {e.title for e in parsed.entries}


@pytest.mark.parametrize("first_copy_cites", [True, False])
def test_a_later_copy_does_not_count_as_citing_an_unpublished_record(
    tmp_path: Path, write_record: RecordFactory, first_copy_cites: bool
) -> None:
    """A later copy of an article is not published (``duplicate-url``), so neither is what
    it cites through it: the warning names the records that publish the unpublished one,
    and is not given when none does."""
    cited = record_data()["related"][0]
    write_record("a.md", webUrl=cited["webUrl"], title="Not yet", provider=cited["provider"],
                 published=False)  # fmt: skip
    write_record("b.md", webUrl="https://b.example/", related=[cited] if first_copy_cites else [])
    write_record("c.md", webUrl="https://b.example/?utm_source=x", related=[cited])
    found = problems(tmp_path / "records")
    assert [(Path(d.file).name, d.rule) for d in found] == [
        *([("a.md", "unpublished-cited")] if first_copy_cites else []),
        ("b.md", "duplicate-url"),
        ("c.md", "duplicate-url"),
    ]
    if first_copy_cites:
        assert re.search(r"cite it: \S*/b\.md \(related\[0\]\); remove", found[0].message)
    out = tmp_path / "out"
    build(Config(source=tmp_path / "records", output=out, cache=None))
    parsed = feedparser.parse((out / "all.atom.xml").read_bytes())
    assert ("A related article" in {e.title for e in parsed.entries}) is first_copy_cites


def test_a_file_read_again_to_place_a_finding_is_parsed_only_for_dates_ahead(
    tmp_path: Path, write_record: RecordFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placing needs the text of the front matter only: its data is read again only where
    a check needs it (the dates after now), and the places are those of a locator made
    from the whole record."""
    cited = record_data()["related"][0]
    write_record("a.md", webUrl=cited["webUrl"], title="The real title", provider=cited["provider"])
    write_record("b.md", related=[cited])  # cites a.md under another title
    write_record("c.md", webUrl="https://c.example/", publishedDateTime="2031-01-01T00:00:00Z")
    reviewing: list[bool] = []
    parsed: list[str] = []  # front matter read into data while the findings are placed
    load = records._load_yaml

    def reviewed(*args: Any) -> Any:
        reviewing.append(True)
        try:
            return review(*args)
        finally:
            reviewing.clear()

    def loading(front_matter: str, **options: Any) -> Any:
        if reviewing:
            parsed.append(front_matter)
        return load(front_matter, **options)

    monkeypatch.setattr("feeds.crosscheck.review", reviewed)
    monkeypatch.setattr(records, "_load_yaml", loading)
    found = {(Path(d.file).name, d.field, d.rule): d for d in problems(tmp_path / "records")}
    assert ("b.md", "related[0].title", "related-mismatch") in found
    assert ("c.md", "publishedDateTime", "future-date") in found
    assert len(parsed) == 1
    assert "2031-01-01T00:00:00Z" in parsed[0]  # c.md's
    for (name, field, _), diagnostic in found.items():
        path = tmp_path / "records" / name
        record = parse_record(str(path), path.read_bytes()).record
        assert record is not None
        parts = (int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field))
        assert (diagnostic.line, diagnostic.column) == Locator(record).position(tuple(parts))


@pytest.mark.parametrize("cached", [False, True])
def test_findings_across_records_are_placed_a_file_read_at_a_time(
    tmp_path: Path, write_record: RecordFactory, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    """Each file with a finding is read again, and its YAML composed, to place it: what was
    read goes once its findings are placed, not once those of every file are."""
    cited = record_data()["related"][0]
    write_record("a.md", webUrl=cited["webUrl"], title="The real title", provider=cited["provider"])
    for name in "bcdefghijk":  # each cites a.md under another title
        write_record(f"{name}.md", webUrl=f"https://{name}.example/", related=[cited])
    trees: list[weakref.ref[yaml.Node]] = []
    alive: list[int] = []
    compose = yaml.compose

    def composing(*args: Any, **kwargs: Any) -> yaml.Node | None:
        alive.append(sum(tree() is not None for tree in trees))
        root = compose(*args, **kwargs)
        if root is not None:
            trees.append(weakref.ref(root))
        return root

    monkeypatch.setattr(yaml, "compose", composing)
    records = tmp_path / "records"
    if cached:  # the places found are kept in the cache, for the content of each file
        config = Config(source=records, output=tmp_path / "out", cache=tmp_path / "cache")
        found = build(config, now=NOW).warnings
    else:
        found = validate([records], now=NOW).diagnostics
    assert {d.rule for d in found} == {"related-mismatch"}
    assert len({d.file for d in found}) == 10
    assert alive == [0] * 10


_KEYS = [f"https://a.example/{n}" for n in range(4)]
_TITLES = ["One", "Two"]
_DATES = ["2021-01-01T00:00:00Z", "2021-01-01T01:00:00+01:00", "2021-01-02T00:00:00Z"]


@st.composite
def facts_of_records(draw: st.DrawFn) -> list[Facts]:
    """Records (some invalid, some copies of one article, some unpublished) citing each
    other, under titles and dates that agree with the cited records or not, or equal
    moments written otherwise."""
    facts = []
    for index in range(draw(st.integers(0, 8))):
        file = f"records/{index}.md"
        if draw(st.booleans()) and index:
            facts.append(Facts(file, None))  # not schema-valid: neither cites nor is cited
            continue
        title, date = draw(st.sampled_from(_TITLES)), draw(st.sampled_from(_DATES))
        cited = draw(st.lists(st.tuples(st.sampled_from(_KEYS), st.sampled_from(_TITLES),
                                        st.sampled_from(_DATES)), max_size=4))  # fmt: skip
        facts.append(
            Facts(
                file,
                None,
                draw(st.sampled_from(_KEYS)),
                title,
                title_print(title),
                date,
                instant(date),
                *citing((key, title_print(text), when) for key, text, when in cited),
                draw(st.booleans()),
            )
        )
    return facts


@given(facts_of_records())
def test_the_screen_of_citations_misses_no_record_that_contradicts_another(
    facts: list[Facts],
) -> None:
    owners: dict[str, Facts] = {}
    for item in facts:
        if item.key is not None:
            owners.setdefault(item.key, item)
    screened = list(citing_others_otherwise(facts, owners))
    valid = [item for item in facts if item.key is not None]
    contradicting = [item for item in valid if any(contradicting_citations(item, owners))]
    assert set(map(id, contradicting)) <= set(map(id, screened))
    assert list(published_anyway(screened, owners)) == list(published_anyway(valid, owners))
    assert screened == sorted(set(screened), key=facts.index)  # once each, in file order
    for item in screened:  # and only records that cite a record, otherwise than it says
        assert any(  # or an unpublished one
            key in owners
            and (
                (key, print_, when) != (key, owners[key].title_print, owners[key].date)
                or not owners[key].published
            )
            for _, key, print_, when in item.citations
        )


def test_checks_across_records_skip_invalid_ones(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("a.md", topics=[])  # invalid, so not a first copy of anything
    write_record("b.md")
    report = validate([tmp_path / "records"], now=NOW)
    assert [(Path(d.file).name, d.rule) for d in report.diagnostics] == [
        ("a.md", "schema:minItems")
    ]


def _mismatches(tmp_path: Path, write_record: RecordFactory) -> None:
    """Records with findings across records: a stale citation and a second copy."""
    cited = record_data()["related"][0]
    write_record("a.md", webUrl=cited["webUrl"], title="The real title", provider=cited["provider"])
    write_record("b.md", related=[cited])  # cites a.md under another title
    write_record("c.md", webUrl=cited["webUrl"] + "?utm_source=x", title="A copy")


def _found(report: Any) -> list[Diagnostic]:
    return [*report.warnings, *(d for s in report.skipped for d in s.diagnostics)]


def test_findings_are_placed_again_from_the_cache_without_reading_the_files(
    tmp_path: Path, write_record: RecordFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mismatches(tmp_path, write_record)
    records = tmp_path / "records"
    config = Config(source=records, output=tmp_path / "out", cache=tmp_path / "cache")
    first = _found(build(config, now=NOW))
    assert {(Path(d.file).name, d.rule) for d in first} == {
        ("b.md", "related-mismatch"),
        ("c.md", "related-mismatch"),
        ("c.md", "duplicate-url"),
    }
    write_record("d.md", webUrl="https://d.example/", related=None)  # something new to build
    with monkeypatch.context() as patched:
        patched.setattr(Locator, "position", _never_composed)
        again = _found(build(config, now=NOW))
    without_cache = _found(build(Config(source=records, output=tmp_path / "plain"), now=NOW))
    assert again == first == without_cache


def _never_composed(self: Locator, path: object) -> tuple[int, int]:
    raise AssertionError(f"{self.record.file} was read to place {path}")


def test_places_found_in_a_file_that_changed_since_it_was_checked_are_not_kept(
    tmp_path: Path,
) -> None:
    record = parse_record("a.md", b"---\ntitle: x\nwebUrl: y\n---\n").record
    assert record is not None
    finding = Finding(("webUrl",), "duplicate-url", "same", Severity.ERROR)
    for same, kept in ((True, {"webUrl": (3, 9)}), (False, {})):

        def located(same: bool = same) -> tuple[Locator, bool]:
            assert record is not None
            return Locator(record), same

        placer = KnownPlaces("a.md", {}, located)
        (placed,) = placer.place([finding])
        assert (placed.line, placed.column) == (3, 9)
        assert placer.found == kept


def test_known_places_are_given_without_reading_the_file() -> None:
    def unreadable() -> tuple[Locator, bool]:
        raise AssertionError("read")

    placer = KnownPlaces("a.md", {"related[0].title": (12, 12)}, unreadable)
    finding = Finding(("related", 0, "title"), "related-mismatch", "stale", Severity.WARNING)
    (placed,) = placer.place([finding])
    assert (placed.file, placed.line, placed.column, placed.field) == (
        "a.md",
        12,
        12,
        "related[0].title",
    )
    assert placer.found == {}


@pytest.mark.parametrize("others", [2, 12])
def test_runs_of_many_files_place_top_level_fields_from_the_lines(
    tmp_path: Path, write_record: RecordFactory, monkeypatch: pytest.MonkeyPatch, others: int
) -> None:
    """A run that reads its records with the fast reader places what the checks across
    records found at top-level fields with its gate too, where it would be, and a run of a
    few files, which does not load the gate, composes their YAML."""
    cited = record_data()["related"][0]
    unpublished = write_record("a.md", webUrl=cited["webUrl"], published=False)
    for index in range(others):
        write_record(f"b{index:02d}.md", webUrl=f"https://b.example/{index}", related=[cited])
    asked: list[str] = []
    place = yamlfast.top_level_place

    def spy(text: str, key: str) -> tuple[int, int] | None:
        asked.append(key)
        return place(text, key)

    monkeypatch.setattr(yamlfast, "top_level_place", spy)
    (found,) = problems(tmp_path / "records")
    assert (found.field, found.rule) == ("published", "unpublished-cited")
    composed = Locator.of_file(found.file, unpublished.read_bytes()).position(("published",))
    assert (found.line, found.column) == composed
    assert asked == (["published"] if others + 1 >= FAST_YAML_MIN_FILES else [])


def test_the_cache_keeps_places_for_the_content_of_files_that_are_still_there(
    tmp_path: Path,
) -> None:
    store = open_cache(tmp_path / "cache")
    assert store is not None
    with store:
        store.store_places([("a.md", b"1", "p", 1, 2), ("a.md", b"1", "q", 3, 4)])
        store.store_places([("b.md", b"1", "p", 5, 6)])
        assert store.places() == {
            "a.md": (b"1", {"p": (1, 2), "q": (3, 4)}),
            "b.md": (b"1", {"p": (5, 6)}),
        }
        store.store_places([("a.md", b"2", "p", 7, 8)])  # another content: the old places go
        assert store.places()["a.md"] == (b"2", {"p": (7, 8)})
        store.keep_only(["a.md"], [], "")
        assert list(store.places()) == ["a.md"]
