"""`kn find`'s query language, made into an FTS5 query that no input can break; snippets.

A query is words (all required), "phrases", OR, -word (left out), prefix* and title:word;
every word reaches FTS5 quoted. Korean, Chinese and Japanese runs are indexed and looked
up as character bigrams in columns of their own (as Lucene's CJK analyzer does), so that
a word is found inside longer ones (북한 in 북한이).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .model import KnError, is_utf8

# Hangul, kana and CJK ideographs, the scripts written without spaces between words; one
# pattern (it compiles in 3 ms), in a group: split() keeps the runs.
_CJK = re.compile(
    "([\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff]+)"
)
# Latin letters as bare letters (é as e), one for one: a snippet finds the words where the
# index did (cafe in café), at the same places.
_BARE = {c: unicodedata.normalize("NFD", chr(c))[0] for c in (*range(192, 592), *range(7680, 7936))}
_TERM = re.compile(r'\s*(-?)((?i:title:)?)(-?)(?:"([^"]*)("?)|([^\s"]+))')
SNIPPET = 200  # characters of a snippet at most
_BEFORE = 60  # of them, before the first match of a long line


def grams(text: str) -> str:
    """The character bigrams of a text's CJK runs (a lone character as it is), and UN of UN에서."""
    if text.isascii() or not _CJK.search(text):
        return ""
    found = []
    for pieces in map(_CJK.split, re.findall(r"\w+", unicodedata.normalize("NFC", text))):
        for run in pieces[1::2]:  # (pieces: other letters, a CJK run, other letters ...)
            found += [run[i : i + 2] for i in range(len(run) - 1)] or [run]
        found += pieces[::2] if len(pieces) > 1 else []  # UN of UN에서: the body's words hide it
    return " ".join(found)


@dataclass(frozen=True)
class Query:
    """A parsed query: `match`, for FTS5, and `words`, what snippets highlight."""

    match: str
    words: re.Pattern[str]

    @classmethod
    def parse(cls, text: str) -> Query:
        """Raises KnError for a query that cannot be read, naming what is wrong."""
        if not is_utf8(text):
            raise KnError(f"find: the query {text!r} is not UTF-8 text")
        text = unicodedata.normalize("NFC", text)  # 북한 as its jamo (macOS) is 북한
        groups: list[list[str]] = []  # each a word or words joined by OR
        left_out, shown = list[str](), list[str]()  # words left out; what snippets mark
        last = ""  # the last term that counts: "word", "OR", or "-" for a word left out
        for match in _TERM.finditer(text):  # the terms follow each other: only spaces between
            minus, title, after, phrase, closed, word = match.groups()
            if minus and after and not title:  # kn find coal --limt 3: no word left out
                raise KnError(f"find: {match.group().strip()}: no such option (leave out: -word)")
            minus = minus or after  # title:-word as -title:word
            if phrase is not None and not closed:
                raise KnError(f"find: a quote with no closing quote in {text!r}")
            if word == "OR" and not minus and not title:
                if last != "word":
                    raise KnError(f"find: OR needs a word on each side, in {text!r}")
                last = "OR"
                continue
            prefix = word is not None and word.endswith("*")
            words = phrase if phrase is not None else word.rstrip("*")
            if (word or "").lower() == "title:":  # FTS5's `title : coal` is coal anywhere here
                raise KnError(f"find: title: needs its word right after it (title:x), in {text!r}")
            if (expression := _expression(words, prefix, bool(title))) is None:  # no word
                continue
            if minus:
                if last == "OR":
                    raise KnError(f"find: a word left out cannot be one side of OR, in {text!r}")
                left_out.append(expression)
                last = "-"
                continue
            shown.append(_highlight(words.translate(_BARE), prefix))
            if last != "OR":
                groups.append([])
            groups[-1].append(expression)
            last = "word"
        if last == "OR":
            raise KnError(f"find: OR needs a word on each side, in {text!r}")
        if not groups:
            raise KnError(f"find: no word to find in {text!r}")
        found = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
        if left_out:
            found = f"({found}) NOT (" + " OR ".join(left_out) + ")"
        return cls(found, re.compile("|".join(shown), re.IGNORECASE))

    def snippet(self, body: str) -> tuple[str, tuple[tuple[int, int], ...]]:
        """The body's line with most of the query's words, cut to SNIPPET, and their spans."""
        best, most = "", 0
        for line in body.splitlines():
            found = {m.group().casefold() for m in self.words.finditer(line.translate(_BARE))}
            if len(found) > most or (not best and line.strip()):
                best, most = line, max(most, len(found))
        best = best.strip()
        if len(best) > SNIPPET:
            first = self.words.search(best.translate(_BARE)) if most else None
            start = max(first.start() - _BEFORE, 0) if first else 0
            start = best.rfind(" ", max(start - 20, 0), start) + 1 or start  # a word's start
            end = best.rfind(" ", start, start + SNIPPET) if start + SNIPPET < len(best) else -1
            end = min(start + SNIPPET, len(best)) if end <= start else end
            best = ("… " if start else "") + best[start:end] + (" …" if end < len(best) else "")
        return best, tuple(m.span() for m in self.words.finditer(best.translate(_BARE)))


def _expression(words: str, prefix: bool, title: bool) -> str | None:
    """An FTS5 expression for a word or phrase; None if it holds no letter or digit."""
    parts = []
    pieces = [piece for piece in _CJK.split(words) if piece]
    for index, piece in enumerate(pieces):
        star = "*" if prefix and index == len(pieces) - 1 else ""
        if _CJK.fullmatch(piece):
            star = "*" if len(piece) == 1 else star  # the bigrams that start with it
            column = "tgrams" if title else "{tgrams bgrams}"
            parts.append(f'{column} : "{grams(piece)}"{star}')
        elif any(character.isalnum() for character in piece):
            column = "{title tgrams}" if title else "{title body tgrams bgrams}"  # UN에서 too
            parts.append(f'{column} : "{piece.replace(chr(34), chr(34) * 2)}"{star}')
    return "(" + " AND ".join(parts) + ")" if parts else None


def _highlight(words: str, prefix: bool) -> str:
    """A regular expression for a word or phrase in the text, as snippets mark it."""
    pieces = [re.escape(piece) for piece in re.findall(r"\w+", words)]
    pattern = r"\W+".join(pieces) + (r"\w*" if prefix else "")
    return pattern if _CJK.search(words) else rf"\b{pattern}\b"
