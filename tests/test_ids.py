"""One rule for IDs, whatever the input: a slug of the title in its own script, and the next
free ID for another text of the same title and day, from a file or from a feed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from korea_news import compose

# Two headlines of one day whose first 60 slug characters are the same.
SHARED = "북한 노동당 전원회의 결과 발표 김정은 위원장 경제 계획 강조하며 새로운 대남 노선 공식화 예정이라는 관측"
TITLES = [f"{SHARED} 첫째 보도", f"{SHARED} 둘째 보도"]
BODIES = [
    "북한이 노동당 전원회의 결과를 발표했다. 경제 계획이 강조되었다.",
    "전원회의에서 새로운 대남 노선이 공식화되었다고 통신이 전했다.",
]


def page(number: int) -> bytes:
    paragraphs = "".join(f"<p>{BODIES[number]} {n}번째 문단입니다.</p>" for n in range(1, 6))
    return (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        f"<title>{TITLES[number]}</title>"
        '<meta property="article:published_time" content="2024-01-14T09:00:00+09:00">'
        f"</head><body><article><h1>{TITLES[number]}</h1>{paragraphs}</article></body></html>"
    ).encode()


class Site(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_port}"
        if self.path == "/feed.rss":
            items = "".join(f"<item><link>{base}/{n}.html</link></item>" for n in (0, 1))
            data = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
            kind = "application/rss+xml"
        else:
            data, kind = page(int(self.path[1])).decode(), "text/html; charset=utf-8"
        body = data.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_two_titles_sharing_their_first_60_slug_characters_get_distinct_ids(kn, make_archive):
    root = make_archive({})
    base = f"2024-01-14-{compose.slug(TITLES[0])}"
    assert compose.slug(TITLES[0]) == compose.slug(TITLES[1])
    for title, text in zip(TITLES, BODIES, strict=True):
        result = kn("add", "-", "--date", "2024-01-14", input=f"{title}\n\n{text}\n")
        assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (root / "2024").iterdir()) == [f"{base}-2.txt", f"{base}.txt"]
    assert all(len(p.name.encode()) <= 255 for p in (root / "2024").iterdir())


def test_a_feeds_pages_of_one_day_and_one_slug_get_distinct_ids(kn, make_archive, site):
    pytest.importorskip("trafilatura")
    root = make_archive({})
    result = kn("add", "--feed", f"{site}/feed.rss", "--delay", "0")
    assert result.exit_code == 0, result.stderr
    base = f"articles/2024/2024-01-14-{compose.slug(TITLES[0])}"
    assert sorted(result.stdout.splitlines()) == [f"{base}-2.txt", f"{base}.txt"]
    assert kn("list").exit_code == 0 and kn("check").exit_code == 0
    again = kn("add", "--feed", f"{site}/feed.rss", "--delay", "0")  # one URL, one article
    assert (again.exit_code, again.stdout) == (0, "")
    assert len(list((root / "2024").iterdir())) == 2


def test_completion_reads_the_archive_named_before_or_after_the_command(
    kn, make_archive, tmp_path, monkeypatch
):
    from click.shell_completion import ShellComplete

    from korea_news.cli import cli

    make_archive({"here-story.txt": "---\ntitle: T\ndate: 2024-01-14\n---\nB\n"})
    other = tmp_path / "other"
    other.mkdir()
    (other / "elsewhere-story.txt").write_text("---\ntitle: T\ndate: 2024-01-14\n---\nB\n")
    monkeypatch.delenv("KN_ARCHIVE", raising=False)
    complete = ShellComplete(cli, {}, "kn", "_KN_COMPLETE")
    for args in (["--archive", str(other), "show"], ["show", "--archive", str(other)]):
        found = [item.value for item in complete.get_completions(args, "e")]
        assert found == ["elsewhere-story"], args


def test_completion_offers_korean_ids_by_their_start_or_the_part_after_the_date(
    kn, make_archive, monkeypatch
):
    from click.shell_completion import ShellComplete

    from korea_news.cli import cli

    make_archive({"2024/2024-01-14-북한-발사.txt": "---\ntitle: T\ndate: 2024-01-14\n---\nB\n"})
    monkeypatch.delenv("KN_ARCHIVE", raising=False)
    complete = ShellComplete(cli, {}, "kn", "_KN_COMPLETE")
    for typed in ("2024-01-14-북", "북한", "\u1107\u116e\u11a8"):  # 북 typed in NFD (macOS)
        found = [item.value for item in complete.get_completions(["show"], typed)]
        assert found == ["2024-01-14-북한-발사"], typed
