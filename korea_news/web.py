"""`kn add` from the web (the `korea-news[web]` extra, imported only when needed): saved pages
and URLs through trafilatura, RSS and Atom feeds (files or URLs) through feedparser."""

from __future__ import annotations

import contextlib
import http.client
import importlib.metadata
import json
import re
import shlex
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from functools import partial
from typing import Any

from .model import KnError, is_url
from .structure import is_heading

MAX_BYTES = 20 * 1024 * 1024
MAX_TEXT = 2 * 1024 * 1024  # characters outside scripts and styles: 100 long articles
SEARCHED = 1024 * 1024  # bytes: a smaller page's text is searched for its date, too
# What a browser writes atop a page it saves: <!-- saved from url=(0043)https://... -->
_SAVED_FROM = re.compile(r"<!-- saved from url=\(\d+\)(https?://[^\s>]+?) ?-->", re.IGNORECASE)
# Part of a URL with what HTTP cannot send (spaces, Hangul) percent-encoded, as browsers do.
_encoded = partial(urllib.parse.quote, safe="!#$%&'()*+,/:;=?@[]~")


def normal(url: str) -> str:
    """A URL as compared for "one URL, one article": scheme and host in lower case; no default
    port, fragment, utm_* or trailing slash; the path percent-encoded; other parameters sorted."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:  # no URL that could be fetched (a bad port, an unclosed [): as it is
        return url.strip()
    host = parts.hostname or ""  # in lower case already
    if port and (parts.scheme.lower(), port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    kept = urllib.parse.urlencode(sorted((k, v) for k, v in query if not k.startswith("utm_")))
    path = _encoded(parts.path).rstrip("/")
    return urllib.parse.urlunsplit((parts.scheme.lower(), host, path, kept, ""))


def _library(name: str) -> Any:
    """A module of the web extra; if missing, KnError with a command that installs the extra
    from where kn was installed: the folder pip noted (PEP 610's direct_url.json), else PyPI."""
    with contextlib.suppress(ImportError):
        return __import__(name)
    found = importlib.metadata.distributions(name="korea-news")  # a source tree's egg-info too
    noted = next(filter(None, (d.read_text("direct_url.json") for d in found)), "{}")
    where = ""
    with contextlib.suppress(ValueError, AttributeError):  # no JSON, or no object
        where = json.loads(noted).get("url", "")
    where = urllib.request.url2pathname(where[7:]) if where.startswith("file://") else ""
    target = shlex.quote(f"{where or 'korea-news'}[web]")
    command = f"{shlex.quote(sys.executable)} -m pip install {target}"
    raise KnError(f"web pages and feeds need the web extra: {command}")


def article(page: bytes, url: str | None) -> tuple[dict[str, Any], str]:
    """A page's main text as front-matter fields and body. Its canonical URL counts only on the
    site of `url` (else kept as `canonical`); a saved page takes it, else the URL noted atop."""
    if len(page) > MAX_BYTES:  # a saved page, as a fetched one: extraction would take minutes
        raise KnError(f"a page larger than {MAX_BYTES >> 20} MB: no article")
    trafilatura = _library("trafilatura")
    tree = trafilatura.utils.load_html(page)
    if tree is None:
        raise KnError("no article text could be found in the page")
    scripts = sum(len(element.text or "") for element in tree.iter("script", "style"))
    if len(tree.xpath("string()")) - scripts > MAX_TEXT:  # extraction would take minutes
        raise KnError(f"a page of over {MAX_TEXT >> 20} MB of text: no article")
    claimed = tree.xpath("//link[@rel='canonical'][1]/@href")
    dates = trafilatura.settings.set_date_params(extensive=len(page) <= SEARCHED)
    wanted = {"with_metadata": True, "include_tables": True, "fast": True}
    found = trafilatura.bare_extraction(tree, url=url, date_extraction_params=dates, **wanted)
    if not found or found.body is None:
        raise KnError("no article text could be found in the page")
    title = found.title or ""
    blocks = [block for block in _blocks(found.body) if block]
    while blocks and blocks[0].casefold() == title.casefold():  # the title, repeated
        blocks.pop(0)
    standfirst = " ".join((found.description or "").split())
    if standfirst and standfirst.rstrip(".… ") not in " ".join(" ".join(blocks).split()):
        blocks.insert(0, standfirst)
    if not blocks:
        raise KnError("no article text could be found in the page")
    fields: dict[str, Any] = {"title": title or None, "date": found.date, "source": found.sitename}
    fields["authors"] = [a.strip() for a in (found.author or "").split(";") if a.strip()] or None
    canonical = urllib.parse.urljoin(url or "", claimed[0].strip()) if claimed else found.url
    noted = _SAVED_FROM.search(page[:4096].decode("latin-1"))
    fields["url"] = url or canonical or (noted[1] if noted else None)
    if canonical and (not url or _same_site(canonical, url)):
        fields["url"] = canonical
    elif canonical and normal(canonical) != normal(url or ""):
        fields["canonical"] = canonical
    return {key: value for key, value in fields.items() if value}, "\n\n".join(blocks) + "\n"


def _same_site(one: str, other: str) -> bool:
    """Whether two URLs share a host or a registrable domain (news.bbc.co.uk, www.bbc.co.uk)."""
    from courlan import extract_domain

    hosts = [urllib.parse.urlsplit(url).hostname for url in (one, other)]
    sites = [extract_domain(url) for url in (one, other)]
    return hosts[0] == hosts[1] or (sites[0] is not None and sites[0] == sites[1])


def _blocks(body: Any) -> Iterator[str]:
    """trafilatura's XML as text blocks: paragraphs, headings, `  • item` lines, `| cell |` rows."""
    for element in body:
        if element.tag == "list":  # numbered if ordered; an empty item is left out, but counted
            mark = "{}." if element.get("rend") == "ol" else "•"
            items = (" ".join(_text(item).split()) for item in element.findall("item"))
            yield "\n".join(f"  {mark.format(n)} {item}" for n, item in enumerate(items, 1) if item)
        elif element.tag == "table":
            cells = (row.findall("cell") for row in element.iter("row"))
            rows = [[" ".join(_text(c).split()).replace("|", "\\|") for c in row] for row in cells]
            rows = [row for row in rows if any(row)]
            width = max(map(len, rows), default=0)
            if width * len(rows) > MAX_TEXT:  # one long row and many short: gigabytes, padded
                raise KnError(f"a table of over {MAX_TEXT >> 20} million cells: no article")
            rows = [row + [""] * (width - len(row)) for row in rows]
            sizes = [max(len(row[i]) for row in rows) for i in range(width)]
            if len(rows) * sum(sizes) > MAX_TEXT:  # one long cell in each column, as much
                raise KnError(f"a table of over {MAX_TEXT >> 20} MB once padded: no article")
            yield "\n".join(f"| {' | '.join(map(str.ljust, row, sizes))} |" for row in rows)
        elif element.tag == "head":  # plain if kn reads it as a heading, else marked: ## it
            heading = " ".join(_text(element).split()).rstrip(":：")
            yield heading if is_heading(heading) else f"## {heading}"
        else:
            yield _text(element)


def _text(element: Any) -> str:
    """An element's text, its spaces collapsed, a <lb/> a line break."""
    for child in element.iter("lb"):
        child.tail = "\n" + (child.tail or "")
    lines = "".join(element.itertext()).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, request: Any, *args: Any) -> Any:
        """Only to http and https, at every hop (urllib itself would follow ftp)."""
        new = args[-1]
        if not is_url(new):
            raise KnError(f"redirected to {new}: only http and https are fetched")
        return super().redirect_request(request, *args)


class NotModified(Exception):
    """A feed that has not changed since the validators that were sent (HTTP 304)."""


class _Expired(Exception):
    """The whole fetch took longer than --timeout (raised by the alarm, mid-read)."""


def fetch(url: str, timeout: float, seen: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A page's (or with `seen` validators, sent then updated, a feed's) bytes and final URL within
    `timeout` s; KnError with the reason (the caller names the URL); NotModified if unchanged."""
    try:
        with _deadline(timeout):
            return _get(url, timeout, seen)
    except (_Expired, TimeoutError):  # the whole fetch, or a socket's wait
        raise KnError(f"no answer within {timeout:g} s (--timeout)") from None
    except urllib.error.HTTPError as error:
        if error.code == 304 and seen:
            raise NotModified from None
        raise KnError(f"HTTP {error.code} {' '.join(str(error.reason).split())}") from None
    except urllib.error.URLError as error:
        raise KnError(str(error.reason)) from None
    except (http.client.InvalidURL, ValueError) as error:  # a space in the host, a bad IDNA name
        raise KnError(f"not a URL that can be fetched ({error})") from None
    except http.client.HTTPException as error:  # a bad status line, header or chunk
        raise KnError(f"not a valid HTTP answer ({type(error).__name__}: {error})") from None
    except OSError as error:
        raise KnError(str(error)) from None


def _get(url: str, timeout: float, seen: dict[str, str] | None) -> tuple[bytes, str]:
    from . import __version__

    headers = {"User-Agent": f"kn/{__version__} (korea-news)"}
    for key, header in (("etag", "If-None-Match"), ("modified", "If-Modified-Since")):
        if seen and seen.get(key):
            headers[header] = seen[key]
    parts = urllib.parse.urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    host = host if host.isascii() else host.encode("idna").decode("ascii")  # 북한.kr
    sent = parts._replace(netloc=user + at + host, path=_encoded(parts.path))
    sent = sent._replace(query=_encoded(parts.query), fragment="")
    request = urllib.request.Request(urllib.parse.urlunsplit(sent), headers=headers)
    with urllib.request.build_opener(_Redirects).open(request, timeout=timeout) as response:
        kind = response.headers.get_content_type()
        # A feed as any type (text/plain from a repository's raw files): its parser tells.
        if kind not in ("text/html", "application/xhtml+xml") and seen is None:
            raise KnError(f"not HTML ({kind})")
        data = response.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise KnError(f"larger than {MAX_BYTES // 2**20} MB")
        if response.length:  # the server closed before its Content-Length
            raise KnError(f"cut short: {len(data)} bytes of {len(data) + response.length}")
        for key, name in (("etag", "ETag"), ("modified", "Last-Modified")):
            if seen is not None and name in response.headers:
                seen[key] = response.headers[name]
        return data, response.geturl()


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _Expired after `seconds`, mid-read too (a slow drip outlasts a socket's timeout)."""

    def expire(*_: object) -> None:
        raise _Expired

    try:
        previous = signal.signal(signal.SIGALRM, expire)
    except ValueError:  # not the main thread: the socket's timeout alone
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def entries(feed: str, timeout: float, seen: dict[str, str]) -> Iterator[str]:
    """The page URLs of a feed (an RSS or Atom file, or its URL), oldest first; none if it has
    not changed since it answered `seen` (see fetch); KnError with the reason if unreadable."""
    feedparser = _library("feedparser")
    where = {}  # a fetched feed's links are read relative to its address
    if is_url(feed):
        try:
            data, final = fetch(feed, timeout, seen)
        except NotModified:
            return
        where = {"content-location": final}
    else:
        try:
            with open(feed, "rb") as file:  # at most as much as a URL (not all of /dev/zero)
                if len(data := file.read(MAX_BYTES + 1)) > MAX_BYTES:
                    raise KnError(f"larger than {MAX_BYTES // 2**20} MB")
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
            dated.append((stamp, index, _as_written(entry["link"], data)))
    yield from (link for _, _, link in sorted(dated))


def _as_written(link: str, feed: bytes) -> str:
    """A link as the feed wrote it: feedparser reads file:///etc/passwd as file://etc/passwd."""
    scheme, colon, rest = link.partition("://")
    if is_url(link) or not colon:
        return link
    written = re.escape(f"{scheme}://".encode()) + rb"/*" + re.escape(rest.encode())
    found = re.search(written, feed)
    return found[0].decode("utf-8", "replace") if found else link


def pace(url: str, delay: float, last: dict[str, float]) -> None:
    """Wait till `delay` seconds have passed since the `last` request to the URL's host."""
    host = ""
    with contextlib.suppress(ValueError):  # fetch() says what is wrong with it
        host = urllib.parse.urlsplit(url).hostname or ""
    if host in last:
        time.sleep(max(0.0, last[host] + delay - time.monotonic()))
    last[host] = time.monotonic()
