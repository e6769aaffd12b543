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
    asked: ClassVar[list[dict[str, str]]] = []  # the headers of each request

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
        Site.asked.append(dict(self.headers))
        base = f"http://127.0.0.1:{self.server.server_port}"
        path = self.path.split("?")[0].split("#")[0]
        if path == "/to-ftp":
            return self.send(302, "text/html", b"", Location="ftp://127.0.0.1:9/page.html")
        if path == "/story":  # ?12345 and ?67890: two stories
            title = f"Story {self.path.split('?')[1]}"
            page = f"<html><head><title>{title}</title></head><body><p>Text of {title}.</p>"
            return self.send(200, "text/html", page.encode())
        if path == "/same-domain":  # a canonical URL on www.asiawire.co.uk
            page = (PAGES / "storm.html").read_text(encoding="utf-8")
            page = page.replace("https://weatherdesk.example.org", "https://www.asiawire.co.uk")
            return self.send(200, "text/html", page.encode())
        if path in ("/claims-another", "/same-site"):  # a canonical URL of its own choosing
            # (two texts: one text is one article, whatever its URL)
            claim, name, own = (CANONICAL, "summit", SUMMIT)
            if path == "/same-site":
                claim, name, own = ("/the/canonical", "markets", MARKETS)
            page = (PAGES / f"{name}.html").read_text(encoding="utf-8").replace(own, claim)
            return self.send(200, "text/html", page.encode())
        if path == "/cut-short":  # closes before its Content-Length
            page = (PAGES / "floods.html").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page[: len(page) // 2])
            return self.wfile.flush()
        if path == "/drip":  # a byte every 0.2 s, for a minute
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for byte in b"<html><body><p>" + b"x" * 300:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
            return None
        if path == "/slow.rss":
            items = "".join(f"<item><link>{base}/slow?{n}</link></item>" for n in range(3))
            return self.send(200, "application/rss+xml", rss(items).encode())
        if path == "/etag.rss":  # answers 304 to the validators it gave
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                return self.end_headers()
            template = (PAGES / "feed.rss.tmpl").read_text(encoding="utf-8")
            page = template.replace("{base}", f"{base}/pages").encode()
            return self.send(200, "application/rss+xml", page, ETag='"v1"')
        if path == "/javascript.rss":  # a link left out, and validators
            if self.headers.get("If-None-Match") == '"v2"':
                self.send_response(304)
                return self.end_headers()
            page = rss("<item><link>javascript:alert(1)</link></item>").encode()
            return self.send(200, "application/rss+xml", page, ETag='"v2"')
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
        if path == "/feed.txt":  # a feed served as text, as a repository's raw files are
            template = (PAGES / "feed.rss.tmpl").read_text(encoding="utf-8")
            return self.send(
                200, "text/plain", template.replace("{base}", f"{base}/pages").encode()
            )
        if path in ("/feed.rss", "/feed.atom"):
            kind = "application/rss+xml" if path.endswith("rss") else "application/atom+xml"
            template = (PAGES / f"{path[1:]}.tmpl").read_text(encoding="utf-8")
            return self.send(200, kind, template.replace("{base}", f"{base}/pages").encode())
        return self.send(404, "text/html", b"<html><body>Not found</body></html>")


RELATIVE = ["/pages/storm.html", "../pages/markets.html"]
SUMMIT = "https://asiawire.example.net/2018/06/12/singapore-summit"
MARKETS = "https://marketwatcher.example.com/markets/stocks-tumble"
CANONICAL = "https://news.example.com/world/2017/08/05/un-sanctions"  # sanctions.html's


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
def test_every_page_round_trips_its_text_and_its_lists_as_facts_under_its_headings(kn, empty, name):
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
    for heading in {heading for heading, _ in expected["facts"]}:
        assert f"\n\n{heading}\n\n" in body  # a heading of the page, on a line of its own
    facts = kn("facts").stdout.splitlines()  # read back by kn's own reader
    assert [line.split("\t", 1)[1].split("\t") for line in facts] == expected["facts"]
    assert kn("check").exit_code == 0


def test_a_page_on_stdin_options_win(kn, empty):
    page = (PAGES / "budget.html").read_text(encoding="utf-8")
    result = kn("add", "-", "--title", "My title", "--source", "Mine", "--tag", "uk", input=page)
    assert result.exit_code == 0, result.stderr
    [(fields, _)] = stored(empty)
    assert (fields["title"], fields["source"], fields["tags"]) == ("My title", "Mine", ["uk"])
    assert str(fields["date"]) == "2018-10-29"


def test_a_url_is_fetched_with_kns_user_agent_and_keeps_the_link_asked_for(kn, empty, site):
    from korea_news import __version__

    result = kn("add", f"{site}/redirect")
    assert result.exit_code == 0, result.stderr
    [(fields, _)] = stored(empty)
    assert fields["url"] == f"{site}/pages/summit.html"  # the canonical is on another host
    assert fields["canonical"] == "https://asiawire.example.net/2018/06/12/singapore-summit"
    assert fields["link"] == f"{site}/redirect"
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
    assert line.count(f"{site}{path}:") == 1 and "\\n" not in line, line
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
    Site.seen.clear()
    again = kn("add", "--feed", f"{site}/{feed}", "--delay", "0")  # as cron would, an hour on
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")  # cron mails nothing
    assert [path for path, _, _ in Site.seen] == [f"/{feed}"]  # no page fetched again
    assert stored(empty) == before
    told = kn("add", "--feed", f"{site}/{feed}", "--delay", "0", "-v")
    assert told.exit_code == 0 and told.stderr.count("already archived as") == len(dates)


def test_a_feed_served_as_plain_text_is_read_and_a_pdf_is_no_feed(kn, empty, site):
    result = kn("add", "--feed", f"{site}/feed.txt", "--delay", "0")
    assert result.exit_code == 0, result.stderr
    assert len(stored(empty)) == 3
    pdf = kn("add", "--feed", f"{site}/paper.pdf")
    assert (pdf.exit_code, pdf.stderr) == (2, f"kn: {site}/paper.pdf: not an RSS or Atom feed\n")


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
        f"{site}/pages/markets.html",
        f"{site}/pages/storm.html",
    ]


def test_a_feeds_links_are_fetched_never_read_as_files(kn, empty, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret notes\n\nNot for the archive.\n", encoding="utf-8")
    links = [str(secret), f"file://{secret}", "secret.txt", "javascript:alert(1)"]
    feed = tmp_path / "feed.rss"
    feed.write_text(rss("".join(f"<item><link>{link}</link></item>" for link in links)))
    result = kn("add", "--feed", str(feed))
    assert result.exit_code == 0
    assert stored(empty) == []
    why = "a feed's link that is no http or https address: left out"
    lines = result.stderr.splitlines()
    assert len(lines) == len(links) and all(line.endswith(f": {why}") for line in lines)
    assert lines[0] == f"kn: {secret}: {why}"


@pytest.mark.parametrize("feed", ["/dev/null", str(PAGES / "floods.html")])
def test_a_feed_that_is_no_feed_is_one_line(kn, empty, feed):
    result = kn("add", "--feed", feed)
    assert (result.exit_code, result.stderr) == (2, f"kn: {feed}: not an RSS or Atom feed\n")


def test_a_feed_file_over_20_mb_is_refused_as_a_feed_url_is(kn, empty, tmp_path):
    feed = tmp_path / "feed.rss"  # (/dev/zero was read until the memory ran out)
    feed.write_text(rss(f"<!-- {' ' * 21_000_000} -->"), encoding="utf-8")
    result = kn("add", "--feed", str(feed))
    assert (result.exit_code, result.stderr) == (2, f"kn: {feed}: larger than 20 MB\n")


def test_a_dry_run_of_a_url_already_archived_prints_it_as_the_same(kn, empty):
    assert kn("add", str(PAGES / "sanctions.html")).exit_code == 0
    before = stored(empty)
    listed = json.loads(kn("list", "--format", "json").stdout)[0]
    result = kn("add", "--dry-run", "https://news.example.com/world/2017/08/05/un-sanctions/")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"{listed['id']}\t{listed['path']}\t{listed['title']}\tsame\n"
    assert stored(empty) == before


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
    source = Path(__file__).parents[1]  # where the tests' kn was installed from, as CI does
    assert f" -m pip install '{source}[web]'" in result.stderr
    assert result.stderr.count("\n") == 1
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


def test_a_redirect_to_anything_but_http_or_https_is_refused(kn, empty, site):
    result = kn("add", f"{site}/to-ftp")
    assert result.exit_code == 2 and stored(empty) == []
    assert result.stderr == (
        f"kn: {site}/to-ftp: redirected to ftp://127.0.0.1:9/page.html: "
        "only http and https are fetched\n"
    )


MALFORMED = {
    "a bad status line": b"HTTP/1.1 OK\r\n\r\n",
    "a 64 KB header line": b"HTTP/1.1 200 OK\r\nX-Long: " + b"x" * 70000 + b"\r\n\r\n",
    "over 100 headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 120 + b"\r\n",
    "a bad chunk": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n<html>\r\n0\r\n\r\n",
    "no HTTP at all": b"SSH-2.0-OpenSSH_9.6\r\n",
}


@pytest.fixture(scope="module")
def raw():
    """A server that answers every connection with the bytes of its `answer`, and closes."""
    import socketserver

    class Answer(socketserver.BaseRequestHandler):
        answer = b""

        def handle(self) -> None:
            self.request.recv(65536)
            self.request.sendall(Answer.answer)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Answer, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("what", MALFORMED)
def test_a_malformed_answer_is_one_line_and_the_other_urls_are_still_added(
    kn, empty, site, raw, what
):
    raw[0].answer = MALFORMED[what]
    pages = [f"{site}/pages/floods.html", f"{raw[1]}/page", f"{site}/pages/storm.html"]
    result = kn("add", *pages, "--delay", "0")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"kn: {raw[1]}/page: not a valid HTTP answer ("), line
    assert len(stored(empty)) == 2


def test_the_timeout_is_a_deadline_for_the_whole_fetch(kn, empty, site):
    start = time.monotonic()
    result = kn("add", f"{site}/drip", "--timeout", "1")
    assert time.monotonic() - start < 3
    assert result.stderr == f"kn: {site}/drip: no answer within 1 s (--timeout)\n"
    assert result.exit_code == 2 and stored(empty) == []


def test_an_answer_cut_short_is_an_error_and_nothing_is_stored(kn, empty, site):
    result = kn("add", f"{site}/cut-short")
    assert result.exit_code == 2 and stored(empty) == []
    assert result.stderr.startswith(f"kn: {site}/cut-short: cut short: ")
    assert kn("add", f"{site}/pages/floods.html").exit_code == 0  # and it can be added later


def test_a_canonical_url_is_trusted_only_from_its_own_site_and_both_are_kept(kn, empty, site):
    assert kn("add", str(PAGES / "sanctions.html")).exit_code == 0  # its url: CANONICAL
    claims = kn("add", f"{site}/claims-another")
    assert claims.exit_code == 0 and "already archived" not in claims.stderr
    same = kn("add", f"{site}/same-site")
    assert same.exit_code == 0, same.stderr
    urls = sorted((f["url"], f.get("canonical"), f.get("link")) for f, _ in stored(empty))
    assert urls == [
        (f"{site}/claims-another", CANONICAL, None),
        (f"{site}/the/canonical", None, f"{site}/same-site"),
        (CANONICAL, None, None),
    ]
    Site.seen.clear()
    again = kn("add", f"{site}/same-site")  # the link asked for is known: not fetched again
    assert again.stderr.startswith(f"kn: {site}/same-site: already archived as ")
    assert Site.seen == []


def test_every_query_string_counts_in_a_url(kn, empty, site):
    for query in ("12345", "67890"):
        result = kn("add", f"{site}/story?{query}")
        assert result.exit_code == 0 and "already" not in result.stderr, result.stderr
    assert sorted(f["title"] for f, _ in stored(empty)) == ["Story 12345", "Story 67890"]
    again = kn("add", f"{site}/story?12345")
    assert "already archived as" in again.stderr and len(stored(empty)) == 2


def test_a_heading_ending_with_a_colon_is_still_the_heading_of_its_lists(kn, empty, tmp_path):
    story = "<p>Prices fell this week across the country, shops said.</p>" * 3
    where = "<h2>Where to buy:</h2><p>Stock is short.</p><ul><li>Shop A</li><li>Shop B</li></ul>"
    page = f"<html><head><title>Cards</title></head><body><article>{story}{where}</article>"
    (tmp_path / "cards.html").write_text(page)
    assert kn("add", str(tmp_path / "cards.html"), "--id", "cards").exit_code == 0
    assert (
        kn("facts", "cards").stdout == "cards\tWhere to buy\tShop A\ncards\tWhere to buy\tShop B\n"
    )


def test_a_heading_kn_would_not_read_as_one_is_marked_and_keeps_its_lists(kn, empty, tmp_path):
    long = "A heading of far more than twelve words, as some pages do have them"
    story = "<p>Prices fell this week across the country, shops said.</p>" * 3
    where = "<h2>where to buy</h2><ul><li>Shop A</li></ul>"
    longer = f"<h2>{long}</h2><p>Stock is short.</p><ul><li>Shop B</li></ul>"
    page = f"<html><head><title>Cards</title></head><body><article>{story}{where}{longer}"
    (tmp_path / "cards.html").write_text(page)
    assert kn("add", str(tmp_path / "cards.html"), "--id", "cards").exit_code == 0
    facts = kn("facts", "cards").stdout
    assert facts == f"cards\twhere to buy\tShop A\ncards\t{long}\tShop B\n"
    assert "\n## where to buy\n" in kn("show", "cards").stdout


def test_a_page_of_more_text_than_articles_hold_is_refused(kn, empty, tmp_path):
    words = "<li>One short line of a very long list</li>" * 70_000  # 2.4 MB of text, 3 MB
    (tmp_path / "long.html").write_text(f"<html><body><article><ul>{words}</ul></article>")
    result = kn("add", str(tmp_path / "long.html"))
    assert (
        result.stderr == f"kn: {tmp_path / 'long.html'}: a page of over 2 MB of text: no article\n"
    )
    assert result.exit_code == 2 and stored(empty) == []


def test_a_page_heavy_with_scripts_is_read_and_a_small_one_searched_for_its_date(
    kn, empty, tmp_path
):
    story = "<h1>Rains close schools</h1>" + "<p>Heavy rain closed schools across the city.</p>" * 8
    dated = f"<html><body><article>{story}<p>Published 14 January 2024</p></article>"
    (tmp_path / "dated.html").write_text(dated)
    scripts = "<script>var state = '" + "x" * 3_000_000 + "';</script>"
    (tmp_path / "heavy.html").write_text(f"<html><head>{scripts}</head><body>{story}</body>")
    assert kn("add", str(tmp_path / "dated.html"), "--id", "dated").exit_code == 0
    assert kn("add", str(tmp_path / "heavy.html"), "--id", "heavy").exit_code == 0
    dates = [str(fields["date"]) for fields, _ in stored(empty)]
    assert dates == ["2024-01-14", dt.date.today().isoformat()]
    assert "Heavy rain closed schools" in kn("show", "heavy").stdout


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_saved_page_over_20_mb_is_refused_at_once(kn, empty, tmp_path, how):
    page = b"<html><body>" + b"<p>Words of a paragraph.</p>" * 800_000
    (tmp_path / "big.html").write_bytes(page)
    start = time.monotonic()
    name = str(tmp_path / "big.html") if how == "file" else "-"
    result = kn("add", name, input=page if how == "stdin" else None)
    assert time.monotonic() - start < 10
    assert result.stderr == f"kn: {name}: a page larger than 20 MB: no article\n"
    assert result.exit_code == 2 and stored(empty) == []


@pytest.fixture
def resolver(monkeypatch):
    """Every host name resolves to 127.0.0.1; the names asked for are noted."""
    import socket

    resolve, asked = socket.getaddrinfo, []

    def local(host: str, *args: object, **kwargs: object) -> object:
        asked.append(host)
        return resolve("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local)
    return asked


def test_a_host_name_in_another_script_is_sent_as_idna(kn, empty, site, resolver):
    Site.asked.clear()
    port = site.rsplit(":", 1)[1]
    result = kn("add", f"http://뉴스.example:{port}/pages/floods.html")
    assert result.exit_code == 0, result.stderr
    assert resolver == ["xn--vg1b002a.example"]
    assert [headers["Host"] for headers in Site.asked] == [f"xn--vg1b002a.example:{port}"]


def test_a_canonical_url_on_the_same_registrable_domain_is_trusted(kn, empty, site, resolver):
    port = site.rsplit(":", 1)[1]
    page = f"http://www.asiawire.co.uk:{port}/pages/summit.html"  # claims asiawire.example.net
    other = f"http://m.asiawire.co.uk:{port}/same-domain"  # claims www.asiawire.co.uk
    assert kn("add", page, other, "--delay", "0").exit_code == 0
    assert sorted((f["url"], f.get("canonical")) for f, _ in stored(empty)) == [
        (page, SUMMIT),
        ("https://www.asiawire.co.uk/storms/typhoon-landfall", None),
    ]


def test_a_feed_is_asked_whether_it_changed_and_a_run_with_nothing_new_says_nothing(
    kn, empty, site
):
    first = kn("add", "--feed", f"{site}/etag.rss", "--delay", "0")
    assert first.exit_code == 0 and len(stored(empty)) == 3
    Site.seen.clear()
    Site.asked.clear()
    again = kn("add", "--feed", f"{site}/etag.rss", "--delay", "0")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    assert [path for path, _, _ in Site.seen] == ["/etag.rss"]
    assert Site.asked[0]["If-None-Match"] == '"v1"'


@pytest.mark.parametrize("damage", ["{", "[]", '{"feeds": {"x": [1]}, "links": [2]}', "\0\xff"])
def test_a_damaged_record_of_the_last_runs_only_asks_for_everything_again(
    kn, empty, site, tmp_path, damage
):
    assert kn("add", "--feed", f"{site}/etag.rss", "--delay", "0").exit_code == 0
    (tmp_path / "articles.kn" / "web.json").write_text(damage, encoding="latin-1")
    Site.asked.clear()
    again = kn("add", "--feed", f"{site}/etag.rss", "--delay", "0")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    assert "If-None-Match" not in Site.asked[0] and len(Site.asked) == 1
    assert "v1" in (tmp_path / "articles.kn" / "web.json").read_text(encoding="utf-8")


def test_quiet_says_nothing_but_errors(kn, empty, site):
    result = kn("add", f"{site}/pages/floods.html", f"{site}/missing", "-q", "--delay", "0")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"kn: {site}/missing: HTTP 404 Not Found\n"
    again = kn("add", f"{site}/pages/floods.html", "-q")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


def test_the_page_is_kept_beside_the_archive_and_shown_with_original(kn, empty, site, tmp_path):
    result = kn("add", f"{site}/pages/floods.html")
    assert result.exit_code == 0, result.stderr
    article_id = result.stdout.strip().rsplit("/", 1)[1].removesuffix(".txt")
    original = kn("show", "--original", article_id)
    assert original.stdout_bytes == (PAGES / "floods.html").read_bytes()
    assert [p.name for p in empty.rglob("*") if p.is_file()] == [f"{article_id}.txt"]
    assert (tmp_path / "articles.kn" / "pages" / f"{article_id}.gz").is_file()
    plain = kn("add", str(PAGES / "storm.html"))  # a saved page: kept too
    storm = plain.stdout.strip().rsplit("/", 1)[1].removesuffix(".txt")
    assert kn("show", "--original", storm).stdout_bytes == (PAGES / "storm.html").read_bytes()


def test_a_page_that_cannot_be_kept_says_its_article_was_added(kn, empty, tmp_path):
    (tmp_path / "articles.kn").write_text("in the way\n", encoding="utf-8")
    result = kn("add", str(PAGES / "floods.html"))
    path = "articles/2018/2018-03-02-thousands-evacuated-as-floods-hit-river-towns.txt"
    assert (result.exit_code, (empty.parent / path).exists()) == (2, True)
    assert result.stderr.startswith(f"kn: {PAGES / 'floods.html'}: added as {path}, but its page")


def test_a_page_kept_for_an_article_removed_by_hand_is_never_given_to_another(kn, empty):
    added = kn("add", str(PAGES / "storm.html")).stdout.strip()
    Path(added).unlink()  # rm, not kn rm: the page stays
    text = Path(added).stem.split("-", 3)[3].replace("-", " ").title() + "\n\nOther words.\n"
    kn("add", "--date", Path(added).stem[:10], "-", input=text)
    [plain] = [path.stem for path in empty.rglob("*.txt")]
    assert plain == f"{Path(added).stem}-2"  # not the page's ID
    assert kn("show", "--original", plain).stderr.startswith(f"kn: {plain}: no page kept")
    assert kn("add", "--again", plain).exit_code == 2
    assert kn("show", plain).stdout.endswith("Other words.\n")


def test_rm_takes_the_kept_page_to_the_trash_and_undo_puts_it_back(kn, empty, tmp_path):
    added = kn("add", str(PAGES / "storm.html"))
    storm = added.stdout.strip().rsplit("/", 1)[1].removesuffix(".txt")
    page = tmp_path / "articles.kn" / "pages" / f"{storm}.gz"
    kept = page.read_bytes()
    assert kn("rm", "--yes", storm).exit_code == 0
    assert not page.exists()
    (tmp_path / "note.txt").write_text("A note\n\nText.\n", encoding="utf-8")
    kn("add", str(tmp_path / "note.txt"), "--id", storm)  # its ID taken by a plain text
    assert kn("show", "--original", storm).exit_code == 2  # not the removed article's page
    next(empty.rglob(f"{storm}.txt")).unlink()  # the note is gone: the ID is free again
    undone = kn("rm", "--undo")
    assert undone.exit_code == 0, undone.stderr
    assert page.read_bytes() == kept
    assert kn("show", "--original", storm).stdout_bytes == (PAGES / "storm.html").read_bytes()
    assert [p for p in (tmp_path / "articles-trash").rglob("*") if p.is_file()] == []


def test_rm_says_so_when_the_kept_page_cannot_follow_its_article(kn, empty, tmp_path):
    added = kn("add", str(PAGES / "storm.html"))
    storm = added.stdout.strip().rsplit("/", 1)[1].removesuffix(".txt")
    pages = tmp_path / "articles.kn" / "pages"
    pages.rename(tmp_path / "elsewhere")
    pages.symlink_to(tmp_path / "elsewhere")  # kn moves nothing through a link
    result = kn("rm", "--yes", storm)
    assert result.exit_code == 2
    assert "moved to the trash, but not its kept page" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(empty.rglob("*.txt")) == []  # the article is in the trash
    assert (tmp_path / "elsewhere" / f"{storm}.gz").is_file()


def test_show_original_of_an_article_with_no_page_is_one_line(kn, empty, tmp_path):
    (tmp_path / "note.txt").write_text("A note\n\nText.\n", encoding="utf-8")
    kn("add", str(tmp_path / "note.txt"), "--date", "2020-01-01")
    result = kn("show", "--original", "2020-01-01-a-note")
    assert result.exit_code == 2
    assert result.stderr == (
        "kn: 2020-01-01-a-note: no page kept (only pages added from the web are)\n"
    )


def test_add_again_extracts_the_kept_page_anew_keeping_the_id(kn, empty, site):
    added = kn("add", f"{site}/pages/results.html", "--tag", "election")
    path = empty.parent / added.stdout.strip()
    article_id = path.stem
    text = path.read_text(encoding="utf-8")
    assert kn("add", "--again", article_id).stdout == ""  # the same extraction: no change
    old = text.replace("  1. The new parliament", "  • The new parliament")  # as kn once wrote
    path.write_text(old.replace("| Green        | 12    | +9     |\n", ""), encoding="utf-8")
    dry = kn("add", "--again", article_id, "--dry-run")
    assert dry.stdout and path.read_text(encoding="utf-8") != text  # told, not written
    again = kn("add", "--again", article_id)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == dry.stdout
    assert "-  • The new parliament meets on 4 November" in again.stdout.splitlines()
    assert "+  1. The new parliament meets on 4 November" in again.stdout.splitlines()
    assert "+| Green        | 12    | +9     |" in again.stdout.splitlines()
    assert path.read_text(encoding="utf-8") == text  # its ID, tags and fetched time kept
    for wrong in ([], ["--tag", "x", article_id], ["--title", "X", article_id]):
        refused = kn("add", "--again", *wrong)  # nothing to do, or a field it would not apply
        assert (refused.exit_code, refused.stdout) == (2, ""), refused.stderr
        assert refused.stderr.startswith("kn: --again takes ARTICLEs and no field")
    assert path.read_text(encoding="utf-8") == text


def test_add_again_reads_the_article_as_every_command_does(kn, empty):
    path = empty.parent / kn("add", str(PAGES / "floods.html")).stdout.strip()
    text = path.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + text)  # a BOM, as an editor may write: an article
    again = kn("add", "--again", path.stem)
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    latin1 = text.replace(b"source: ", b"source: R\xe9gion ").replace(b"The army", b"An army")
    path.write_bytes(latin1)  # not UTF-8: no article, and its bytes are not to be replaced
    refused = kn("add", "--again", path.stem)
    assert refused.exit_code == 2 and path.read_bytes() == latin1
    assert refused.stderr.startswith(f"kn: {path.relative_to(empty.parent)}:4: not UTF-8 text")


def test_add_again_reads_articles_from_stdin_as_other_commands_do(kn, empty):
    path = empty.parent / kn("add", str(PAGES / "floods.html")).stdout.strip()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("The army", "An army"), encoding="utf-8")
    again = kn("add", "--again", "-", input=f"{path.stem}\n")
    assert again.exit_code == 0, again.stderr
    assert any(line.startswith("+The army has been") for line in again.stdout.splitlines())
    assert path.read_text(encoding="utf-8") == text


def test_a_feeds_link_is_named_as_the_feed_wrote_it(kn, empty, tmp_path):
    feed = tmp_path / "feed.rss"
    feed.write_text(rss("<item><link>file:///etc/passwd</link></item>"), encoding="utf-8")
    result = kn("add", "--feed", str(feed))
    assert result.exit_code == 0
    assert result.stderr.startswith("kn: file:///etc/passwd: ")


def test_a_feeds_link_left_out_is_told_once_and_with_verbose_every_time(kn, empty, tmp_path):
    feed = tmp_path / "feed.rss"  # a saved feed: read whole on every run, as a changed one
    feed.write_text(rss("<item><link>javascript:alert(1)</link></item>"), encoding="utf-8")
    told = "kn: javascript:alert(1): a feed's link that is no http or https address: left out\n"
    assert kn("add", "--feed", str(feed)).stderr == told
    again = kn("add", "--feed", str(feed))  # as cron would, an hour on: cron mails nothing
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")
    assert kn("add", "--feed", str(feed), "-v").stderr == told


def test_a_feeds_link_left_out_is_no_error_and_a_cron_run_then_says_nothing(kn, empty, site):
    first = kn("add", "--feed", f"{site}/javascript.rss", "--delay", "0")
    why = "a feed's link that is no http or https address: left out"
    assert (first.exit_code, first.stdout) == (0, "")
    assert first.stderr == f"kn: javascript:alert(1): {why}\n"
    again = kn("add", "--feed", f"{site}/javascript.rss", "--delay", "0")
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


def test_a_folder_is_named_without_a_line_number(kn, empty, tmp_path):
    (tmp_path / "dir").mkdir()
    result = kn("add", f"{tmp_path / 'dir'}/")
    assert result.stderr == f"kn: {tmp_path / 'dir'}/: is a folder, not a text file\n"


def test_the_cursor_comes_back_after_ctrl_c_during_a_feed(empty, site, tmp_path, process_env):
    import os
    import pty
    import signal
    import subprocess

    from conftest import KN

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [KN, "add", "--feed", f"{site}/slow.rss"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env=process_env,
    )
    os.close(slave)
    screen = b""
    while b"adding pages" not in screen:
        screen += os.read(master, 65536)
    time.sleep(0.5)  # fetching its first page, which takes 3 s
    process.send_signal(signal.SIGINT)
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    process.wait(timeout=30)
    assert screen.rindex(b"\x1b[?25h") > screen.rindex(b"\x1b[?25l")  # shown after hidden


def test_show_draws_a_pages_table_in_columns_and_grep_reads_its_rows(kn, empty):
    from conftest import strip_ansi

    assert kn("add", str(PAGES / "results.html")).exit_code == 0
    shown = strip_ansi(kn("--color", "always", "show", env={"COLUMNS": "80"}).stdout)
    shown = "\n".join(line.rstrip() for line in shown.splitlines()) + "\n"
    assert "  Party        Seats Change\n  Liberal      177   +41\n" in shown
    found = kn("search", "-F", "Conservative").stdout
    assert found.endswith(":| Conservative | 121   | -38    |\n")


def test_a_table_of_one_long_row_and_many_short_is_refused_not_padded(kn, empty, tmp_path):
    rows = "<tr>" + "<td>c</td>" * 3000 + "</tr>" + "<tr><td>x</td></tr>" * 1000
    story = "<p>The count ended on Sunday night, officials said.</p>" * 3
    page = f"<html><head><title>Cells</title></head><body><article>{story}<table>{rows}</table>"
    (tmp_path / "cells.html").write_text(page)  # 50 KB: 3 million cells, 12 MB once padded
    result = kn("add", str(tmp_path / "cells.html"))
    assert result.exit_code == 2
    assert result.stderr.endswith("a table of over 2 million cells: no article\n")
    assert not any(empty.rglob("*.txt"))


def test_a_table_of_one_long_cell_in_each_column_is_refused_not_padded(kn, empty, tmp_path):
    rows = "".join(f"<tr>{'<td></td>' * n}<td>{'word ' * 200}</td></tr>" for n in range(100))
    story = "<p>The count ended on Sunday night, officials said.</p>" * 3
    page = f"<html><head><title>Cells</title></head><body><article>{story}<table>{rows}</table>"
    (tmp_path / "cells.html").write_text(page)  # 100 KB of text: 10 MB once padded
    result = kn("add", str(tmp_path / "cells.html"))
    assert result.exit_code == 2
    assert result.stderr.endswith("a table of over 2 MB once padded: no article\n")
    assert not any(empty.rglob("*.txt"))


def test_a_bar_in_a_table_cell_stays_in_its_cell(kn, empty, tmp_path):
    from conftest import strip_ansi

    rows = "<tr><td>Party</td><td>Seats</td></tr><tr><td>Left | Green</td><td>12</td></tr>"
    story = "<p>The count ended on Sunday night, officials said.</p>" * 3
    page = f"<html><head><title>Seats</title></head><body><article>{story}<table>{rows}</table>"
    (tmp_path / "seats.html").write_text(page)
    assert kn("add", str(tmp_path / "seats.html"), "--id", "seats").exit_code == 0
    shown = strip_ansi(kn("--color", "always", "show", "seats", env={"COLUMNS": "80"}).stdout)
    assert "  Left | Green 12\n" in "\n".join(line.rstrip() for line in shown.splitlines())
