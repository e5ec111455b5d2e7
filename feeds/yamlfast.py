"""A faster YAML reader for front matter that is plainly written, and only for that.

PyYAML with libyaml takes about 1 ms for a seed-shaped record; most of it is spent building
Python objects node by node.  ``yaml-rs`` (a Rust YAML parser) gives the same data about ten
times faster, but it reads YAML 1.2, where PyYAML reads YAML 1.1: ``yes``, ``on``, ``017``,
``1e3``, ``1_000`` or ``<<`` mean different things to the two.  So the fast reader is used
only when :func:`plainly_written` can tell, line by line, that no such value is present:
every key is a plain name or quoted, every value is quoted, plain text that cannot be read
as anything else (it starts with a letter, as a URL does, or has one no number has, as
``5G`` does), a decimal number, ``true``/``false``/``null``, a date, or an empty
``[]``/``{}``.  Text and quoted values may go on over more lines, as PyYAML and
python-frontmatter write long ones, and quoted values may hold escapes (PyYAML writes
text that is not ASCII as escapes unless told otherwise).  Lists and mappings of such
values may be written in flow style (``[AI, Robotics]``), one level deep, and long text
as a block scalar (``excerpt: >-`` and the lines below it) of the plainest shape
(:func:`_blocks_set_aside`).  A value written on the line below its key, as ruamel.yaml
writes a long URL, is brought up onto the key's line when the gate refuses the document
as it is (:func:`_values_brought_up`).  Anchors and aliases as PyYAML writes a value
that data holds in several places, where they cannot grow the data beyond what the gate
allows otherwise (:func:`_repeats_bounded`).  No tags, and no characters libyaml refuses
or YAML 1.1 reads as line breaks.  Anything else, and any error (duplicate keys included),
goes to the PyYAML path, which stays the one that explains problems with lines and columns.

The gate runs on RE2 (``google-re2``), whose automata read the text once: Python's ``re``
tries the alternatives of every line in turn, and took as long as yaml-rs itself.  Automata
cannot look ahead or behind, so the gate is two expressions: :data:`_DOCUMENT` (or
:data:`_SHARING_DOCUMENT`), which every line must match, and :data:`_FORBIDDEN`, which must
match nowhere: the keys and plain values YAML 1.1 reads as booleans or null (on any line,
even one that goes on a value, as an automaton cannot tell), and characters one of the
readers or XML refuses (:data:`_REFUSED`).
tests/test_yamlfast.py holds the same gate written with look-arounds, as its specification.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import re2
import yaml_rs

# Words YAML 1.1 reads as booleans or null, in any case (YAML 1.2 reads them as text).
_WORDS_1_1 = ("yes", "no", "on", "off", "y", "n", "true", "false", "null")
# Indentation and dashes are bounded so that nesting stays within what records.py allows
# (a level deeper needs a column further right, at least every other level).
_INDENT = " {0,16}"
_ITEM = "- {1,3}"
_PLAIN_NAME = "[A-Za-z_][A-Za-z0-9_-]*"  # a key not quoted
_KEY = rf"""(?:{_PLAIN_NAME}|"[^"\\\n]*"|'[^'\n]*')"""
# Plain text: no ": " (a mapping), no " #" (a comment) and no ":" at the end.  It may go on
# over more lines, each indented and starting with neither "#" nor ":": both readers fold
# the lines into one, and refuse a line indented no deeper than the key.  Nor with "- " or
# "? ": indented as far as the item or key above, that is a new item or key, whose value
# the gate would not have looked at as one (``- 017`` is 15 to YAML 1.1, 17 to 1.2).
_ORDINARY = r"[^:# \t\n]"
_TEXT_GOES_ON = rf"(?:{_ORDINARY}|#|:+(?:{_ORDINARY}|#)| +(?:{_ORDINARY}|:+(?:{_ORDINARY}|#)))*"
_LINE_GOES_ON = rf"(?:[^-?:# \t\n]|[-?](?:{_ORDINARY}|#|:+(?:{_ORDINARY}|#)))"
# Plain text starts with a letter (as Python's [^\W\d_] has it), "(", "$" or "/", or any
# other character that is not ASCII: none is a YAML indicator or starts a number.  Or it
# starts with a digit or "+" and, before its first line ends, has a character that no number,
# date, time, boolean or null of either YAML has: "5G", "3D printing", "10 best", "+g7Q/".
_IN_NUMBERS = r"[0-9a-fA-FiInNoOtTxXzZ.+_-]"
_IN_NO_NUMBER = r"[^0-9a-fA-FiInNoOtTxXzZ.+_:# \t\n-]"
_WORD_START = r"[\pL\p{Nl}\p{No}($/]|[^\x00-\x7f]"  # starts no number: flow text too
_TEXT_START = "|".join(
    [_WORD_START, rf"[0-9+](?:(?:|:+| +){_IN_NUMBERS})*(?:|:+| +){_IN_NO_NUMBER}"]
)
_TEXT = rf"(?:{_TEXT_START}){_TEXT_GOES_ON}(?: *\n +{_LINE_GOES_ON}{_TEXT_GOES_ON})* *"
# Quoted values may go on over more lines too, without blank lines, and a double-quoted one
# may escape its line break.  (Where a line is indented no deeper than the key, yaml-rs
# refuses it and PyYAML takes it: such a value goes to PyYAML.)  Escapes beyond the common
# ones may stand for characters feeds refuses: what they give is checked (see load).
_COMMON_ESCAPES = r'"\\/nt'  # after the backslash; they make no character feeds refuses
_ESCAPE = (
    rf"\\(?:[{_COMMON_ESCAPES}0abefvrN_LP ]"
    r"|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
)
_DOUBLE_QUOTED_CHARACTER = rf"""(?:[^"\\\n]|{_ESCAPE})"""
_DOUBLE_QUOTED = (
    rf'"{_DOUBLE_QUOTED_CHARACTER}*'
    rf'(?:\\?\n +(?:[^"\\\n ]|{_ESCAPE}){_DOUBLE_QUOTED_CHARACTER}*)*"'
)
_SINGLE_QUOTED_RUN = r"[^'\n]*(?:''[^'\n]*)*"
_SINGLE_QUOTED = rf"'{_SINGLE_QUOTED_RUN}(?:\n +(?:[^'\n ]|''){_SINGLE_QUOTED_RUN})*'"
_BOOLEAN_OR_NULL = "true|false|null"  # as both readers read them
_NUMBER = r"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,15})?"  # decimal: no octal, exponent, _
_DATE = (  # dates stay text on both paths
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)
# Flow collections one level deep, as people write lists (``topics: [AI, Robotics]``) and as
# PyYAML writes lists and mappings of plain values with ``default_flow_style=None``; over
# more lines too, each indented.  Their plain text holds no ":", "#" or flow indicator, and
# a line it goes on to starts with no indicator at all.  Items are what a value may be
# otherwise; the words YAML 1.1 reads as booleans are refused in them (_FORBIDDEN).
_FLOW_ORDINARY = r"[^:#,\[\]{} \t\n]"
_FLOW_IN_NO_NUMBER = r"[^0-9a-fA-FiInNoOtTxXzZ.+_:#,\[\]{} \t\n-]"
_FLOW_TEXT_START = "|".join(
    [_WORD_START, rf"[0-9+](?:(?:| +){_IN_NUMBERS})*(?:| +){_FLOW_IN_NO_NUMBER}"]
)
_FLOW_TEXT_GOES_ON = rf"(?: *{_FLOW_ORDINARY})*"
_FLOW_LINE_START = r"""[^-?:#,\[\]{} \t\n'"!&*|>%@`]"""
_FLOW_TEXT = (
    rf"(?:{_FLOW_TEXT_START}){_FLOW_TEXT_GOES_ON}"
    rf"(?: *\n +{_FLOW_LINE_START}{_FLOW_TEXT_GOES_ON})*"
)
_FLOW_SCALAR = "|".join(
    [_DOUBLE_QUOTED, _SINGLE_QUOTED, _NUMBER, _BOOLEAN_OR_NULL, _DATE, _FLOW_TEXT]
)
_FLOW_BREAK = r"(?: *\n +| *)"  # after "[", "{" or ","
_FLOW_PAIR = rf"{_KEY}: +(?:{_FLOW_SCALAR})"
_FLOW_SEQUENCE = rf"\[{_FLOW_BREAK}(?:{_FLOW_SCALAR})(?: *,{_FLOW_BREAK}(?:{_FLOW_SCALAR}))* *\]"
_FLOW_MAPPING = rf"\{{{_FLOW_BREAK}{_FLOW_PAIR}(?: *,{_FLOW_BREAK}{_FLOW_PAIR})* *\}}"
_VALUE = "|".join(
    [
        _DOUBLE_QUOTED,
        _SINGLE_QUOTED,
        r"\[\]|\{\}",  # empty list or mapping
        _FLOW_SEQUENCE,
        _FLOW_MAPPING,
        _NUMBER,
        _BOOLEAN_OR_NULL,
        _DATE,
        _TEXT,
    ]
)
# Anchors and aliases, as PyYAML writes data that holds one value in several places: a
# provider that several articles share is written once as ``provider: &id001`` and its
# mapping, then as ``provider: *id001``.  Names are those PyYAML takes (YAML 1.2 takes more
# characters).  An alias stands where a value does, and so does an anchor with its value, or
# alone when the value is below it.  How far aliases repeat is checked apart (_repeats_bounded).
_NAME = "[0-9A-Za-z_-]+"
_NODE = rf"(?:&{_NAME} +)?(?:{_VALUE})|&{_NAME}|\*{_NAME}"  # each value once: DFAs stay small


def _line(value: str) -> str:
    """A line the gate takes, with ``value`` where a value stands.  A line ends where the
    document does or at "\n", so a value is always followed by spaces, a comment or the
    end of its line."""
    return (
        f"{_INDENT}"
        f"(?:(?:{_ITEM}){{1,3}}(?:{value})"  # list item
        f"|(?:{_ITEM}){{0,3}}(?:-|{_KEY}:(?: +(?:{value}))?)"  # item below, or key (and value)
        r")(?: *| +#[^\n]*)"  # then spaces or a comment
        r"| *(?:#[^\n]*)?"  # blank or comment
    )


_MAX_LINES = 40_000
# Longer front matter is left to PyYAML.  Every value takes a character at least (a flow
# list of a million items takes one line), so what is read here holds fewer values than
# the budget that PyYAML's path keeps to (``feeds.records.MAX_VALUES``), aliases counted
# as the characters of the nodes they repeat.
_MAX_CHARACTERS = 200_000
# An escape that may stand for a character feeds refuses (or a backslash before one of the
# common escapes, which does no harm but a check).  Escapes of characters that XML carries
# are common too: PyYAML writes text that is not ASCII as ``\xe9``, ``\u2019`` and, even when
# told to write it as it is, emoji as ``\U0001F680``.
_HEX = "[0-9A-Fa-f]"
_CARRIED = "|".join(
    [
        f"x[2-9A-Fa-f]{_HEX}",  # U+0020 to U+00FF
        f"u00[2-9A-Fa-f]{_HEX}|u0[1-9A-Fa-f]{_HEX}{{2}}|u[1-9A-Ca-c]{_HEX}{{3}}",  # to U+CFFF
        f"u[Dd][0-7]{_HEX}{{2}}|u[Ee]{_HEX}{{3}}",  # to U+D7FF, U+E000 to U+EFFF
        f"u[Ff](?![Ff]{{2}}[EeFf]){_HEX}{{3}}",  # to U+FFFD
        f"U000[1-9A-Fa-f]{_HEX}{{4}}|U0010{_HEX}{{4}}",  # U+10000 to U+10FFFF
    ]
)
_UNCOMMON_ESCAPE = re.compile(rf"\\(?![{_COMMON_ESCAPES}]|{_CARRIED})")


def _other_cases(word: str) -> str:
    """Every spelling of the lower-case ``word`` that ``(?i:word)`` matches but ``word``
    itself (``True``, ``tRUE``, …; to both regex flavours, the long s U+017F is an s too)."""

    def upper(letter: str) -> str:
        return f"[{letter.upper()}\u017f]" if letter == "s" else letter.upper()

    return "|".join(
        word[:index] + upper(word[index]) + f"(?i:{word[index + 1 :]})"
        for index in range(len(word))
    )


# Where a value starts, on a line that _DOCUMENT takes: after a key, or as a list item, and
# after an anchor.
_AT_VALUE = rf"^ *(?:(?:- +)+|(?:- +)*{_KEY}: +)(?:&{_NAME} +)?"
_YAML_1_1_ONLY = "|".join(_WORDS_1_1[:6])  # the others YAML 1.2 reads too, in lower case
_BOTH = "|".join(_WORDS_1_1[6:])
# Those words as YAML 1.1 reads them and YAML 1.2 does not.
_YAML_1_1_WORDS_ONLY = f"(?i:{_YAML_1_1_ONLY})|{'|'.join(map(_other_cases, _WORDS_1_1[6:]))}"
_FORBIDDEN_PARTS = [
    rf"^ *(?:- +)*(?i:{'|'.join(_WORDS_1_1)}):(?: |$)",  # a key YAML 1.1 reads as a boolean
    # a plain value YAML 1.1 reads as a boolean or null, but the lower-case true, false
    # and null, which both read alike
    rf"{_AT_VALUE}(?:{_YAML_1_1_WORDS_ONLY}) *(?:#|$)",
    rf"{_AT_VALUE}(?:{_BOTH})#",  # true, false or null with a comment glued on
    # such a word as an item, key or value in a flow collection (or, needlessly but
    # harmlessly, in text that has these signs around it)
    rf"[\[{{,][ \n]*(?:{_YAML_1_1_WORDS_ONLY})[ \n]*[,\]}}]",
    rf":[ \n]+(?:{_YAML_1_1_WORDS_ONLY})[ \n]*[,\]}}]",
    rf"[\[{{,][ \n]*(?i:{'|'.join(_WORDS_1_1)})[ \n]*:",
]


def _compiled(pattern: str) -> Any:
    options = re2.Options()
    options.never_capture = True
    return re2.compile(pattern.encode(), options)


_DOCUMENT = _compiled(f"(?:(?:{_line(_VALUE)})\n)*(?:{_line(_VALUE)})")
# The same with anchors and aliases: tried only when the first fails, so that what most
# documents need stays one pass.
_SHARING_LINE = _line(_NODE)
_SHARING_DOCUMENT = _compiled(f"(?:(?:{_SHARING_LINE})\n)*(?:{_SHARING_LINE})")
# Characters that both readers take as they are, and XML too: no controls (and, needlessly
# but harmlessly, no tabs), no YAML 1.1 line breaks (NEL, LS, PS), no BOM, no U+FFFE/U+FFFF.
# (Python's isprintable() would refuse the no-break space, the soft hyphen and more.)
_REFUSED_CHARACTER = (
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_REFUSED = _compiled(_REFUSED_CHARACTER)
# The words above and those characters, searched for at once: one automaton's pass over
# both takes as long as a pass for either alone.
_FORBIDDEN = _compiled("(?m)" + "|".join([*_FORBIDDEN_PARTS, _REFUSED_CHARACTER]))


def plainly_written(text: str) -> bool:
    """Whether every line of ``text`` is of a shape both YAML readers agree on."""
    return _shape(text) is not None


Shape = Literal["plain", "sharing"]


def _shape(text: str) -> Shape | None:
    """``"plain"`` when every line of ``text`` is of a shape both YAML readers agree on,
    ``"sharing"`` when it is so with anchors or aliases, ``None`` otherwise."""
    gated = _gated(text)
    return None if gated is None else gated[0]


def _gated(text: str, encoded: bytes | None = None) -> tuple[Shape, bytes] | None:
    """The :func:`_shape` of ``text`` when it has one, and ``text`` as the gate read it, in
    UTF-8 (``encoded``, when the caller has it): yaml-rs reads those bytes as they are,
    where it encoded the text again (14 us of a record of 9 KB)."""
    # (Counting took 7 us in a record of 9 KB, which cannot hold that many lines.)
    if len(text) >= _MAX_LINES and text.count("\n") >= _MAX_LINES:
        return None
    if encoded is None:
        encoded = _utf8(text)
    if encoded is None or _FORBIDDEN.search(encoded) is not None:
        return None
    if _DOCUMENT.fullmatch(encoded) is not None:
        return "plain", encoded
    if _SHARING_DOCUMENT.fullmatch(encoded) is not None:
        return "sharing", encoded
    return None


_PLAIN_KEY = re.compile(_PLAIN_NAME)


def top_level_place(text: str, key: str) -> tuple[int, int] | None:
    """Where the value of the top-level ``key`` of ``text`` starts in PyYAML's node tree
    (0-based line and column): a text, number or the like where it starts, a list or
    mapping at its key; where the mapping starts when it has no such key (where a missing
    field is reported); ``None`` when the lines alone cannot tell, and the tree must be
    composed.

    The checks across records place their findings at top-level fields (``published``,
    ``webUrl``) nearly always, and so do the schema's most common ones (a date that is no
    date, a title missing); composing a record's YAML took half a millisecond or more for
    each record with such a finding.  In a document the gate takes as it is, every value
    that goes on over more lines goes on indented, so a line that starts with a key at its
    first column is a key of the top-level mapping.  Quoted keys, values below their key,
    and documents that do not start with a key are left to PyYAML."""
    if _PLAIN_KEY.fullmatch(key) is None:
        return None
    text = _unix_lines(text)  # as load reads it
    if _shape(text) != "plain":
        return None
    place = None
    start = None  # of the mapping: its first key
    for number, line in enumerate(text.split("\n")):
        if line[:1] in ("", " ", "#"):  # blank, a comment, or indented
            continue
        if line[0] in "\"'" or (start is None and line[0] == "-"):
            return None
        if start is None:
            start = (number, 0)
        if not line.startswith(key) or line[len(key) : len(key) + 1] != ":":
            continue
        value = line[len(key) + 1 :].lstrip(" ")
        if value[:1] in ("", "#"):  # the value is on the lines below, or null
            return None
        column = 0 if value[0] in "[{" else len(line) - len(value)
        place = (number, column)  # the last of equal keys wins, as in PyYAML's tree
    return place or start


def _every_character_taken(text: str) -> bytes | None:
    """``text`` in UTF-8 when it holds no character that one of the readers or XML refuses,
    or that YAML 1.1 reads as a line break (see :data:`_REFUSED`); else ``None``."""
    encoded = _utf8(text)
    return None if encoded is None or _REFUSED.search(encoded) is not None else encoded


def _utf8(text: str) -> bytes | None:
    """``text`` in UTF-8; ``None`` when it holds a lone surrogate, which no reader takes."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return None


def _unix_lines(text: str) -> str:
    """``text`` with each CR LF pair as one line feed, as both readers read a file saved
    with Windows line breaks, in values too; a carriage return alone is left for the gate
    to refuse.  (The one character is looked for first: looking for the pair took 20 us in
    a record of 15 KB with characters beyond Latin-1, as most hold, and for the one 4 us.)"""
    return text.replace("\r\n", "\n") if "\r" in text else text


def load(text: str) -> tuple[Any, bool] | None:
    """The data of ``text`` when it is plainly written and reads without error, and whether
    that data is already plain; else ``None`` (the caller then reads it with PyYAML).

    Data read here is JSON-shaped (text keys; text, numbers, booleans, null, lists and
    mappings), of fewer values than it has characters, and nesting under 64 levels.
    Unless an escape other than ``\\"``, ``\\\\``, ``\\/``, ``\\n`` or ``\\t`` may have
    made a character XML refuses, it is already what
    :func:`feeds.records._to_plain` would make.
    """
    text = _unix_lines(text)
    if len(text) >= _MAX_CHARACTERS:
        return None
    set_aside = _blocks_set_aside(text)
    if set_aside is None:
        return None
    gated, blocks = set_aside
    # The shape of the text as it is read, and its bytes, which yaml-rs reads.
    found: tuple[Shape, bytes] | None
    if blocks:
        shape = _shape(gated)
        # The lines of blocks are not in what the gate sees: their characters are looked
        # at apart.
        encoded = None if shape is None else _every_character_taken(text)
        found = None if shape is None or encoded is None else (shape, encoded)
    else:
        text, found = _gated_without_blocks(text)
        gated = text
    if found is None:
        return None
    shape, encoded = found
    # (Aliases of nodes that hold blocks would repeat lines the gate does not count.)
    if shape == "sharing" and (blocks or not _repeats_bounded(gated)):
        return None
    # Bytes only: yaml-rs takes text given to ``load`` for the name of a file.
    try:
        data = yaml_rs.load(encoded, parse_datetime=False)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None
    if blocks and not _holds(data, blocks):
        return None
    return data, "\\" not in text or _UNCOMMON_ESCAPE.search(text) is None


# A key with nothing after it but spaces, and a line below it indented deeper that starts
# as a value may: ruamel.yaml writes a value so when its first word does not fit on the
# key's line (``webUrl:``, then the long URL on a line of its own).  The colon and what
# follows it are looked for first, then the key before it on its line: looking for whole
# lines took a quarter of a millisecond in a record of seed size.
_BREAK_AFTER_KEY = re.compile(r":( *\n( +))(?=[^-?:#&*!|>%@`\s])")
_KEY_OF_LINE = re.compile(rf"( *(?:- +)*){_KEY}")
# A key's line that ends in a space, looked for in the bytes the gate reads: ``": \n" in
# text`` took 18 us in a record of 15 KB with characters beyond Latin-1, RE2 4.5 us.
_SPACE_AT_LINE_END_AFTER_KEY = _compiled(": \n")


def _gated_without_blocks(text: str) -> tuple[str, tuple[Shape, bytes] | None]:
    """The text to read, ``text`` as it is or with its values below their keys brought up
    (:func:`_values_brought_up`), whichever the gate takes first, and what :func:`_gated`
    gives for it.  ruamel.yaml leaves a space after a key whose value it writes below
    (``webUrl: ``): text with one is brought up first, rather than first refused as it is."""
    encoded = _utf8(text)
    if encoded is None:  # which the gate refuses brought up too
        return text, None
    order: tuple[str | None, ...] = (
        (text, None) if _SPACE_AT_LINE_END_AFTER_KEY.search(encoded) is None else (None, text)
    )
    for candidate in order:  # None: brought up
        if candidate is None:
            read = _values_brought_up(text)
            gated = None if read is None else _gated(read)
        else:
            read, gated = text, _gated(text, encoded)
        if read is not None and gated is not None:
            return read, gated
    return text, None


def _values_brought_up(text: str) -> str | None:
    """``text`` with each value that starts on the line below its key brought up onto the
    key's line; ``None`` when there is none.  Both readers read it so: within a plain or
    quoted value, a line break and the spaces around it fold into one space.  The gate
    then looks at the text as at any other.

    Only a value indented deeper than its key, and whose line is no key itself (no ": "
    in it, no ":" at its end): a key whose value is a mapping or a list keeps it below.
    Not for a document with block scalars (the caller sees to it), whose lines keep their
    line breaks."""
    pieces: list[str] = []
    done = 0
    for found in _BREAK_AFTER_KEY.finditer(text):
        colon = found.start()
        key = _KEY_OF_LINE.fullmatch(text, text.rfind("\n", 0, colon) + 1, colon)
        if key is None or len(found[2]) <= len(key[1]):
            continue
        start = found.end()  # of the value
        end = text.find("\n", start)
        line = text[start : None if end < 0 else end].rstrip(" ")
        if ": " in line or line.endswith(":"):
            continue
        pieces += [text[done : colon + 1], " "]
        done = start
    if not pieces:
        return None
    pieces.append(text[done:])
    return "".join(pieces)


# An anchor or an alias where the gate takes one: after the indentation and any dashes, as a
# key's value or as a list item.  (A line of a quoted value that goes on over lines may look
# like one too: taken for one, it only makes the checks of _repeats_bounded stricter.)
_PROPERTY = re.compile(rf" *(?:- +)*({_KEY}: +)?([&*])({_NAME})(?= |$)")
# The deepest column a repeated node may reach, as if written out where its alias stands:
# the gate's bound on indentation, so that nesting stays as shallow as it allows.
_DEEPEST = 16
# Documents with more anchors are left to PyYAML: finding where a node ends reads the lines
# below its anchor.
_MAX_ANCHORS = 64


@dataclass(frozen=True, slots=True)
class _Node:
    """The lines of an anchored node, from its anchor's to its last (where each starts in
    the text), how many characters they take, line breaks included, and how many columns
    deeper than its owner (its key, or its item's dash) they reach."""

    first: int
    last: int
    size: int
    reach: int


def _repeats_bounded(text: str) -> bool:
    """Whether each alias of ``text`` (a document the gate takes with anchors or aliases)
    repeats a node named once, before it, that holds no alias; and whether the data, each
    alias written out, stays within what the gate allows a document without them:
    :data:`_MAX_CHARACTERS` characters (hence the budget of values in records.py) and
    :data:`_DEEPEST` columns (hence its depth).  PyYAML refuses a name given twice, where
    YAML 1.2 takes the last, and builds a node that holds its own alias, which yaml-rs
    cannot; aliases of aliases could grow the data without bound.

    Lines are found where they start in the text, and only the lines that hold a sign and
    those of anchored nodes are cut out of it: splitting a record of 230 lines into lines
    took most of the time (27 of 36 us)."""
    nodes: dict[str, _Node] = {}
    aliases: list[tuple[int, int, str]] = []  # where its line starts, owner column, name
    for start in _lines_with_signs(text):
        end = _line_end(text, start)
        line = text[start:end]
        found = _PROPERTY.match(line)
        if found is None:
            continue
        key, sign, name = found.groups()
        lead = line[: found.start(1 if key else 2)]
        if not key and "-" not in lead:
            continue  # text going on over lines: no node starts here
        owner = len(lead) if key else lead.rstrip(" ").rfind("-")
        if sign == "*":
            aliases.append((start, owner, name))
        elif name in nodes or len(nodes) == _MAX_ANCHORS:
            return False
        else:
            nodes[name] = _node(text, start, end, owner, in_mapping=bool(key))
    written_out = len(text)
    for start, owner, name in aliases:
        node = nodes.get(name)
        if node is None or node.first > start or owner + node.reach > _DEEPEST:
            return False
        if any(other.first <= start <= other.last for other in nodes.values()):
            return False
        written_out += node.size
    return written_out < _MAX_CHARACTERS


def _lines_with_signs(text: str) -> list[int]:
    """Where the lines of ``text`` that may hold an anchor or an alias start, in order: a
    ``&`` or a ``*`` at the start of a line or after a space, as in :data:`_PROPERTY`
    (``&`` is common in URLs)."""
    found = []
    for sign in "&*":
        at = text.find(sign)
        while at != -1:
            if at == 0 or text[at - 1] in " \n":
                found.append(at)
            at = text.find(sign, at + 1)
    found.sort()
    starts: list[int] = []
    for at in found:
        start = text.rfind("\n", 0, at) + 1
        if not starts or starts[-1] != start:
            starts.append(start)
    return starts


def _line_end(text: str, start: int) -> int:
    """Where the line that starts at ``start`` ends: at its line break, or the text's end."""
    end = text.find("\n", start)
    return len(text) if end == -1 else end


def _node(text: str, first: int, end: int, owner: int, *, in_mapping: bool) -> _Node:
    """The node anchored on the line from ``first`` to ``end`` by its ``owner`` column's
    key (``in_mapping``) or item: the lines below it indented deeper than the owner, and
    for a key, a list at its column too.  Blank lines and comments end no node."""
    last, last_end, reach = first, end, 0
    while end < len(text):
        start = end + 1
        end = _line_end(text, start)
        line = text[start:end]
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        indent = len(line) - len(content)
        item = content == "-" or content.startswith("- ")
        if indent < owner or (indent == owner and not (in_mapping and item)):
            break
        last, last_end = start, end
        reach = max(reach, len(line) - len(line.lstrip(" -")) - owner)
    return _Node(first, last, last_end - first + 1, reach)


# Block scalars: a key, "|" (literal) or ">" (folded) with an optional "-" or "+" (how final
# line breaks are kept), and the lines below it, as people write long text by hand.
_BLOCK_HEADER = re.compile(
    rf"(?P<lead> *(?:- +)*)(?P<key>{_KEY}): +(?P<style>[|>])(?P<keep>[-+]?) *"
)
# Where a header may end: looked for first, since searching the whole text for headers
# took several times longer.
_BLOCK_INDICATOR = re.compile(r": +[|>][-+]? *$", re.MULTILINE)


def _blocks_set_aside(text: str) -> tuple[str, list[tuple[str, str]]] | None:
    """``text`` for the gate, each block scalar replaced by an empty quoted value, with the
    key and the text of each as YAML reads it; ``None`` when one is of a shape left to
    PyYAML.

    Block scalars that both readers read alike, and that this reads alike too: a key's
    value, its first line not blank and indented deeper than the key, no line indented
    less than that until the block ends at a line indented no deeper than the key, no line
    of spaces only or ending in spaces, no line of a folded block indented deeper than its
    first one, and a line break at the end of the document.  What the gate does not see,
    :func:`_holds` checks afterwards: the lines set aside were read as that text of that
    key, never as anything else (inside a quoted value that goes on over lines, say)."""
    if "|" not in text and ">" not in text:
        return text, []
    if not text.endswith("\n"):
        return None  # the last line break is the block's: PyYAML and yaml-rs differ without
    pieces: list[str] = []  # the text for the gate
    blocks: list[tuple[str, str]] = []
    done = 0  # where the text not yet in pieces starts
    for indicator in _BLOCK_INDICATOR.finditer(text):
        line_start = text.rfind("\n", 0, indicator.start()) + 1
        if line_start < done:
            continue  # a line of a block set aside
        header = _BLOCK_HEADER.fullmatch(text, line_start, indicator.end())
        if header is None:
            continue  # not a key and a block: the gate looks at it
        body, end = _block_lines(text, header.end() + 1, len(header["lead"]))
        if body is None:
            return None
        trailing = 0  # blank lines at the end (the first line is not blank)
        while not body[-1]:
            body.pop()
            trailing += 1
        folded = header["style"] == ">"
        if folded and any(line.startswith(" ") for line in body):
            return None  # deeper lines keep their line breaks: left to PyYAML
        value = _folded(body) if folded else "\n".join(body)
        if header["keep"] != "-":
            value += "\n" * (1 + trailing if header["keep"] == "+" else 1)
        blocks.append((header["key"].strip("'\""), value))
        pieces += [text[done:line_start], f'{header["lead"]}{header["key"]}: ""\n']
        done = end
    pieces.append(text[done:])
    return "".join(pieces), blocks


def _block_lines(text: str, start: int, column: int) -> tuple[list[str] | None, int]:
    """The lines of the block scalar at ``start`` (of a key at ``column``), without their
    indentation, and where the line after them starts; no lines when they are of a shape
    left to PyYAML (see :func:`_blocks_set_aside`)."""
    first = text[start : text.find("\n", start)]
    depth = len(first) - len(first.lstrip(" "))
    if depth <= column or depth == len(first):
        return None, start
    body = []
    while start < len(text):
        end = text.index("\n", start)
        line = text[start:end]
        if line:
            indent = len(line) - len(line.lstrip(" "))
            if indent < depth:
                if indent > column or indent == len(line):
                    return None, start
                break
            if line[-1] == " ":
                return None, start
        body.append(line[depth:])
        start = end + 1
    return body, start


def _folded(lines: list[str]) -> str:
    """Folded block lines as YAML reads them: a line break between two lines is a space, and
    each blank line between them a line break."""
    text, blank = lines[0], 0
    for line in lines[1:]:
        if not line:
            blank += 1
            continue
        text += ("\n" * blank or " ") + line
        blank = 0
    return text


def _holds(data: Any, blocks: list[tuple[str, str]]) -> bool:
    """Whether ``data`` holds, as many times as ``blocks`` does, each pair of a key and the
    text of its value in ``blocks``."""
    found: Counter[tuple[str, str]] = Counter()
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str):
                    found[key, item] += 1
                else:
                    pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)
    return all(found[pair] >= count for pair, count in Counter(blocks).items())
