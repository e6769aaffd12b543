"""Turn plain text into an article file: its title, its front matter and its ID."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import frontmatter, kept, write
from .duplicates import digest
from .model import Article, Date, Draft, InvalidArticle, KnError, day_of, is_url
from .structure import SENTENCE_END

if TYPE_CHECKING:
    from .archive import Archive
    from .store import Store

SLUG_MAX = 60  # characters of a title's slug, cut at a word
SLUG_BYTES = 200  # and bytes: with the date, a suffix and .txt, a file name within 255
NAME_BYTES = 255  # the longest file name of most file systems


def slug(title: str) -> str:
    """Lower-case words joined by hyphens, cut at a word (SLUG_MAX); ç as c, 북한 kept, NFC."""
    words = _words(title)
    result = ""
    for word in words:
        longer = f"{result}-{word}" if result else word
        if len(longer) > SLUG_MAX or len(longer.encode()) > SLUG_BYTES:
            break
        result = longer
    if not result and words:  # one word longer than the limit: cut inside it
        result = words[0][:SLUG_MAX].encode()[:SLUG_BYTES].decode(errors="ignore")
    return result


def _words(title: str) -> list[str]:
    # Runs of letters, digits and their marks; a character with a Latin form (é, ﬁ, Ａ) is
    # written so, and a mark after it goes with it.
    words, word, folded = [], "", False
    for char in unicodedata.normalize("NFC", title):
        kind = unicodedata.category(char)[0]
        if kind == "M":
            word += "" if folded or not word else char
        elif kind in "LN":
            latin = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            latin = "".join(c for c in latin.lower() if c.isalnum())
            folded = bool(latin)
            word += latin or char.lower()
        elif word:
            words.append(unicodedata.normalize("NFC", word))
            word = ""
    return [*words, unicodedata.normalize("NFC", word)] if word else words


def is_slug(text: str) -> bool:
    """Whether text is a slug (as slug() makes them, so in NFC) short enough to be a file name."""
    return len(f"{text}.txt".encode()) <= NAME_BYTES and all(
        word and _words(word) == [word] for word in text.split("-")
    )


def default_id(date: Date, title: str, body: str) -> str:
    """DATE-slug-of-the-title; a title with no letter or digit gets a short digest instead."""
    words = slug(title) or hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:10]
    return f"{day_of(date).isoformat()}-{words}"


TITLE_MAX = 200  # a first line longer than this is a paragraph, not a title
MAX_INPUT = 1 << 28  # bytes: more than any article (yes | kn add - would never end)


def split_plain(text: str, name: str, title_from: str | None = None) -> tuple[str, str]:
    """A plain text's title and body: its first non-empty line (if a title) and the rest."""
    first, _, body = text.lstrip().partition("\n")
    line = first.strip()
    if title_from == "first-sentence":
        sentence = SENTENCE_END.split(line, 1)[0]
        if len(sentence) > TITLE_MAX:  # cut at a word, with an ellipsis
            sentence = sentence[: TITLE_MAX - 1].rsplit(" ", 1)[0] + "…"
        return sentence, text
    if len(line) > TITLE_MAX or SENTENCE_END.search(line):
        why = f"{len(line)} characters" if len(line) > TITLE_MAX else "several sentences"
        hint = "give --title, or --title-from first-sentence"
        raise InvalidArticle(name, 1, f"the first line is no title ({why}): {hint}")
    if not body.strip():
        raise InvalidArticle(name, 1, "only a title, no body: give --title to keep it as the body")
    return line, body


_NOT_EMPTY = ("title", "source", "url", "author", "tag", "id")  # options that hold a value


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse, naming the option, text that is not UTF-8, an empty field or a bad date."""
    for key, values in options.items():
        option = {"authors": "author", "tags": "tag", "feeds": "feed"}.get(key, key)
        for value in values if isinstance(values, tuple) else (values,):
            if isinstance(value, str) and any("\udc80" <= c <= "\udcff" for c in value):
                shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise KnError(f"--{option} {shown}: not UTF-8 text (a character cut in half?)")
            if isinstance(value, str) and not value.strip() and option in _NOT_EMPTY:
                raise KnError(f"--{option}: empty: give one, or leave --{option} out")
    if (chosen := options.get("id")) and not is_slug(unicodedata.normalize("NFC", chosen)):
        hint = f" (such as {slug(chosen)})" if slug(chosen) else ""
        rule = "lower-case letters and digits, of any script, words joined by single hyphens"
        raise KnError(f"--id {chosen}: not a slug: {rule}, at most {NAME_BYTES - 4} bytes{hint}")
    if (date := options.get("date")) is not None and frontmatter.parse_date(date) is None:
        raise KnError(f"--date {date}: not a date (YYYY-MM-DD, or an ISO 8601 date-time)")


def draft(
    text: str, name: str, options: Mapping[str, Any], fields: dict[str, Any] | None = None
) -> Draft:
    """The article that `kn add` makes of a text (or of `fields` and a body) and its options."""
    if fields is not None:
        body = text
    elif frontmatter.has_front_matter(text.lstrip()):  # after blank lines: refused, no title ---
        parts = frontmatter.split(text, name)
        fields, body = frontmatter.load(parts.front_matter, name)[0], parts.body
    elif options.get("title"):
        fields, body = {}, text
    else:
        title, body = split_plain(text, name, options.get("title_from"))
        fields = {"title": title}
    if not body.strip():  # as kn check would report it
        raise InvalidArticle(name, 1, "an empty body: nothing to add")
    given = {key: options.get(key) for key in ("title", "date", "source", "url")}
    given |= {key: list(options.get(key) or ()) or None for key in ("authors", "tags")}
    fields = {str(key): value for key, value in fields.items()}
    fields.update({key: value for key, value in given.items() if value is not None})
    if not fields.get("title"):
        raise InvalidArticle(name, 1, "no title: give --title")
    fields.setdefault("date", dt.date.today())
    date = frontmatter.parse_date(fields["date"])
    if date is None:
        raise InvalidArticle(name, 1, f"date {fields['date']!r} is not a date")
    fields["date"] = date
    ordered = {key: fields[key] for key in frontmatter.FIELDS if fields.get(key) is not None}
    ordered.update((key, value) for key, value in fields.items() if key not in frontmatter.FIELDS)
    chosen = unicodedata.normalize("NFC", options.get("id") or "")
    article_id = chosen or default_id(date, str(ordered["title"]), body)  # a list: refused below
    file_text = frontmatter.dump(ordered) + body
    # What is written must read back as exactly what was given.
    article, stored_body = frontmatter.parse(file_text.encode("utf-8"), name, article_id)
    expected = frontmatter.to_article(ordered, {}, name, article_id, article.body_line).to_dict()
    if article.to_dict() != expected or stored_body != body:
        raise InvalidArticle(name, 1, "these fields would not read back as given")
    return Draft(article_id, article, body, file_text)


def read_input(name: str) -> str | bytes:
    """An input's UTF-8 text (- for stdin), or an HTML page's bytes (whatever its charset)."""
    try:
        with contextlib.nullcontext(sys.stdin.buffer) if name == "-" else open(name, "rb") as file:
            data = file.read(1 << 16)  # a binary file (/dev/zero) is told by its start
            if len(data) == 1 << 16 and b"\0" not in data:
                data += file.read(MAX_INPUT + 1 - len(data))
    except IsADirectoryError:
        raise KnError("is a folder, not a text file") from None
    except OSError as error:
        if "://" in name and isinstance(error, FileNotFoundError):  # ftp://, file://
            raise KnError("not a file, nor an http or https address") from None
        raise InvalidArticle(name, 1, f"cannot read: {error.strerror}") from None
    if len(data) > MAX_INPUT:
        raise InvalidArticle(name, 1, f"larger than {MAX_INPUT >> 20} MB: no article")
    if is_html(name, data):  # extracted by web.article, which refuses a page too large
        return data
    text = frontmatter.decode(data, name)
    if not text.strip():
        raise InvalidArticle(name, 1, "empty: nothing to add")
    return text


def note(name: str, made: Draft | None, path: str, done: str, talk: int) -> str | None:
    """What `kn add` says of an input already archived: by `talk`, -1 (-q) to 1 (-v)."""
    if talk < 0 or (done in ("skipped", "left out again") and talk < 1):
        return None
    if done.startswith("left out"):
        return f"{name}: a feed's link that is no http or https address: left out"
    if made is None:
        return f"{name}: already archived as {path}; nothing changed"
    differs = "; the metadata given differs, and the stored article is kept" * (done != "same")
    return f"{name}: already in the archive as {made.id} ({path}){differs}; nothing changed"


def is_html(name: str, data: bytes) -> bool:
    """Whether an input is an HTML page: by its name, or a start such as <!doctype html>."""
    start = data[:4096].removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    return name.lower().endswith((".html", ".htm", ".xhtml")) or bool(_HTML_START.match(start))


# A comment's text cannot hold `-->`: each comment is matched one way only, never
# backtracked through (a text that is not HTML is refused at once).
_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--(?:[^-]|-(?!->))*-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE,
)


class Adder:
    """Adds inputs to an archive with `kn add`'s options: files, stdin, pages and URLs."""

    def __init__(
        self,
        archive: Archive,
        options: Mapping[str, Any],
        progress: Callable[[int, bool], None] | None = None,
    ) -> None:
        check_options(options)  # once, before any input
        self.archive, self.options, self.dry_run = archive, options, options["dry_run"]
        self.talk = options["verbose"] - options["quiet"]  # -q: errors only; -v: more notes
        self.synced: Store | None = None
        self.urls: dict[str, str] | None = None
        self.added: dict[str, list[Article]] = {}  # this call's articles, by body digest
        self.last: dict[str, float] = {}  # when each host was last asked for a page
        self.progress, self.fetched = progress or (lambda count, done: None), 0
        self.seen = kept.state(archive.root)  # what the web told the last runs
        self.answered: dict[str, dict[str, str]] = {}  # what the feeds told this one

    def done(self, failed: bool) -> None:
        """End the progress line; keep what the feeds answered, unless an input `failed`."""
        if self.fetched:
            self.progress(self.fetched, True)
        self.seen["feeds"].update({} if failed else self.answered)
        if not self.dry_run and self.seen != kept.state(self.archive.root):
            try:
                kept.save_state(self.archive.root, self.seen)
            except OSError as error:
                raise KnError(f"{kept.folder(self.archive.root)}: cannot write: {error}") from None

    def again(self, name: str) -> list[str]:
        """Extract an article's kept page anew (its fields kept): the lines of the diff."""
        from . import curate, web

        entry = self.archive.find(name)
        raw = self.archive.read_bytes(entry)
        old = frontmatter.decode(raw, entry.path)  # as every reader: no BOM, UTF-8 only
        stored = frontmatter.load(frontmatter.split(old, entry.path).front_matter, entry.path)[0]
        page = kept.page(self.archive.root, entry.id)
        try:
            fields, body = web.article(page, stored.get("url") if "fetched" in stored else None)
        except KnError as error:
            raise KnError(f"{entry.id}: {error}") from None
        made = draft(body, entry.path, {"id": entry.id}, {**fields, **stored})
        texts = (old.split("\n"), made.text.split("\n"))
        diff = list(difflib.unified_diff(*texts, entry.path, entry.path, lineterm=""))
        if diff and not self.dry_run:
            curate.replace(self.archive, entry, made.text.encode("utf-8"), raw)
        return diff

    def add(self, name: str, linked: bool = False) -> tuple[Draft | None, str, str]:
        """(draft or None, path or ID, done: "added", "new", "same", "same text", "skipped"...)."""
        try:
            if linked and not is_url(name):  # told once (-v: every run), no error: feeds keep it
                told = name in self.seen["links"]  # (kept there with no ID)
                return None, self.seen["links"].setdefault(name, ""), "left out" + " again" * told
            if linked and (known := self._known(name)) is not None:
                return None, known, "skipped"
            return self._add(name)
        except InvalidArticle:
            raise  # it names the input already
        except KnError as error:
            raise KnError(f"{name}: {error}") from None

    def _add(self, name: str) -> tuple[Draft | None, str, str]:
        page, fields = None, None
        if is_url(name):
            from . import web

            if (known := self._known(name)) is not None:
                return None, known, "same"
            web.pace(name, self.options["delay"], self.last)
            self.fetched += 1
            self.progress(self.fetched, False)
            page, final = web.fetch(name, self.options["timeout"])
            fields, text = web.article(page, final)
            if web.normal(name) != web.normal(fields["url"]):
                fields["link"] = name  # the URL asked for, where it led elsewhere
            fields["fetched"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            if known := self._known(final, fields.get("url")):
                self.seen["links"][web.normal(name)] = known  # not fetched again
                return None, known, "same"
        else:
            data = read_input(name)
            if isinstance(data, bytes):  # a saved page
                from . import web

                page, (fields, text) = data, web.article(data, None)
                if known := self._known(fields.get("url")):
                    return None, known, "same"
            else:
                text = data
        made = draft(text, name, self.options, fields)
        body = digest(made.body)
        with write.folder(self.archive.root, "", self.archive.shown_root, make=False):
            if (same := self._same(made, body)) is not None:  # one kn adds at a time: a text
                return same  # that another has just added is told as the same text too
            made, path = self.archive.add(made, self.dry_run, chosen=bool(self.options.get("id")))
        self.added.setdefault(body, []).append(replace(made.article, path=path))
        if self.urls is not None and made.article.url:  # one URL, one article: this one too
            from . import web

            self.urls[web.normal(made.article.url)] = made.id
        done = "new" if self.dry_run else "added"
        if page is not None and done == "added":
            try:
                kept.keep_page(self.archive.root, made.id, page)
            except (OSError, KnError) as error:  # a file where its folder should be
                raise KnError(f"added as {path}, but its page was not kept: {error}") from None
        return made, path, done

    def _same(self, made: Draft, body: str) -> tuple[Draft, str, str] | None:
        """The article with this title and body already (duplicates.digest), whatever else."""
        title = digest(made.article.title)
        for article in (*self.added.get(body, ()), *self._store().same_body(body)):
            if digest(article.title) == title:
                given = {**made.article.to_dict(), "id": article.id, "path": article.path}
                done = "same" if given == article.to_dict() else "same text"
                return replace(made, id=article.id, article=article), article.path, done
        return None

    def _store(self) -> Store:
        if self.synced is None:  # quietly: other files' problems are not add's to tell
            from .store import Store

            self.synced = Store(self.archive, persistent=self.archive.use_cache)
            self.synced.sync(tell=False)
        return self.synced

    def feed(self, feed: str) -> list[str]:
        """A feed's page URLs, oldest first; none if it has not changed since the last run."""
        from . import web

        last = self.seen["feeds"].get(web.normal(feed))
        last = last if isinstance(last, dict) else {}
        answered = {k: v for k, v in last.items() if isinstance(v, str)}
        try:
            links = list(web.entries(feed, self.options["timeout"], answered))
        except KnError as error:
            raise KnError(f"{feed}: {error}") from None
        if answered and is_url(feed):
            self.answered[web.normal(feed)] = answered
        return links

    def _known(self, *urls: str | None) -> str | None:
        """The ID of the article whose url is one of these, compared normalised."""
        from . import web

        if self.urls is None:  # newest first: of two articles with one URL, the oldest
            self.urls = dict(self.seen["links"])
            for a in self._store().articles():
                for url in (a.url, a.extra.get("link")):
                    if isinstance(url, str):
                        self.urls[web.normal(url)] = a.id
        normal = (web.normal(url) for url in urls if url)
        return next((self.urls[url] for url in normal if url in self.urls), None)
