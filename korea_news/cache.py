"""A persistent cache of what reading the archive found, never needed for correctness.

It lives outside the archive, in `$XDG_CACHE_HOME/kn/` (default `~/.cache/kn/`), one
folder per archive, keyed by the archive's real path. Each article file's entry is
trusted only while the file's size, modification time (in nanoseconds) and inode are
unchanged; anything else is read again. Two things are kept:

- `meta`: each file's parsed front matter (or the problem that made it invalid), so
  that listing does not parse YAML;
- `words`: a signature of each file's words (two bits per word in 4,096) and the words
  themselves, so that a search reads only the files that may hold the words its pattern
  requires.

Both are kept per archive folder, in one file each: a walk reads a folder's files
together, so only one folder's entries are in memory at a time. Files are written whole
under a temporary name and renamed into place, so concurrent runs see an old cache file or
a new one, never a torn one. A cache file that cannot be read, written or understood is
ignored (and rebuilt when it can be): kn never fails because of it.
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

VERSION = 2
SIGNATURE_BITS = 4096
SIGNATURE_BYTES = SIGNATURE_BITS // 8
Stat = tuple[int, int, int]  # size, mtime_ns, inode
Bits = tuple[int, int, int, int]  # a word's two bits: byte, mask, byte, mask

# Words as a case-insensitive search sees them: ASCII letters and digits, lower case, at
# least three. The four non-ASCII letters that Python's re matches with ASCII ones under
# IGNORECASE (İ ı ſ K) are folded first, so that the signatures never hide a match.
_FOLDS = ((b"\xc4\xb0", b"i"), (b"\xc4\xb1", b"i"), (b"\xc5\xbf", b"s"), (b"\xe2\x84\xaa", b"k"))
_SEPARATE = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))
_BITS: dict[bytes, Bits] = {}


def folder(root: str) -> str:
    """The cache folder of the archive whose real path is `root`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    # The format's version names a folder of its own: an older kn's files are never read.
    return os.path.join(base, "kn", f"v{VERSION}", _name_for(root))


def _name_for(path: str) -> str:
    encoded = path.encode("utf-8", "surrogateescape")
    readable = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(path))[:40] or "top"
    return f"{readable}-{zlib.crc32(encoded):08x}{zlib.adler32(encoded):08x}"


def words(data: bytes) -> set[bytes]:
    """The words of a file's bytes that a signature records."""
    for special, plain in _FOLDS:
        if special in data:
            data = data.replace(special, plain)
    return {word for word in data.lower().translate(_SEPARATE).split() if len(word) > 2}


def pieces(literal: str) -> list[bytes]:
    """The runs of letters and digits in a literal that a file's words must contain."""
    runs = words(literal.encode("utf-8"))
    return sorted(runs)


def bits(word: bytes) -> Bits:
    found = _BITS.get(word)
    if found is None:
        crc = zlib.crc32(word)
        first, second = crc % SIGNATURE_BITS, (crc >> 12) % SIGNATURE_BITS
        found = _BITS[word] = (first >> 3, 1 << (first & 7), second >> 3, 1 << (second & 7))
    return found


def signature(found: Iterable[bytes]) -> bytes:
    result = bytearray(SIGNATURE_BYTES)
    for word in found:
        first, first_mask, second, second_mask = bits(word)
        result[first] |= first_mask
        result[second] |= second_mask
    return bytes(result)


class Store:
    """The entries of one archive folder's files: {name: ((size, mtime_ns, inode), value)},
    and one value of the folder's own; read once, written whole, and only if changed."""

    def __init__(self, path: str, folder: str) -> None:
        self.path = path
        self.folder = folder
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
            if (
                isinstance(data, tuple)
                and len(data) == 4
                and data[:2] == (VERSION, self.folder)
                and isinstance(data[2], dict)
            ):
                return data[2], data[3]
        except (OSError, EOFError, ValueError, TypeError):
            pass
        return {}, None

    def get(self, name: str, stat: Stat) -> Any:
        """The value kept for a file, if the file has not changed since; else None."""
        found = self.old.get(name)
        if found is None or found[0] != stat:
            return None
        self.new[name] = found
        return found[1]

    def put(self, name: str, stat: Stat, value: Any) -> None:
        self.new[name] = (stat, value)
        self.changed = True

    def record(self, name: str, stat: Stat) -> Any:
        """The value this run keeps for a file: put or found valid; else None."""
        found = self.new.get(name) or self.old.get(name)
        return found[1] if found is not None and found[0] == stat else None

    def save(self, prune: bool) -> None:
        """Write the entries this run saw; with `prune`, the others are of files now gone."""
        if not self.changed and (not prune or len(self.new) == len(self.old)):
            return
        if not prune:
            self.new = {**self.old, **self.new}
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(temporary, "wb") as file:
                marshal.dump((VERSION, self.folder, self.new, self.extra), file)
            os.replace(temporary, self.path)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(temporary)


class Shelf:
    """The stores of one kind, one per archive folder, one of them in memory at a time."""

    def __init__(self, directory: str, kind: str) -> None:
        self.directory = os.path.join(directory, kind)
        self.current: Store | None = None
        self.prune = False  # set by a walk that asks for every file of each folder

    def store(self, folder: str) -> Store:
        """The store of a folder; the previous folder's is saved and let go."""
        if self.current is None or self.current.folder != folder:
            self.close()
            path = os.path.join(self.directory, _name_for(folder or "."))
            self.current = self.opened(Store(path, folder))
        return self.current

    def opened(self, store: Store) -> Store:
        return store

    def close(self) -> None:
        if self.current is not None:
            self.closing(self.current)
            self.current.save(self.prune)
            self.current = None

    def closing(self, store: Store) -> None:
        pass


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
        None,  # the facts, once a `kn facts` has read them: see with_facts()
    )


FactRow = tuple[int, str, str]  # line, heading, text


def facts_of(record: Any) -> tuple[FactRow, ...] | None:
    """The facts a record keeps, if any were read yet."""
    if isinstance(record, tuple) and len(record) == 10 and isinstance(record[9], tuple):
        return record[9]
    return None


def with_facts(record: Any, facts: tuple[FactRow, ...]) -> Any:
    """A record with its article's facts; an invalid article's record stays as it is."""
    return (*record[:9], facts) if isinstance(record, tuple) and len(record) >= 9 else record


_NO_EXTRA: dict[str, Any] = {}
_date = dt.date.fromisoformat
_datetime = dt.datetime.fromisoformat


def from_record(record: Any, article_id: str, path: str) -> Article | InvalidArticle | None:
    """The article or problem a record holds; None if the record is not understood."""
    try:
        if len(record) == 2:
            return InvalidArticle(path, record[0], record[1])
        title, date, source, url, authors, tags, extra, title_line, body_line = record[:9]
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


def pack(article: Article) -> Any:
    """An article as marshal data, to cross from one process to another."""
    return (to_record(article), article.id, article.path)


def unpack(data: Any) -> Article:
    article = from_record(*data)
    if not isinstance(article, Article):
        raise ValueError("not an article")
    return article


class Signatures(Shelf):
    """Word signatures of the files, to tell which may hold a pattern's words.

    Each folder's store keeps the words its signatures hold, written in the same file, so
    that a signature is never read beside a list of words that lacks its own.
    """

    def __init__(self, directory: str, required: list[list[bytes]] | None) -> None:
        super().__init__(directory, "words")
        self.prune = True  # a search asks for every file's signature
        self.required = required or []
        self.narrows = required is not None
        self.vocabulary: set[bytes] = set()
        self.masks: list[list[list[Bits]]] = []

    def opened(self, store: Store) -> Store:
        if isinstance(store.extra, list):
            self.vocabulary = set(store.extra)
        else:
            store.old, self.vocabulary = {}, set()
        self.masks = [
            [[bits(word) for word in self.vocabulary if piece in word] for piece in alternative]
            for alternative in self.required
        ]
        return store

    def closing(self, store: Store) -> None:
        if store.changed:
            store.extra = sorted(self.vocabulary)

    def admits(self, folder: str, name: str, stat: Stat) -> bool | None:
        """Whether the file may match; None when its signature is not known."""
        found = self.store(folder).get(name, stat)
        if not isinstance(found, bytes) or len(found) != SIGNATURE_BYTES:
            return None
        if not self.narrows:
            return True
        for alternative in self.masks:
            for words_for_piece in alternative:
                for first, first_mask, second, second_mask in words_for_piece:
                    if found[first] & first_mask and found[second] & second_mask:
                        break
                else:
                    break  # no word of this file holds the piece
            else:
                return True
        return False

    def put(self, folder: str, name: str, stat: Stat, data: bytes) -> None:
        """Record the signature of a file's bytes."""
        store = self.store(folder)
        found = words(data)
        self.vocabulary |= found
        store.put(name, stat, signature(found))
