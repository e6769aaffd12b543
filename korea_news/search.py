"""Search as grep -E does, in time linear in the text: compile patterns, match lines.

Patterns run on RE2, which never backtracks (one plain text, on bytes.find: faster);
`\\<` and `\\>` are read as `\\b`, and newlines separate alternatives, as grep's. Pure: it
reads no file. A match never spans a line break, and a CRLF line is matched without its CR.
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

import re2

from .model import Article, Count, KnError, Match, is_utf8

# What grep -E and RE2 read apart (see _gnu): brackets, escapes, repetitions, counts.
_GNU_ONLY = re.compile(
    r"\[\^?\]?(?:\[:\w+:\]|[^]])*\]|\\.|(?:^|[(|])[*+?]+(?![=!<])|[*+?]{2,}|\{\d*,?\d*\}"
)
_GNU = {"\\<": r"\b", "\\>": r"\b", "\\`": "^", "\\'": "$"}


def compile_pattern(
    patterns: Iterable[str],
    fixed: bool = False,
    ignore_case: bool = False,
    words: bool = False,
    whole_lines: bool = False,
) -> Pattern:
    """One pattern matching any line of `patterns`, with grep's -F, -i, -w and -x."""
    wanted = [line for pattern in patterns for line in pattern.split("\n")]
    flags, sources = "(?mi)" if ignore_case else "(?m)", []
    for given in wanted:
        if not is_utf8(given):
            raise KnError(f"bad pattern {given!r}: not UTF-8 text")
        try:
            source = re2.escape(given) if fixed else _GNU_ONLY.sub(_gnu, given)
        except ValueError as error:  # a count past RE2's limit (see _gnu)
            raise KnError(f"bad pattern {given!r}: {error}") from None
        _compile(source, given)  # each alone, as grep: a `(` and a `)` of two lines are no group
        sources.append(source)
    combined = "|".join(f"(?:{source})" for source in sources) or r"\b\B"  # none: no match
    combined = flags + (f"^(?:{combined})$" if whole_lines else combined)
    regex = _compile(combined, combined)
    binary = _compile(combined.encode("utf-8", "surrogateescape"), combined)
    required = required_words(sources, re.IGNORECASE if ignore_case else 0)
    plain = len(wanted) == 1 and not (ignore_case or whole_lines) and wanted[0]
    literal = plain.encode() if plain and (fixed or not _SPECIAL.search(plain)) else None
    return Pattern(regex, binary, words, required, literal)


_SPECIAL = re.compile(r"[\\^$.|?*+()[\]{}\r]")  # a pattern without any is a text to find


def _compile(source: str | bytes, given: str) -> Any:
    """RE2's compiled pattern; KnError naming the pattern as given, and what is wrong."""
    options = re2.Options()
    options.log_errors = False  # RE2 would write to the process's stderr itself
    options.longest_match = True  # as POSIX and grep -E: a|aa matches aa
    try:
        return re2.compile(source, options)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args else "not a pattern"
        if (reason[-2:-1] == "\\" and reason[-1].isdigit()) or "perl operator" in reason:
            reason += " (back-references and look-around are not supported: kn's search"
            reason += " takes time linear in the text)"
        raise KnError(f"bad pattern {given!r}: {reason}") from None


def _gnu(found: re.Match[str]) -> str:
    """What grep -E reads (see _GNU_ONLY), as RE2 reads it."""
    text = found.group()
    if text[0] == "[":  # a backslash in a bracket is itself
        return text.replace("\\", "\\\\")
    if text[0] in "(|" or (found.start() == 0 and text[0] in "*+?"):  # nothing to repeat: (?i) (i)
        return text.rstrip("*+?")
    if text[0] in "*+?":  # a+? is (a+)?, so a* (to RE2, a lazy a+); a++ is a+
        return text[0] if len(set(text)) == 1 else "*"
    if text[0] == "{":  # a{01} is a{1}, a{,2} a{0,2}; RE2 would read a{1001} as text
        if large := [n for n in re.findall(r"\d+", text) if int(n) > 1000]:
            raise ValueError(f"the repetition number {large[0]} is more than RE2's limit of 1000")
        return re.sub(r"\d+", lambda number: str(int(number.group())), text).replace("{,", "{0,")
    plain = text[1].isalnum() and text[1] not in "wWsSbB123456789"  # \d is d (\1: an error)
    return _GNU.get(text, text[1] if plain else text)


MAX_ALTERNATIVES = 32
_PIECES = re.compile(r"[a-z0-9]{3,}")  # the word pieces that narrow (the index folds case)


def required_words(sources: Iterable[str], flags: int) -> list[list[str]] | None:
    """Word pieces any match holds: all of one of the lists; None: maybe no word at all."""
    alternatives: list[list[str]] = []
    try:
        from re import _parser  # type: ignore[attr-defined]

        for source in sources:
            with warnings.catch_warnings(action="ignore"):  # Python's parser frowns on [[:digit:]]
                parsed = _parser.parse(source, flags)
            for literals in _literals(parsed):
                found = sorted(set(_PIECES.findall(" ".join(literals).lower())))
                if not found:
                    return None
                alternatives.append(found)
    except Exception:  # a parser that is not the one we know: read every file
        return None
    return alternatives if len(alternatives) <= MAX_ALTERNATIVES else None


def _literals(items: Any) -> list[list[str]]:
    """The literal strings that every match of a parsed pattern contains, per alternative."""
    from re import _constants as sre  # type: ignore[attr-defined]

    alternatives: list[list[str]] = [[]]
    run: list[str] = []

    def cross(inner: list[list[str]]) -> list[list[str]]:
        product = [outer + more for outer in alternatives for more in inner]
        # Too many alternatives: requiring less is always safe.
        return product if len(product) <= MAX_ALTERNATIVES else alternatives

    for op, value in items:
        if op is sre.LITERAL:
            run.append(chr(value))
            continue
        if run:
            alternatives = [[*outer, "".join(run)] for outer in alternatives]
            run = []
        if op is sre.SUBPATTERN:
            alternatives = cross(_literals(value[-1]))
        elif op is sre.ATOMIC_GROUP:
            alternatives = cross(_literals(value))
        elif op is sre.BRANCH:
            alternatives = cross([alt for branch in value[1] for alt in _literals(branch)])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and value[0] >= 1:
            alternatives = cross(_literals(value[2]))
    if run:
        alternatives = [[*outer, "".join(run)] for outer in alternatives]
    return alternatives


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled search pattern: RE2 over text, and the same over its UTF-8 bytes."""

    regex: Any
    binary: Any
    words: bool = False  # grep -w: a match must stand as a word
    required: list[list[str]] | None = None  # see required_words()
    literal: bytes | None = None  # the one text the pattern matches: found without RE2

    def _search(self, data: bytes, start: int = 0) -> tuple[int, int] | None:
        """The span of the first match in UTF-8 bytes from `start`."""
        if self.literal is None:
            found = self.binary.search(data, start)
            return None if found is None else found.span()
        at = data.find(self.literal, start)
        return None if at < 0 else (at, at + len(self.literal))

    def found(self, line: str) -> bool:
        """Whether the pattern matches within a line."""
        if not self.words:
            return self._search(line.encode()) is not None
        return next(self._words(line), None) is not None

    def spans(self, line: str) -> tuple[tuple[int, int], ...]:
        """The non-empty matches in a line, as [start, end) character offsets."""
        found = self._words(line) if self.words else (m.span() for m in self.regex.finditer(line))
        return tuple((start, end) for start, end in found if end > start)

    def _words(self, line: str) -> Iterator[tuple[int, int]]:
        """The spans of the matches that stand as words (an empty one too, as grep's); after one
        that does not, the search goes on where a word could next start. RE2 searches the line's
        bytes: a search of text from an offset would encode all of it again (time squared)."""
        data, at, chars = line.encode(), 0, 0  # `chars` characters lie before byte `at`
        position, character = 0, 0  # where the search goes on, in bytes and in characters
        while position <= len(data) and (found := self._search(data, position)) is not None:
            chars, at = chars + len(data[at : found[0]].decode()), found[0]
            start, end = chars, chars + len(data[found[0] : found[1]].decode())
            if stands := not _word(line, start - 1) and not _word(line, end):
                yield start, end
            position, character = (
                (found[1], end) if stands and end > start else (_next(data, at, at), start + 1)
            )
            while _word(line, character - 1):  # no match that starts inside a word stands:
                position, character = _next(data, position, position), character + 1  # skip it

    def lines(self, text: str, first: int, spans: bool) -> Iterator[Line]:
        """The matching lines of whole lines from line `first`, with spans where found (no CR
        in the text, and not grep -w: Grep._matching sees to that)."""
        # One search over the whole text (its UTF-8 bytes: RE2's own) finds the next match;
        # the line it starts in is matched whole, and the search goes on after it.
        data, search = text.encode(), self._search
        number, counted, found = first, 0, search(data)
        while found is not None:
            begin, finish = found
            start = data.rfind(b"\n", 0, begin) + 1
            end = data.find(b"\n", begin)
            end = len(data) if end < 0 else end
            if start == len(data):
                return
            number, counted = number + data.count(b"\n", counted, start), start
            raw, inside, kept = data[start:end], finish <= end, []
            while spans and found is not None and finish <= end:  # the line's own matches
                if finish > begin:
                    kept.append((begin - start, finish - start))
                at = _next(data, begin, finish)  # past the end: RE2 would start at the end
                found = search(data, at) if at <= len(data) else None
                begin, finish = found or (0, 0)
            line, across = raw.decode(), found is not None and begin <= end
            # Byte offsets are character offsets in ASCII; in other text the spans are found again
            # in the line alone: converting each match's offsets took time squared in the line.
            known = spans and not across and len(raw) == len(line)
            if inside:
                yield number, line, tuple(kept) if known else None, True
            elif self.found(line):  # its first match ran on past its end
                yield number, line, None, True
            if across and finish > end:  # a match ran across the line break: line by line from
                rest = data[end + 1 :].decode().removesuffix("\n")  # here, or each next line's
                lines = enumerate(rest.split("\n") if end + 1 < len(data) else [], number + 1)
                yield from ((n, line, None, True) for n, line in lines if self.found(line))
                return  # search would run as far again (time squared)
            if across:  # the search goes on from the next line
                found = search(data, end + 1) if end < len(data) else None


Spans = tuple[tuple[int, int], ...]
# A line's number, its text, its matches' spans if known, and whether it is selected.
Line = tuple[int, str, Spans | None, bool]


def _next(data: bytes, start: int, end: int) -> int:
    """Where a search goes on after a match (past an empty one's next UTF-8 character)."""
    if end > start:
        return end
    end += 1
    while end < len(data) and data[end] & 0xC0 == 0x80:
        end += 1
    return end


def _word(line: str, at: int) -> bool:
    """Whether the character at `at` is a word's (a letter, digit or underscore)."""
    return 0 <= at < len(line) and (line[at].isalnum() or line[at] == "_")


class Text(Protocol):
    """An article's text as the store hands it over (reader.Opened, reader.Kept)."""

    def title_line(self) -> str: ...

    def body(self) -> Iterator[tuple[int, str]]: ...


@dataclass
class Grep:
    """How kn search selects lines: grep's -v, -o, -m, -A and -B, and whether spans show."""

    pattern: Pattern
    invert: bool
    only: bool
    most: int | None
    around: tuple[int | None, int | None]  # lines of context before and after, if asked
    spans: bool  # whether records carry their matches' spans
    selected: int = field(default=0, init=False)  # articles with a line selected (exit status)

    def lines(self, texts: Iterable[tuple[Article, Text]]) -> Iterator[list[Match | None]]:
        """Each selecting article's records as grep prints them (None between groups)."""
        context = self.around != (None, None)
        for article, text in texts:
            walked = self._matching(article, text, self.spans, every=context)
            if context:  # -o: lines of context place grep's `--`, and are not shown
                picked: list[Any] = list(self._in_context(article, walked))
                lines = [r for r in picked if not (self.only and r and r.context)]
            else:
                picked = list(islice(walked, self.most))
                lines = list(self._records(article, picked))
            if picked:
                self.selected += 1
                yield [None, *lines] if context and self.selected > 1 else lines

    def counts(self, texts: Iterable[tuple[Article, Text]]) -> Iterator[Count]:
        """How many lines of each article match (grep -c), for the articles with any."""
        for article, text in texts:
            if found := sum(1 for _ in islice(self._matching(article, text, False), self.most)):
                yield Count(article, found)

    def chosen(self, texts: Iterable[tuple[Article, Text]], without: bool) -> Iterator[Article]:
        """The articles with a line selected (-L: `without`); `selected` counts those with."""
        for article, text in texts:
            hit = next(islice(self._matching(article, text, False), self.most), None) is not None
            self.selected += hit
            if hit != without:
                yield article

    def _matching(
        self, article: Article, text: Text, spans: bool, every: bool = False
    ) -> Iterator[Line]:
        """An article's selected lines (-v: the others), title first, with spans if known;
        `every`: its body's other lines too."""
        pattern, invert = self.pattern, self.invert
        if any(map(pattern.found, _titles(article))) != invert:
            yield article.title_line, text.title_line(), None, True
        for first, piece in text.body():
            if not (invert or every or pattern.words or "\r" in piece):
                yield from pattern.lines(piece, first, spans)
                continue
            # What follows the last line break is no line; a CRLF line is matched without its CR.
            for number, raw in enumerate(piece.removesuffix("\n").split("\n"), first):
                line = raw.removesuffix("\r")
                if (selected := pattern.found(line) != invert) or every:
                    yield number, line, None, selected

    def _records(self, article: Article, selected: Iterable[Line]) -> Iterator[Match]:
        """The selected lines as records, with spans if wanted; -o: each match a record."""
        pattern, shown = self.pattern, self.spans and not self.invert
        for number, line, known, _ in selected:
            title = number == article.title_line
            spans = _spans(pattern, article, line) if title else known
            spans = () if not shown else pattern.spans(line) if spans is None else spans
            if not self.only:
                yield Match(article, number, line, spans)
            elif title:  # the title is matched by its value, a line of it at a time
                for value in _titles(article):
                    for begin, end in pattern.spans(value):
                        yield Match(article, number, value[begin:end], ((0, end - begin),))
            else:
                for begin, end in spans:
                    yield Match(article, number, line[begin:end], ((0, end - begin),))

    def _in_context(self, article: Article, walked: Iterator[Line]) -> Iterator[Match | None]:
        """The selected lines as records with lines of context around, None between groups."""
        before, after = (lines or 0 for lines in self.around)
        kept: deque[tuple[int, str]] = deque(maxlen=before)
        last, left, count = 0, 0, 0  # the last line given; lines of context still due; selected
        for number, line, spans, selected in walked:
            if count == self.most and not left:
                return
            if selected and count != self.most:
                given = [Match(article, *earlier, (), context=True) for earlier in kept]
                shown = list(self._records(article, [(number, line, spans, True)]))
                given += shown or [Match(article, number, line, (), context=True)]  # -o: empty
                kept.clear()
                left = 0 if number == article.title_line else after  # front matter follows it
                count += 1
            elif left:
                given = [Match(article, number, line, (), context=True)]
                left -= 1
            else:
                kept.append((number, line))
                continue
            for record in given:
                if last and record.line > last + 1:
                    yield None
                yield record
                last = record.line


def _titles(article: Article) -> list[str]:
    """The lines of an article's title as they are matched: split at line feeds only."""
    return article.title.rstrip("\n").split("\n")


def _spans(pattern: Pattern, article: Article, line: str) -> Spans:
    """The title's spans in its `title:` line, where it holds the title as it is; else none."""
    at = line.find(article.title, len("title:"))
    if "\n" in article.title or at < 0:
        return ()
    return tuple((begin + at, end + at) for begin, end in pattern.spans(article.title))
