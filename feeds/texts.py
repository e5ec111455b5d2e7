"""Where the texts of articles are held apart from them: in a file, each found by its
article's key when an entry shows it, the most recently read kept at hand.

The text of an article (:class:`feeds.articles.Text`: its address, title, excerpt and
image) is most of what it weighs: at 100,000 records, 561 MB of the 1.4 GB the graph took.
A build shows the texts of the articles whose entries it renders, and of those they list
among their related articles; a build that renders every entry shows each a few times, in
an order that keeps most of them close together (:func:`feeds.publish.in_rendering_order`).
"""

from __future__ import annotations

import marshal
import os
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.articles import Article, Image, Text
from feeds.aside import AppendedFile
from feeds.keys import place_of

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# Texts kept at hand once read, in each process that holds them apart: about 48 MB of
# texts the size of the bench corpus's (561 MB for 771,000 articles).
TEXTS_KEPT = 65_536
# Texts a graph merged from every record holds with its articles, when it took no more
# (:class:`SpilledTexts`): about 95 MB of texts the size of the bench corpus's, every text
# of a graph of 10,000 records (77,000 articles).
TEXTS_IN_MEMORY = 131_072
# Texts written to a spill file at once: each write is a call to the system.
SPILL_BUFFER_BYTES = 1 << 20


def text_blob(article: Article) -> bytes:
    """The text of ``article`` as :class:`HeldTexts` hold it: plain values, as
    :mod:`marshal` writes them, read back without running any code; its address left out
    when it is the key."""
    url, title, excerpt, image = article.text
    return marshal.dumps(
        (
            None if url == article.key else url,
            title,
            excerpt,
            None if image is None else tuple(image),
        )
    )


def text_of(blob: bytes, key: str) -> Text:
    """The text that :func:`text_blob` made ``blob`` of, for the article of ``key``."""
    url, title, excerpt, image = marshal.loads(blob)
    return Text(
        key if url is None else url, title, excerpt, None if image is None else Image(*image)
    )


class HeldTexts:
    """Texts held in the file open as ``file``, one after another from ``offset``: that of
    the article of each of ``keys`` at the same place, ending where ``ends`` says.

    An article whose text is held here holds this object alone in its place
    (:attr:`feeds.articles.Article.held_text`), and the text is found by the article's key:
    by bisection when ``keys`` are in key order (``in_order``), as the graph keeps them;
    else by a dict of places, made when one is first asked for.

    The texts read last are kept, up to :data:`TEXTS_KEPT`, in two generations: those
    read since the younger one was begun, and those read in the one before, which are
    dropped when it is full.  A text found in the younger is found by one lookup, where
    keeping them in order of use (:class:`collections.OrderedDict`) moved each one found:
    a cold build of 10,000 records, every text held apart, asked for one 541,696 times,
    and read 139,047 from the file."""

    def __init__(
        self, file: int, offset: int, keys: Sequence[str], ends: array[int], *, in_order: bool
    ) -> None:
        self._file = file
        self._offset = offset
        self._keys = keys
        self._ends = ends
        self._in_order = in_order
        self._places: dict[str, int] | None = None  # when the keys are out of order
        self._younger: dict[str, Text] = {}
        self._older: dict[str, Text] = {}

    def place(self, key: str, hint: int = -1) -> int:
        """Where the text of the article of ``key`` is: at ``hint``, if there."""
        keys = self._keys
        if 0 <= hint < len(keys) and keys[hint] == key:
            return hint
        if self._in_order:
            found = place_of(keys, key)
            if found is None:
                raise KeyError(key)
            return found
        if self._places is None:
            self._places = {each: at for at, each in enumerate(keys)}
        return self._places[key]

    def _span(self, place: int) -> tuple[int, int]:
        """Where the text at ``place`` starts and ends, from the first text's start."""
        return (self._ends[place - 1] if place else 0), self._ends[place]

    def blob(self, place: int) -> bytes:
        """The text at ``place`` as held."""
        start, end = self._span(place)
        size = end - start
        blob = os.pread(self._file, size, self._offset + start)
        if len(blob) != size:
            raise OSError(f"the file of texts ends within the text of {self._keys[place]}")
        return blob

    def read(self, key: str) -> Text:
        """The text of the article of ``key``."""
        text = self._younger.get(key)
        if text is None:
            text = self._older.get(key)
            if text is None:
                text = text_of(self.blob(self.place(key)), key)
            self._younger[key] = text
            if len(self._younger) >= TEXTS_KEPT // 2:
                self._older, self._younger = self._younger, {}
        return text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self._keys)} texts>"


class SpilledTexts(HeldTexts):
    """The texts of the articles of a graph merged from every record: those of the first
    :data:`TEXTS_IN_MEMORY` articles it takes stay with them, and the others are written
    to a file of their own as they are taken (:meth:`hold`), in ``folder`` or else where
    the system keeps temporary files; so are the first ones, as soon as one more is taken
    (or, where the articles taken before are not given, once the graph is whole:
    :meth:`settle`).  The file has no name, and is gone with this object or the process.
    Where no file can be made or written to, the texts stay here, packed.

    Texts are written in the order they are taken, and found in key order: where each
    starts and ends is put in that order before one is looked for (:meth:`_sort`), once
    the graph is whole.

    A graph of 10,000 records holds 77,000 articles, and spilling every text made its
    cold build 3% slower (18.30 s against 17.75 s, six builds each in turn): texts are
    read back a few times each, and most are shown.  A graph too large to hold every
    text holds none: at 100,000 records, whose 771,000 articles' texts weighed 561 MB,
    the texts of the first :data:`TEXTS_IN_MEMORY` weigh about 95 MB, and stayed to the
    end of the build for a sixth of the texts its entries show."""

    _keys: list[str]

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(-1, 0, [], array("Q"), in_order=True)
        self._starts: array[int] = array("Q")
        self._spill = AppendedFile(folder, SPILL_BUFFER_BYTES)
        self._taken = 0

    def hold(self, article: Article, taken: dict[str, Article] | None = None) -> Article:
        """``article``, with its text held here once enough were taken.

        ``taken`` are the articles taken before, by key, as the merge holds them: the
        moment one too many is taken, the texts that stayed with them are held apart too,
        in place.  Held until the graph was whole, the first texts of 100,000 records
        (95 MB) stayed through checking, where a cold build's memory peaks: its main
        process reached 853 MB there, against 782 MB with them apart at once, and
        rendered at 904 MB against 852 MB."""
        self._taken += 1
        if self._taken <= TEXTS_IN_MEMORY:
            return article
        if self._taken == TEXTS_IN_MEMORY + 1 and taken is not None:
            self._spill_kept(taken)
        return self._spilled(article)

    def _spilled(self, article: Article) -> Article:
        """``article``, its text written here."""
        key = article.key
        if self._keys and key <= self._keys[-1]:
            self._in_order = False
        self._starts.append(self._spill.append(text_blob(article)))
        self._ends.append(self._spill.end)
        self._keys.append(key)
        self._younger.pop(key, None)  # the text read of an article spilled again
        self._older.pop(key, None)
        return article._replace(held_text=self)

    def settle(self, graph: dict[str, Article]) -> None:
        """Hold apart the texts of the articles of ``graph`` (merged with :meth:`hold`) that
        stayed with them, when others were held apart: then every text is."""
        if self._taken <= TEXTS_IN_MEMORY:
            return
        self._spill_kept(graph)
        if not self._in_order:
            self._sort()

    def _spill_kept(self, articles: dict[str, Article]) -> None:
        """Hold apart the texts that stayed with ``articles``, each article replaced in place."""
        for key, article in articles.items():
            if type(article.held_text) is Text:
                articles[key] = self._spilled(article)

    def place(self, key: str, hint: int = -1) -> int:
        if not self._in_order:
            self._sort()
        return super().place(key, hint)

    def _sort(self) -> None:
        """Put the places of the texts in the order of their keys, each key once: the text
        of an article spilled again (a record's own description taking the place of a
        citation's) is the last one spilled."""
        keys, starts, ends = self._keys, self._starts, self._ends
        self._keys, self._starts, self._ends = [], array("Q"), array("Q")
        for at in sorted(range(len(keys)), key=keys.__getitem__):  # stable: the last one last
            if self._keys and self._keys[-1] == keys[at]:
                self._starts[-1], self._ends[-1] = starts[at], ends[at]
            else:
                self._keys.append(keys[at])
                self._starts.append(starts[at])
                self._ends.append(ends[at])
        self._in_order = True

    def _span(self, place: int) -> tuple[int, int]:
        return self._starts[place], self._ends[place]

    def keys_held(self) -> Sequence[str]:
        """The keys of the articles whose texts it holds, in key order, each once: where
        each is among them is the place of its text."""
        if not self._in_order:
            self._sort()
        return self._keys

    def file_order(self) -> list[int]:
        """The place of each text held, in the order the texts are in the file."""
        if not self._in_order:
            self._sort()
        return sorted(range(len(self._keys)), key=self._starts.__getitem__)

    def in_file_order(self, order: Sequence[int]) -> Iterator[tuple[int, str, Text]]:
        """The texts at the places of ``order`` (:meth:`file_order`), each with its place
        and its article's key: read from the file a chunk at a time, where reading the text
        of each article by itself, as entries ask for them, took a system call each.  A
        cold build of 100,000 records citing others from anywhere in the corpus hashed
        their entries in 11.7 s that way, about half of it in those calls (in a py-spy
        profile of another such build)."""
        if not self._in_order:
            self._sort()
        starts, ends, keys = self._starts, self._ends, self._keys
        chunk, chunk_start = b"", 0
        for place in order:
            start, end = starts[place], ends[place]
            if start < chunk_start or end > chunk_start + len(chunk):
                chunk_start = start
                chunk = self._spill.read_from(start, max(SPILL_BUFFER_BYTES, end - start))
                if len(chunk) < end - start:
                    raise OSError(f"the file of texts ends within the text of {keys[place]}")
            key = keys[place]
            yield place, key, text_of(chunk[start - chunk_start : end - chunk_start], key)

    def blob(self, place: int) -> bytes:
        start, end = self._span(place)
        blob = self._spill.read(start, end - start)
        if blob is None:
            raise OSError(f"the file of texts ends within the text of {self._keys[place]}")
        return blob
