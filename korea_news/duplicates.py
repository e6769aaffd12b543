"""Same and near-same texts.

`Digest`: "the same text" for `kn add`, equal in NFC with each run of white space one space.
`near`, for `kn check --duplicates`: a body's 5-word shingles are sketched by the least hash
in each of BINS bins (one-permutation MinHash); bodies agreeing on a band are candidates
(LSH), kept when the Jaccard index of their shingles is at least THRESHOLD. Hashes are
deterministic (a word's CRC-32; ints and their tuples are not salted): the same pairs each run.
"""

from __future__ import annotations

import functools
import hashlib
import math
import operator
import re
import unicodedata
import zlib
from array import array
from collections.abc import Iterator
from fractions import Fraction
from itertools import combinations, repeat
from typing import TYPE_CHECKING, Any, NamedTuple

from . import reader
from .escape import field
from .model import INDEXED, Article

if TYPE_CHECKING:
    from .store import Store

SHINGLE = 5  # words in a shingle
THRESHOLD = Fraction(4, 5)  # the least Jaccard index of a near-duplicate pair
BINS = 32  # the sketch: the least hash in each of 32 bins
ROWS = 2  # bins in a band: 16 bands. A pair at 0.8 is a candidate with probability
# 1 - (1 - 0.8**2)**16 > 0.9999999; one at 0.05, with probability 0.04.
AGREE = 12  # the least bins of 32 that a candidate's sketches must share to be measured
# (at 0.8, 12 or fewer agree with probability under 1e-7: Binomial(32, 0.8))
_WORD = re.compile(r"\w+")
_EMPTY = -(1 << 63)  # no value: hash() never returns it


class Digest:
    """The digest of a body given in whole lines, blind to Unicode normal form and white space."""

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self._gap = b""

    def add(self, piece: str) -> None:
        if words := " ".join(unicodedata.normalize("NFC", piece).split()):
            self._hash.update(self._gap + words.encode("utf-8", "surrogatepass"))
            self._gap = b" "

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def digest(text: str) -> str:
    """The Digest of a whole text."""
    found = Digest()
    for line in text.splitlines():  # a line at a time: all its words at once take 16 times its size
        found.add(line)
    return found.hexdigest()


def shingles(opened: reader.Opened) -> list[int]:
    """The hashes of the 5-word shingles of a body's indexed start (model.INDEXED), in order."""
    ids: list[int] = []
    size = 0
    for _, piece in opened.body():
        if size >= INDEXED:
            break
        words = _WORD.findall(unicodedata.normalize("NFC", piece[: INDEXED - size]).casefold())
        ids += [zlib.crc32(word.encode("utf-8", "surrogatepass")) for word in words]
        size += len(piece)
    if len(ids) < SHINGLE:  # a body under five words: the hash of its words
        return [hash(tuple(ids))] if ids else []
    return list(map(hash, zip(*(ids[start:] for start in range(SHINGLE)), strict=False)))


def sketch(hashes: list[int]) -> bytes:
    """The least hash in each of BINS bins (by its low bits), densified."""
    # An empty bin takes the next filled one's, mixed with the distance: a short body's
    # empty bins then agree only with a body that is alike.
    ordered = sorted(hashes, reverse=True)  # the dict keeps the last, so the least
    least = dict(zip(map(operator.and_, ordered, repeat(BINS - 1)), ordered, strict=True))
    values = [least.get(bin, _EMPTY) for bin in range(BINS)]
    if least and len(least) < BINS:
        for bin in range(BINS):
            if values[bin] == _EMPTY:
                step = next(s for s in range(1, BINS) if (bin + s) % BINS in least)
                values[bin] = hash((least[(bin + step) % BINS], step))
    return array("q", values).tobytes()


def candidates(sketches: list[bytes]) -> Iterator[tuple[int, int]]:
    """The pairs of positions whose sketches agree on a whole band and on AGREE bins, in order."""
    found: set[tuple[int, int]] = set()
    width = ROWS * 8
    for start in range(0, BINS * 8, width):
        buckets: dict[bytes, list[int]] = {}
        for position, value in enumerate(sketches):
            buckets.setdefault(value[start : start + width], []).append(position)
        for group in buckets.values():
            if len(group) > 1:
                found.update(combinations(group, 2))
    for first, second in sorted(found):
        a, b = array("q", sketches[first]), array("q", sketches[second])
        if sum(map(operator.eq, a, b)) >= AGREE:
            yield first, second


def similarity(first: set[int], second: set[int]) -> float:
    """The Jaccard index of two sets, rounded down to 3 decimals; 0.0 below THRESHOLD."""
    shared = len(first & second)
    union = len(first) + len(second) - shared
    if not union or shared < THRESHOLD * union:
        return 0.0
    return math.floor(shared * 1000 / union) / 1000


def _sketch(opened: reader.Opened) -> tuple[bytes, bool]:
    return sketch(shingles(opened)), True  # to keep (Store.derived)


class Pair(NamedTuple):
    """Two articles whose bodies are the same (1.0) or near the same, their IDs in order."""

    first: Article
    second: Article
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"ids": [self.first.id, self.second.id], "similarity": self.similarity}

    def __str__(self) -> str:  # ID, ID, SIMILARITY by tabs, as any plain line: IDs hold spaces
        return f"{field(self.first.id)}\t{field(self.second.id)}\t{self.similarity:.3f}"


def near(store: Store) -> list[Pair]:
    """The pairs of same or near-same bodies (empty ones alike to none), most alike first."""
    articles, digests, sketches = [], [], []
    nothing = sketch([])
    for article, (made, body) in store.derived("sketch", _sketch, more=", digest"):
        if made != nothing:
            articles.append(article)
            digests.append(body)
            sketches.append(made)
    same: dict[str, list[int]] = {}
    for position, body in enumerate(digests):
        same.setdefault(body, []).append(position)
    pairs = [(1.0, a, b) for group in same.values() for a, b in combinations(group, 2)]

    @functools.lru_cache(maxsize=256)  # the shingles of the bodies measured lately
    def measured(position: int) -> set[int]:
        article = articles[position]
        with reader.open_article(article.path, article.path, article.id, article) as opened:
            return set(shingles(opened))

    for first, second in candidates(sketches):
        if digests[first] == digests[second]:
            continue
        if alike := similarity(measured(first), measured(second)):
            pairs.append((alike, first, second))
    found = []
    for alike, one, other in pairs:
        a, b = sorted((articles[one], articles[other]), key=lambda article: article.id)
        found.append(Pair(a, b, alike))
    return sorted(found, key=lambda pair: (-pair.similarity, pair.first.id, pair.second.id))
