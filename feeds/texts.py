"""Where the texts of articles are held apart from them: in a file, each read by its place
when an entry shows it, the most recently read kept at hand.

The text of an article (:class:`feeds.articles.Text`: its address, title, excerpt and
image) is most of what it weighs: at 100,000 records, 561 MB of the 1.4 GB the graph took.
A build shows the texts of the articles whose entries it renders, and of those they list
among their related articles; a build that renders every entry shows each a few times, in
an order that keeps most of them close together (:func:`feeds.publish.in_rendering_order`).
"""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING

from feeds.articles import Article, Image, RecordedText, Text

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    """Texts held in the file open as ``file``, one after another from ``offset``, the one
    at each place ending where ``ends`` says; that of the article of ``keys`` at the same
    place.

    The texts read last are kept, up to :data:`TEXTS_KEPT`, in two generations: those
    read since the younger one was begun, and those read in the one before, which are
    dropped when it is full.  A text found in the younger is found by one lookup, where
    keeping them in order of use (:class:`collections.OrderedDict`) moved each one found:
    a cold build of 10,000 records, every text held apart, asked for one 541,696 times,
    and read 139,047 from the file."""

    def __init__(self, file: int, offset: int, keys: Sequence[str], ends: array[int]) -> None:
        self._file = file
        self._offset = offset
        self._keys = keys
        self._ends = ends
        self._younger: dict[int, Text] = {}
        self._older: dict[int, Text] = {}

    def _span(self, index: int) -> tuple[int, int]:
        """Where the text at ``index`` starts and ends, from the first text's start."""
        return (self._ends[index - 1] if index else 0), self._ends[index]

    def blob(self, index: int) -> bytes:
        """The text at ``index`` as held."""
        start, end = self._span(index)
        size = end - start
        blob = os.pread(self._file, size, self._offset + start)
        if len(blob) != size:
            raise OSError(f"the file of texts ends within the text of {self._keys[index]}")
        return blob

    def read(self, index: int) -> Text:
        text = self._younger.get(index)
        if text is None:
            text = self._older.get(index)
            if text is None:
                text = text_of(self.blob(index), self._keys[index])
            self._younger[index] = text
            if len(self._younger) >= TEXTS_KEPT // 2:
                self._older, self._younger = self._younger, {}
        return text

    def texts(self) -> list[RecordedText]:
        """Each text, by its place."""
        return list(map(RecordedText, repeat(self), range(len(self._keys))))


class SpilledTexts(HeldTexts):
    """The texts of the articles of a graph merged from every record: those of the first
    :data:`TEXTS_IN_MEMORY` articles it takes stay with them, and the others are written
    to a file of their own as they are taken (:meth:`hold`), in ``folder`` or else where
    the system keeps temporary files; once the graph is whole, so are the first ones,
    when others were (:meth:`settle`).  The file has no name, and is gone with this object
    or the process.  Where no file can be made or written to, the texts stay here, packed.

    A graph of 10,000 records holds 77,000 articles, and spilling every text made its
    cold build 3% slower (18.30 s against 17.75 s, six builds each in turn): texts are
    read back a few times each, and most are shown.  A graph too large to hold every
    text holds none: at 100,000 records, whose 771,000 articles' texts weighed 561 MB,
    the texts of the first :data:`TEXTS_IN_MEMORY` weigh about 95 MB, and stayed to the
    end of the build for a sixth of the texts its entries show."""

    def __init__(self, folder: Path | None = None) -> None:
        self._held_keys: list[str] = []
        super().__init__(-1, 0, self._held_keys, array("Q"))
        self._folder = folder
        self._spill: IO[bytes] | None = None
        self._taken = 0
        self._pending = bytearray()  # texts not written to the file yet
        self._written = 0
        self._writable = True

    def hold(self, article: Article) -> Article:
        """``article``, with its text held here once enough were taken."""
        self._taken += 1
        if self._taken <= TEXTS_IN_MEMORY:
            return article
        return self._spilled(article)

    def _spilled(self, article: Article) -> Article:
        """``article``, its text written here."""
        blob = text_blob(article)
        index = len(self._ends)
        self._pending += blob
        self._ends.append(self._written + len(self._pending))
        self._held_keys.append(article.key)
        if len(self._pending) >= SPILL_BUFFER_BYTES and self._writable:
            self._write()
        return article._replace(held_text=RecordedText(self, index))

    def settle(self, graph: dict[str, Article]) -> None:
        """Hold apart the texts of the articles of ``graph`` (merged with :meth:`hold`) that
        stayed with them, when others were held apart: then every text is."""
        if self._taken <= TEXTS_IN_MEMORY:
            return
        for key, article in graph.items():
            if type(article.held_text) is Text:
                graph[key] = self._spilled(article)

    def blob(self, index: int) -> bytes:
        start, end = self._span(index)
        if start >= self._written:
            return bytes(self._pending[start - self._written : end - self._written])
        return super().blob(index)

    def _write(self) -> None:
        try:
            if self._spill is None:
                self._spill = _unnamed_file(self._folder)
                self._file = self._spill.fileno()
            self._spill.write(self._pending)
            self._spill.flush()  # read by its place, past the file object
        except OSError:
            self._writable = False  # what was not written stays here
            return
        self._written += len(self._pending)
        self._pending.clear()


def _unnamed_file(folder: Path | None) -> IO[bytes]:
    """A file to write and read, without a name, in ``folder`` if one can be made there."""
    if folder is not None:
        try:
            return tempfile.TemporaryFile(dir=folder)
        except OSError:
            pass
    return tempfile.TemporaryFile()
