"""Settings: defaults that work on the sample seeds, then files, then command-line options."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from feeds.records import first_xml_illegal
from feeds.urls import is_http_url

CACHE_FOLDER = ".feeds-cache"
# A well-formed language tag (RFC 5646: a language, then subtags of letters and digits), as
# RSS's <language>, Atom's xml:lang and JSON Feed's language take it.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", re.ASCII)


class ConfigError(Exception):
    """A setting is missing, mistyped or out of range; the message names it."""


@dataclass(frozen=True)
class Config:
    title: str = "feeds"
    description: str = "News feeds by topic and by provider"
    # Where ``out/`` is served from.  The default matches ``python -m http.server -d out``.
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    entries_per_feed: int = 50
    source: Path = Path("seeds")
    output: Path = Path("out")
    schema: Path | None = None  # None: the project's schemas/record.yaml, else the bundled one
    # Results already computed, by content (see feeds.cache); None: no cache.  load_config
    # gives a project ``.feeds-cache`` unless its settings say ``cache = false``.
    cache: Path | None = None

    def __post_init__(self) -> None:
        if "?" in self.base_url or "#" in self.base_url:  # a valid URL has them nowhere else
            raise ConfigError(
                f"base_url {self.base_url!r} must not have a query or fragment: it is the "
                "address of the folder the output is served from"
            )
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", f"{self.base_url}/")
        if not is_http_url(self.base_url):
            raise ConfigError(f"base_url {self.base_url!r} must be an absolute http(s) URL")
        if not 1 <= self.entries_per_feed <= 10_000:
            raise ConfigError(
                f"entries_per_feed must be from 1 to 10000, not {self.entries_per_feed}"
            )
        for name in ("title", "description"):  # in every channel, which RSS requires
            text = getattr(self, name)
            if not text.strip():
                raise ConfigError(f"{name} must not be empty")
            bad = first_xml_illegal(text)
            if bad is not None:
                raise ConfigError(
                    f"{name} contains the character U+{ord(bad):04X}, which a feed cannot carry"
                )
        if not _LANGUAGE_TAG.fullmatch(self.language):
            raise ConfigError(
                f"language must be a language tag such as en or pt-BR, not {self.language!r}"
            )

    def url_for(self, relative: str) -> str:
        return f"{self.base_url}{relative}"

    @property
    def shown(self) -> tuple[str, str, str, str, int]:
        """The settings the output is made with (not where it is read from or written to):
        what is cached of a build is valid only for the same ones."""
        return (self.title, self.description, self.base_url, self.language, self.entries_per_feed)


_PATH_KEYS = {"source", "output", "schema", "cache"}
_FIELD_TYPES: dict[str, type] = {
    "title": str,
    "description": str,
    "base_url": str,
    "language": str,
    "entries_per_feed": int,
    "source": str,
    "output": str,
    "schema": str,
    "cache": str,
}


def load_config(project_dir: Path, config_file: Path | None = None, **overrides: Any) -> Config:
    """Settings for a project: ``feeds.toml`` or ``[tool.feeds]`` in ``pyproject.toml``
    (``feeds.toml`` wins when both exist), then ``overrides`` that are not ``None``.

    Relative paths in a file are relative to that file's folder.
    """
    values: dict[str, Any] = {}
    where, table = _read_table(project_dir, config_file)
    for key, value in table.items():
        if key not in _FIELD_TYPES:
            known = ", ".join(sorted(_FIELD_TYPES))
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {known})")
        wanted = _FIELD_TYPES[key]
        if key == "cache" and value is False:
            values[key] = None
            continue
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be {wanted.__name__}, not {value!r}")
        values[key] = where.parent / str(value) if key in _PATH_KEYS else value
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
    if "schema" not in values:
        local = project_dir / "schemas" / "record.yaml"
        values["schema"] = local if local.is_file() else None
    names = {f.name for f in fields(Config)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    config = Config()
    if "source" not in values:
        values["source"] = project_dir / config.source
    if "output" not in values:
        values["output"] = project_dir / config.output
    if "cache" not in values:
        values["cache"] = project_dir / CACHE_FOLDER
    return replace(config, **values)


def _read_table(project_dir: Path, config_file: Path | None) -> tuple[Path, dict[str, Any]]:
    if config_file is not None:
        return config_file, _table(config_file, pyproject=config_file.name == "pyproject.toml")
    feeds_toml = project_dir / "feeds.toml"
    if feeds_toml.is_file():
        return feeds_toml, _table(feeds_toml, pyproject=False)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        return pyproject, _table(pyproject, pyproject=True)
    return project_dir, {}


def _table(path: Path, *, pyproject: bool) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - a project without a settings file never needs it

    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    table: Any = document.get("tool", {}).get("feeds", {}) if pyproject else document
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.feeds] must be a table")
    return table
