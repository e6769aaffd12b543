"""A persistent cache of what reading the archive found, never needed for correctness.

It lives outside the archive, in `$XDG_CACHE_HOME/kn/` (default `~/.cache/kn/`), one
folder per archive, keyed by the archive's real path. Each article file's entry is
trusted only while the file's size, modification time (in nanoseconds) and inode are
unchanged; anything else is read again. Two things are kept:

- `meta`: each file's parsed front matter (or the problem that made it invalid), so
  that listing does not parse YAML;
- `words`: a signature of each file's words (two bits per word in 4,096), so that a
  search reads only the files that may hold the words its pattern requires.

Files are written whole to a temporary name and renamed into place, so concurrent runs
see an old cache or a new one, never a torn one. A cache that cannot be read, written or
understood is ignored (and rebuilt when it can be): kn never fails because of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import marshal
import os
import re
import sys
import zlib
from collections.abc import Iterable
from typing import Any

from .model import Article, InvalidArticle

VERSION = 1
SIGNATURE_BITS = 4096
SIGNATURE_BYTES = SIGNATURE_BITS // 8
Stat = tuple[int, int, int]  # size, mtime_ns, inode

# Words as a case-insensitive search sees them: ASCII letters and digits, lower case. The
# four non-ASCII letters that Python's re matches with ASCII ones under IGNORECASE are
# folded first, so that a word index never hides a match.
_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "K": "k"})
_WORD = re.compile(r"[a-z0-9]{3,}")


def folder(root: str) -> str:
    """The cache folder of the archive whose real path is `root`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    encoded = root.encode("utf-8", "surrogateescape")
    name = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(root))[:40]
    digest = f"{zlib.crc32(encoded):08x}{zlib.adler32(encoded):08x}"
    return os.path.join(base, "kn", f"{name}-{digest}")


def words(text: str) -> set[str]:
    """The words of a text that a signature records."""
    return set(_WORD.findall(text.translate(_FOLD).lower()))


def word_bits(word: str) -> tuple[int, int]:
    crc = zlib.crc32(word.encode("ascii"))
    return crc % SIGNATURE_BITS, (crc >> 12) % SIGNATURE_BITS


class Store:
    """One marshal file of {key: ((size, mtime_ns, inode), value)} and one more value of
    its own, read once and written whole."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.old, self.extra = self._load()
        self.new: dict[str, tuple[Stat, Any]] = {}
        self.changed = False

    def _load(self) -> tuple[dict[str, Any], Any]:
        try:
            with open(self.path, "rb") as file:
                raw = file.read()  # marshal.load(file) would read item by item
            collecting = gc.isenabled()
            gc.disable()  # nothing loaded here can form a cycle: spare the collector's passes
            try:
                data = marshal.loads(raw)
            finally:
                if collecting:
                    gc.enable()
            if isinstance(data, tuple) and len(data) == 3 and data[0] == VERSION:
                entries, extra = data[1], data[2]
                return (entries, extra) if isinstance(entries, dict) else ({}, None)
        except (OSError, EOFError, ValueError, TypeError):
            pass
        return {}, None

    def get(self, key: str, stat: Stat) -> Any:
        """The value kept for a file, if the file has not changed since; else None."""
        found = self.old.get(key)
        if found is None or found[0] != stat:
            return None
        self.new[key] = found
        return found[1]

    def put(self, key: str, stat: Stat, value: Any) -> None:
        self.new[key] = (stat, value)
        self.changed = True

    def save(self, complete: bool) -> None:
        """Write what this run saw; entries of files it did not see are kept unless complete."""
        if complete:
            self.changed |= len(self.new) != len(self.old)
        else:
            self.new = {**self.old, **self.new}
        if not self.changed:
            return
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(temporary, "wb") as file:
                marshal.dump((VERSION, self.new, self.extra), file)
            os.replace(temporary, self.path)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def to_record(found: Article | InvalidArticle) -> tuple[Any, ...]:
    """What the cache keeps of a read: the article's fields, or the problem."""
    if isinstance(found, InvalidArticle):
        return (found.line, found.message)
    # Sources, tags and dates repeat across articles: interned, marshal stores each once.
    return (
        found.title,
        sys.intern(found.date.isoformat()),
        sys.intern(found.source) if found.source else found.source,
        found.url,
        tuple(map(sys.intern, found.authors)),
        tuple(map(sys.intern, found.tags)),
        dict(found.extra) if found.extra else None,
        found.title_line,
        found.body_line,
    )


_NO_EXTRA: dict[str, Any] = {}
_date = dt.date.fromisoformat
_datetime = dt.datetime.fromisoformat


def from_record(record: Any, article_id: str, path: str) -> Article | InvalidArticle | None:
    """The article or problem a record holds; None if the record is not understood."""
    try:
        if len(record) == 2:
            return InvalidArticle(path, record[0], record[1])
        title, date, source, url, authors, tags, extra, title_line, body_line = record
        when = _date(date) if len(date) == 10 else _datetime(date)
        return Article(
            article_id,
            path,
            title,
            when,
            source,
            url,
            authors,
            tags,
            extra or _NO_EXTRA,
            title_line,
            body_line,
        )
    except (TypeError, ValueError):
        return None


class Signatures:
    """Word signatures of the articles, and every word they hold, to narrow a search.

    The words are kept in the same file as the signatures, so that a signature is never
    read beside a list of words that lacks its own.
    """

    def __init__(self, directory: str) -> None:
        self.store = Store(os.path.join(directory, "words"))
        extra = self.store.extra
        self.vocabulary: set[str] = set(extra) if isinstance(extra, list) else set()
        if not isinstance(extra, list):
            self.store.old = {}

    def get(self, key: str, stat: Stat) -> bytes | None:
        value = self.store.get(key, stat)
        return value if isinstance(value, bytes) and len(value) == SIGNATURE_BYTES else None

    def put(self, key: str, stat: Stat, text: str) -> bytes:
        """Record the signature of a file's text, and return it."""
        found = words(text)
        signature = bytearray(SIGNATURE_BYTES)
        for word in found:
            for bit in word_bits(word):
                signature[bit >> 3] |= 1 << (bit & 7)
        if not found <= self.vocabulary:
            self.vocabulary |= found
            self.store.extra = None  # the word list is written again
        self.store.put(key, stat, bytes(signature))
        return bytes(signature)

    def save(self, complete: bool) -> None:
        if self.store.extra is None:
            self.store.extra = sorted(self.vocabulary)
        self.store.save(complete)


class Query:
    """What a pattern requires of a file's words: any of several sets of word pieces."""

    def __init__(self, alternatives: Iterable[Iterable[str]]) -> None:
        self.alternatives = [sorted(set(pieces)) for pieces in alternatives]

    def masks(self, vocabulary: Iterable[str]) -> list[list[list[tuple[int, int]]]]:
        """Per alternative, per piece: the bit pairs of the known words that contain it."""
        known = sorted(vocabulary)
        result = []
        for pieces in self.alternatives:
            per_piece = []
            for piece in pieces:
                per_piece.append([word_bits(word) for word in known if piece in word])
            result.append(per_piece)
        return result

    @staticmethod
    def admits(signature: bytes, masks: list[list[list[tuple[int, int]]]]) -> bool:
        """Whether a file with this signature may match (never False when it does)."""

        def has(bits: tuple[int, int]) -> bool:
            return all(signature[bit >> 3] & (1 << (bit & 7)) for bit in bits)

        return any(
            all(any(has(bits) for bits in words_for_piece) for words_for_piece in pieces)
            for pieces in masks
        )


def pieces(text: str) -> list[str]:
    """The runs of letters and digits in a literal that a file's words must contain."""
    runs = re.findall(r"[a-z0-9]+", text.translate(_FOLD).lower())
    return [run for run in runs if len(run) >= 3]
