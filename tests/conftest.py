"""Shared helpers: real seed files, and records written the way a publisher writes them."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from feeds.articles import Article
    from feeds.render import EntryXml, Shown

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SCHEMA = REPO / "schemas" / "record.yaml"

RecordFactory = Callable[..., Path]


def bench_module(name: str) -> Any:
    """The script ``bench/{name}.py`` as a module (bench/ is not a package), loaded once and
    kept in ``sys.modules``, where its data classes look themselves up."""
    key = f"bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def corpus_module() -> Any:
    """The benchmark's corpus generator."""
    return bench_module("corpus")


def record_data(**changes: Any) -> dict[str, Any]:
    """A valid record of seed shape; keyword arguments replace fields (``None`` removes one)."""
    data: dict[str, Any] = {
        "title": "A valid article",
        "excerpt": "What happened, in one sentence.",
        "publishedDateTime": "2021-03-04T05:06:07Z",
        "webUrl": "https://news.example.com/2021/03/04/valid-article/",
        "published": True,
        "quality": 80,
        "heat": 10,
        "provider": {"name": "Example News", "domain": "news.example.com"},
        "topics": ["Testing"],
        "images": [{"url": "https://img.example.com/a.jpg", "width": 640, "height": 480}],
        "related": [
            {
                "title": "A related article",
                "publishedDateTime": "2021-03-03T01:02:03+02:00",
                "webUrl": "https://other.example.org/related/",
                "provider": {"name": "Other Paper", "domain": "other.example.org"},
            }
        ],
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by its path there, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def record_text(data: dict[str, Any], body: str = "Body text.\n") -> str:
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{body}"


# An article that every record written by :func:`cite_one_article` cites.
HOT = "https://hot.example.com/story"


def cite_one_article(write_record: RecordFactory, count: int) -> list[str]:
    """Write ``count`` records (``r00.md`` and on), each citing the article at :data:`HOT`;
    their URLs, in file order."""
    urls = []
    for n in range(count):
        url = f"https://news.example.com/{n:02d}"
        hot = {
            "title": "Everyone cites this",
            "publishedDateTime": "2021-03-01T00:00:00Z",
            "webUrl": HOT,
            "provider": {"name": "Hot Wire", "domain": "hot.example.com"},
        }
        write_record(f"r{n:02d}.md", webUrl=url, title=f"Record {n}", related=[hot])
        urls.append(url)
    return urls


@pytest.fixture
def write_record(tmp_path: Path) -> RecordFactory:
    """Write a record file under ``tmp_path/records`` from data, text or bytes."""
    folder = tmp_path / "records"
    folder.mkdir(exist_ok=True)

    def write(
        name: str = "record.md", content: dict[str, Any] | str | bytes | None = None, **changes: Any
    ) -> Path:
        path = folder / name
        if content is None:
            content = record_data(**changes)
        if isinstance(content, dict):
            content = record_text(content)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        return path

    return write


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A publisher's project folder holding a copy of the seeds, as the working folder."""
    root = tmp_path / "project"
    shutil.copytree(SEEDS, root / "seeds")
    monkeypatch.chdir(root)
    yield root


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The keys of the articles whose entries are rendered (in XML) from now on, in this
    process."""
    # Imported here: most tests of this folder render nothing.
    from feeds import entries  # noqa: PLC0415
    from feeds.render import render_entries as render  # noqa: PLC0415

    keys: list[str] = []

    def counting(
        items: Sequence[tuple[Article, datetime]],
        articles: Mapping[str, Article],
        shown_of: Callable[[Article], Shown] | None = None,
    ) -> list[EntryXml]:
        keys.extend(article.key for article, _ in items)
        return render(items, articles, shown_of)

    monkeypatch.setattr(entries, "render_entries", counting)
    yield keys
