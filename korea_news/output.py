"""Everything kn prints: plain lines and JSON for pipes, rich rendering for a terminal.

This is the only module that imports rich, and it does so only when stdout is a
terminal: a piped command never pays for it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from itertools import groupby
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

from .model import Article, Count, Document, Fact, Match, iso

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

FORMATS = ("text", "json", "jsonl")
COLORS = ("auto", "always", "never")

# Control characters (but tab and newline) shown escaped on a terminal, never sent raw.
_VISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (9, 10)}
# In a tab-separated line, a field's own tabs and line breaks would split the record.
_ONE_LINE = {9: " ", 10: " ", 13: " "}
# JSON escapes C0 controls itself; C1 controls are escaped too, so that no terminal
# reads them as escape sequences.
_JSON_C1 = {c: f"\\u{c:04x}" for c in range(0x7F, 0xA0)}


class Record(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


def visible(text: str) -> str:
    """Text safe for a terminal: control characters shown as `\\xNN`."""
    return text.translate(_VISIBLE)


def field(text: str | None) -> str:
    """A field of a tab-separated line: no tab or line break of its own."""
    if not text:
        return ""
    if "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_ONE_LINE)
    return text


def wants_color(choice: str, stream: IO[str]) -> bool:
    """--color: `auto` means a terminal, NO_COLOR unset or empty, and TERM not `dumb`."""
    if choice != "auto":
        return choice == "always"
    return _isatty(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def pager_command() -> str | None:
    """KN_PAGER, then PAGER, then `less -FRX`; empty or `cat` means none."""
    command = os.environ.get("KN_PAGER", os.environ.get("PAGER", "less -FRX"))
    return None if command.strip() in ("", "cat") else command


def _json_line(record: Record, indent: int | None = None) -> str:
    import json

    text = json.dumps(record.to_dict(), ensure_ascii=False, indent=indent)
    return text.translate(_JSON_C1)


def _json_item(record: Record) -> str:
    """A record as an item of a JSON array, indented under its brackets."""
    return _json_line(record, indent=2).replace("\n", "\n  ")


class Output:
    """Writes a command's records in the format asked for, to a terminal or a pipe."""

    def __init__(self, fmt: str = "text", color: str = "auto", pager: bool = True) -> None:
        self.stream = sys.stdout
        self.format = fmt
        self.terminal = fmt == "text" and _isatty(self.stream)
        self.color = wants_color(color, self.stream)
        self.pager = pager
        self._console: Console | None = None

    def write(self, text: str) -> None:
        self.stream.write(text)

    def emit(
        self,
        records: Iterable[R],
        plain: Callable[[R], str],
        render: Callable[[Output, list[R]], None] | None = None,
        end: str = "\n",
    ) -> int:
        """Print records as JSON, plain lines or a rich rendering; return how many.

        With no `render`, a terminal gets the plain lines too, control characters escaped.
        """
        if not self.terminal:
            return self.write_lines(map(self.renderer(plain), records), end)
        if render is None:
            return self.write_lines((visible(plain(record)) for record in records), end)
        items = list(records)
        if items:
            render(self, items)
        return len(items)

    def prepare(self, plain: Callable[[R], str]) -> Callable[[R], Any]:
        """What a command keeps of a record for show(): the record itself for a terminal,
        else its line, already rendered (so that a second process can send it back)."""
        return _itself if self.terminal else self.renderer(plain)

    def show(
        self,
        payloads: Iterable[Any],
        plain: Callable[[Any], str],
        render: Callable[[Output, list[Any]], None] | None = None,
        end: str = "\n",
    ) -> int:
        """Print what prepare() made of each record; return how many."""
        if not self.terminal:
            return self.write_lines(payloads, end)
        return self.emit(payloads, plain, render, end)

    def renderer(self, plain: Callable[[R], str]) -> Callable[[R], str]:
        """How a pipe gets one record, in the format asked for (write_lines() joins them)."""
        if self.format == "jsonl":
            return _json_line
        if self.format == "json":
            return _json_item
        return plain

    def write_lines(self, lines: Iterable[str], end: str = "\n") -> int:
        """Write rendered records: one a line, or as one JSON array; return how many."""
        if self.format == "json":
            return self._json_array(lines)
        if self.format == "jsonl":
            end = "\n"
        count = 0
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == 512:  # one write per batch: far fewer calls than lines
                self.stream.write(end.join(batch) + end)
                count += len(batch)
                batch.clear()
        if batch:
            self.stream.write(end.join(batch) + end)
        return count + len(batch)

    def _json_array(self, items: Iterable[str]) -> int:
        count = 0
        self.stream.write("[")
        for count, item in enumerate(items, 1):
            self.stream.write(("\n  " if count == 1 else ",\n  ") + item)
        self.stream.write("\n]\n" if count else "]\n")
        return count

    # --- the terminal -------------------------------------------------------------

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.stream,
                force_terminal=self.terminal,
                color_system="auto" if self.color else None,
                no_color=not self.color,
                highlight=False,
                markup=False,
                emoji=False,
            )
        return self._console

    def print(self, *renderables: RenderableType) -> None:
        for renderable in renderables:
            self.console.print(renderable)

    def page(self, renderables: list[RenderableType]) -> None:
        """Print, through a pager when the result is taller than the screen."""
        console = self.console
        with console.capture() as capture:
            for renderable in renderables:
                console.print(renderable)
        text = capture.get()
        command = pager_command() if self.pager else None
        if command is None or text.count("\n") < console.size.height:
            self.stream.write(text)
            return
        self.stream.flush()
        import subprocess

        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        try:
            process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        except OSError:
            self.stream.write(text)
            return
        assert process.stdin is not None
        try:
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
        except BrokenPipeError:  # the reader quit the pager early
            pass
        process.wait()


def _itself(record: Any) -> Any:
    return record


def raw(data: bytes) -> None:
    """An article file as stored; a terminal never receives raw control characters."""
    if _isatty(sys.stdout):
        sys.stdout.write(visible(data.decode("utf-8", "replace")))
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)


def progress() -> Callable[[int, bool], None] | None:
    """A progress line on stderr while many files are read, on a terminal only."""
    if not _isatty(sys.stderr):
        return None
    shown: list[Any] = []

    def update(count: int, done: bool) -> None:
        if not shown:
            if done:
                return
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn

            bar = Progress(
                SpinnerColumn(),
                TextColumn("reading articles: {task.completed}"),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            shown.append((bar, bar.add_task("read", total=None)))
        bar, task = shown[0]
        bar.update(task, completed=count)
        if done:
            bar.stop()

    return update


def _text(value: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(visible(value), style=style)


# --- kn list -------------------------------------------------------------------------


def article_line(article: Article) -> str:
    """ID, DATE, SOURCE and TITLE, separated by tabs."""
    line = f"{article.id}\t{article.date.isoformat()}\t{article.source or ''}\t{article.title}"
    if line.count("\t") == 3 and "\n" not in line and "\r" not in line:
        return line  # the usual case, tested at once for the whole line
    return "\t".join(
        (field(article.id), iso(article.date), field(article.source), field(article.title))
    )


def article_table(out: Output, articles: list[Article]) -> None:
    from rich.table import Table

    wide = out.console.width >= 120
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("ID", style="cyan", overflow="fold")
    table.add_column("Date", no_wrap=True)
    table.add_column("Source", style="green")
    table.add_column("Title", style="bold", ratio=1)
    if wide:
        table.add_column("Tags", style="dim")
    for article in articles:
        row = [
            _text(article.id),
            _text(iso(article.date)),
            _text(article.source or ""),
            _text(article.title),
        ]
        if wide:
            row.append(_text(", ".join(article.tags)))
        table.add_row(*row)
    out.print(table)


# --- kn show -------------------------------------------------------------------------


def metadata(article: Article) -> str:
    """Date · source · by authors · tags · url, leaving out what the article lacks."""
    parts = [iso(article.date), article.source or ""]
    if article.authors:
        parts.append("by " + ", ".join(article.authors))
    if article.tags:
        parts.append("tags: " + ", ".join(article.tags))
    parts.append(article.url or "")
    return " · ".join(part for part in parts if part)


def stream_document(article: Article, body: Iterable[tuple[int, str]], first: bool) -> None:
    """As document_plain() with a line break after it, the body written piece by piece
    (a blank line before each article but the first)."""
    sys.stdout.write(f"{'' if first else chr(10)}{article.title}\n{metadata(article)}\n\n")
    last = "\n"
    for _, piece in body:
        sys.stdout.write(piece)
        last = piece[-1:]
    if last != "\n":
        sys.stdout.write("\n")


def document_plain(document: Document) -> str:
    """The title, the metadata line, a blank line and the body as stored."""
    article = document.article
    return f"{article.title}\n{metadata(article)}\n\n{document.body}".removesuffix("\n")


def documents_view(out: Output, documents: list[Document]) -> None:
    """Articles rendered one after the other, a rule between two, through the pager."""
    from rich.rule import Rule

    views: list[Any] = []
    for index, document in enumerate(documents):
        if index:
            views.append(Rule(style="dim"))
        views += article_view(document.article, document.body)
    out.page(views)


def article_view(article: Article, body: str) -> list[RenderableType]:
    """A title in bold, a dim metadata line, then the body's blocks, wrapped and styled."""
    from rich.padding import Padding

    from . import structure

    views: list[RenderableType] = [
        _text(article.title, "bold"),
        _text(metadata(article), "dim"),
        _text(""),
    ]
    for block in structure.parse(body, article.body_line):
        if isinstance(block, structure.Heading):
            views.append(Padding(_text(block.text, "bold cyan"), (0, 0, 1, 0)))
        elif isinstance(block, structure.Paragraph):
            views.append(Padding(_text(block.text), (0, 0, 1, 0)))
        else:
            # Numbered items keep their numbers; every other marker is drawn as a bullet.
            rows = [
                (item.marker if item.marker[0].isdigit() else "•", item.text)
                for item in block.items
            ]
            views.append(Padding(_bullets(rows), (0, 0, 1, 2)))
    return views


def added_line(article: Article, path: object) -> Text:
    from rich.text import Text

    return Text.assemble(
        ("Added ", "green"),
        (visible(article.id), "bold"),
        f" ({iso(article.date)}) as {visible(str(path))}",
    )


def _bullets(rows: Iterable[tuple[str, str]]) -> Table:
    """A bulleted list with hanging indents: the marker in one column, the text beside it."""
    from rich.table import Table

    items = Table.grid(padding=(0, 1, 0, 0))
    items.add_column(no_wrap=True, style="cyan")
    items.add_column()
    for marker, text in rows:
        items.add_row(_text(marker), _text(text))
    return items


# --- kn search -----------------------------------------------------------------------

GREP_MATCH = "\x1b[01;31m\x1b[K"
GREP_END = "\x1b[m\x1b[K"


def match_line(match: Match | Count, color: bool = False, separator: str = ":") -> str:
    """PATH:LINE:TEXT as grep -Hn prints it (PATH, NUL, LINE:TEXT as grep -HnZ); a count
    as PATH:COUNT."""
    if isinstance(match, Count):
        return f"{match.article.path}{separator}{match.count}"
    text = _highlight(match.text, match.spans) if color else match.text
    return f"{match.article.path}{separator}{match.line}:{text}"


def _highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """grep's own colouring of matches, for --color=always in a pipe."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], GREP_MATCH, text[start:end], GREP_END]
        last = end
    return "".join(pieces) + text[last:]


def match_groups(out: Output, matches: list[Match]) -> None:
    """Matches grouped under a header per article, with line numbers and highlights."""
    from rich.table import Table
    from rich.text import Text

    for index, (article, group) in enumerate(groupby(matches, key=lambda m: m.article)):
        header = Text.assemble(
            (visible(article.id), "bold magenta"),
            "  ",
            (iso(article.date), "dim"),
            "  ",
            (visible(article.title), "bold"),
        )
        if index:
            out.print(_text(""))
        out.print(header)
        lines = Table.grid(padding=(0, 1, 0, 0))
        lines.add_column(justify="right", style="green", no_wrap=True)
        lines.add_column()
        for match in group:
            body = Text(visible(match.text))
            for start, end in match.spans:
                # Escaping a control character lengthens the text before the span.
                shift = len(visible(match.text[:start])) - start
                grow = len(visible(match.text[start:end])) - (end - start)
                body.stylize("bold red", start + shift, end + shift + grow)
            lines.add_row(str(match.line), body)
        out.print(lines)


# --- kn facts ------------------------------------------------------------------------


def fact_line(fact: Fact) -> str:
    return "\t".join((field(fact.article.id), field(fact.heading), field(fact.text)))


def fact_groups(out: Output, facts: list[Fact]) -> None:
    """Facts grouped by article (its title), then heading, as bulleted lists."""
    from rich.padding import Padding

    for index, (article, by_article) in enumerate(groupby(facts, key=lambda f: f.article)):
        if index:
            out.print(_text(""))
        out.print(_text(article.title, "bold"), _text(f"{article.id} · {iso(article.date)}", "dim"))
        for heading, group in groupby(by_article, key=lambda f: f.heading):
            out.print(Padding(_text(heading, "bold cyan"), (1, 0, 0, 0)))
            out.print(Padding(_bullets(("•", fact.text) for fact in group), (0, 0, 0, 2)))
