"""Read one article file: the one place that decides what an article is (the store only
keeps what this module derived). A file is read in pieces of whole lines, so that even a
200 MB article never sits in memory whole; it is an article only if all of it is UTF-8 text
without NUL bytes (`Opened.rest()` checks what the reader left)."""

from __future__ import annotations

import codecs
import itertools
import os
from collections.abc import Iterator

from . import frontmatter
from .model import Article, InvalidArticle, Unreadable

FIRST = 1 << 16  # bytes read first: all of nearly every article, in a buffer cheap to make
PIECE = 1 << 22  # bytes read at a time after that


def open_article(real: str, path: str, article_id: str, known: Article | None = None) -> Opened:
    """An article file opened, its front matter parsed unless `known` (as the store keeps it)."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise Unreadable(path, 1, f"cannot read: {error.strerror}") from None
    try:
        return Opened(fd, path, article_id, known)
    except BaseException:
        os.close(fd)
        raise


class Opened:
    """An article file being read: `article`, the `head` (the text before the body), and
    the body as pieces of whole lines through `body()`. Use it as a context manager."""

    def __init__(self, fd: int, path: str, article_id: str, known: Article | None) -> None:
        self._fd = fd
        pieces = _pieces(fd, path)
        text = next(pieces, (1, ""))[1]
        # The store knows where the body starts, unless the first piece does not hold it.
        start = -1 if known is None else _line_start(text, known.body_line)
        if known is not None and start >= 0:
            body_line = known.body_line
        else:
            while True:
                try:
                    parts = frontmatter.split(text, path)
                    break
                except InvalidArticle:
                    more = next(pieces, None)
                    if more is None:
                        raise
                    text += more[1]
            if known is None:
                meta, lines = frontmatter.load(parts.front_matter, path)
                known = frontmatter.to_article(meta, lines, path, article_id, parts.body_line)
            body_line, start = parts.body_line, len(text) - len(parts.body)
        self.article, self.head = known, text[:start]
        first = [(body_line, text[start:])] if start < len(text) else []
        self._body = itertools.chain(first, pieces)

    def body(self) -> Iterator[tuple[int, str]]:
        """The body in pieces of whole lines, each with the file line it starts on."""
        return self._body

    def title_line(self) -> str:
        """The file's `title:` line, as stored."""
        lines = self.head.split("\n")
        line = lines[self.article.title_line - 1] if self.article.title_line <= len(lines) else ""
        return line.removesuffix("\r")

    def rest(self) -> None:
        """Read what is left of the file: an article is valid text throughout."""
        for _ in self.body():
            pass

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)


class Kept:
    """An article's text as the store's index keeps it, handed over as Opened hands it."""

    def __init__(self, article: Article, body: str) -> None:
        self.article, self._body = article, body

    def title_line(self) -> str:
        """The file's `title:` line: the file is opened for it (a title rarely matches)."""
        article = self.article
        with open_article(article.path, article.path, article.id, article) as opened:
            return opened.title_line()

    def body(self) -> Iterator[tuple[int, str]]:
        if self._body:
            yield self.article.body_line, self._body


def _line_start(text: str, line: int) -> int:
    """Where line number `line` starts in `text`; -1 if it does not hold that line."""
    position = 0
    for _ in range(line - 1):
        position = text.find("\n", position) + 1
        if position == 0:
            return -1
    return position


def _pieces(fd: int, path: str) -> Iterator[tuple[int, str]]:
    """A file's text in pieces of whole lines, each with its first line's number;
    InvalidArticle names the line of a problem."""
    data = _read(fd, FIRST, path, 1)
    if len(data) < FIRST:  # nearly every article is all read at once: no incremental decoder
        text = frontmatter.decode(data, path)
        if text:
            yield 1, text
        return
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    line, pending = 1, ""
    while True:
        before = line + pending.count("\n")  # the line on which `data` starts
        text = pending + frontmatter.decode(data, path, before, decoder)
        if not data:
            if text:
                yield line, text
            return
        cut = text.rfind("\n") + 1
        pending = text[cut:]
        if cut:
            yield line, text[:cut] if pending else text
            line += text.count("\n", 0, cut)
        data = _read(fd, PIECE, path, line)


def _read(fd: int, size: int, path: str, line: int) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as error:
        raise Unreadable(path, line, f"cannot read: {error.strerror}") from None
