"""Document keys taken from the last build are those that working them out gives.

Every build below goes through :func:`feeds.publish.feed_documents` as usual; the fixture
``keyed`` also works out each key from the document's entries, and records both.  A key the
last build vouched for (:class:`feeds.knownkeys.KnownKeys`) must be the very key worked out:
a wrong one would link a stale file into the output.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from feeds import knownkeys, parallel, rendercache
from feeds.api import build
from feeds.articles import Article, Provider, Text
from feeds.checks import parse_datetime
from feeds.config import Config
from feeds.knownkeys import KnownKeys, _Listed, _places, page_ends
from feeds.plan import FeedPlan, plan_feeds
from feeds.publish import FeedDocument, feed_documents
from tests import test_incremental
from tests.edits import edited_run, random_edit
from tests.test_incremental import assert_same_as_cold, edit_record


@dataclass(frozen=True)
class Keyed:
    """One document of a build: where, the key the last build vouched for (if any) and the
    key its entries give."""

    path: str
    page: int | None
    known: bytes | None
    worked_out: bytes


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[Keyed]]]:
    """The documents of each build, as :class:`Keyed`."""
    builds: list[list[Keyed]] = []

    def spy(
        plan: FeedPlan,
        config: Config,
        entry_digests: Mapping[str, bytes] | None = None,
        known: KnownKeys | None = None,
    ) -> list[FeedDocument]:
        documents = feed_documents(plan, config, entry_digests, known)
        worked_out = {(d.spec.path, d.page): d.key for d in feed_documents(plan, config)}
        builds.append(
            [
                Keyed(
                    d.spec.path,
                    d.page,
                    None if known is None else known.key(d.spec, d.page),
                    worked_out[d.spec.path, d.page],
                )
                for d in documents
            ]
        )
        return documents

    monkeypatch.setattr(parallel, "feed_documents", spy)
    yield builds


def wrong(documents: list[Keyed]) -> list[Keyed]:
    return [d for d in documents if d.known is not None and d.known != d.worked_out]


def known(documents: list[Keyed]) -> set[tuple[str, int | None]]:
    return {(d.path, d.page) for d in documents if d.known is not None}


def published(config: Config) -> dict[str, datetime]:
    """The publication date of each record, by file name."""
    return {
        path.name: parse_datetime(str(front(config, path.name)["publishedDateTime"]))
        for path in sorted(config.source.glob("*.md"))
    }


# 150 records, in pages of five: every feed has archives.
config = test_incremental.config


def front(config: Config, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (config.source / name).read_text("utf-8").split("---\n")[1]
    )
    return data


def test_after_a_new_title_only_the_documents_that_show_it_are_keyed_again(
    config: Config, tmp_path: Path, keyed: list[list[Keyed]]
) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    build(config)
    documents = keyed[-1]
    assert wrong(documents) == []
    # The all-articles feed, the record's topics and provider, and those of the records that
    # cite it or that it cites: a few documents each.
    assert len(documents) - 60 < len(known(documents)) < len(documents)
    assert_same_as_cold(config, tmp_path)


def test_a_cold_build_and_one_after_it_with_other_settings_know_no_key(
    config: Config, tmp_path: Path, keyed: list[list[Keyed]]
) -> None:
    build(config)
    assert known(keyed[-1]) == set()
    edit_record(config, "00042.md", title="A title nobody used before")
    build(replace(config, title="Another name"))
    assert known(keyed[-1]) == set()
    assert_same_as_cold(replace(config, title="Another name"), tmp_path)


def test_an_article_dated_back_keeps_the_pages_older_than_either_of_its_dates(
    config: Config, tmp_path: Path, keyed: list[list[Keyed]]
) -> None:
    build(config)
    dates = sorted(published(config).values())
    back = dates[len(dates) // 4] - timedelta(seconds=1)  # a quarter of them older still
    edit_record(config, "00042.md", publishedDateTime=back.isoformat())
    build(config)
    documents = keyed[-1]
    assert wrong(documents) == []
    all_pages = [d for d in documents if d.path == "all"]
    kept = sorted(d.page or 0 for d in all_pages if d.known is not None)
    assert kept, "the oldest pages of the all-articles feed are known"
    assert kept == list(range(1, len(kept) + 1)), "from the oldest page on, and no later one"
    assert len(kept) < len(all_pages) - 1
    assert_same_as_cold(config, tmp_path)


def test_removing_the_newest_article_of_a_feed_keys_its_subscription_document_again(
    config: Config, tmp_path: Path, keyed: list[list[Keyed]]
) -> None:
    """Its archive pages keep their entries (they are cut from the oldest); the
    subscription document lists one fewer."""
    build(config)
    dates = published(config)
    newest = max(dates, key=lambda name: dates[name])
    (config.source / newest).unlink()
    build(config)
    documents = keyed[-1]
    assert wrong(documents) == []
    assert ("all", None) not in known(documents)
    assert ("all", 1) in known(documents)
    assert_same_as_cold(config, tmp_path)


def test_a_feed_whose_name_changed_is_keyed_again(
    config: Config, tmp_path: Path, keyed: list[list[Keyed]]
) -> None:
    """A provider's feed is named as its first article, by address, names the provider: a
    new first article that spells it otherwise renames the feed, at the same path, and so
    changes the key of every page, not only of the one that lists it."""
    build(config)
    data = front(config, "00042.md")
    newest = max(published(config).values()) + timedelta(minutes=1)
    provider = data["provider"]
    data |= {
        "webUrl": f"https://{provider['domain']}/0-first",
        "publishedDateTime": newest.isoformat(),
        "provider": {**provider, "name": provider["name"].upper()},
    }
    dumped = yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000)
    (config.source / "first.md").write_text(f"---\n{dumped}---\n", "utf-8")
    build(config)
    documents = keyed[-1]
    assert wrong(documents) == []
    feed = [d for d in documents if d.path == "providers/same-name"]
    assert len(feed) > 2, "a subscription document and archive pages"
    assert all(d.known is None for d in feed)
    assert_same_as_cold(config, tmp_path)


def test_a_record_of_the_last_build_that_does_not_say_its_settings_vouches_for_no_key(
    config: Config, keyed: list[list[Keyed]], monkeypatch: pytest.MonkeyPatch
) -> None:
    build(config)
    edit_record(config, "00042.md", title="A title nobody used before")
    load = rendercache.load_last_build
    monkeypatch.setattr(rendercache, "load_last_build", lambda p: replace(load(p), settings=b""))
    build(config)
    assert known(keyed[-1]) == set()


def test_an_article_is_at_the_same_place_searched_for_by_rank_or_looked_up_by_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both ways of finding articles in a feed (:func:`feeds.knownkeys._places`) give each
    the place the feed lists it at, and neither gives one to an article the feed does not
    list as it is: a place missed would only key more documents again, so the tests of
    keys cannot tell."""
    rng = random.Random(5)
    paper = Provider("Paper", "paper.example.com")
    graph = {}
    for number in range(400):
        key = f"https://news.example.com/{number:03}/"
        when = datetime(2021, 3, 4, tzinfo=UTC) - timedelta(hours=rng.randrange(300))
        topics = (rng.choice(["One", "Two", "Three"]),)
        graph[key] = Article(key, when, when, paper, topics, (), None, Text(key, key, "", None))
    plan = plan_feeds(graph, 7)
    articles = list(graph.values())
    for spec in plan.feeds:
        wanted = rng.sample(articles, 60)
        other = wanted[0].text._replace(title="Another title")
        wanted += [wanted[0]._replace(held_text=other)]  # its key, another article
        places = {}
        for way, search_at_most in (("searched", math.inf), ("listed", 0.0)):
            monkeypatch.setattr(knownkeys, "SEARCH_AT_MOST", search_at_most)
            places[way] = _places(spec, page_ends(spec), wanted)
        assert places["searched"] == places["listed"], spec.path
        listed = _Listed(spec, page_ends(spec))
        assert [listed[i] for i in range(len(listed))] == list(listed.newest_first())
        for article, place in zip(wanted, places["searched"], strict=True):
            assert (place is not None) == any(listed[i] is article for i in range(len(listed)))
            assert place is None or listed[place] is article
        assert places["searched"][-1] is None


# Each article merged again is found in its feeds by searching (the default for a few),
# or by listing the feed (for many): each way on its own.
@pytest.mark.parametrize("search_at_most", [math.inf, 0.0], ids=["searched", "listed"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_key_taken_over_a_run_of_random_edits_is_the_one_worked_out(
    tmp_path: Path,
    keyed: list[list[Keyed]],
    seed: int,
    search_at_most: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(knownkeys, "SEARCH_AT_MOST", search_at_most)
    rng = random.Random(seed)
    config = edited_run(tmp_path, rng, seed)
    build(config)
    done = []
    for _ in range(10):
        done.append(random_edit(config.source, rng))
        build(config)
        assert wrong(keyed[-1]) == [], f"after {done}"
    assert sum(map(len, map(known, keyed))) > 0
    assert_same_as_cold(config, tmp_path)
