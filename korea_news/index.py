"""The word index: which files of a folder may hold the words that a search needs.

One entry point, `Sieve.folder()`, used by the walk (walk.py) alone. A search pattern's
required words (search.required_words: for each alternative, the runs of letters and
digits that every match contains) are looked up in each folder's index:

- each file has a signature, 4,096 bits with two set for each of its words (lower-case
  ASCII letters and digits, three or more), the words of its title and of its body;
- a folder keeps its files' signatures end to end in one byte string, so that byte `k` of
  every signature is one slice, `blob[k::512]`: the files that have a word's two bits are
  found for the whole folder at once, without a loop over its files;
- a folder keeps its vocabulary, every word its files ever held, as one byte string of
  lines: a required piece such as `sanction` may lie inside a longer word (`sanctions`),
  and `bytes.find` over the vocabulary finds those words at C speed.

A file is read when its signature may hold the words, when it has no signature yet (it
is learnt as it is read), and when it is not an article (so that its problem is reported
every time). So the files read are always a superset of the files that match.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from .cache import Stat, Store

SIGNATURE_BITS = 4096
SIGNATURE_BYTES = SIGNATURE_BITS // 8
EMPTY = bytes(SIGNATURE_BYTES)
MAX_WORDS = 256  # a piece inside more known words than this does not narrow the search

Required = list[list[bytes]]  # any of the alternatives; all pieces of one alternative

# Words as a case-insensitive search sees them: ASCII letters and digits, lower case, at
# least three. The four non-ASCII letters that Python's re matches with ASCII ones under
# IGNORECASE (İ ı ſ K) are folded first, so that the signatures never hide a match.
_FOLDS = ((b"\xc4\xb0", b"i"), (b"\xc4\xb1", b"i"), (b"\xc5\xbf", b"s"), (b"\xe2\x84\xaa", b"k"))
_SEPARATE = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))
_MASKS: dict[bytes, int] = {}  # a word's two bits as one integer


def words(data: bytes) -> set[bytes]:
    """The words of some text's UTF-8 bytes that a signature records."""
    for special, plain in _FOLDS:
        if special in data:
            data = data.replace(special, plain)
    return {word for word in data.lower().translate(_SEPARATE).split() if len(word) > 2}


def _bits(word: bytes) -> tuple[int, int]:
    crc = zlib.crc32(word)
    return crc % SIGNATURE_BITS, (crc >> 12) % SIGNATURE_BITS


def signature(found: Iterable[bytes]) -> bytes:
    """The words' bits, set in SIGNATURE_BYTES bytes (bit i in byte i // 8)."""
    masks = _MASKS
    value = 0
    for word in found:
        mask = masks.get(word)
        if mask is None:
            first, second = _bits(word)
            mask = masks[word] = 1 << first | 1 << second
        value |= mask
    return value.to_bytes(SIGNATURE_BYTES, "little")


class Sieve:
    """The word indexes of an archive's folders, for one search."""

    def __init__(self, directory: str, required: Required | None) -> None:
        self.directory = directory
        self.required = required  # None: every file is read (they are still learnt)

    def folder(self, inside: str, names: list[str], stats: list[Stat]) -> Folder:
        """A folder's index, and the positions of the files the search must read."""
        return Folder(self, Store(self.directory, "words", inside), names, stats)


class Folder:
    """One folder's index during a search: `chosen`, the positions to read; learn() the
    words of each file read that had no signature, then save()."""

    def __init__(self, sieve: Sieve, store: Store, names: list[str], stats: list[Stat]) -> None:
        self.store, self.names, self.stats = store, names, stats
        blob, extra = store.values, store.extra
        if not (
            type(blob) is bytes
            and len(blob) == len(store.names) * SIGNATURE_BYTES
            and type(extra.get("vocabulary")) is bytes
            and type(extra.get("wild")) is list
        ):
            store.names, store.stats, blob, extra = [], [], b"", {"vocabulary": b"\n", "wild": []}
        self.vocabulary: bytes = extra["vocabulary"]
        if store.same(names, stats):
            self.rows: list[bytes] | None = None
            self.blob = blob
            self.unknown: set[int] = set()
            self.wild = set(extra["wild"])
        else:  # take what is kept of the unchanged files; the others are unknown
            size, old_wild = SIGNATURE_BYTES, {store.names[i] for i in extra["wild"]}
            self.rows, self.unknown, self.wild = [], set(), set()
            for position, (name, stat) in enumerate(zip(names, stats, strict=True)):
                found = store.find(name, stat)
                if found is None:
                    self.unknown.add(position)
                    self.rows.append(EMPTY)
                else:
                    self.rows.append(blob[found * size : found * size + size])
                    if name in old_wild:
                        self.wild.add(position)
            self.blob = b"".join(self.rows)
        admitted = (
            set(range(len(names)))
            if sieve.required is None
            else self._admitted(sieve.required, len(names))
        )
        self.chosen = sorted(admitted | self.wild | self.unknown)
        self.learnt: set[bytes] = set()

    def _words_with(self, piece: bytes) -> list[bytes] | None:
        """The known words that hold a piece; None if too many to narrow by."""
        vocabulary, found = self.vocabulary, []
        start = vocabulary.find(piece)
        while start >= 0:
            left = vocabulary.rfind(b"\n", 0, start) + 1
            right = vocabulary.find(b"\n", start)
            found.append(vocabulary[left:right])
            if len(found) > MAX_WORDS:
                return None
            start = vocabulary.find(piece, right)
        return found

    def _admitted(self, required: Required, count: int) -> set[int]:
        everyone = int.from_bytes(b"\x01" * count, "big")
        columns: dict[int, int] = {}

        def column(bit: int) -> int:  # one lane (a byte, 1 or 0) per file: has it this bit?
            found = columns.get(bit)
            if found is None:
                lanes = self.blob[bit >> 3 :: SIGNATURE_BYTES].translate(_HAS[bit & 7])
                found = columns[bit] = int.from_bytes(lanes, "big")
            return found

        admitted = 0
        for alternative in required:
            lanes = everyone
            for piece in alternative:
                holding = self._words_with(piece)
                if holding is None:
                    continue
                hits = 0
                for word in holding:
                    first, second = _bits(word)
                    hits |= column(first) & column(second)
                lanes &= hits
                if not lanes:
                    break
            admitted |= lanes
        lanes_bytes = admitted.to_bytes(count, "big")
        found, position = set(), lanes_bytes.find(1)
        while position >= 0:
            found.add(position)
            position = lanes_bytes.find(1, position + 1)
        return found

    def learn(self, position: int, found: set[bytes] | None, keep: bool) -> None:
        """The words of a file read whole that had no signature; None: it is no article,
        always read it. With `keep` False (it had not settled), it stays unknown."""
        if not keep or self.rows is None:
            return
        self.unknown.discard(position)
        if found is None:
            self.wild.add(position)
            return
        self.learnt |= found
        self.rows[position] = signature(found)

    def save(self) -> None:
        """Keep the signatures, if any were learnt; unread files keep none."""
        if self.rows is None or len(self.unknown) == len(self.names):
            return
        keep = [i for i in range(len(self.names)) if i not in self.unknown]
        vocabulary, known = self.vocabulary, set(self.vocabulary.split(b"\n"))
        if not self.learnt <= known:  # new words: the vocabulary grows, in order
            vocabulary = b"\n" + b"\n".join(sorted((known | self.learnt) - {b""})) + b"\n"
        renumber = {old: new for new, old in enumerate(keep)}
        wild = sorted(renumber[i] for i in self.wild if i in renumber)
        extra: Any = {"vocabulary": vocabulary, "wild": wild}
        self.store.save(
            [self.names[i] for i in keep],
            [self.stats[i] for i in keep],
            b"".join(self.rows[i] for i in keep),
            extra,
        )


# For each bit of a byte, a translation table: 1 for the bytes that have it, else 0.
_HAS = [bytes(int(byte >> bit & 1) for byte in range(256)) for bit in range(8)]
