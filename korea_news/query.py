"""Which articles a command selects: the shared filters (the order is Article.sort_key)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Article, KnError, day_of

PERIOD = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def folded(text: str) -> str:
    """Text as filters compare it: case folded, in NFC (macOS may give 북한 as its jamo)."""
    return unicodedata.normalize("NFC", text.casefold())


def period(text: str, end: bool) -> dt.date:
    """The first (or, with `end`, the last) day of `2017`, `2017-08` or `2017-08-07`."""
    match = PERIOD.fullmatch(text.strip())
    try:
        if not match:
            raise ValueError
        year, month, day = match.groups()
        if end and day is None:  # the last day of the month, or of December
            import calendar

            month = month or "12"
            return dt.date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])
        return dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise KnError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Filter:
    """The shared filters: dates (inclusive), tags (all), source, and KEY=VALUE pairs."""

    since: dt.date | None = None
    until: dt.date | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    where: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_options(cls, params: Mapping[str, Any]) -> Filter:
        """The filters of a command's options: --since, --until, --tag, --source, --where."""
        pairs = []
        for item in params["where"]:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise KnError(f"--where {item!r}: expected KEY=VALUE")
            pairs.append((key.strip(), value.strip()))
        return cls(
            since=period(params["since"], end=False) if params["since"] is not None else None,
            until=period(params["until"], end=True) if params["until"] is not None else None,
            tags=tuple(map(folded, params["tags"])),
            source=folded(params["source"]) if params["source"] is not None else None,
            where=tuple(pairs),
        )

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.tags or self.source is not None or self.where)

    def matches(self, article: Article) -> bool:
        day = day_of(article.date)
        if (self.since and day < self.since) or (self.until and day > self.until):
            return False
        if self.tags and not set(self.tags) <= set(map(folded, article.tags)):
            return False
        if self.source is not None and self.source not in folded(article.source or ""):
            return False
        return all(_has(article, key, value) for key, value in self.where)


def _has(article: Article, key: str, value: str) -> bool:
    """Whether front-matter `key` equals `value` (case-insensitive); a list contains it."""
    fields = article.to_dict()
    have = fields[key] if key in fields.keys() - {"id", "path", "extra"} else article.extra.get(key)
    if have is None:
        return False
    items = have if isinstance(have, list) else [have]
    wanted = folded(value)
    return any(folded(str(item)) == wanted for item in items if not isinstance(item, dict | list))
