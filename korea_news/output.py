"""Everything kn prints: plain lines and JSON for pipes, rich rendering for a terminal (the
one module that imports rich, only when it renders: a piped command never pays for it)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from functools import cached_property, partial
from itertools import groupby, islice
from typing import TYPE_CHECKING, Any

from .escape import field, json_safe, visible
from .model import Article, Bucket, Count, Document, Fact, Hit, Match

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

FORMATS = ("text", "json", "jsonl")
COLORS = ("auto", "always", "never")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _dumb() -> bool:
    return os.environ.get("TERM") == "dumb"


WIDEST = 1000  # the most columns taken from $COLUMNS: COLUMNS=30000000 would print 150 MB


def _console(**settings: Any) -> Console:
    """A console of the screen's size as shutil tells it: rich's reading of $COLUMNS fails on ²."""
    import shutil

    from rich.console import Console

    columns, lines = shutil.get_terminal_size()
    return Console(width=min(columns, WIDEST), height=lines, **settings)


def _json(record: Any, array: bool = False) -> str:
    """A record (with to_dict()) on one line, or indented as an item of a JSON array."""
    text = json.dumps(record.to_dict(), ensure_ascii=False, indent=2 if array else None)
    return json_safe(text).replace("\n", "\n  ")


class Output:
    """Writes a command's records in the format asked for, to a terminal or a pipe."""

    def __init__(self, fmt: str, color: str, pager: bool, force: bool) -> None:
        self.stream, self.format = sys.stdout, fmt
        tty = _isatty(self.stream)
        self.color = color == "always" or (
            color == "auto" and tty and not os.environ.get("NO_COLOR") and not _dumb()
        )
        # --color always renders as on a terminal (fzf's preview), unless not `force` (grep's)
        self.terminal = fmt == "text" and (tty or (force and color == "always"))
        self.pager = pager and tty and not _dumb()

    def added(self, article: Article, path: str) -> None:
        """A new article: a confirmation on a terminal, its path in a pipe."""
        if self.terminal:
            from rich.text import Text

            added = f" ({article.date.isoformat()}) as {visible(path)}"
            self.print(Text.assemble(("Added ", "green"), (visible(article.id), "bold"), added))
        else:
            self.stream.write(f"{path}\n")

    def show(
        self,
        records: Iterable[Any],
        plain: Callable[[Any], str],
        render: Callable[[Output, list[Any]], None] | None = None,
        end: str = "\n",
    ) -> int:
        """Print records: `plain` lines or JSON in a pipe, paged `render` on a terminal."""
        if not self.terminal:
            line = plain if self.format == "text" else partial(_json, array=self.format == "json")
            return self.write_lines(map(line, records), end)
        items = list(records)
        if render is None:
            text = "".join(visible(f"{plain(item)}{end}") for item in items)
        else:
            with self.console.capture() as capture:
                if items:
                    render(self, items)
            text = capture.get()
        self._page(text)
        return len(items)

    def _page(self, text: str) -> None:
        """Write text, paged when taller than the screen: $KN_PAGER, $PAGER or less -FRX."""
        command = os.environ.get("KN_PAGER", os.environ.get("PAGER", "less -FRX")).strip()
        if not self.pager or command in ("", "cat") or text.count("\n") < self.console.height:
            self.stream.write(text)
            return
        import signal
        import subprocess

        self.stream.flush()
        process = subprocess.Popen(
            command, shell=True, stdin=subprocess.PIPE, env={"LESS": "FRX", **os.environ}
        )
        # Ctrl-C is the pager's while it runs: kn waits for it, so the terminal is restored.
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:  # a pager that quits early, or never starts, breaks the pipe: communicate() is quiet
            process.communicate(text.encode("utf-8"))
        finally:
            signal.signal(signal.SIGINT, interrupt)
        if process.returncode in (126, 127):  # the shell could not run it: shown without it
            print(f"kn: the pager {command!r} could not run: shown without it", file=sys.stderr)
            self.stream.write(text)

    def write_lines(self, lines: Iterable[str], end: str = "\n") -> int:
        """Write rendered records: one a line, or as one JSON array; return how many."""
        if self.format == "json":
            count = 0
            for count, item in enumerate(lines, 1):
                self.stream.write(("[\n  " if count == 1 else ",\n  ") + item)
            self.stream.write("\n]\n" if count else "[]\n")
            return count
        end, count, rest = "\n" if self.format == "jsonl" else end, 0, iter(lines)
        while batch := list(islice(rest, 512)):  # one write per batch: far fewer calls
            self.stream.write(end.join(batch) + end)
            count += len(batch)
        return count

    @cached_property
    def console(self) -> Console:
        return _console(
            file=self.stream,
            force_terminal=self.terminal and not _dumb(),
            color_system=("standard" if _dumb() else "auto") if self.color else None,
            no_color=not self.color,
            highlight=False,
            markup=False,
            emoji=False,
        )

    def print(self, *renderables: RenderableType) -> None:
        self.console.print(*renderables, sep="\n")


def silence() -> None:
    """The reader went away: what Python still wants to flush goes to /dev/null."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def raw(data: bytes) -> None:
    """An article file as stored; a terminal never receives raw control characters."""
    if _isatty(sys.stdout):
        sys.stdout.write(visible(data.decode("utf-8", "replace")))
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)


def progress(what: str = "reading articles") -> Callable[[int, bool], None] | None:
    """A progress line on stderr, on a terminal only; cleared when told that all is done."""
    if not _isatty(sys.stderr) or _dumb():
        return None
    shown: list[Any] = []

    def update(count: int, done: bool) -> None:
        if not shown and not done:  # shown from the first count; none if all is done at once
            from rich.progress import Progress, SpinnerColumn, TextColumn

            text = TextColumn(f"{what}: {{task.completed}}")
            bar = Progress(SpinnerColumn(), text, console=_console(stderr=True), transient=True)
            bar.start()
            shown.append((bar, bar.add_task("read", total=None)))
        if shown:
            bar, task = shown[0]
            bar.update(task, completed=count)
            if done:
                bar.stop()

    return update


def _text(value: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(visible(value).expandtabs(), style=style)  # rich measures a tab as one cell


def _grid(rows: Iterable[Iterable[RenderableType]], *columns: dict[str, Any]) -> Table:
    """Rows in aligned columns, a space between two; text cells made visible."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1, 0, 0))
    for column in columns:
        grid.add_column(**column)
    for row in rows:
        grid.add_row(*(_text(cell) if isinstance(cell, str) else cell for cell in row))
    return grid


MARKERS = {"no_wrap": True, "style": "cyan"}  # the column of a bulleted list's markers


def article_line(article: Article) -> str:
    """ID, DATE, SOURCE and TITLE, separated by tabs."""
    line = f"{article.id}\t{article.date.isoformat()}\t{article.source or ''}\t{article.title}"
    if line.count("\t") == 3 and "\n" not in line and "\r" not in line:
        return line  # the usual case, tested at once for the whole line
    fields = (article.id, article.date.isoformat(), article.source, article.title)
    return "\t".join(map(field, fields))


def article_table(out: Output, articles: list[Article]) -> None:
    """ID, date, source, title and tags as the width allows; an ID never wraps, a title may."""
    from rich.table import Table

    width, longest = out.console.width, max(len(article.id) for article in articles)
    room = width - longest - 12  # what the ID and the date leave to the other columns
    if room < 20:  # too narrow for a table: each ID whole on a line of its own
        from rich.padding import Padding

        for article in articles:
            out.console.print(_text(article.id, "cyan"), soft_wrap=True)
            out.print(Padding(_text(f"{article.date.isoformat()}  {article.title}"), (0, 0, 0, 2)))
        return
    table = Table(box=None, header_style="bold", pad_edge=False, show_edge=False)
    table.add_column("ID", style="cyan", no_wrap=True, min_width=min(longest, width))
    table.add_column("Date", no_wrap=True)
    columns = [("Source", "green")] if room >= 35 else []
    columns += [("Title", "bold")] + ([("Tags", "dim")] if room >= 80 else [])
    for name, style in columns:
        table.add_column(name, style=style, ratio=1 if name == "Title" else None)
    for article in articles:
        values = {"Source": article.source or "", "Title": article.title}
        values["Tags"] = ", ".join(article.tags)
        row = [article.id, article.date.isoformat(), *(values[name] for name, _ in columns)]
        table.add_row(*map(_text, row))
    out.print(table)


def metadata(article: Article) -> str:
    """Date · source · by authors · tags · url, leaving out what the article lacks: one line."""
    authors = "by " + ", ".join(article.authors) if article.authors else ""
    tags = "tags: " + ", ".join(article.tags) if article.tags else ""
    parts = (article.date.isoformat(), article.source, authors, tags, article.url)
    return field(" · ".join(part for part in parts if part))


def stream_document(article: Article, body: Iterable[tuple[int, str]], first: bool) -> None:
    """Title and metadata a line each, a blank line, the body as stored; a blank line between."""
    sys.stdout.write(f"{'' if first else chr(10)}{field(article.title)}\n{metadata(article)}\n\n")
    last = "\n"
    for _, piece in body:
        sys.stdout.write(piece)
        last = piece[-1:]
    if last != "\n":
        sys.stdout.write("\n")


def documents_view(out: Output, documents: list[Document]) -> None:
    """Articles rendered one after the other, a rule between two."""
    from rich.padding import Padding
    from rich.rule import Rule

    from . import structure

    for index, document in enumerate(documents):
        article = document.article
        if index:
            out.print(Rule(style="dim"))
        out.print(_text(article.title, "bold"), _text(metadata(article), "dim"), _text(""))
        for block in structure.parse(document.body, article.body_line):
            if isinstance(block, structure.Heading | structure.Paragraph):
                style = "bold cyan" if isinstance(block, structure.Heading) else ""
                out.print(Padding(_text(block.text, style), (0, 0, 1, 0)))
            elif isinstance(block, structure.Rule):  # a scene break, `* * *`
                out.print(Padding(Rule(characters="·", style="dim"), (0, 8, 1, 8)))
            elif isinstance(block, structure.Table):  # its first row as the header
                header = [_text(cell, "bold") for cell in block.rows[0]]
                table = _grid([header, *block.rows[1:]], *[{}] * max(map(len, block.rows)))
                out.print(Padding(table, (0, 0, 1, 2)))
            else:  # numbered items keep their numbers; other markers are drawn as bullets
                rows = [(i.marker if i.marker[0].isdigit() else "•", i.text) for i in block.items]
                out.print(Padding(_grid(rows, MARKERS, {}), (0, 0, 1, 2)))


GREP_MATCH, GREP_END = "\x1b[01;31m\x1b[K", "\x1b[m\x1b[K"


def match_line(match: Match | Count | None, color: bool, null: bool, named: bool) -> str:
    """PATH:LINE:TEXT as grep -Hn prints it (or -HnZ, -hn; PATH-LINE-TEXT for a line of context);
    a count as PATH:COUNT; None, between two groups of lines with context, as `--`."""
    if match is None:
        return "--"
    mark = "-" if isinstance(match, Match) and match.context else ":"
    path = (match.article.path + ("\0" if null else mark)) if named else ""
    if isinstance(match, Count):
        return f"{path}{match.count}"
    text = match.text
    if color:  # grep's own colouring of matches, for --color=always in a pipe
        pieces, last = [], 0
        for start, end in match.spans:
            pieces += [text[last:start], GREP_MATCH, text[start:end], GREP_END]
            last = end
        text = "".join(pieces) + text[last:]
    return f"{path}{match.line}{mark}{text}"


def match_groups(out: Output, records: list[Match | None]) -> None:
    """Matches grouped by article, with line numbers and highlights; context lines dim."""
    for index, (article, group) in enumerate(groupby(filter(None, records), lambda m: m.article)):
        if index:
            out.print(_text(""))
        day = article.date.isoformat()
        header = [(article.id, "bold magenta"), (day, "dim"), (article.title, "bold")]
        out.print(_text("  ").join(_text(*part) for part in header))
        lines = ((str(m.line), _marked(m.text, m.spans, "bold red", m.context)) for m in group)
        out.print(_grid(lines, {"justify": "right", "style": "green", "no_wrap": True}, {}))


def _marked(text: str, spans: Iterable[tuple[int, int]], style: str, dim: bool = False) -> Text:
    """Text made visible, with its spans styled; all of it dim if asked."""
    shown, at = _text(text), [0]  # where each character's visible form (escaped, a tab) ends
    for char in text if spans else "":  # once: a span's own count took time squared in the line
        at.append(at[-1] + (8 - at[-1] % 8 if char == "\t" else len(visible(char))))
    for start, end in spans:
        shown.stylize(style, at[start], at[end])
    shown.stylize("dim" if dim else "")
    return shown


def hit_line(hit: Hit) -> str:
    """ID, SCORE and TITLE, separated by tabs."""
    return f"{field(hit.article.id)}\t{hit.score:.6g}\t{field(hit.article.title)}"


def hits_view(out: Output, hits: list[Hit]) -> None:
    """Each article found: title; ID, date and source; snippet."""
    from rich.padding import Padding
    from rich.text import Text

    for hit in hits:
        article = hit.article
        where = "".join(f" · {part}" for part in (article.date.isoformat(), article.source) if part)
        ids = Text.assemble((visible(article.id), "cyan"), (visible(where), "dim"))
        snippet = Padding(_marked(hit.snippet, hit.spans, "bold yellow"), (0, 0, 1, 2))
        out.print(_text(article.title, "bold"), ids, snippet)


def bucket_line(bucket: Bucket) -> str:
    """BUCKET and COUNT, separated by a tab."""
    return f"{field(bucket.bucket)}\t{bucket.count}"


def buckets_view(out: Output, buckets: list[Bucket], total: int, span: tuple[str, str]) -> None:
    """The total and the range, then a bar a bucket, drawn in proportion to its count."""
    from rich.text import Text

    counted = f"{total:,} article{'s' * (total != 1)}"
    out.print(Text.assemble((counted, "bold"), (f", {span[0]} to {span[1]}", "dim")))
    most, label = max(b.count for b in buckets), max(_text(b.bucket).cell_len for b in buckets)
    fit = max(out.console.width - len(str(most)) - 4, 1)  # label and bar: a count is never cut
    rows = _grid((), {"style": "cyan", "no_wrap": True, "max_width": fit}, {}, {"justify": "right"})
    for bucket in buckets:
        bar = "█" * int(bucket.count * (fit - label) / (most or 1)) or ("▏" if bucket.count else "")
        rows.add_row(_text(bucket.bucket), Text(bar, style="magenta"), str(bucket.count))
    out.print(rows)


def fact_line(fact: Fact) -> str:
    """ID, HEADING and FACT, separated by tabs."""
    return "\t".join(map(field, (fact.article.id, fact.heading, fact.text)))


def fact_groups(out: Output, facts: list[Fact]) -> None:
    """Facts grouped by article (its title), then heading, as bulleted lists."""
    from rich.padding import Padding

    for index, (article, by_article) in enumerate(groupby(facts, key=lambda f: f.article)):
        if index:
            out.print(_text(""))
        dated = f"{article.id} · {article.date.isoformat()}"
        out.print(_text(article.title, "bold"), _text(dated, "dim"))
        for heading, group in groupby(by_article, key=lambda f: f.heading):
            out.print(Padding(_text(heading, "bold cyan"), (1, 0, 0, 0)))
            bullets = _grid((("•", fact.text) for fact in group), MARKERS, {})
            out.print(Padding(bullets, (0, 0, 0, 2)))
