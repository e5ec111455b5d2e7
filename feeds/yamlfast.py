"""A faster YAML reader for front matter that is plainly written, and only for that.

PyYAML with libyaml takes about 1 ms for a seed-shaped record; most of it is spent building
Python objects node by node.  ``yaml-rs`` (a Rust YAML parser) gives the same data about ten
times faster, but it reads YAML 1.2, where PyYAML reads YAML 1.1: ``yes``, ``on``, ``017``,
``1e3``, ``1_000`` or ``<<`` mean different things to the two.  So the fast reader is used
only when :func:`plainly_written` can tell, line by line, that no such value is present:
every key is a plain name or quoted, every value is quoted, plain text that starts with a
letter (a URL, say), a decimal number, ``true``/``false``/``null``, a date, or an empty
``[]``/``{}``.  No anchors, aliases, tags,
flow collections, block scalars, multi-line values, or characters libyaml refuses.  Anything
else, and any error (duplicate keys included), goes to the PyYAML path, which stays the one
that explains problems with lines and columns.

The gate runs on RE2 (``google-re2``), whose automata read the text once: Python's ``re``
tries the alternatives of every line in turn, and took as long as yaml-rs itself.  Automata
cannot look ahead or behind, so the gate is two expressions: :data:`_DOCUMENT`, which every
line must match, and :data:`_FORBIDDEN`, which must match nowhere: the keys and plain values
YAML 1.1 reads as booleans or null, and escapes that could make characters PyYAML or feeds
refuse.  tests/test_yamlfast.py holds the same gate written with look-arounds, as its
specification.
"""

from __future__ import annotations

from typing import Any

import re2
import yaml_rs

# Words YAML 1.1 reads as booleans or null, in any case (YAML 1.2 reads them as text).
_WORDS_1_1 = ("yes", "no", "on", "off", "y", "n", "true", "false", "null")
# Indentation and dashes are bounded so that nesting stays within what records.py allows
# (a level deeper needs a column further right, at least every other level).
_INDENT = " {0,16}"
_ITEM = "- {1,3}"
_KEY = r"""(?:[A-Za-z_][A-Za-z0-9_-]*|"[^"\\\n]*"|'[^'\n]*')"""
# Plain text: a letter, then no ": " (a mapping), no " #" (a comment) and no ":" at the end.
_ORDINARY = r"[^:# \t\n]"
_TEXT = (
    rf"[\pL\p{{Nl}}\p{{No}}]"  # a letter, as Python's [^\W\d_] has it
    rf"(?:{_ORDINARY}|#|:+(?:{_ORDINARY}|#)| +(?:{_ORDINARY}|:+(?:{_ORDINARY}|#)))* *"
)
_VALUE = "|".join(
    [
        r'"[^"\\\n]*(?:\\["\\/nt][^"\\\n]*)*"',  # double-quoted, common escapes only
        r"'[^'\n]*(?:''[^'\n]*)*'",  # single-quoted
        r"\[\]|\{\}",  # empty list or mapping
        r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,15})?",  # decimal: no octal, exponent, _
        r"true|false|null",
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # dates stay text on both paths
        r"(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?",
        _TEXT,
    ]
)
# A line ends where the document does or at "\n", so a value is always followed by spaces,
# a comment or the end of its line.
_LINE = (
    f"{_INDENT}"
    f"(?:(?:{_ITEM}){{1,3}}(?:{_VALUE})"  # list item
    f"|(?:{_ITEM}){{0,3}}(?:-|{_KEY}:(?: +(?:{_VALUE}))?)"  # item below, or key (and value)
    r")(?: *| +#[^\n]*)"  # then spaces or a comment
    r"| *(?:#[^\n]*)?"  # blank or comment
)
_MAX_LINES = 40_000


def _other_cases(word: str) -> str:
    """Every spelling of the lower-case ``word`` that ``(?i:word)`` matches but ``word``
    itself (``True``, ``tRUE``, …; to both regex flavours, the long s U+017F is an s too)."""

    def upper(letter: str) -> str:
        return f"[{letter.upper()}\u017f]" if letter == "s" else letter.upper()

    return "|".join(
        word[:index] + upper(word[index]) + f"(?i:{word[index + 1 :]})"
        for index in range(len(word))
    )


# Where a value starts, on a line that _DOCUMENT takes: after a key, or as a list item.
_AT_VALUE = rf"^ *(?:(?:- +)+|(?:- +)*{_KEY}: +)"
_YAML_1_1_ONLY = "|".join(_WORDS_1_1[:6])  # the others YAML 1.2 reads too, in lower case
_BOTH = "|".join(_WORDS_1_1[6:])
_FORBIDDEN_PARTS = [
    r"\\[xuUN0abefv ]",  # an escape
    rf"^ *(?:- +)*(?i:{'|'.join(_WORDS_1_1)}):(?: |$)",  # a key YAML 1.1 reads as a boolean
    # a plain value YAML 1.1 reads as a boolean or null, but the lower-case true, false
    # and null, which both read alike
    rf"{_AT_VALUE}(?:(?i:{_YAML_1_1_ONLY})|{'|'.join(map(_other_cases, _WORDS_1_1[6:]))}) *(?:#|$)",
    rf"{_AT_VALUE}(?:{_BOTH})#",  # true, false or null with a comment glued on
]


def _compiled(pattern: str) -> Any:
    options = re2.Options()
    options.never_capture = True
    return re2.compile(pattern.encode(), options)


_DOCUMENT = _compiled(f"(?:(?:{_LINE})\n)*(?:{_LINE})")
_FORBIDDEN = _compiled("(?m)" + "|".join(_FORBIDDEN_PARTS))


def plainly_written(text: str) -> bool:
    """Whether every line of ``text`` is of a shape both YAML readers agree on."""
    # Not printable: controls, YAML 1.1 line breaks (NEL, LS, PS), the BOM, surrogates,
    # non-characters, and (needlessly, but harmlessly) tabs and spaces other than " ".
    if not text.replace("\n", "").isprintable() or text.count("\n") >= _MAX_LINES:
        return False
    encoded = text.encode()  # printable: no surrogates, so this does not fail
    return _DOCUMENT.fullmatch(encoded) is not None and _FORBIDDEN.search(encoded) is None


def load(text: str) -> Any | None:
    """The data of ``text`` when it is plainly written and reads without error, else ``None``
    (the caller then reads it with PyYAML).

    Data read here is JSON-shaped (text keys; text, numbers, booleans, null, lists and
    mappings) with no character XML refuses, at most 40,000 lines of at most four values each,
    and nesting under 64 levels: already what :func:`feeds.records._to_plain` would make.
    """
    if not plainly_written(text):
        return None
    try:
        return yaml_rs.loads(text, parse_datetime=False)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None
