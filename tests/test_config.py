from __future__ import annotations

import re
from pathlib import Path

import pytest

from feeds.config import Config, ConfigError, load_config


def test_defaults_work_on_a_bare_folder(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source == tmp_path / "seeds"
    assert config.output == tmp_path / "out"
    assert config.entries_per_feed == 50
    assert config.base_url == "http://localhost:8000/"
    assert config.schema is None  # the bundled schema


def test_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.feeds]\ntitle = "T"\nsource = "news"\n'
    )
    config = load_config(tmp_path)
    assert (config.title, config.source) == ("T", tmp_path / "news")


def test_feeds_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.feeds]\ntitle = "P"\n')
    (tmp_path / "feeds.toml").write_text('title = "F"\n')
    assert load_config(tmp_path).title == "F"


def test_overrides_win_and_none_means_unset(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text('title = "F"\nentries_per_feed = 7\n')
    config = load_config(tmp_path, title="CLI", entries_per_feed=None)
    assert (config.title, config.entries_per_feed) == ("CLI", 7)


def test_project_schema_is_found(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "record.yaml").write_text("type: object\n")
    assert load_config(tmp_path).schema == tmp_path / "schemas" / "record.yaml"


def test_base_url_gets_a_trailing_slash() -> None:
    assert Config(base_url="https://a.com/feeds").url_for("all.rss.xml") == (
        "https://a.com/feeds/all.rss.xml"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "not a url"}, "must be an absolute http(s) URL"),
        # Every document's address is the base URL and a path after it.
        ({"base_url": "https://a.com/feeds?x=1"}, "must not have a query or fragment"),
        ({"base_url": "https://a.com/feeds/?"}, "must not have a query or fragment"),
        ({"base_url": "https://a.com/feeds/#top"}, "must not have a query or fragment"),
        ({"entries_per_feed": 0}, "entries_per_feed must be from 1 to 10000"),
        ({"title": "  "}, "title must not be empty"),
        ({"description": ""}, "description must not be empty"),
        ({"title": "a\x01b"}, "title contains the character U+0001"),
        ({"description": "a\x00"}, "description contains the character U+0000"),
        # Bytes of a command-line argument that are not UTF-8, as Python decodes them.
        ({"title": b"caf\xe9".decode("utf-8", "surrogateescape")}, "U+DCE9"),
        ({"language": ""}, "language must be a language tag"),
        ({"language": "en us"}, "language must be a language tag"),
        ({"language": "e"}, "language must be a language tag"),
    ],
)
def test_invalid_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["en", "pt-BR", "zh-Hant-TW", "de-CH-1996"])
def test_language_tags(language: str) -> None:
    assert Config(language=language).language == language
