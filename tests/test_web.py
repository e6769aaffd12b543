"""kn add from the web: saved pages, URLs and feeds, served from 127.0.0.1 (no network)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from korea_news import frontmatter

pytest.importorskip("trafilatura")

PAGES = Path(__file__).parent / "web"
NAMES = sorted(path.stem for path in PAGES.glob("*.html"))


class Site(BaseHTTPRequestHandler):
    """The test pages, and every way a fetch can go wrong."""

    seen: ClassVar[list[tuple[str, str, float]]] = []  # path, User-Agent, when

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, kind: str, data: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        Site.seen.append((self.path, self.headers.get("User-Agent", ""), time.monotonic()))
        base = f"http://127.0.0.1:{self.server.server_port}"
        path = self.path.split("?")[0].split("#")[0]
        if path.startswith("/pages/"):
            page = PAGES / path.removeprefix("/pages/")
            if page.exists():
                return self.send(200, "text/html; charset=utf-8", page.read_bytes())
        if path == "/%EA%B8%B0%EC%82%AC/floods":  # /기사/floods, as HTTP sends it
            return self.send(200, "text/html", (PAGES / "floods.html").read_bytes())
        if path == "/redirect":
            return self.send(302, "text/html", b"", Location="/pages/summit.html")
        if path.startswith("/loop"):
            return self.send(302, "text/html", b"", Location=f"/loop{len(path)}")
        if path == "/slow":
            time.sleep(3)
            return self.send(200, "text/html", b"<html></html>")
        if path == "/paper.pdf":
            return self.send(200, "application/pdf", b"%PDF-1.4 ...")
        if path == "/huge":
            return self.send(200, "text/html", b"<html><body>" + b"<p>x</p>" * 3_800_000)
        if path == "/empty":
            return self.send(200, "text/html", b"<!doctype html><html><body></body></html>")
        if path == "/news/relative.rss":  # links relative to the feed's address
            items = "".join(f"<item><link>{link}</link></item>" for link in RELATIVE)
            return self.send(200, "application/rss+xml", rss(items).encode())
        if path in ("/feed.rss", "/feed.atom"):
            kind = "application/rss+xml" if path.endswith("rss") else "application/atom+xml"
            template = (PAGES / f"{path[1:]}.tmpl").read_text(encoding="utf-8")
            return self.send(200, kind, template.replace("{base}", f"{base}/pages").encode())
        return self.send(404, "text/html", b"<html><body>Not found</body></html>")


RELATIVE = ["/pages/storm.html", "../pages/markets.html"]


def rss(items: str) -> str:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )


class Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (the huge page): nothing to say on the tests' stderr


@pytest.fixture(scope="module")
def site():
    server = Server(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def empty(make_archive):
    return make_archive({})


def stored(root: Path) -> list[tuple[dict, str]]:
    """Each article stored, as its front matter and its body."""
    found = []
    for path in sorted(root.rglob("*.txt")):
        parts = frontmatter.split(path.read_text(encoding="utf-8"), str(path))
        found.append((frontmatter.load(parts.front_matter, str(path))[0], parts.body))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_page_becomes_an_article_with_its_metadata_text_and_facts(kn, empty, name):
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    result = kn("add", str(PAGES / f"{name}.html"))
    assert result.exit_code == 0, result.stderr
    [(fields, body)] = stored(empty)
    assert fields["title"] == expected["title"]
    assert str(fields["date"]) == expected["date"]
    assert (fields["source"], fields["url"], fields["authors"]) == (
        expected["source"],
        expected["url"],
        expected["authors"],
    )
    blocks = body.strip("\n").split("\n\n")
    assert blocks[0] == expected["paragraphs"][0]  # the title and byline are not repeated
    for paragraph in expected["paragraphs"]:
        assert paragraph in blocks
    for noise in ("cookie", "Share this", "Read more", "Comments", "All rights reserved", "Home"):
        assert noise not in body
    if expected["heading"]:
        assert f"\n\n{expected['heading']}\n\n" in body
        assert "".join(f"  • {item}\n" for item in expected["items"]) in body
    facts = kn("facts").stdout.splitlines()
    assert [line.split("\t", 1)[1] for line in facts] == [
        f"{expected['heading']}\t{item}" for item in expected["items"]
    ]


def test_a_page_on_stdin_options_win(kn, empty):
    page = (PAGES / "budget.html").read_text(encoding="utf-8")
    result = kn("add", "-", "--title", "My title", "--source", "Mine", "--tag", "uk", input=page)
    assert result.exit_code == 0, result.stderr
    [(fields, _)] = stored(empty)
    assert (fields["title"], fields["source"], fields["tags"]) == ("My title", "Mine", ["uk"])
    assert str(fields["date"]) == "2018-10-29"


def test_a_url_is_fetched_with_kns_user_agent_and_stored_with_its_canonical_url(kn, empty, site):
    from korea_news import __version__

    result = kn("add", f"{site}/redirect")
    assert result.exit_code == 0, result.stderr
    [(fields, _)] = stored(empty)
    assert fields["url"] == "https://asiawire.example.net/2018/06/12/singapore-summit"
    assert fields["fetched"].endswith("+00:00")
    assert any(agent == f"kn/{__version__} (korea-news)" for _, agent, _ in Site.seen)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "HTTP 404 Not Found"),
        ("/paper.pdf", "not HTML (application/pdf)"),
        ("/huge", "larger than 20 MB"),
        ("/loop", "redirect"),
        ("/slow", "no answer within 1 s"),
        ("/empty", "no article text could be found"),
    ],
)
def test_a_url_that_fails_is_one_line_and_the_others_are_still_added(kn, empty, site, path, reason):
    result = kn("add", f"{site}{path}", str(PAGES / "floods.html"), "--timeout", "1")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"kn: {site}{path}: ") and reason in line, line
    assert line.count(f"{site}{path}:") == 1, line
    assert [fields["title"] for fields, _ in stored(empty)] == [
        "Thousands evacuated as floods hit river towns"
    ]


@pytest.mark.parametrize("url", ["http://[::1", "http://exa mple.com/", "http://a..b/"])
def test_a_url_that_cannot_be_fetched_is_named_in_one_line(kn, empty, url):
    result = kn("add", url)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"kn: {url}: not a URL that can be fetched ("), line


def test_a_url_as_typed_in_a_browser_is_sent_percent_encoded(kn, empty, site):
    Site.seen.clear()
    result = kn("add", f"{site}/기사/floods")
    assert result.exit_code == 0, result.stderr
    assert [path for path, _, _ in Site.seen] == ["/%EA%B8%B0%EC%82%AC/floods"]
    assert [fields["title"] for fields, _ in stored(empty)] == [
        "Thousands evacuated as floods hit river towns"
    ]


def test_a_refused_connection_names_the_url(kn, empty):
    result = kn("add", "http://127.0.0.1:9/nothing")
    assert result.exit_code == 2 and result.stderr.startswith("kn: http://127.0.0.1:9/nothing: ")


@pytest.mark.parametrize("feed", ["feed.rss", "feed.atom"])
def test_a_feed_adds_its_pages_oldest_first_and_only_once(kn, empty, site, feed):
    first = kn("add", "--feed", f"{site}/{feed}", "--delay", "0")
    assert first.exit_code == 0, first.stderr
    dates = [line.split("/")[-1][:10] for line in first.stdout.splitlines()]
    assert len(dates) >= 2 and dates == sorted(dates)
    before = stored(empty)
    again = kn("add", "--feed", f"{site}/{feed}", "--delay", "0")  # as cron would, an hour on
    assert (again.exit_code, again.stdout) == (0, "")
    assert "already archived as" in again.stderr
    assert stored(empty) == before


def test_a_saved_feed_file_works_too(kn, empty, site, tmp_path):
    feed = tmp_path / "feed.xml"
    text = (PAGES / "feed.rss.tmpl").read_text(encoding="utf-8")
    feed.write_text(text.replace("{base}", f"{site}/pages"), encoding="utf-8")
    assert kn("add", "--feed", str(feed), "--delay", "0").exit_code == 0
    assert len(stored(empty)) == 3


def test_a_fetched_feeds_relative_links_are_read_from_its_address(kn, empty, site):
    result = kn("add", "--feed", f"{site}/news/relative.rss", "--delay", "0")
    assert result.exit_code == 0, result.stderr
    assert sorted(fields["url"] for fields, _ in stored(empty)) == [
        "https://marketwatcher.example.com/markets/stocks-tumble",
        "https://weatherdesk.example.org/storms/typhoon-landfall",
    ]


def test_a_feeds_links_are_fetched_never_read_as_files(kn, empty, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret notes\n\nNot for the archive.\n", encoding="utf-8")
    links = [str(secret), f"file://{secret}", "secret.txt", "javascript:alert(1)"]
    feed = tmp_path / "feed.rss"
    feed.write_text(rss("".join(f"<item><link>{link}</link></item>" for link in links)))
    result = kn("add", "--feed", str(feed))
    assert result.exit_code == 2
    assert stored(empty) == []
    why = "a feed's link that is no http or https address: left out"
    lines = result.stderr.splitlines()
    assert len(lines) == len(links) and all(line.endswith(f": {why}") for line in lines)
    assert lines[0] == f"kn: {secret}: {why}"


@pytest.mark.parametrize("feed", ["/dev/null", str(PAGES / "floods.html")])
def test_a_feed_that_is_no_feed_is_one_line(kn, empty, feed):
    result = kn("add", "--feed", feed)
    assert (result.exit_code, result.stderr) == (2, f"kn: {feed}: not an RSS or Atom feed\n")


def test_one_url_one_article_whatever_its_spelling(kn, empty, site):
    assert kn("add", str(PAGES / "sanctions.html")).exit_code == 0
    before = stored(empty)
    for url in (
        "https://news.example.com/world/2017/08/05/un-sanctions/",
        "HTTPS://NEWS.EXAMPLE.COM:443/world/2017/08/05/un-sanctions#top",
        "https://news.example.com/world/2017/08/05/un-sanctions?utm_source=x&utm_medium=y",
    ):
        result = kn("add", url)
        assert (
            result.exit_code == 0 and "already archived as 2017-08-05-un-imposes" in result.stderr
        )
    assert kn("add", f"{site}/pages/sanctions.html?utm_campaign=z").exit_code == 0  # canonical
    assert stored(empty) == before


def test_a_url_is_the_same_typed_or_percent_encoded():
    from korea_news import web

    typed, sent = (
        "http://news.example.kr/기사/1 a?q=북한",
        "http://news.example.kr/%EA%B8%B0%EC%82%AC/1%20a?q=%EB%B6%81%ED%95%9C",
    )
    assert web.normal(typed) == web.normal(sent) != web.normal("http://news.example.kr/기사/2")
    assert web.normal("http://[::1") == "http://[::1"  # no URL: compared as it is


def test_requests_to_one_host_wait_the_delay(kn, empty, site):
    Site.seen.clear()
    kn("add", f"{site}/pages/markets.html", f"{site}/pages/storm.html", "--delay", "0.5")
    times = [when for path, _, when in Site.seen if path.startswith("/pages/")]
    assert len(times) == 2 and times[1] - times[0] >= 0.45


def test_without_the_extra_a_page_says_how_to_install_it(kn, empty, monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    result = kn("add", str(PAGES / "budget.html"))
    assert result.exit_code == 2
    assert "pip install 'korea-news[web]'" in result.stderr and result.stderr.count("\n") == 1
    assert stored(empty) == []


def test_a_feed_shows_progress_and_confirmations_on_a_terminal(empty, site, tmp_path, process_env):
    from conftest import in_terminal

    screen = in_terminal(
        ["add", "--feed", f"{site}/feed.rss", "--delay", "0.3"], tmp_path, process_env
    )
    assert "adding pages: " in screen
    assert screen.count("Added ") == 3


def test_a_saved_page_in_latin_1_is_read_by_its_charset(kn, empty, tmp_path):
    page = (PAGES / "budget.html").read_text(encoding="utf-8").replace("©", "(c)")
    page = page.replace("<head>", '<head><meta charset="iso-8859-1">', 1)
    (tmp_path / "latin.html").write_bytes(page.encode("latin-1"))
    result = kn("add", str(tmp_path / "latin.html"))
    assert result.exit_code == 0, result.stderr
    [(_, body)] = stored(empty)
    assert "  • An extra £20bn a year for the health service by 2023\n" in body


SAVED_FROM = "<!-- saved from url=(0043)https://example.com/news/2017/story.html -->\n"


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("saved.txt", lambda page: SAVED_FROM + page),  # as browsers save pages
        ("bom.txt", lambda page: "\ufeff" + SAVED_FROM + page),
        ("xhtml.txt", lambda page: '<?xml version="1.0" encoding="utf-8"?>\n' + page),
        ("no-doctype.txt", lambda page: page.split("\n", 1)[1]),
        ("head-first.txt", lambda page: page.split("\n", 1)[1].split(">", 1)[1]),
        ("fragment.htm", lambda page: page.split("<body", 1)[1].split(">", 1)[1]),
    ],
)
def test_a_saved_page_is_known_by_how_it_starts_or_by_its_name(kn, empty, tmp_path, name, change):
    expected = json.loads((PAGES / "floods.json").read_text(encoding="utf-8"))
    page = change((PAGES / "floods.html").read_text(encoding="utf-8"))
    (tmp_path / name).write_text(page, encoding="utf-8")
    result = kn("add", str(tmp_path / name))
    assert result.exit_code == 0, result.stderr
    [(fields, body)] = stored(empty)
    assert "<" not in body
    assert body.startswith(expected["paragraphs"][0])
    if "<head>" in page:
        assert fields["title"] == expected["title"]


def test_a_saved_page_with_no_canonical_url_takes_the_one_its_browser_noted(kn, empty, tmp_path):
    page = (PAGES / "floods.html").read_text(encoding="utf-8")
    start, end = page.index('<link rel="canonical"'), page.index(">", page.index("canonical"))
    page = page[:start] + page[end + 1 :]
    doctype, rest = page.split("\n", 1)
    (tmp_path / "saved.html").write_text(f"{doctype}\n{SAVED_FROM}{rest}", encoding="utf-8")
    (tmp_path / "local.html").write_text(
        f"{doctype}\n<!-- saved from url=(0014)about:internet -->\n{rest}", encoding="utf-8"
    )
    assert kn("add", str(tmp_path / "saved.html")).exit_code == 0
    [(fields, _)] = stored(empty)
    assert fields["url"] == "https://example.com/news/2017/story.html"
    again = kn("add", str(tmp_path / "saved.html"))
    assert (again.exit_code, len(stored(empty))) == (0, 1)
    assert "already archived as" in again.stderr
    local = kn("add", str(tmp_path / "local.html"), "--id", "local")  # a file: no address
    assert local.exit_code == 0, local.stderr  # but the same text, whatever its metadata
    assert "already in the archive as" in local.stderr and len(stored(empty)) == 1


def test_a_page_with_no_date_is_dated_today(kn, empty, tmp_path):
    page = "<html><head><title>Undated</title></head><body><p>Text of a page.</p></body></html>"
    (tmp_path / "undated.html").write_text(page, encoding="utf-8")
    result = kn("add", str(tmp_path / "undated.html"))
    assert result.exit_code == 0, result.stderr
    [(fields, _)] = stored(empty)
    assert str(fields["date"]) == dt.date.today().isoformat()
