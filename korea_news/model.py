"""The records kn works with: articles, search matches and facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

Date = dt.date | dt.datetime
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})
INDEXED = 1 << 20  # characters of a body kept in the text index: a longer one is always read


class KnError(Exception):
    """A problem to report to the user as `kn: message` (exit 2)."""


class ArticleNotFound(KnError):
    """No article, or more than one, answers to a name given on the command line."""


class Record:
    """What kn's JSON writes of a record: its fields, an article as ID and path (all if `whole`)."""

    __slots__ = ()  # records are not frozen: a run makes 10^5, and frozen is 4x slower to make
    __dataclass_fields__: ClassVar[dict[str, Any]]  # each record is a dataclass
    whole = False

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name in self.__dataclass_fields__:  # in order
            value = getattr(self, name)
            if isinstance(value, Article):
                record |= value.to_dict() if self.whole else {"id": value.id, "path": value.path}
            elif value is not False:  # a flag only when it is set
                record[name] = value
        return record


@dataclass(frozen=True, slots=True)
class InvalidArticle(KnError, Record):
    """An article file that cannot be read, with where the problem is."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Unreadable(InvalidArticle):
    """A file that could not be read at all (no permission, gone): the cache never keeps it."""

    __slots__ = ()


def day_of(value: Date) -> dt.date:
    """The calendar day of a date or date-time, as written (in its own zone)."""
    return value.date() if isinstance(value, dt.datetime) else value


def timestamp(value: Date) -> float:
    """Seconds since the epoch, for ordering; naive times and plain dates count as UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=value.tzinfo or dt.UTC).timestamp()


@dataclass(slots=True)
class Article:
    """One article's front matter and where its body starts (`path` as printed: from the current
    directory). Not frozen: a listing makes 10^5, and frozen is five times slower to make."""

    id: str
    path: str
    title: str
    date: Date
    source: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: NO_EXTRA)
    title_line: int = 2
    body_line: int = 1

    @property
    def sort_key(self) -> tuple[float, str]:
        return (-timestamp(self.date), self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "path": self.path, "title": self.title, "date": self.date.isoformat(),
            "source": self.source, "url": self.url, "authors": list(self.authors),
            "tags": list(self.tags), "extra": dict(self.extra),
        }  # fmt: skip


@dataclass(slots=True)
class Draft:
    """An article about to be added: its ID, its fields as read back, and its file text."""

    id: str
    article: Article
    body: str
    text: str


@dataclass(slots=True)
class Match(Record):
    """A line of an article that a search pattern matched, or a line of context."""

    article: Article
    line: int
    text: str
    spans: tuple[tuple[int, int], ...]
    context: bool = False  # a line around a match (grep -A, -B, -C)


@dataclass(slots=True)
class Bucket(Record):
    """How many articles one bucket of `kn stats` holds."""

    bucket: str
    count: int


@dataclass(slots=True)
class Hit(Record):
    """An article that `kn find` found, its score (higher is better), and a snippet."""

    article: Article
    score: float
    snippet: str
    spans: tuple[tuple[int, int], ...]
    whole = True


@dataclass(slots=True)
class Count(Record):
    """How many lines of an article a search pattern matched."""

    article: Article
    count: int


@dataclass(slots=True)
class Fact(Record):
    """One bullet-point item of an article, with the heading it stands under."""

    article: Article
    line: int
    heading: str
    text: str


@dataclass(slots=True)
class Document(Record):
    """An article with its body, as `kn show` prints it."""

    article: Article
    body: str
    whole = True


def is_url(name: str) -> bool:
    """Whether a name given to kn add is a web address (else a file, or - for stdin)."""
    return name[:8].lower().startswith(("http://", "https://"))


def is_utf8(text: str) -> bool:
    """Whether text is UTF-8 (an argument that was not holds lone surrogates)."""
    return not any("\ud800" <= char <= "\udfff" for char in text)
