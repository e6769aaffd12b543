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
import time
import zlib
from collections.abc import Iterable
from typing import Any

from .model import Article, InvalidArticle

VERSION = 3
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
_MASKS: dict[bytes, int] = {}  # a word's two bits as one integer


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
    """The words' bits, set in SIGNATURE_BYTES bytes (bit i in byte i // 8, as bits() says)."""
    masks = _MASKS
    value = 0
    for word in found:
        mask = masks.get(word)
        if mask is None:
            first, first_mask, second, second_mask = bits(word)
            mask = masks[word] = first_mask << 8 * first | second_mask << 8 * second
        value |= mask
    return value.to_bytes(SIGNATURE_BYTES, "little")


class Store:
    """What one kind keeps of one archive folder's files, as they were when it was kept.

    Three aligned lists, `names`, `stats` ((size, mtime_ns, inode) each) and `values`, plus
    one value of the folder's own (`extra`). Read once and written whole, only if changed.
    A walk compares the folder's names and stats with the kept ones as two lists, in one
    step: while nothing changed, no file needs a look-up of its own.
    """

    def __init__(self, path: str, folder: str) -> None:
        self.path = path
        self.folder = folder
        self.names: list[str] = []
        self.stats: list[Stat] = []
        self.values: Any = []
        self.extra: Any = None
        self._load()
        self._index: dict[str, int] | None = None
        self.changed = False

    def _load(self) -> None:
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
        except (OSError, EOFError, ValueError, TypeError):
            return
        if (
            isinstance(data, tuple)
            and len(data) == 6
            and data[:2] == (VERSION, self.folder)
            and isinstance(data[2], list)
            and isinstance(data[3], list)
            and len(data[2]) == len(data[3])
            and (not isinstance(data[4], list) or len(data[4]) == len(data[2]))
        ):
            self.names, self.stats, self.values, self.extra = data[2:]

    def same(self, names: list[str], stats: list[Stat]) -> bool:
        """Whether the folder holds the kept files, each unchanged: every value is valid."""
        return stats == self.stats and names == self.names

    def _positions(self) -> dict[str, int]:
        if self._index is None:  # built on the first look-up of a single file
            self._index = {name: position for position, name in enumerate(self.names)}
        return self._index

    def find(self, name: str, stat: Stat) -> int | None:
        """The position of a file's value, if the file has not changed since; else None."""
        position = self._positions().get(name)
        if position is None or self.stats[position] != stat:
            return None
        return position

    def get(self, name: str, stat: Stat) -> Any:
        """The value kept for a file, if the file has not changed since; else None."""
        position = self.find(name, stat)
        return None if position is None else self.values[position]

    def put(self, name: str, stat: Stat, value: Any) -> None:
        """Keep a value for one file, beside the others (values kept as a list only)."""
        positions = self._positions()
        position = positions.get(name)
        if position is None:
            positions[name] = len(self.names)
            self.names.append(name)
            self.stats.append(stat)
            self.values.append(value)
        else:
            self.stats[position] = stat
            self.values[position] = value
        self.changed = True

    def replace(self, names: list[str], stats: list[Stat], values: Any, extra: Any) -> None:
        """Keep exactly these files: a walk saw the whole folder."""
        self.names, self.stats, self.values, self.extra = names, stats, values, extra
        self._index = None
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        _write(self.path, (VERSION, self.folder, self.names, self.stats, self.values, self.extra))
        self.changed = False


class Shelf:
    """The stores of one kind, one per archive folder, one of them in memory at a time."""

    def __init__(self, directory: str, kind: str) -> None:
        self.directory = os.path.join(directory, kind)
        self.current: Store | None = None

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
            self.current.save()
            self.current = None


FolderStat = tuple[int, int, int]  # a folder's mtime_ns, ctime_ns and inode
Listing = tuple[list[str], list[str]]  # a folder's article files and its subfolders


class Listings:
    """What each archive folder lists, kept while the folder is unchanged.

    Adding, removing or renaming a file changes its folder's mtime, so a folder whose
    mtime, ctime and inode are as they were lists the same names. Timestamps are coarse,
    though: a change within the same tick as the listing would leave them as they were.
    So a listing is trusted only if the folder had not changed for `SETTLED_NS` when it
    was taken, as git does with its index ("racy git"). The files themselves are still
    validated one by one (Store).
    """

    SETTLED_NS = 3_000_000_000  # beyond any filesystem's timestamp granularity (FAT: 2 s)

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "folders")
        self.old: dict[str, tuple[FolderStat, Listing]] = {}
        self.new: dict[str, tuple[FolderStat, Listing]] = {}
        self.now = time.time_ns()
        try:
            with open(self.path, "rb") as file:
                data = marshal.loads(file.read())
            if isinstance(data, tuple) and len(data) == 2 and data[0] == VERSION:
                self.old = data[1]
        except (OSError, EOFError, ValueError, TypeError):
            pass
        self.changed = False

    def get(self, folder: str, stat: FolderStat) -> Listing | None:
        """A folder's listing, if the folder has not changed since it was taken."""
        found = self.old.get(folder)
        if found is None or found[0] != stat:
            return None
        self.new[folder] = found
        return found[1]

    def put(self, folder: str, stat: FolderStat, listing: Listing) -> None:
        """Keep a folder's listing, if the folder had settled before it was taken."""
        if self.now - max(stat[0], stat[1]) > self.SETTLED_NS:
            self.new[folder] = (stat, listing)
            self.changed = True

    def save(self) -> None:
        """Keep the listings of the folders seen; those of folders gone are dropped."""
        if self.changed or len(self.new) != len(self.old):
            _write(self.path, (VERSION, self.new))


def _write(path: str, data: Any) -> None:
    """Write a cache file whole, under a temporary name renamed into place, so that a
    concurrent run reads the old file or the new one; a failure leaves the old one."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            marshal.dump(data, file)
        os.replace(temporary, path)
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


FactRow = tuple[int, str, str]  # line, heading, text


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

    A folder's store keeps its files' signatures end to end in one byte string, and in
    `extra` the words they hold and the positions of the files that must always be read
    (those that could not be read as articles: their problems are reported every time).
    Byte `k` of every signature is one slice of that string, `blob[k::512]`, so the files
    that have a word's two bits are found for the whole folder at once, without a loop
    over its files.
    """

    def __init__(self, directory: str, required: list[list[bytes]] | None) -> None:
        super().__init__(directory, "words")
        self.required = required or []
        self.narrows = required is not None
        self.vocabulary: set[bytes] = set()
        self.masks: list[list[list[Bits] | None]] = []
        self._rows: list[bytes] = []  # the signatures of the folder being walked
        self._wild: set[int] = set()
        self.unknown: set[int] = set()  # positions sifted without a known signature
        self._seen: tuple[list[str], list[Stat]] = ([], [])

    def opened(self, store: Store) -> Store:
        extra = store.extra
        if not (
            isinstance(store.values, bytes)
            and len(store.values) == len(store.names) * SIGNATURE_BYTES
            and isinstance(extra, tuple)
            and len(extra) == 2
        ):
            store.names, store.stats, store.values, store.extra = [], [], b"", ([], [])
        self.vocabulary = set(store.extra[0])
        self.masks = [[self._words_with(piece) for piece in pieces] for pieces in self.required]
        return store

    def _words_with(self, piece: bytes) -> list[Bits] | None:
        """The bits of the known words that hold a piece; None if too many to narrow by."""
        found = [bits(word) for word in self.vocabulary if piece in word]
        return found if len(found) <= 256 else None

    def sift(self, folder: str, names: list[str], stats: list[Stat]) -> list[int]:
        """The positions of a folder's files to read: those that may match, and those
        whose signatures are not known (record them with learn(), then call commit())."""
        store = self.store(folder)
        wild: list[int] = store.extra[1]
        if store.same(names, stats):
            blob = store.values
            self._rows, self.unknown = [], set()
            self._wild = set(wild)
        else:
            size = SIGNATURE_BYTES
            old, rows, unknown = store.values, [], set()
            for position, (name, stat) in enumerate(zip(names, stats, strict=True)):
                found = store.find(name, stat)
                if found is None:
                    unknown.add(position)
                    rows.append(EMPTY)
                else:
                    rows.append(old[found * size : found * size + size])
            old_wild = {store.names[position] for position in wild}
            self._wild = {position for position, name in enumerate(names) if name in old_wild}
            self._wild -= unknown
            self._rows, self.unknown = rows, unknown
            blob = b"".join(rows)
        self._seen = (names, stats)
        chosen = self._admitted(blob, len(names))
        chosen.update(self._wild, self.unknown)
        return sorted(chosen)

    def _admitted(self, blob: bytes, count: int) -> set[int]:
        if not self.narrows:
            return set(range(count))
        everyone = int.from_bytes(b"\x01" * count, "big")
        columns: dict[tuple[int, int], int] = {}

        def column(index: int, mask: int) -> int:
            found = columns.get((index, mask))
            if found is None:
                lanes = blob[index::SIGNATURE_BYTES].translate(_has_bits(mask))
                found = columns[index, mask] = int.from_bytes(lanes, "big")
            return found

        admitted = 0
        for alternative in self.masks:
            lanes = everyone
            for words_bits in alternative:
                if words_bits is None:
                    continue
                hits = 0
                for first, first_mask, second, second_mask in words_bits:
                    if first == second:
                        hits |= column(first, first_mask | second_mask)
                    else:
                        hits |= column(first, first_mask) & column(second, second_mask)
                lanes &= hits
                if not lanes:
                    break
            admitted |= lanes
        return _positions(admitted.to_bytes(count, "big"))

    def learn(self, position: int, data: bytes | None) -> None:
        """Record the signature of a file read whole; None: it is no article, always read it."""
        self.unknown.discard(position)
        if data is None:
            self._wild.add(position)
            return
        found = words(data)
        self.vocabulary |= found
        self._rows[position] = signature(found)

    def commit(self) -> None:
        """Keep the signatures of the folder sifted last, if any were learnt."""
        if not self._rows:
            return
        store = self.current
        assert store is not None
        names, stats = self._seen
        keep = [position for position in range(len(names)) if position not in self.unknown]
        if len(keep) < len(names):  # files that went unread keep no signature
            rows, wild = self._rows, self._wild
            names, stats = [names[i] for i in keep], [stats[i] for i in keep]
            self._rows = [rows[i] for i in keep]
            renumber = {old: new for new, old in enumerate(keep)}
            self._wild = {renumber[i] for i in wild if i in renumber}
        store.replace(
            names, stats, b"".join(self._rows), (sorted(self.vocabulary), sorted(self._wild))
        )
        self._rows = []


EMPTY = bytes(SIGNATURE_BYTES)
_TABLES: dict[int, bytes] = {}


def _has_bits(mask: int) -> bytes:
    """A translation table: 1 for the bytes that have every bit of `mask`, else 0."""
    table = _TABLES.get(mask)
    if table is None:
        table = _TABLES[mask] = bytes(int(byte & mask == mask) for byte in range(256))
    return table


def _positions(lanes: bytes) -> set[int]:
    """The positions of the non-zero bytes."""
    found = set()
    position = lanes.find(1)
    while position >= 0:
        found.add(position)
        position = lanes.find(1, position + 1)
    return found
