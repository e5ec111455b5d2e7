"""The front door: index.html lists every feed and lets readers find them; the OPML file
subscribes to all; the stylesheet turns any feed into a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree, html

from feeds.api import build
from feeds.config import load_config
from tests.test_build import FEED_PATHS

BASE = "http://localhost:8000/"


@pytest.fixture
def out(project: Path) -> Path:
    build(load_config(project))
    return project / "out"


def page(out: Path) -> Any:
    return html.fromstring((out / "index.html").read_bytes())


def test_index_is_plain_accessible_html(out: Path) -> None:
    text = (out / "index.html").read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    document = page(out)
    assert document.get("lang") == "en"
    assert document.find("head/meta[@charset='utf-8']") is not None
    assert document.findtext("head/title") == "feeds"
    assert [h.text_content() for h in document.iter("h1")] == ["feeds"]
    assert [h.text_content() for h in document.iter("h2")] == [
        "How to subscribe",
        "Everything",
        "Topics",
        "Providers",
    ]
    assert not list(document.iter("script"))
    for table in document.iter("table"):
        assert table.find("caption") is not None
        assert all(th.get("scope") in {"col", "row"} for th in table.iter("th"))


def test_index_autodiscovers_every_feed(out: Path) -> None:
    found = {
        (link.get("type"), link.get("href"))
        for link in page(out).iter("link")
        if link.get("rel") == "alternate"
    }
    for name in FEED_PATHS:
        assert ("application/atom+xml", f"{name}.atom.xml") in found
    assert ("application/rss+xml", "all.rss.xml") in found
    assert ("application/feed+json", "all.json") in found
    assert ("text/x-opml", "feeds.opml") in found
    assert all((out / href).is_file() for _type, href in found)


def test_index_lists_feeds_with_counts_dates_and_subscribe_links(out: Path) -> None:
    rows = {row.findtext("th"): row for row in page(out).iter("tr") if row.find("td") is not None}
    assert sorted(rows) == sorted(
        [
            "All articles",
            "AI",
            "Computer Vision",
            "Android Authority",
            "Neowin",
            "South China Morning Post",
            "VentureBeat",
        ]
    )
    vision = rows["Computer Vision"]
    cells = vision.findall("td")
    assert cells[0].text_content() == "4"
    (time,) = vision.iter("time")
    assert (time.text, time.get("datetime")) == ("2020-06-10", "2020-06-10T18:12:00+00:00")
    labels = [a.get("aria-label") for a in vision.iter("a")]
    assert labels == ["Computer Vision, Atom", "Computer Vision, RSS", "Computer Vision, JSON"]
    hrefs = [a.get("href") for a in vision.iter("a")]
    assert hrefs == [
        "topics/computer-vision.atom.xml",
        "topics/computer-vision.rss.xml",
        "topics/computer-vision.json",
    ]
    assert vision.findtext(".//code") == f"{BASE}topics/computer-vision.atom.xml"
    for row in rows.values():
        for anchor in row.iter("a"):
            assert (out / anchor.get("href")).is_file()


def test_opml_lists_every_feed(out: Path) -> None:
    document = etree.parse(str(out / "feeds.opml"))
    root = document.getroot()
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "feeds"
    outlines = root.findall(".//outline[@xmlUrl]")
    assert sorted(str(o.get("xmlUrl")) for o in outlines) == sorted(
        f"{BASE}{name}.atom.xml" for name in FEED_PATHS
    )
    assert all(o.get("type") == "rss" and o.get("text") and o.get("htmlUrl") for o in outlines)
    groups = [o.get("text") for o in root.findall("body/outline[@xmlUrl]")] + [
        o.get("text") for o in root.findall("body/outline") if o.get("xmlUrl") is None
    ]
    assert groups == ["All articles", "Topics", "Providers"]
    topics = root.find("body/outline[@text='Topics']")
    assert topics is not None
    assert [o.get("text") for o in topics] == ["AI", "Computer Vision"]


@pytest.mark.parametrize("name", ["all.atom.xml", "topics/ai.rss.xml"])
def test_feeds_point_at_the_stylesheet_and_stay_plain_feeds(out: Path, name: str) -> None:
    data = (out / name).read_bytes()
    href = "feed.xsl" if "/" not in name else "../feed.xsl"
    assert f'<?xml-stylesheet type="text/xsl" href="{href}"?>'.encode() in data.splitlines()[1]
    assert not feedparser.parse(data).bozo
    transform = etree.XSLT(etree.parse(str(out / "feed.xsl")))
    shown: Any = html.fromstring(str(transform(etree.parse(str(out / name)))))
    assert shown.findtext(".//h1")
    titles = [a.text_content() for a in shown.findall(".//article/h3/a")]
    assert "IBM walked away from facial recognition. What about Amazon and Microsoft?" in titles
    assert shown.findall(".//article/img")
    related = [a.get("href") for a in shown.findall(".//article/ul/li/a")]
    assert "https://www.androidauthority.com/tech-news-56-1127243/" in related
