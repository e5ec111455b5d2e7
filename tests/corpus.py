"""A deterministic corpus of awkward news records, for conformance tests.

``write_corpus(folder, count)`` writes ``count`` record files (seeded random, so every run
writes the same bytes) whose text mixes what real feeds carry and readers choke on:
ampersands, tags in excerpts and titles, quotes, emoji, right-to-left scripts, character
references, HTML entities and odd characters in URLs, time-zone offsets, and a share of
records with control characters, which must never reach a feed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

WORDS = [
    "market",
    "Tom & Jerry",
    "AT&T",
    "R&D",
    "<b>bold</b>",
    "<i>chips</i>",
    "a < b > c",
    "&amp; already escaped",
    "&copy; 2020",
    "&#39;quoted&#39;",
    '"double quotes"',
    "'single'",
    "emoji 🚀🔥",
    "family 👨‍👩‍👧",
    "مرحبا بالعالم",
    "שלום עולם",
    "Grüße aus Köln",
    "日本語のニュース",
    "naïve café",
    "</p> stray end tag",
    "<script>alert('x')</script>",
    "x=1&y=2",
    "50% off",
    "back\\slash",
    "tab\there",
    "Q&A",
    "P&G5",
    "<![CDATA[ nope ]]>",
    "]]> end",
    "line\nbreak",
    "windows\r\nline end",
    "©°±½ latin-1",
    "\u00a0non-breaking",
    "zero\u200bwidth",
    "\u202eright-to-left override",
    "U+FFFD \ufffd replacement",
    "NEL \x85 next line",
]
TOPICS = [
    "AI",
    "Computer Vision",
    "R&D",
    "Science & Tech",
    "<Markup>",
    "Économie",
    "سياسة",
    "🚀 Space",
    "Q&amp;A",
    "Policy",
    "Health",
    "Open Source",
]
PROVIDERS = [
    ("Example News", "news.example.com"),
    ("Fish & Chips Daily", "fish.example.org"),
    ("<b>Bold</b> Times", "bold.example.net"),
    ("الجزيرة", "arabic.example.com"),
    ("Zeitung für Köln", "koeln.example.de"),
    ("Emoji Post 📰", "emoji.example.com"),
    ('Quote "Herald"', "herald.example.com"),
    ("日本ニュース", "xn--wgv71a.example.jp"),
    ("Tiny", "tiny.example"),
    ("Desk <desk@mail.example.com>", "desk.example.com"),
    ("AT&amp;T Wire", "att.example.com"),
    ("Bücher Blatt", "bücher.example"),
    ("Pipe Press", "pipe|press.example.com"),
    ("Same Name", "same-one.example.com"),
    ("Same Name", "same-two.example.com"),
]
PATHS = [
    "/2020/06/10/plain-article-{n}/",
    "/story?id={n}&ref=rss",
    "/story?id={n}&#038;strip=all",
    "/story?id={n}&amp;x=1",
    "/ünïcödé/{n}",
    "/pipes|and{{braces}}/{n}",
    "/space%20encoded/{n}",
    "/brackets[{n}]?q=[a]",
    "/quote'n'{n}",
    "/tilde~{n}/?utm_source=feed&utm_medium=rss",
]
OFFSETS = [0, 60, -300, 330, 345, -210, 540, 840, -720, 585]
CONTROL = ["\x01", "\x08", "\x0b", "\x1f", "\x7f"]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


# Publishers often give times to the minute: a few moments many records share.
SHARED_MOMENTS = ["2020-06-09T00:00:00Z", "2020-06-09T02:00:00+02:00", "2021-01-01T12:00:00Z"]


def _date(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(SHARED_MOMENTS)
    moment = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(700_000_000))
    offset = timezone(timedelta(minutes=rng.choice(OFFSETS)))
    local = moment.astimezone(offset)
    text = local.isoformat(timespec=rng.choice(["seconds", "milliseconds"]))
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


def _url(rng: random.Random, domain: str, n: int) -> str:
    return f"https://{domain}{rng.choice(PATHS).format(n=n)}"


def _image(rng: random.Random, n: int) -> dict[str, Any]:
    image: dict[str, Any] = {"url": f"https://img.example.com/{n}.jpg?w=1200&#038;h=600"}
    if rng.random() < 0.7:
        image["width"] = rng.choice([50, 144, 145, 640, 1200, 4000])
        image["height"] = rng.choice([50, 400, 401, 480, 600, 3000])
    return image


def record(rng: random.Random, n: int) -> dict[str, Any]:
    name, domain = rng.choice(PROVIDERS)
    data: dict[str, Any] = {
        "title": _text(rng, rng.randint(1, 5)),
        "excerpt": _text(rng, rng.randint(0, 12)),
        "publishedDateTime": _date(rng),
        "webUrl": _url(rng, domain, n),
        "published": rng.random() < 0.9,
        "provider": {"name": name, "domain": domain},
        "topics": rng.sample(TOPICS, rng.randint(1, 3)),
    }
    if rng.random() < 0.8:
        data["images"] = [_image(rng, n)]
    related = []
    for _ in range(rng.randint(0, 3)):
        other_name, other_domain = rng.choice(PROVIDERS)
        # Citations often point at other records of the corpus: a shared graph.
        target = rng.randrange(max(1, n))
        related.append(
            {
                "title": _text(rng, rng.randint(1, 4)),
                "publishedDateTime": _date(rng),
                "webUrl": _url(random.Random(target), other_domain, target),
                "provider": {"name": other_name, "domain": other_domain},
            }
        )
    if related:
        data["related"] = related
    return data


def write_corpus(folder: Path, count: int = 1000, seed: int = 20200610) -> set[str]:
    """Write ``count`` records into ``folder``; return the names of those that carry control
    characters (and so must be skipped)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tainted = set()
    for n in range(count):
        data = record(rng, n)
        if rng.random() < 0.03:
            field = rng.choice(["title", "excerpt"])
            data[field] = f"{data[field]}{rng.choice(CONTROL)}tail"
            tainted.add(f"{n:05d}.md")
        front = yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=1000)
        (folder / f"{n:05d}.md").write_text(f"---\n{front}---\n\nBody {n}.\n", "utf-8")
    return tainted
