"""Search as grep does: compile patterns, find the matching lines and their spans.

Pure: it reads no file and knows no store. The store (store.py) hands it an article and
its text, having narrowed which files it reads by `Pattern.required`.

A match never spans a line break: a line matches when the pattern matches within it, as
grep sees lines (split on newlines, a trailing carriage return left out).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .model import Article, KnError, Match

# Patterns that can see past the end of a line behave differently on a whole text than
# on a single line: for them, each line is tested alone.
_LOOKS_AROUND = re.compile(r"\(\?<?[=!]|\\[AZz]")


def compile_pattern(
    patterns: Iterable[str], fixed: bool = False, ignore_case: bool = False, words: bool = False
) -> Pattern:
    """One regular expression matching any of `patterns`, with grep's -F, -i and -w."""
    sources = [re.escape(p) if fixed else p for p in patterns]
    flags = re.IGNORECASE if ignore_case else 0
    for source in sources:
        try:
            re.compile(source, flags)
        except (re.error, OverflowError, RecursionError) as error:  # a{99999999999}, ((((...
            raise KnError(f"bad pattern {source!r}: {error}") from None
    if len(sources) == 1 and not words:
        combined = sources[0]
    else:
        combined = "|".join(f"(?:{source})" for source in sources)
    if words:
        # grep -w: the match is neither preceded nor followed by a word character.
        combined = rf"(?<!\w)(?:{combined})(?!\w)"
    try:
        regex = re.compile(combined, flags | re.MULTILINE)
    except (re.error, OverflowError, RecursionError) as error:
        raise KnError(f"bad pattern {combined!r}: {error}") from None
    return Pattern(
        regex,
        whole_body=not any(_LOOKS_AROUND.search(s) for s in sources),
        required=required_words(sources, flags),
    )


MAX_ALTERNATIVES = 32
_PIECES = re.compile(r"[a-z0-9]{3,}")


def words(text: str) -> list[str]:
    """The word pieces of a pattern's literal text that narrow a search: runs of three or
    more ASCII letters and digits, lower case (the text index folds case itself)."""
    return sorted(set(_PIECES.findall(text.lower())))


def required_words(sources: Iterable[str], flags: int = 0) -> list[list[str]] | None:
    """What any match must contain, as word pieces: any of several sets, all of a set.

    None when some match may need no word at all (then every file must be read).
    """
    alternatives: list[list[str]] = []
    try:
        from re import _parser  # type: ignore[attr-defined]

        for source in sources:
            for literals in _literals(_parser.parse(source, flags)):
                found = words(" ".join(literals))
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
    """A compiled search pattern and whether a whole body may be tested at once."""

    regex: re.Pattern[str]
    whole_body: bool
    required: list[list[str]] | None = None  # see required_words()

    def spans(self, line: str, start: int = 0) -> tuple[tuple[int, int], ...]:
        """The non-empty matches in a line, as [start, end) character offsets."""
        return tuple(m.span() for m in self.regex.finditer(line, start) if m.end() > m.start())

    def lines(self, text: str, first: int) -> Iterator[tuple[int, str]]:
        """The matching lines of a text of whole lines whose first is line `first`."""
        search = self.regex.search
        if not self.whole_body or "\r" in text:
            lines = text.split("\n")
            if text.endswith("\n"):
                lines.pop()  # what follows the last line break is no line
            for number, line in enumerate(lines, first):
                line = line.removesuffix("\r")
                if search(line):
                    yield number, line
            return
        # One search over the whole text finds the first line that may match; that line
        # alone decides, and the search goes on from the next line.
        position, number, counted = 0, first, 0
        while (found := search(text, position)) is not None:
            start = text.rfind("\n", 0, found.start()) + 1
            if start == len(text):
                return
            end = text.find("\n", found.start())
            end = len(text) if end < 0 else end
            number += text.count("\n", counted, start)
            line = text[start:end]
            if found.end() <= end or search(line):
                yield number, line
            if end == len(text):
                return
            position = counted = end + 1
            number += 1


class Text(Protocol):
    """An article's text as the store hands it over (reader.Opened)."""

    def title_line(self) -> str: ...

    def body(self) -> Iterator[tuple[int, str]]: ...


def matching(pattern: Pattern, article: Article, text: Text) -> Iterator[tuple[int, str]]:
    """The matching lines of an article, (line number, line): its `title:` line if the
    title matches, then body lines, in order."""
    title, search = article.title, pattern.regex.search
    if search(title) if "\n" not in title else any(map(search, title.split("\n"))):
        yield article.title_line, text.title_line()
    for first, piece in text.body():
        yield from pattern.lines(piece, first)


def matches(pattern: Pattern, article: Article, text: Text) -> Iterator[Match]:
    """The matching lines of an article as records, with the spans of the matches."""
    for number, line in matching(pattern, article, text):
        start = len("title:") if number == article.title_line else 0
        yield Match(article, number, line, pattern.spans(line, start))
