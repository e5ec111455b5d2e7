"""The record schema: each rule, with a record that passes it and one that does not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.checks import SCREEN_RFC3339, rfc3339_datetime
from feeds.diagnostics import Diagnostic
from feeds.records import parse_record
from feeds.schema import (
    Schema,
    SchemaError,
    _keep_document,
    _kept_path,
    _screening,
    _self_contained,
    load_schema,
)
from feeds.urls import SCREEN_HTTP_URL
from tests.conftest import SCHEMA, SEEDS, record_data, record_text


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema(SCHEMA)


def check(schema: Schema, data: dict[str, Any]) -> list[Diagnostic]:
    loaded = parse_record("r.md", record_text(data).encode())
    assert loaded.record is not None, loaded.diagnostics
    return [*loaded.diagnostics, *schema.check(loaded.record)]


def fields(diagnostics: list[Diagnostic]) -> set[str]:
    return {d.field for d in diagnostics}


def test_valid_record_passes(schema: Schema) -> None:
    assert check(schema, record_data()) == []


def test_bundled_schema_is_the_repository_schema() -> None:
    assert load_schema(None).document == load_schema(SCHEMA).document


@pytest.mark.parametrize(
    "name",
    [
        "000_1f48a30587e22eab.txt",
        "001_91d0330d6071329f.txt",
        "002_f2649b43c12eaf2a.txt",
        "003_12ead75e1d8571b3.txt",
    ],
)
def test_seed_records_pass(schema: Schema, name: str) -> None:
    loaded = parse_record(name, (SEEDS / name).read_bytes())
    assert loaded.record is not None
    assert schema.check(loaded.record) == ()


@pytest.mark.parametrize("field", ["title", "webUrl", "publishedDateTime", "provider", "topics"])
def test_required_record_fields(schema: Schema, field: str) -> None:
    problems = check(schema, record_data(**{field: None}))
    assert fields(problems) == {field}
    assert problems[0].rule == "schema:required"
    assert f"'{field}' is missing" in problems[0].message


@pytest.mark.parametrize("field", ["name", "domain"])
def test_required_provider_fields(schema: Schema, field: str) -> None:
    provider = {"name": "X", "domain": "x.com"}
    del provider[field]
    assert fields(check(schema, record_data(provider=provider))) == {f"provider.{field}"}


@pytest.mark.parametrize("field", ["title", "webUrl", "publishedDateTime", "provider"])
def test_required_related_fields(schema: Schema, field: str) -> None:
    related = record_data()["related"][0]
    del related[field]
    assert fields(check(schema, record_data(related=[related]))) == {f"related[0].{field}"}


def test_topics_must_not_be_empty(schema: Schema) -> None:
    (problem,) = check(schema, record_data(topics=[]))
    assert (problem.field, problem.message) == ("topics", "must not be empty")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": 1984}, "title"),
        ({"title": "   "}, "title"),
        ({"topics": "AI"}, "topics"),
        ({"topics": ["AI", 3]}, "topics[1]"),
        ({"published": "yes"}, "published"),
        ({"quality": "high"}, "quality"),
        ({"quality": 8.5}, "quality"),
        ({"heat": True}, "heat"),
        ({"excerpt": ["a"]}, "excerpt"),
        ({"provider": "VentureBeat"}, "provider"),
        ({"images": {"url": "https://a.com/x.jpg"}}, "images"),
        ({"related": {"title": "x"}}, "related"),
    ],
)
def test_types(schema: Schema, changes: dict[str, Any], field: str) -> None:
    problems = check(schema, record_data(**changes))
    assert fields(problems) == {field}


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", " \u200b\u2060 ", "\ufeff", "\u00ad", "\u3164", "\x01", "\u3000\u180e"],
)
def test_text_that_shows_nothing_is_blank(schema: Schema, invisible: str) -> None:
    data = record_data(title=invisible, topics=["AI", invisible])
    data["provider"]["name"] = invisible
    data["related"][0]["title"] = invisible
    blank = [problem for problem in check(schema, data) if "something visible" in problem.message]
    assert fields(blank) == {"title", "topics[1]", "provider.name", "related[0].title"}


@pytest.mark.parametrize("text", ["zero\u200bwidth", "\u00adsoft", "\u2800", "\u202eabc", "ä"])
def test_text_with_something_visible_is_text(schema: Schema, text: str) -> None:
    data = record_data(title=text, topics=[text])
    data["provider"]["name"] = text
    assert check(schema, data) == []


def test_type_message_says_what_would_be_valid(schema: Schema) -> None:
    (problem,) = check(schema, record_data(title=1984))
    assert problem.message == (
        "expected text, found the number 1984 (quote it in YAML to make it text)"
    )


@pytest.mark.parametrize("field", ["webUrl", "ampWebUrl", "cdnAmpWebUrl"])
@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://x.com/a", "/relative", "https://", "https://a b.com/"],
)
def test_url_fields(schema: Schema, field: str, url: str) -> None:
    problems = check(schema, record_data(**{field: url}))
    assert fields(problems) == {field}
    assert "absolute http:// or https:// URL" in problems[0].message


def test_every_image_url_is_checked(schema: Schema) -> None:
    data = record_data(images=[{"url": "javascript:x"}])
    data["provider"]["images"] = [{"url": "relative.jpg", "width": 50, "height": 50}]
    data["related"][0]["images"] = [{"url": "ftp://x.com/a.jpg"}]
    data["related"][0]["webUrl"] = "nope"
    assert fields(check(schema, data)) == {
        "images[0].url",
        "provider.images[0].url",
        "related[0].images[0].url",
        "related[0].webUrl",
    }


@pytest.mark.parametrize(
    "value",
    [
        "2020-06-10T18:12:00Z",
        "2020-06-10T18:12:00.123Z",
        "2020-06-10T18:12:00+05:30",
        "2020-06-10t18:12:00z",
        "2020-06-10 18:12:00-07:00",
        "2020-02-29T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:30:00-01:00",
        "9999-12-31T23:59:59Z",
    ],
)
def test_valid_dates(schema: Schema, value: str) -> None:
    assert check(schema, record_data(publishedDateTime=value)) == []


@pytest.mark.parametrize(
    "value",
    [
        "2020-02-30T00:00:00Z",
        "2021-02-29T00:00:00Z",
        "2020-06-10T25:00:00Z",
        "0001-01-01T00:30:00+01:00",  # before the year 1 in UTC
        "9999-12-31T23:30:00-01:00",  # after the year 9999 in UTC
        "2020-06-10T18:12:00",
        "2020-06-10",
        "June 10, 2020",
        "2020-06-10T18:12Z",
        "20200610T181200Z",
        "",
    ],
)
def test_invalid_dates(schema: Schema, value: str) -> None:
    problems = check(schema, record_data(publishedDateTime=value))
    assert fields(problems) == {"publishedDateTime"}
    assert "RFC 3339" in problems[0].message


def test_unquoted_yaml_dates_are_checked_like_strings(schema: Schema) -> None:
    text = record_text(record_data()).replace(
        "publishedDateTime: '2021-03-04T05:06:07Z'", "publishedDateTime: 2021-03-04 05:06:07"
    )
    loaded = parse_record("r.md", text.encode())
    assert loaded.record is not None
    (problem,) = schema.check(loaded.record)
    assert problem.field == "publishedDateTime"  # no time zone: refused, not guessed


@pytest.mark.parametrize(
    ("image", "field"),
    [
        ({"url": "https://a.com/x.jpg", "width": 0, "height": 10}, "images[0].width"),
        ({"url": "https://a.com/x.jpg", "width": 10, "height": -1}, "images[0].height"),
        ({"url": "https://a.com/x.jpg", "width": 10.5, "height": 10}, "images[0].width"),
        ({"url": "https://a.com/x.jpg", "width": "640", "height": 10}, "images[0].width"),
        ({"url": "https://a.com/x.jpg", "width": 10, "height": 99_999}, "images[0].height"),
        ({"width": 10, "height": 10}, "images[0].url"),
    ],
)
def test_image_sizes(schema: Schema, image: dict[str, Any], field: str) -> None:
    assert fields(check(schema, record_data(images=[image]))) == {field}


def test_range_message_names_the_bounds(schema: Schema) -> None:
    image = {"url": "https://a.com/x.jpg", "width": 0, "height": 10}
    (problem,) = check(schema, record_data(images=[image]))
    assert problem.message == "0 is out of range; expected a value from 1 to 20000"


@pytest.mark.parametrize("domain", ["https://x.com", "x.com/path", "x.com:80", "a b.com", ""])
def test_provider_domain_is_a_bare_host(schema: Schema, domain: str) -> None:
    problems = check(schema, record_data(provider={"name": "X", "domain": domain}))
    assert fields(problems) == {"provider.domain"}


def test_unknown_fields_are_allowed(schema: Schema) -> None:
    assert check(schema, record_data(myOwnField={"any": ["thing"]})) == []


def test_every_problem_is_reported_at_its_line(schema: Schema) -> None:
    text = (
        "---\n"
        "title: 1984\n"
        "webUrl: ftp://x\n"
        "publishedDateTime: 2020-02-30T00:00:00Z\n"
        "provider:\n"
        "  name: X\n"
        "topics: [AI]\n"
        "related:\n"
        "  - title: T\n"
        "    webUrl: https://a.com/\n"
        "    publishedDateTime: 2020-01-01T00:00:00Z\n"
        "    provider: {name: Y, domain: 'y.com/x'}\n"
        "---\n"
    )
    loaded = parse_record("r.md", text.encode())
    assert loaded.record is not None
    got = [(d.line, d.column, d.field) for d in schema.check(loaded.record)]
    assert sorted(got) == [
        (2, 8, "title"),
        (3, 9, "webUrl"),
        (4, 20, "publishedDateTime"),
        (5, 1, "provider.domain"),
        (12, 33, "related[0].provider.domain"),
    ]


def test_positions_count_bom_crlf_and_front_matter_offset(schema: Schema) -> None:
    text = b"---\r\ntitle: ok\r\nwebUrl: nope\r\n---\r\n"
    loaded = parse_record("r.md", b"\xef\xbb\xbf" + text)
    assert loaded.record is not None
    problems = {d.field: (d.line, d.column) for d in schema.check(loaded.record)}
    assert problems["webUrl"] == (3, 9)


def test_unusable_schemas_are_reported(tmp_path: Any) -> None:
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("type: [unclosed\n")
    not_mapping = tmp_path / "b.yaml"
    not_mapping.write_text("- a\n")
    bad_schema = tmp_path / "c.yaml"
    bad_schema.write_text("type: 12\n")
    for path in [bad_yaml, not_mapping, bad_schema, tmp_path / "missing.yaml"]:
        with pytest.raises(SchemaError, match=path.name):
            load_schema(path)


@pytest.mark.parametrize(
    "field", ["excerpt", "ampWebUrl", "cdnAmpWebUrl", "images", "related", "quality", "heat"]
)
def test_optional_fields_may_be_left_empty(schema: Schema, field: str) -> None:
    text = record_text(record_data(**{field: None})).replace("topics:", f"{field}:\ntopics:")
    loaded = parse_record("r.md", text.encode())
    assert loaded.record is not None and loaded.record.data[field] is None
    assert schema.check(loaded.record) == ()


def test_empty_optional_field_keeps_its_type_check(schema: Schema) -> None:
    (problem,) = check(schema, record_data(excerpt=3))
    assert problem.message == (
        "expected text or nothing, found the number 3 (quote it in YAML to make it text)"
    )
    (problem,) = check(schema, record_data(ampWebUrl="ftp://x"))
    assert "absolute http:// or https:// URL" in problem.message


def test_the_bundled_schema_has_a_screen(schema: Schema) -> None:
    assert schema.screen is not None


_URL_VALUES = st.one_of(
    st.text(),
    st.tuples(
        st.sampled_from(["http://", "https://", "HTTP://", "ftp://", ""]),
        st.text(alphabet=st.sampled_from("aZ09.-/?#:@[] é東\t\xa0\u3000\x85%_"), max_size=20),
    ).map("".join),
)


@given(url=_URL_VALUES, image=_URL_VALUES, cited=_URL_VALUES, amp=st.none() | _URL_VALUES)
@settings(max_examples=1000, deadline=None)
def test_the_screen_changes_no_finding(
    schema: Schema, url: str, image: str, cited: str, amp: str | None
) -> None:
    data = record_data(webUrl=url)
    data["ampWebUrl"] = amp
    data["images"][0]["url"] = image
    data["related"][0]["webUrl"] = cited
    unscreened = replace(schema, screened=False)
    assert list(schema.findings(data)) == list(unscreened.findings(data))


@pytest.mark.parametrize("keyword", ["not", "if", "oneOf", "maxContains"])
def test_no_screen_where_a_stricter_subschema_could_let_more_through(keyword: str) -> None:
    document = {"properties": {"a": {"format": "http-url"}, "b": {keyword: {}}}}
    assert _screening(document) is None


def test_the_screen_leaves_values_and_other_patterns_alone() -> None:
    document = {
        "properties": {
            "a": {"format": "http-url", "pattern": "x"},
            "b": {"const": {"format": "http-url"}, "enum": [{"not": 1}]},
            "c": {"format": "rfc3339"},
            "d": {"format": "email"},
        }
    }
    assert _screening(document) == {
        "properties": {
            "a": {"pattern": "x", "allOf": [{"pattern": SCREEN_HTTP_URL}]},
            "b": {"const": {"format": "http-url"}, "enum": [{"not": 1}]},
            "c": {"pattern": SCREEN_RFC3339},
            "d": {"format": "email"},
        }
    }
    assert _screening({"properties": {"d": {"format": "email"}}}) is None  # nothing to do


_DATE_SCREEN = jsonschema_rs.validator_for({"type": "string", "pattern": SCREEN_RFC3339})
_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=3)
_DATE_VALUES = st.one_of(
    st.text(),
    st.tuples(
        st.integers(0, 10_000).map("{:04d}".format),
        st.integers(0, 13).map("-{:02d}".format),
        st.integers(0, 32).map("-{:02d}".format),
        st.sampled_from(["T", "t", " ", "_"]),
        st.integers(0, 25).map("{:02d}".format),
        st.integers(0, 61).map(":{:02d}".format),
        st.integers(0, 61).map(":{:02d}".format),
        st.one_of(st.just(""), _DIGITS.map(".{}".format), st.just(".1234567891")),
        st.one_of(
            st.sampled_from(["Z", "z", "", "+", "Z\n", "\u0663"]),
            st.tuples(
                st.sampled_from("+-"),
                st.integers(0, 25).map("{:02d}".format),
                st.integers(0, 61).map(":{:02d}".format),
            ).map("".join),
        ),
    ).map("".join),
)


@given(_DATE_VALUES)
@settings(max_examples=5000, deadline=None)
def test_what_the_schema_screen_takes_for_a_date_is_one(value: str) -> None:
    """Read by the schema's own regex engine, as :mod:`feeds.schema` uses it."""
    if _DATE_SCREEN.is_valid(value):
        assert rfc3339_datetime(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "2020-06-10T18:12:00Z",
        "2020-06-10t18:12:00z",
        "2020-06-10 18:12:00.123456789+05:30",
        "0002-01-01T00:00:00+23:59",
        "9998-12-31T23:59:59.9-23:59",
        "2021-04-30T00:00:00Z",
        "2021-12-31T00:00:00Z",
    ],
)
def test_the_schema_screen_takes_dates_as_records_write_them(value: str) -> None:
    assert _DATE_SCREEN.is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "2020-02-29T00:00:00Z",  # a real day, left to the format
        "0001-01-01T01:00:00+01:00",  # a real moment, left to the format too
        "9999-12-31T23:00:00-01:00",  # the year 10000 in UTC
        "0001-01-01T00:00:00+01:00",  # the year 0 in UTC
        "2021-04-31T00:00:00Z",
        "2021-06-10T18:12:00",
        "2021-06-10T18:12:00Z\n",
        "2021-06-10T18:12:0\u0663Z",
    ],
)
def test_the_schema_screen_leaves_other_dates_to_the_format(value: str) -> None:
    assert not _DATE_SCREEN.is_valid(value)


@given(date=_DATE_VALUES, cited=_DATE_VALUES)
@settings(max_examples=1000, deadline=None)
def test_the_screen_changes_no_finding_about_dates(schema: Schema, date: str, cited: str) -> None:
    data = record_data(publishedDateTime=date)
    data["related"][0]["publishedDateTime"] = cited
    unscreened = replace(schema, screened=False)
    assert list(schema.findings(data)) == list(unscreened.findings(data))


def test_a_schema_read_once_is_kept_in_the_cache_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load_schema(SCHEMA, cache=cache)
    kept = list(cache.glob("schema-*.pickle"))
    assert len(kept) == 1
    assert load_schema(SCHEMA, cache=cache).document == first.document
    kept[0].write_bytes(kept[0].read_bytes()[:-3])  # damaged: read from the YAML again
    assert load_schema(SCHEMA, cache=cache).document == first.document
    edited = tmp_path / "edited.yaml"
    edited.write_text(SCHEMA.read_text("utf-8").replace("minItems: 1", "minItems: 2"), "utf-8")
    assert load_schema(edited, cache=cache).document != first.document  # kept by its text
    assert len(list(cache.glob("schema-*.pickle"))) == 2


def test_schemas_kept_by_other_versions_are_removed(tmp_path: Path) -> None:
    """An upgrade of feeds, or of a library it reads schemas with, left one more file."""
    cache = tmp_path / "cache"
    load_schema(SCHEMA, cache=cache)
    (ours,) = cache.glob("schema-*.pickle")
    older = [cache / f"schema-{'0' * 16}-{'1' * 32}.pickle", cache / f"schema-{'2' * 32}.pickle"]
    for path in older:
        path.write_bytes(ours.read_bytes())
    (cache / "elsewhere.pickle").write_bytes(b"not a schema")
    load_schema(SCHEMA, cache=cache)  # kept: nothing is written, nothing removed
    assert all(path.exists() for path in older)
    edited = tmp_path / "edited.yaml"
    edited.write_text(SCHEMA.read_text("utf-8").replace("minItems: 1", "minItems: 2"), "utf-8")
    load_schema(edited, cache=cache)
    left = sorted(path.name for path in cache.iterdir() if path.name.startswith("schema-"))
    assert ours.name in left
    assert len(left) == 2
    assert not any(path.exists() for path in older)
    assert (cache / "elsewhere.pickle").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("type: object\nrequired: [title\n", "is not valid YAML"),
        # Kept, it would not be compiled until a record is checked (see Schema).
        ("type: 12\n", "is not a valid JSON Schema"),
    ],
)
def test_a_broken_schema_is_refused_with_a_cache_too(
    tmp_path: Path, text: str, problem: str
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(text, "utf-8")
    for _ in range(2):
        with pytest.raises(SchemaError, match=problem):
            load_schema(broken, cache=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("schema-*"))


def test_a_kept_schema_compiles_when_first_used(tmp_path: Path) -> None:
    """A build with nothing to do checks no record: it need not compile the schema."""
    cache = tmp_path / "cache"
    assert "validator" in vars(load_schema(SCHEMA, cache=cache))  # compiled, then kept
    kept = load_schema(SCHEMA, cache=cache)
    assert "validator" not in vars(kept) and "screen" not in vars(kept)
    (problem,) = check(kept, record_data(webUrl="nope"))
    assert problem.field == "webUrl"


REMOTE = "https://feeds.invalid/gone.json"  # .invalid: never resolves


def test_a_kept_schema_that_names_another_document_is_compiled_as_it_is_read(
    tmp_path: Path,
) -> None:
    """What it names elsewhere may no longer resolve: that is found as the schema is read,
    and refused, not when the first record is checked (with a traceback)."""
    cache = tmp_path / "cache"
    text = f'properties: {{title: {{$ref: "{REMOTE}"}}}}\n'
    path = tmp_path / "elsewhere.yaml"
    path.write_text(text, "utf-8")
    # As if it had compiled when it was kept, the document it names being there then.
    _keep_document(_kept_path(cache, text), {"properties": {"title": {"$ref": REMOTE}}})
    with pytest.raises(SchemaError, match="is not a valid JSON Schema"):
        load_schema(path, cache=cache)


@pytest.mark.parametrize(
    ("document", "contained"),
    [
        ({"properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {}}}, True),
        ({"$schema": "https://json-schema.org/draft/2020-12/schema"}, True),
        ({"enum": [{"$ref": REMOTE}], "const": {"$schema": "mine"}}, True),  # data, not refs
        ({"properties": {"a": {"$ref": REMOTE}}}, False),
        ({"items": [{"$ref": "other.yaml#/a"}]}, False),
        ({"$dynamicRef": "other.yaml"}, False),
        ({"$schema": "https://feeds.invalid/meta.json"}, False),
    ],
)
def test_a_schema_is_self_contained_when_it_names_no_other_document(
    document: dict[str, Any], contained: bool
) -> None:
    assert _self_contained(document) is contained


def test_the_bundled_schema_is_self_contained() -> None:
    """So a build with nothing to do never compiles it (see Schema)."""
    assert _self_contained(load_schema().document)
