"""`kn add` from the web: saved pages, URLs and news feeds (the `korea-news[web]` extra).

Imported only when an input is HTML, a URL or a feed: the core install never pays for it.
trafilatura extracts a page's main text and metadata; feedparser reads RSS and Atom (it
parses a feed from bytes, a saved file as well as a fetched one, where trafilatura's feed
reader fetches by itself). The page's text becomes an ordinary article: paragraphs
between blank lines, headings on lines of their own, list items as `  • item` lines.
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from .model import KnError, is_url

MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
INSTALL = "pip install 'korea-news[web]'"


def normal(url: str) -> str:
    """A URL as compared for "one URL, one article": scheme and host in lower case, no
    default port, fragment, utm_* parameter or trailing slash, the path percent-encoded
    (as typed, 기사, or as sent, %EA%B8%B0%EC%82%AC)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:  # no URL that could be fetched (a bad port, an unclosed [): as it is
        return url.strip()
    host = (parts.hostname or "").lower()
    if port and (parts.scheme.lower(), port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if not k.startswith("utm_")]
    path = _encoded(parts.path).rstrip("/")
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), host, path, urllib.parse.urlencode(query), "")
    )


def _encoded(text: str) -> str:
    """Part of a URL with what HTTP cannot send (spaces, Hangul) percent-encoded as UTF-8,
    as a browser sends it; its delimiters and the escapes it has already are kept."""
    return urllib.parse.quote(text, safe="!#$%&'()*+,/:;=?@[]~")


def _library(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        raise KnError(f"web pages and feeds need the web extra: {INSTALL}") from None


def article(page: bytes | str, url: str | None = None) -> tuple[dict[str, Any], str]:
    """The front-matter fields and the body of a page's main text; `url` is where it was
    fetched, and a saved page's is the one its browser noted, if any (see saved_from)."""
    trafilatura = _library("trafilatura")
    url = url or saved_from(page)
    found = trafilatura.bare_extraction(page, url=url, with_metadata=True, include_tables=False)
    if found is None or found.body is None:
        raise KnError("no article text could be found in the page")
    blocks = []
    for element in found.body:
        if element.tag == "list":
            items = (" ".join("".join(item.itertext()).split()) for item in element.iter("item"))
            blocks.append("\n".join(f"  • {item}" for item in items if item))
        else:
            blocks.append(" ".join("".join(element.itertext()).split()))
    title = found.title or ""
    while blocks and blocks[0].casefold() in (title.casefold(), ""):  # the title, repeated
        blocks.pop(0)
    body = "\n\n".join(block for block in blocks if block)
    if not body:
        raise KnError("no article text could be found in the page")
    fields: dict[str, Any] = {"title": title or None, "date": found.date, "source": found.sitename}
    fields["authors"] = [a.strip() for a in (found.author or "").split(";") if a.strip()] or None
    fields["url"] = found.url or url
    return {key: value for key, value in fields.items() if value}, body + "\n"


# What a browser writes atop a page it saves: <!-- saved from url=(0043)https://... -->
_SAVED_FROM = re.compile(r"<!-- saved from url=\(\d+\)(https?://[^\s>]+?) ?-->", re.IGNORECASE)


def saved_from(page: bytes | str) -> str | None:
    """The web address a saved page was saved from, as its browser noted it; None if none
    (or not http: a browser notes a local file as about:internet)."""
    start = page[:4096].decode("latin-1") if isinstance(page, bytes) else page[:4096]
    found = _SAVED_FROM.search(start)
    return found[1] if found else None


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS


def fetch(url: str, timeout: float, feed: bool = False) -> tuple[bytes, str]:
    """A page's (or, with `feed`, a feed's) bytes and its final URL; KnError with the
    reason if it cannot be had (the caller names the URL)."""
    from . import __version__

    agent = {"User-Agent": f"kn/{__version__} (korea-news)"}
    opener = urllib.request.build_opener(_Redirects)
    try:
        parts = urllib.parse.urlsplit(url)
        sent = parts._replace(path=_encoded(parts.path), query=_encoded(parts.query), fragment="")
        request = urllib.request.Request(urllib.parse.urlunsplit(sent), headers=agent)
        with opener.open(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            if kind not in ("text/html", "application/xhtml+xml") and not (feed and "xml" in kind):
                raise KnError(f"not HTML ({kind})")
            data = response.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise KnError(f"larger than {MAX_BYTES // 2**20} MB")
            return data, response.geturl()
    except urllib.error.HTTPError as error:
        raise KnError(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise KnError(str(error.reason)) from None
    except TimeoutError:
        raise KnError(f"no answer within {timeout:g} s (--timeout)") from None
    except OSError as error:
        raise KnError(str(error)) from None
    except (ValueError, http.client.InvalidURL) as error:  # a space in the host, an unclosed [
        raise KnError(f"not a URL that can be fetched ({error})") from None


def entries(feed: str, timeout: float) -> Iterator[str]:
    """The page URLs of a feed (an RSS or Atom file, or its URL), oldest first; KnError
    with the reason if it cannot be read (the caller names the feed)."""
    feedparser = _library("feedparser")
    where = {}  # a fetched feed's links are read relative to its address
    if is_url(feed):
        data, final = fetch(feed, timeout, feed=True)
        where = {"content-location": final}
    else:
        try:
            with open(feed, "rb") as file:
                data = file.read()
        except OSError as error:
            raise KnError(f"cannot read: {error.strerror}") from None
    parsed = feedparser.parse(data, response_headers=where)
    if not parsed.entries and not parsed.get("version"):  # no RSS or Atom at all
        raise KnError("not an RSS or Atom feed")
    dated = []
    for index, entry in enumerate(parsed.entries):
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        stamp = time.mktime(when) if when else float(index)
        if entry.get("link"):
            dated.append((stamp, index, entry["link"]))
    yield from (link for _, _, link in sorted(dated))


class Pacer:
    """Waits `delay` seconds between two requests to the same host."""

    def __init__(self, delay: float) -> None:
        self.delay, self.last = delay, dict[str, float]()

    def wait(self, url: str) -> None:
        try:
            host = urllib.parse.urlsplit(url).hostname or ""
        except ValueError:  # fetch() says what is wrong with it
            host = ""
        if host in self.last:
            time.sleep(max(0.0, self.last[host] + self.delay - time.monotonic()))
        self.last[host] = time.monotonic()


def now() -> str:
    """The time of fetching, ISO 8601 in UTC."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
