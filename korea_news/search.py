"""Search articles as grep does: compile patterns, find matching lines and their spans.

A search reads as little as it can: with the cache, files whose word signature lacks
the words every match needs are not read at all (cache.py); without it, each file's raw
text is tested first and only the files that may match have their front matter parsed.
Only the matching articles are kept; their lines are read again when printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from . import cache, frontmatter
from .archive import Archive, Entry, Folder
from .cache import Signatures
from .model import Article, Count, InvalidArticle, KnError, Match
from .query import Filter

T = TypeVar("T")

# Patterns that can see past the end of a line behave differently on a whole body than
# on a single line: for them, the quick whole-body test is skipped.
_LOOKS_AROUND = re.compile(r"\(\?<?[=!]|\\[AZz]")
# A title written this way in YAML appears in the file exactly as it reads.
_PLAIN_TITLE = re.compile(
    r"title:[ \t]+(?:[^\s'\"|>&*!%@`#{\[]|'[^']*'[ \t]*$|\"[^\"\\]*\"[ \t]*$)"
)


def compile_pattern(
    patterns: Iterable[str], fixed: bool = False, ignore_case: bool = False, words: bool = False
) -> Pattern:
    """One regular expression matching any of `patterns`, with grep's -F, -i and -w."""
    sources = [re.escape(p) if fixed else p for p in patterns]
    flags = re.IGNORECASE if ignore_case else 0
    for source in sources:
        try:
            re.compile(source, flags)
        except re.error as error:
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
    except re.error as error:
        raise KnError(f"bad pattern {combined!r}: {error}") from None
    return Pattern(
        regex,
        whole_body=not any(_LOOKS_AROUND.search(s) for s in sources),
        required=required_words(sources, flags),
    )


MAX_ALTERNATIVES = 32


def required_words(sources: Iterable[str], flags: int = 0) -> list[list[bytes]] | None:
    """What any match must contain, as word pieces: any of several sets, all of a set.

    None when some match may need no word at all (then every file must be read).
    """
    alternatives: list[list[bytes]] = []
    try:
        from re import _parser  # type: ignore[attr-defined]

        for source in sources:
            for literals in _literals(_parser.parse(source, flags)):
                found = cache.pieces(" ".join(literals))
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
    required: list[list[bytes]] | None = None  # see required_words()

    def spans(self, line: str, start: int = 0) -> tuple[tuple[int, int], ...]:
        """The non-empty matches in a line, as [start, end) character offsets."""
        return tuple(m.span() for m in self.regex.finditer(line, start) if m.end() > m.start())

    def in_lines(self, text: str) -> bool:
        """Whether any line of `text` may match (never False when one does)."""
        if self.whole_body and "\r" not in text:
            return self.regex.search(text) is not None
        return any(self.regex.search(line) for line in _lines(text))

    def in_title(self, front_matter: str) -> bool | None:
        """Whether the title may match, judged from the raw front matter; None: parse to tell."""
        if self.regex.search(front_matter):
            return True
        lines = front_matter.split("\n")
        for index, line in enumerate(lines):
            if line.startswith("title:"):
                continued = index + 1 < len(lines) and lines[index + 1][:1] in (" ", "\t")
                return None if continued or not _PLAIN_TITLE.match(line) else False
        return None


def _lines(text: str) -> list[str]:
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def find(
    archive: Archive, pattern: Pattern, select: Filter, first: bool = False
) -> Iterator[Article]:
    """The articles that the filter selects and that have a matching line.

    With the cache, a file whose word signature lacks the words the pattern requires is
    not read at all; without it, the raw text is tested before any YAML is parsed. The
    walk is shared with a second process (parallel.py), unless only the `first` match is
    wanted; either way the order is not the walk's: callers sort.
    """
    if first:
        yield from _find(archive, pattern, select, _article)
        return
    from . import parallel

    yield from parallel.shared(
        archive,
        lambda folders: _find(archive, pattern, select, _article, folders),
        cache.pack,
        cache.unpack,
    )


def count(archive: Archive, pattern: Pattern, select: Filter) -> list[Count]:
    """As find(), each article with how many of its lines match, counted as it is read."""
    from . import parallel

    def tally(article: Article, text: str) -> Count | None:
        matched = sum(1 for _ in _matches_in(article, _lines(text), pattern))
        return Count(article, matched) if matched else None

    return parallel.shared(
        archive,
        lambda folders: _find(archive, pattern, select, tally, folders),
        lambda found: (cache.pack(found.article), found.count),
        lambda data: Count(cache.unpack(data[0]), data[1]),
    )


def _article(article: Article, text: str) -> Article:
    return article


def _find(
    archive: Archive,
    pattern: Pattern,
    select: Filter,
    keep: Callable[[Article, str], T | None],
    folders: Iterable[Folder] | None = None,
) -> Iterator[T]:
    """What `keep` makes of each matching article and its file's text, if anything."""
    signatures = archive.signatures(pattern.required)
    for folder in archive.folders() if folders is None else folders:
        if signatures is None or folder.stats is None:
            tested = (_test(archive, entry, pattern, select, None) for entry in folder.entries())
        else:
            tested = (
                _test(archive, folder.entry(position), pattern, select, signatures, position)
                for position in signatures.sift(folder.inside, folder.names, folder.stats)
            )
        for found in tested:
            if found is not None and (kept := keep(*found)) is not None:
                yield kept
        if signatures is not None and folder.stats is not None:
            signatures.commit()
    if signatures is not None:
        signatures.close()
    archive.done()


def _test(
    archive: Archive,
    entry: Entry,
    pattern: Pattern,
    select: Filter,
    signatures: Signatures | None,
    position: int = 0,
) -> tuple[Article, str] | None:
    """The entry's article and text if the filter selects it and a line matches.

    With `signatures`, a file whose signature is unknown is recorded there as read.
    """
    learner = signatures if signatures is not None and position in signatures.unknown else None
    try:
        data = archive.read_bytes(entry)
        text = frontmatter.decode(data, entry.path)
        if signatures is None and not _may_match(text, entry.path, pattern):
            return None
        reads = archive.read_count
        article = archive.load(entry, data)
    except InvalidArticle as error:
        if learner is not None:
            learner.learn(position, None)
        archive.on_error(error)
        return None
    if learner is not None:
        # The title too: YAML may have written it with escapes the raw text lacks.
        learner.learn(position, data + b"\n" + article.title.encode())
        if archive.read_count == reads:  # not counted yet as a file read whole
            archive.counted()
    if select.matches(article) and (
        pattern.regex.search(article.title) or pattern.in_lines(_body(text, article))
    ):
        return article, text
    return None


def _body(text: str, article: Article) -> str:
    """The body of a file's text: what follows the front matter."""
    position = 0
    for _ in range(article.body_line - 1):
        position = text.find("\n", position) + 1
        if position == 0:
            return ""
    return text[position:]


def _may_match(text: str, path: str, pattern: Pattern) -> bool:
    """Whether a file may hold a match, from its raw text, without parsing YAML."""
    try:
        parts = frontmatter.split(text, path)
    except InvalidArticle:
        return True  # the full read will report the problem
    return pattern.in_lines(parts.body) or pattern.in_title(parts.front_matter) is not False


def matches(archive: Archive, article: Article, pattern: Pattern) -> Iterator[Match]:
    """The matching lines of an article: its title line, then body lines."""
    return _matches_in(article, _lines(archive.text(article)), pattern)


def _matches_in(article: Article, lines: list[str], pattern: Pattern) -> Iterator[Match]:
    if pattern.regex.search(article.title):
        line = lines[article.title_line - 1]
        yield Match(article, article.title_line, line, pattern.spans(line, len("title:")))
    for index in range(article.body_line - 1, len(lines)):
        line = lines[index]
        if pattern.regex.search(line):
            yield Match(article, index + 1, line, pattern.spans(line))
