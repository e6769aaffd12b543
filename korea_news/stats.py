"""kn stats: how many articles fall in each bucket of time, source, tag or author (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice

from .model import Article, Bucket, KnError, day_of

TIMES = ("year", "month", "week", "day")
BY = (*TIMES, "source", "tag", "author")
NONE = "(none)"  # the bucket of the articles with no source, tags or authors
MOST = 100_000  # time buckets at most: articles from year 1 to 9999, by day, would be 3.6 M


def counts(
    articles: Iterable[Article], by: str, since: dt.date | None, until: dt.date | None
) -> tuple[list[Bucket], int, tuple[str, str]]:
    """The buckets in order with their counts, the articles counted, first and last day."""
    found: Counter[str] = Counter()
    days: list[dt.date] = []
    for article in articles:
        day = day_of(article.date)
        days.append(day)
        if by in TIMES:
            found[_label(day, by)] += 1
            continue
        values = {"source": [article.source or ""], "tag": article.tags, "author": article.authors}
        found.update({value for value in values[by] if value} or {NONE})  # each once
    if not days:
        return [], 0, ("", "")
    first, last = min(days), max(days)
    start, end = since or first, until or last  # time buckets: over --since and --until too
    if by not in TIMES:  # biggest first, then by name
        labels = sorted(found, key=lambda name: (-found[name], name))
    elif len(labels := list(islice(_labels(start, end, by), MOST + 1))) > MOST:
        message = "narrow it with --since and --until, or use a coarser --by"
        raise KnError(f"stats: over {MOST:,} buckets by {by} from {start} to {end}: {message}")
    return [Bucket(name, found[name]) for name in labels], len(days), (str(first), str(last))


def _label(day: dt.date, by: str) -> str:
    if by == "week":
        return "{:04}-W{:02}".format(*day.isocalendar())  # its ISO year and week
    return {"year": f"{day.year:04}", "month": f"{day.year:04}-{day.month:02}"}.get(by, str(day))


def _labels(first: dt.date, last: dt.date, by: str) -> Iterator[str]:
    """Every bucket's label from the first day's to the last's, in order."""
    if by == "year":
        yield from (f"{year:04}" for year in range(first.year, last.year + 1))
    elif by == "month":
        for index in range((last.year - first.year) * 12 + last.month - first.month + 1):
            year, month = divmod(first.month - 1 + index, 12)
            yield f"{first.year + year:04}-{month + 1:02}"
    else:
        step = 7 if by == "week" else 1
        start = first - dt.timedelta(days=first.weekday()) if by == "week" else first
        for index in range((last - start).days // step + 1):
            yield _label(start + dt.timedelta(days=index * step), by)
