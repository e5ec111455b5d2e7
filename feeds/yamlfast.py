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
"""

from __future__ import annotations

import re
from typing import Any

import yaml_rs

# Escapes that could make characters PyYAML or feeds refuse are left to PyYAML.
_RISKY_ESCAPE = re.compile(r"\\[xuUN0abefv ]")
# Words YAML 1.1 reads as booleans or null (any case), unless written exactly true/false/null.
_WORDS_1_1 = r"(?i:yes|no|on|off|y|n|true|false|null)"
_END = r"(?=[ ]|\n|\Z)"
_KEY = rf"""(?:(?!{_WORDS_1_1}:)[A-Za-z_][A-Za-z0-9_-]*|"[^"\\\n]*"|'[^'\n]*')"""
_VALUE = rf"""
    "[^"\\\n]*+(?:\\["\\/nt][^"\\\n]*+)*+"         # double-quoted, common escapes only
  | '[^'\n]*(?:''[^'\n]*)*'                          # single-quoted
  | \[\] | \{{\}}                                     # empty list or mapping
  | -?(?:0|[1-9][0-9]{{0,17}})(?:\.[0-9]{{1,15}})?{_END}  # decimal: no octal, exponent, _
  | (?:true|false|null){_END}
  | [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}                   # dates stay text on both paths
    (?:[Tt ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})?)?{_END}
  | (?!{_WORDS_1_1}[ ]*(?:\#|\n|\Z))[^\W\d_]       # text that starts with a letter,
    (?:[^:#\t\n] | :(?=[^ \t\n]) | (?<=[^ ])\#)*    # with no ": " and no " #" (a URL)
"""
# Indentation and dashes are bounded so that nesting stays within what records.py allows
# (a level deeper needs a column further right, at least every other level).
_LINE = rf"""
    [ ]{{0,16}}
    (?: (?:-[ ]{{1,3}}){{1,3}}(?:{_VALUE})            # list item
      | (?:-[ ]{{1,3}}){{0,3}}
        (?: -                                         # item whose value follows below
          | {_KEY}:(?:[ ]+(?:{_VALUE}))?              # key, with its value on the line
        )
    )[ ]*(?:[ ]\#[^\n]*)?
  | [ ]*(?:\#[^\n]*)?                                # blank or comment (the fewest lines)
"""
_DOCUMENT = re.compile(rf"(?:(?:{_LINE})\n){{0,39999}}(?:{_LINE})", re.VERBOSE)


def plainly_written(text: str) -> bool:
    """Whether every line of ``text`` is of a shape both YAML readers agree on."""
    # Not printable: controls, YAML 1.1 line breaks (NEL, LS, PS), the BOM, surrogates,
    # non-characters, and (needlessly, but harmlessly) tabs and spaces other than " ".
    return (
        text.replace("\n", "").isprintable()
        and _RISKY_ESCAPE.search(text) is None
        and _DOCUMENT.fullmatch(text) is not None
    )


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
