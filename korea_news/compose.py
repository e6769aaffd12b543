"""Turn plain text into an article file: its title, its front matter and its ID."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import frontmatter
from .model import Article, Date, InvalidArticle

SLUG_MAX = 60
# An ID is a file name: no separators, nothing hidden, nothing that reads as an option.
VALID_ID = re.compile(r"[^\W_][\w.-]*")


@dataclass(frozen=True, slots=True)
class Draft:
    """An article about to be added: its ID, its fields as read back, and its file text."""

    id: str
    article: Article
    body: str
    text: str


def slug(title: str, limit: int = SLUG_MAX) -> str:
    """ASCII, lower case, words joined by hyphens, cut at a word to at most `limit`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    result = ""
    for word in words:
        longer = f"{result}-{word}" if result else word
        if len(longer) > limit:
            break
        result = longer
    return result or (words[0][:limit] if words else "")


def default_id(date: Date, title: str, body: str) -> str:
    """DATE-slug-of-the-title; a title with no ASCII letters gets a short digest instead."""
    day = date.date() if isinstance(date, dt.datetime) else date
    words = slug(title) or hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:10]
    return f"{day.isoformat()}-{words}"


def split_plain(text: str) -> tuple[str, str]:
    """The first non-empty line as the title, and what follows it as the body, as is."""
    position = 0
    while position <= len(text):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        line = text[position:end].strip()
        if line:
            return line, text[end + 1 :]
        position = end + 1
    return "", ""


def draft(text: str, name: str, options: Mapping[str, Any], today: dt.date | None = None) -> Draft:
    """The article that `kn add` makes of a text and the command's options."""
    fields: dict[str, Any] = {}
    if frontmatter.has_front_matter(text):
        parts = frontmatter.split(text, name)
        fields, _ = frontmatter.load(parts.front_matter, name)
        fields = {str(key): value for key, value in fields.items()}
        body = parts.body
    elif options.get("title"):
        body = text
    else:
        fields["title"], body = split_plain(text)
    given = {
        "title": options.get("title"),
        "date": options.get("date"),
        "source": options.get("source"),
        "url": options.get("url"),
        "authors": list(options.get("authors") or ()) or None,
        "tags": list(options.get("tags") or ()) or None,
    }
    fields.update({key: value for key, value in given.items() if value is not None})
    if not fields.get("title"):
        raise InvalidArticle(name, 1, "no title: the text has no non-empty line")
    fields.setdefault("date", today or dt.date.today())
    date = frontmatter.parse_date(fields["date"])
    if date is None:
        raise InvalidArticle(name, 1, f"date {fields['date']!r} is not a date")
    fields["date"] = date
    ordered = {key: fields[key] for key in frontmatter.FIELDS if fields.get(key) is not None}
    ordered.update((key, value) for key, value in fields.items() if key not in frontmatter.FIELDS)
    article_id = options.get("id") or default_id(date, ordered["title"], body)
    if not VALID_ID.fullmatch(article_id):
        raise InvalidArticle(
            name, 1, f"ID {article_id!r}: use letters, digits, '.', '_' and '-', not first"
        )
    file_text = frontmatter.dump(ordered) + body
    # What is written must read back as exactly what was given.
    article, stored_body = frontmatter.parse(file_text.encode("utf-8"), name, article_id)
    expected = frontmatter.to_article(ordered, {}, name, article_id, article.body_line).to_dict()
    if article.to_dict() != expected or stored_body != body:
        raise InvalidArticle(name, 1, "these fields would not read back as given")
    return Draft(article_id, article, body, file_text)


def read_input(name: str) -> str:
    """The text of an input file (or stdin for -): UTF-8, not empty, not binary."""
    shown = name
    try:
        if name == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(name, "rb") as file:
                data = file.read()
    except IsADirectoryError:
        raise InvalidArticle(shown, 1, "is a folder, not a text file") from None
    except OSError as error:
        raise InvalidArticle(shown, 1, f"cannot read: {error.strerror}") from None
    text = frontmatter.decode(data, shown)
    if not text.strip():
        raise InvalidArticle(shown, 1, "empty: nothing to add")
    return text
