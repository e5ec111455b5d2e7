"""The record schema: JSON Schema written in YAML, checked by a compiled validator.

jsonschema-rs validates a seed-shaped record in tens of microseconds (the pure-Python
``jsonschema`` takes milliseconds), which matters at 100k records.  Its messages are terse
and speak JSON; :func:`_message` rewrites them for a person editing YAML.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.checks import FORMATS, SCREEN_RFC3339
from feeds.diagnostics import Diagnostic
from feeds.records import Finding, Locator, Record
from feeds.urls import SCREEN_HTTP_URL

if TYPE_CHECKING:
    import jsonschema_rs

SCHEMA_NAME = "record.yaml"

# What the cache folder keeps of a schema: its document, as PyYAML read it, once it compiled.
_PARSED = b"feeds-schema-document-2\n"  # 2: kept only once compiled

_FORMAT_HINTS = {
    "http-url": "an absolute http:// or https:// URL with a host and no spaces",
    "rfc3339": (
        "an RFC 3339 date-time of a moment that exists, with a time zone, e.g. 2020-06-10T18:12:00Z"
    ),
}
_JSON_TYPES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of fields",
    "null": "nothing",
}


class SchemaError(Exception):
    """The schema file itself is unusable; the run cannot go on."""


@dataclass(frozen=True)
class Schema:
    """A record schema, compiled when first used, and the document it came from (for
    messages).

    ``screen``, when there is one, accepts only records that ``validator`` accepts, and is
    quicker: it checks the URL and date formats with regexes of its own instead of calling
    back into Python for each of a record's dozens of URLs and dates (see
    :func:`_screening`).

    A build with nothing to do checks no record, and importing jsonschema-rs (and what it
    imports) took a fifth of such a build of 10,000 records (0.20 s against 0.16 s);
    :func:`load_schema` compiles at once only a schema the cache does not know to compile."""

    source: str
    document: Mapping[str, Any]
    screened: bool = True  # False: every record goes to ``validator`` (to compare with)

    @functools.cached_property
    def validator(self) -> jsonschema_rs.Validator:
        return _compiled(dict(self.document))

    @functools.cached_property
    def screen(self) -> jsonschema_rs.Validator | None:
        screening = _screening(self.document) if self.screened else None
        return None if screening is None else _compiled(screening)

    def compile(self) -> None:
        """Compile now: before forking workers, which would each compile it again (and
        import jsonschema-rs), and to find out whether it compiles at all."""
        _ = self.validator, self.screen

    def findings(self, data: Mapping[str, Any]) -> Iterator[Finding]:
        if self.screen is not None and self.screen.is_valid(data):
            return
        for error in self.validator.iter_errors(data):
            path = tuple(error.instance_path)
            kind: Any = error.kind  # a class per keyword, told apart by name
            if kind.name == "required":
                path = (*path, kind.property)
            yield Finding(path, f"schema:{kind.name}", self._message(error))

    def check(self, record: Record, *, quick: bool = False) -> tuple[Diagnostic, ...]:
        """Every schema problem of ``record``, placed at its line and column (``quick``: as
        :class:`feeds.records.Locator` has it)."""
        findings = list(self.findings(record.data))
        if not findings:
            return ()
        return Locator(record, quick=quick).place(findings)

    def _message(self, error: Any) -> str:
        kind = error.kind
        name = kind.name
        value = error.instance
        if name == "required":
            return f"required field {kind.property!r} is missing"
        if name == "type":
            wanted = (
                kind.types
                if hasattr(kind, "types")
                else [_schema_at(self.document, error.schema_path)]
            )
            names = sorted((str(t) for t in wanted), key=lambda t: t == "null")  # null last
            expected = " or ".join(_JSON_TYPES.get(t, t) for t in names)
            hint = " (quote it in YAML to make it text)" if "string" in wanted else ""
            return f"expected {expected}, found {_describe(value)}{hint}"
        if name == "format":
            hint = _FORMAT_HINTS.get(kind.format, f"a valid {kind.format}")
            return f"{_short(value)} is not {hint}"
        if name in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
            bounds = self._bounds(error.schema_path)
            return f"{_short(value)} is out of range; expected {bounds}"
        if name == "minItems" and kind.limit == 1:
            return "must not be empty"
        described = _description(self.document, error.schema_path)
        if name == "pattern" and described:
            return f"{_short(value)} is not valid: expected {described[0].lower()}{described[1:]}"
        if name == "pattern":
            return f"{_short(value)} does not match the pattern {kind.pattern!r}"
        return str(error.message)

    def _bounds(self, schema_path: list[str | int]) -> str:
        parent = _schema_at(self.document, schema_path[:-1])
        if not isinstance(parent, Mapping):
            return "a value in range"
        low, high = parent.get("minimum"), parent.get("maximum")
        if low is not None and high is not None:
            return f"a value from {low} to {high}"
        return f"at least {low}" if low is not None else f"at most {high}"


def _schema_at(document: Any, schema_path: list[str | int] | tuple[str | int, ...]) -> Any:
    node = document
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _description(document: Mapping[str, Any], schema_path: list[str | int]) -> str:
    """The ``description`` of the sub-schema whose keyword failed, if it has one."""
    parent = _schema_at(document, schema_path[:-1])
    if isinstance(parent, Mapping):
        return str(parent.get("description", "")).rstrip(".")
    return ""


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _short(value)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}…{text[-3:]}"


def _bundled_schema() -> tuple[str, str]:
    """The schema shipped inside the wheel, or, running from a checkout, the repository's.

    Installed, the package is a folder and the schema a file in it: only a package imported
    from a zip needs importlib.resources, whose imports (tempfile, shutil, random) took a
    twentieth of what ``feeds validate`` on one file takes."""
    here = Path(__file__).resolve().parent
    packaged = here / "schemas" / SCHEMA_NAME
    if packaged.is_file():
        return packaged.read_text("utf-8"), f"<feeds>/schemas/{SCHEMA_NAME}"
    checkout = here.parent / "schemas" / SCHEMA_NAME
    if checkout.is_file():
        return checkout.read_text("utf-8"), str(checkout)
    from importlib import resources  # noqa: PLC0415

    zipped = resources.files("feeds").joinpath("schemas", SCHEMA_NAME)
    return zipped.read_text("utf-8"), f"<feeds>/schemas/{SCHEMA_NAME}"


def schema_key(schema: Schema) -> str:
    """Identifies a schema by its content, for cache keys."""
    text = json.dumps(schema.document, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def load_schema(path: Path | None = None, *, cache: Path | None = None) -> Schema:
    """Read a schema and compile it; any problem with it is a :class:`SchemaError`.  With a
    ``cache`` folder, the document read from its YAML is kept there for the next run once it
    compiled; a document kept is taken as it is, to be compiled when first used, unless it
    names another document (:func:`_self_contained`)."""
    try:
        if path is None:
            text, source = _bundled_schema()
        else:
            text = path.read_text("utf-8")
            source = str(path)
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaError(f"cannot read schema {path}: {error}") from error
    kept = None if cache is None else _kept_path(cache, text)
    document = None if kept is None else _kept_document(kept)
    if document is not None and _self_contained(document):
        # It compiled before, with this very code and these libraries, and nothing else
        # it names can have changed since.
        return Schema(source, document)
    fresh = document is None
    if fresh:
        document = _document(text, source)
    if not isinstance(document, dict):
        raise SchemaError(f"schema {source} must be a mapping (a JSON Schema object)")
    schema = Schema(source, document)
    import jsonschema_rs  # noqa: PLC0415 - see Schema

    try:
        schema.compile()
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError) as error:
        raise SchemaError(f"schema {source} is not a valid JSON Schema: {error}") from error
    if kept is not None and fresh:
        _keep_document(kept, document)
    return schema


# Keywords whose value is a reference to a schema, which may be another document.
_REFERENCES = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
# The meta-schemas of the drafts, which jsonschema-rs knows without looking them up.
_DRAFTS = ("https://json-schema.org/", "http://json-schema.org/")


def _self_contained(document: Any) -> bool:
    """Whether every reference in ``document`` is to a part of it (``#...``) and its
    meta-schema is a draft's: another document (a file, a URL) may not resolve when it
    did before, and compiling the schema is what finds out, to refuse it."""
    if isinstance(document, list):
        return all(map(_self_contained, document))
    if not isinstance(document, Mapping):
        return True
    for key, value in document.items():
        if key in _DATA_KEYWORDS:
            continue
        if key in _REFERENCES:
            if not (isinstance(value, str) and value.startswith("#")):
                return False
        elif key == "$schema":
            if not (isinstance(value, str) and value.startswith(_DRAFTS)):
                return False
        elif not _self_contained(value):
            return False
    return True


def _kept_path(cache: Path, text: str) -> Path:
    """Where ``cache`` keeps the document of the schema ``text``: named by the code and
    libraries that read and compile it (a new PyYAML reads anew), then by the text."""
    from feeds.cache import code_fingerprint  # noqa: PLC0415

    version = hashlib.blake2b(code_fingerprint().encode(), digest_size=8).hexdigest()
    content = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return cache / f"schema-{version}-{content}.pickle"


def _kept_document(kept: Path) -> Any:
    """The document kept at ``kept``, if any: one that compiled."""
    from feeds.cache import DATE_CLASSES, read_record  # noqa: PLC0415

    return read_record(kept, _PARSED, DATE_CLASSES)


def _keep_document(kept: Path, document: dict[str, Any]) -> None:
    """Keep ``document`` at ``kept`` for the next run, and forget those of other code."""
    from feeds.cache import write_record  # noqa: PLC0415

    _forget_other_versions(kept)
    with contextlib.suppress(OSError, pickle.PicklingError):  # only slower next time
        write_record(kept, _PARSED, document)


def _document(text: str, source: str) -> Any:
    """What the YAML ``text`` says.

    Importing PyYAML took a fifth of what ``feeds validate`` on one file takes, and a run
    that reads plainly written records with the fast reader needs no PyYAML
    (:mod:`feeds.yamlfast`; a run of a few files reads them with PyYAML, see
    :data:`feeds.scan.FAST_YAML_MIN_FILES`): the cache keeps what it says."""
    import yaml  # noqa: PLC0415

    try:
        # libyaml's loader where PyYAML has it: ten times faster than PyYAML's own.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise SchemaError(f"schema {source} is not valid YAML: {error}") from error


def _forget_other_versions(kept: Path) -> None:
    """Remove the schemas kept beside ``kept`` by other code (another version of feeds, of
    Python or of a library that reads them), which this code never reads: each upgrade
    left one more behind."""
    version = kept.name.rpartition("-")[0]  # "schema-" and the version
    with contextlib.suppress(OSError):
        for other in kept.parent.glob("schema-*.pickle"):
            if other.name.rpartition("-")[0] != version:
                other.unlink(missing_ok=True)


def _compiled(document: dict[str, Any]) -> jsonschema_rs.Validator:
    import jsonschema_rs  # noqa: PLC0415 - see Schema

    return jsonschema_rs.validator_for(document, formats=FORMATS, validate_formats=True)


# Formats a string of the given pattern always has (the pattern is a subset of the format).
_SCREEN_PATTERNS = {"http-url": SCREEN_HTTP_URL, "rfc3339": SCREEN_RFC3339}
# Keywords under which a stricter subschema can make a value valid that was not: replacing a
# format by a stricter pattern is sound only in a schema without them.
_NOT_MONOTONE = frozenset({"not", "if", "oneOf", "maxContains"})
# Keywords whose values are data, not subschemas: left as they are.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


class _NoScreen(Exception):
    """The schema has a keyword of :data:`_NOT_MONOTONE`."""


def _screening(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """``document`` with each format of :data:`_SCREEN_PATTERNS` replaced by its pattern, or
    ``None`` when it has none or the result could accept a value ``document`` refuses.

    Every keyword of a JSON Schema other than those of :data:`_NOT_MONOTONE` can only refuse
    more values when a subschema refuses more; so, without those, the result accepts a
    subset of what ``document`` accepts.  They are looked for as keys of any mapping but
    values (``enum``, ``const``, ...): a schema left without a screen only loses speed."""
    replaced = False

    def screened(node: Any) -> Any:
        nonlocal replaced
        if isinstance(node, list):
            return [screened(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if _NOT_MONOTONE.intersection(node):
            raise _NoScreen
        out = {
            key: value if key in _DATA_KEYWORDS else screened(value) for key, value in node.items()
        }
        wanted = node.get("format")
        pattern = _SCREEN_PATTERNS.get(wanted) if isinstance(wanted, str) else None
        if pattern is not None:
            replaced = True
            del out["format"]
            if "pattern" in out:
                out["allOf"] = [*out.get("allOf", []), {"pattern": pattern}]
            else:
                out["pattern"] = pattern
        return out

    try:
        result = screened(document)
    except _NoScreen:
        return None
    return result if replaced else None
