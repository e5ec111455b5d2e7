"""Random edits of a corpus of records, as a news desk makes them between two builds.

``random_edit(folder, rng)`` changes the records in ``folder`` in one of the ways records
change (a title, a date, topics, the provider, citations, a record unpublished, broken or
fixed, added, removed, renamed, copied, or only touched) and says what it did.  The
incremental tests build after each edit and compare every byte with a cold build.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from feeds.config import Config
from tests.corpus import PROVIDERS, TOPICS, WORDS, record, write_corpus

Edit = Callable[[Path, random.Random], str]


def _records(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.md"))


def _read(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The front matter of a record (``None`` when it does not parse) and its body."""
    text = path.read_text("utf-8")
    parts = text.split("---\n", 2)
    if len(parts) < 3:
        return None, text
    try:
        front = yaml.safe_load(parts[1])
    except yaml.YAMLError:
        return None, parts[2]
    return (front if isinstance(front, dict) else None), parts[2]


def _write(path: Path, front: dict[str, Any], body: str) -> None:
    dumped = yaml.safe_dump(front, sort_keys=True, allow_unicode=True, width=1000)
    path.write_text(f"---\n{dumped}---\n{body}", "utf-8")


def _change(folder: Path, rng: random.Random, what: str, change: Callable[..., None]) -> str:
    """Apply ``change(front, rng)`` to a random record that parses."""
    candidates = _records(folder)
    rng.shuffle(candidates)
    for path in candidates:
        front, body = _read(path)
        if front is None:
            continue
        change(front, rng)
        _write(path, front, body)
        return f"{what} of {path.name}"
    return "nothing to change"


def _words(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))


def _title(front: dict[str, Any], rng: random.Random) -> None:
    front["title"] = _words(rng)


def _excerpt(front: dict[str, Any], rng: random.Random) -> None:
    front["excerpt"] = _words(rng) if rng.random() < 0.8 else ""


def _date(front: dict[str, Any], rng: random.Random) -> None:
    year, month, day, hour = rng.randint(2000, 2024), rng.randint(1, 12), rng.randint(1, 28), 0
    if rng.random() < 0.5:  # times that other records share, to the minute
        hour = rng.randint(0, 23)
    front["publishedDateTime"] = f"{year}-{month:02d}-{day:02d}T{hour:02d}:00:00Z"


def _topics(front: dict[str, Any], rng: random.Random) -> None:
    front["topics"] = rng.sample(TOPICS, rng.randint(1, 3))


def _provider(front: dict[str, Any], rng: random.Random) -> None:
    name, domain = rng.choice(PROVIDERS)
    front["provider"] = {"name": name, "domain": domain}


def _cited_title(front: dict[str, Any], rng: random.Random) -> None:
    related = front.get("related") or []
    if related:
        rng.choice(related)["title"] = _words(rng)
    else:
        _title(front, rng)


def _citations(front: dict[str, Any], rng: random.Random) -> None:
    related = list(front.get("related") or [])
    if related and rng.random() < 0.5:
        related.pop(rng.randrange(len(related)))
    else:
        cited = record(random.Random(rng.random()), rng.randrange(10_000))
        related.append(
            {key: cited[key] for key in ("title", "publishedDateTime", "webUrl", "provider")}
        )
    if related:
        front["related"] = related
    else:
        front.pop("related", None)


def _published(front: dict[str, Any], rng: random.Random) -> None:
    front["published"] = not front.get("published", True)


def _break(front: dict[str, Any], rng: random.Random) -> None:
    if rng.random() < 0.5:
        front.pop("title", None)
    else:
        front["webUrl"] = "not a url"


def _added(folder: Path, rng: random.Random) -> str:
    name = f"{rng.randrange(100_000):05d}-new.md"
    data = record(rng, rng.randrange(len(_records(folder)) + 1))
    _write(folder / name, data, "\nA new record.\n")
    return f"added {name}"


def _removed(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_records(folder))
    path.unlink()
    return f"removed {path.name}"


def _renamed(folder: Path, rng: random.Random) -> str:
    """A new name changes the file order, and so which of two copies is published."""
    path = rng.choice(_records(folder))
    target = path.with_name(f"{rng.randrange(100_000):05d}-renamed.md")
    path.rename(target)
    return f"renamed {path.name} to {target.name}"


def _copied(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_records(folder))
    target = path.with_name(f"{rng.randrange(100_000):05d}-copy.md")
    target.write_bytes(path.read_bytes())
    return f"copied {path.name} to {target.name}"


def _touched(folder: Path, rng: random.Random) -> str:
    path = rng.choice(_records(folder))
    os.utime(path)
    return f"touched {path.name}"


EDITS: list[Edit] = [
    lambda f, r: _change(f, r, "title", _title),
    lambda f, r: _change(f, r, "excerpt", _excerpt),
    lambda f, r: _change(f, r, "date", _date),
    lambda f, r: _change(f, r, "topics", _topics),
    lambda f, r: _change(f, r, "provider", _provider),
    lambda f, r: _change(f, r, "a cited title", _cited_title),
    lambda f, r: _change(f, r, "citations", _citations),
    lambda f, r: _change(f, r, "published flag", _published),
    lambda f, r: _change(f, r, "a broken field", _break),
    _added,
    _removed,
    _renamed,
    _copied,
    _touched,
]


def random_edit(folder: Path, rng: random.Random) -> str:
    return rng.choice(EDITS)(folder, rng)


def edited_run(folder: Path, rng: random.Random, seed: int) -> Config:
    """The settings of a run of random edits of 80 records (``seed``) written into
    ``folder``: its output and cache beside them, and pages of 2, 3 or 50 entries, as
    ``rng`` picks (the small ones give every feed archives)."""
    write_corpus(folder / "records", 80, seed=seed)
    return Config(
        source=folder / "records",
        output=folder / "out",
        cache=folder / "cache",
        entries_per_feed=rng.choice([2, 3, 50]),
    )
