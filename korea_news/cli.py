"""The `kn` command: read options, call the core, hand records to the output."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any, NoReturn, TypeVar

import click

from . import output, query, walk
from .archive import Archive, locate
from .model import (
    Article,
    ArticleNotFound,
    Count,
    Document,
    Fact,
    InvalidArticle,
    KnError,
    Match,
)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

EXIT_FOUND, EXIT_NONE, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141


def warn(message: str) -> None:
    click.echo(f"kn: {output.visible(message)}", err=True)


class State:
    """The global options, the archive they name, and whether anything went wrong."""

    def __init__(self, archive: str | None, color: str, no_cache: bool) -> None:
        self.archive_option = archive
        self.color = color
        self.no_cache = no_cache or os.environ.get("KN_NO_CACHE", "") not in ("", "0")
        self.failed = False

    def problem(self, error: KnError) -> None:
        """An article that could not be read: warn, carry on, and exit 2 at the end."""
        self.failed = True
        warn(str(error))

    @cached_property
    def archive(self) -> Archive:
        root = locate(self.archive_option, dict(os.environ), os.getcwd())
        return Archive(
            root, on_error=self.problem, use_cache=not self.no_cache, progress=output.progress()
        )

    def output(self, fmt: str = "text", pager: bool = True) -> output.Output:
        return output.Output(fmt, self.color, pager)

    def finish(self, count: int) -> NoReturn:
        """Exit as grep does: 0 found, 1 nothing, 2 if any article could not be read."""
        code = EXIT_ERROR if self.failed else EXIT_FOUND if count else EXIT_NONE
        click.get_current_context().exit(code)


class KnGroup(click.Group):
    """Turns kn's own errors, interrupts and closed pipes into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KnError as error:
            warn(str(error))
            ctx.exit(EXIT_ERROR)
        except click.ClickException as error:
            # click's own errors exit 1, which kn keeps for "nothing matched".
            error.show()
            ctx.exit(EXIT_ERROR)
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(EXIT_PIPE)
        except KeyboardInterrupt:
            ctx.exit(EXIT_INTERRUPTED)


def _silence_stdout() -> None:
    # The reader went away: send what Python still wants to flush to /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def complete_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion: the article IDs that start with what was typed."""
    from click.shell_completion import CompletionItem

    try:
        root = locate(ctx.find_root().params.get("archive"), dict(os.environ), os.getcwd())
        entries = Archive(root, on_error=lambda error: None).entries()
        return [CompletionItem(e.id) for e in entries if e.id.startswith(incomplete)]
    except (KnError, OSError):
        return []


def format_option(function: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(output.FORMATS),
        default="text",
        show_default=True,
        help="text: a table on a terminal, tab-separated lines in a pipe; json or jsonl.",
    )(function)


def filter_options(function: F) -> F:
    options = [
        click.option(
            "--since", metavar="DATE", help="On or after DATE: 2017, 2017-08 or 2017-08-07."
        ),
        click.option("--until", metavar="DATE", help="On or before DATE (inclusive, same forms)."),
        click.option(
            "--tag", "tags", multiple=True, metavar="TAG", help="Has TAG (repeatable: all of them)."
        ),
        click.option("--source", help="Source contains this text (case-insensitive)."),
        click.option(
            "--where",
            multiple=True,
            metavar="KEY=VALUE",
            help="Front-matter KEY equals VALUE, or its list contains it (repeatable).",
        ),
        click.option(
            "-n",
            "--limit",
            type=click.IntRange(min=0),
            metavar="N",
            help="At most N articles, the first in the order asked for.",
        ),
        click.option("--reverse", is_flag=True, help="Oldest first."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _filter(params: dict[str, Any]) -> query.Filter:
    return query.Filter.from_options(
        params["since"], params["until"], params["tags"], params["source"], params["where"]
    )


def ordered(rows: list[tuple[Any, T]], params: dict[str, Any]) -> list[T]:
    """The payloads of (sort key, payload) rows, in the order asked for, limited."""
    rows = query.in_order(rows, _key, params["reverse"], params["limit"])
    return [payload for _, payload in rows]


def _key(row: tuple[Any, Any]) -> Any:
    return row[0]


def _path(article: Article) -> str:
    return article.path


@click.group(cls=KnGroup, context_settings={"max_content_width": 100})
@click.version_option(package_name="korea-news", prog_name="kn")
@click.option(
    "--archive",
    metavar="DIR",
    help="The archive folder (default: $KN_ARCHIVE, else the nearest articles/ upward).",
)
@click.option(
    "--color",
    type=click.Choice(output.COLORS),
    default="auto",
    show_default=True,
    help="Colour on a terminal; never, or always.",
)
@click.option("--no-cache", is_flag=True, help="Do not use or update the cache ($KN_NO_CACHE=1).")
@click.pass_context
def cli(ctx: click.Context, archive: str | None, color: str, no_cache: bool) -> None:
    """kn: an archive of news articles, in plain text with YAML front matter.

    \b
    Example:
      kn list --tag sanctions --since 2017-08
      kn show 2017-08-07-north
    """
    ctx.obj = State(archive, color, no_cache)


@cli.command("list")
@filter_options
@format_option
@click.pass_obj
def list_articles(state: State, /, fmt: str, **params: Any) -> None:
    """List articles, newest first.

    In a pipe: one line per article, ID, DATE, SOURCE and TITLE separated by tabs.

    \b
    Example:
      kn list --tag sanctions --since 2017 | cut -f1
    """
    out = state.output(fmt)
    select, prepare = _filter(params), out.prepare(output.article_line)

    def row(article: Article, _: None) -> tuple[Any, Any] | None:
        return (article.sort_key, prepare(article)) if select.matches(article) else None

    def every(article: Article, _: None) -> tuple[Any, Any]:
        return (article.sort_key, prepare(article))

    rows = walk.each(state.archive, row if select.active else every, share=not out.terminal)
    state.finish(out.show(ordered(rows, params), output.article_line, output.article_table))


@cli.command()
@click.argument("names", metavar="[ARTICLE]...", nargs=-1, shell_complete=complete_ids)
@click.option("--raw", is_flag=True, help="The file exactly as stored, byte for byte.")
@click.option("--no-pager", is_flag=True, help="Never page, even when taller than the screen.")
@format_option
@click.pass_obj
def show(state: State, /, names: tuple[str, ...], raw: bool, no_pager: bool, fmt: str) -> None:
    """Show articles (by ID, unique ID prefix or path); the newest with no ARTICLE.

    \b
    Example:
      kn show 2017-08-07-north
      kn show --raw articles/2017/2017-08-07-north-korea-calls-offer-*.txt
    """
    archive = state.archive
    if not names:
        newest = walk.each(archive, lambda article, _: (article.sort_key, article.id))
        if not newest:
            raise KnError(f"the archive {archive.shown_root} has no articles")
        names = (min(newest)[1],)
    entries = []
    for name in names:  # as cat: each unknown name is an error, the others are shown
        try:
            entries.append(archive.find(name))
        except ArticleNotFound as error:
            state.problem(error)
    if raw:
        for entry in entries:
            try:
                output.raw(archive.read_bytes(entry))
            except InvalidArticle as error:
                state.problem(error)
        state.finish(len(entries))
    documents = []
    for entry in entries:
        try:
            documents.append(Document(*archive.read(entry)))
        except InvalidArticle as error:
            state.problem(error)
    out = state.output(fmt, pager=not no_pager)
    gaps = [""] + ["\n"] * len(documents)  # a blank line between two articles in a pipe

    def plain(document: Document) -> str:
        return gaps.pop(0) + output.document_plain(document)

    payloads = [out.prepare(plain)(document) for document in documents]
    state.finish(out.show(payloads, output.document_plain, output.documents_view))


@cli.command()
@click.argument("pattern", required=False)
@click.option(
    "-e",
    "--regexp",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="A pattern (repeatable: any of them).",
)
@click.option("-F", "--fixed-strings", "fixed", is_flag=True, help="Patterns are plain text.")
@click.option("-i", "--ignore-case", is_flag=True, help="Ignore case.")
@click.option("-w", "--word-regexp", "words", is_flag=True, help="Match whole words only.")
@click.option(
    "-l",
    "--files-with-matches",
    "paths",
    is_flag=True,
    help="Print each matching article's path once.",
)
@click.option("-c", "--count", is_flag=True, help="Print PATH:COUNT of matching lines.")
@click.option("-0", "--null", is_flag=True, help="End each path with NUL (for xargs -0).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; exit 0 at the first match.")
@filter_options
@format_option
@click.pass_obj
def search(
    state: State,
    /,
    pattern: str | None,
    patterns: tuple[str, ...],
    fixed: bool,
    ignore_case: bool,
    words: bool,
    paths: bool,
    count: bool,
    null: bool,
    quiet: bool,
    fmt: str,
    **params: Any,
) -> None:
    """Search titles and bodies for a Python regular expression, as grep does.

    In a pipe: PATH:LINE:TEXT per matching line, exactly as grep -Hn prints it (LINE counts
    the front matter; a title match reports the title: line). Exit 0 if anything
    matched, 1 if nothing did, 2 on an error.

    \b
    Example:
      kn search -i -w 'coal|iron' --since 2017
      kn search -l sanctions | xargs kn show
    """
    from .search import compile_pattern, matches, matching

    wanted = [*patterns, *([pattern] if pattern is not None else [])]
    if not wanted:
        raise click.UsageError("give a PATTERN, or -e PATTERN")
    compiled = compile_pattern(wanted, fixed, ignore_case, words)
    select, out, separator = _filter(params).matches, state.output(fmt), "\0" if null else ":"
    color = out.color and not out.terminal

    def line(record: Match | Count) -> str:
        return output.match_line(record, color, separator)

    prepare, prepare_path = out.prepare(line), out.prepare(_path)

    def found(article: Article, text: Any) -> tuple[Any, Any] | None:
        if not select(article):
            return None
        if quiet or paths:
            hit = next(matching(compiled, article, text), None)
            return (article.sort_key, prepare_path(article)) if hit else None
        if count:
            number = sum(1 for _ in matching(compiled, article, text))
            return (article.sort_key, prepare(Count(article, number))) if number else None
        kept = [prepare(match) for match in matches(compiled, article, text)]
        return (article.sort_key, kept) if kept else None

    if quiet:
        if walk.each(state.archive, found, "text", compiled.required, first=True):
            click.get_current_context().exit(EXIT_FOUND)
        state.finish(0)
    rows = walk.each(state.archive, found, "text", compiled.required, share=not out.terminal)
    payloads = ordered(rows, params)
    if paths:
        state.finish(out.show(payloads, _path, end="\0" if null else "\n"))
    elif count:
        state.finish(out.show(payloads, prepare))
    lines = [line for kept in payloads for line in kept]
    state.finish(out.show(lines, prepare, output.match_groups))


@cli.command()
@click.argument("names", metavar="[ARTICLE]...", nargs=-1, shell_complete=complete_ids)
@click.option(
    "--heading", metavar="PATTERN", help="Only facts whose heading matches (case-insensitive)."
)
@filter_options
@format_option
@click.pass_obj
def facts(
    state: State, /, names: tuple[str, ...], heading: str | None, fmt: str, **params: Any
) -> None:
    """List the bullet-point facts of articles under the heading they stand under.

    The heading is the nearest heading above the list, or the line ending with ':' that
    leads into it; a list with neither takes the article's title. With no ARTICLE, all
    articles that the filters select. In a pipe: ID, HEADING and FACT separated by tabs.

    \b
    Example:
      kn facts --heading sanctions
      kn facts 2017-08-07-north --format jsonl | jq -r .text
    """
    wanted = _heading_pattern(heading)
    select, out = _filter(params).matches, state.output(fmt)
    prepare = out.prepare(output.fact_line)

    def found(article: Article, rows: tuple[walk.FactRow, ...]) -> tuple[Any, Any] | None:
        kept = [
            prepare(Fact(article, *row)) for row in rows if wanted is None or wanted.search(row[1])
        ]
        return (article.sort_key, kept) if kept and select(article) else None

    if names:  # as show: each unknown name is an error, the others are listed
        rows: list[tuple[Any, Any]] = []
        for name in names:
            try:
                article, body = state.archive.read(state.archive.find(name))
            except KnError as error:
                state.problem(error)
                continue
            if (row := found(article, walk.facts_of(article, body))) is not None:
                rows.append(row)
    else:
        rows = walk.each(state.archive, found, "facts", share=not out.terminal)
    facts = [fact for kept in ordered(rows, params) for fact in kept]
    state.finish(out.show(facts, output.fact_line, output.fact_groups))


def _heading_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise KnError(f"bad pattern {pattern!r}: {error}") from None


@cli.command()
@click.argument("files", metavar="[FILE|-]...", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--title", help="The title (default: the text's first non-empty line).")
@click.option("--date", help="YYYY-MM-DD or an ISO 8601 date-time (default: today).")
@click.option("--source", help="Where the article comes from.")
@click.option("--url", help="The article's address.")
@click.option("--author", "authors", multiple=True, help="An author (repeatable).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--id", "article_id", help="The ID (default: DATE-slug-of-the-title).")
@click.pass_obj
def add(state: State, /, files: tuple[str, ...], article_id: str | None, **fields: Any) -> None:
    """Add plain-text articles to the archive (standard input with no FILE, or -).

    The title is the first non-empty line, unless the text has front matter or --title is
    given; the rest is the body, kept as it is. The article goes to ARCHIVE/YEAR/ID.txt.
    An existing article is never overwritten.

    \b
    Example:
      kn add story.txt --date 2017-08-07 --source "BBC News" --tag sanctions
    """
    from . import compose

    archive = state.archive
    out = state.output()
    for name in files or ("-",):
        try:
            text = _read_input(name)
            draft = compose.draft(text, name, {**fields, "id": article_id})
            path, added = archive.add(draft)
        except KnError as error:
            state.problem(error)
            continue
        if not added:
            warn(f"{name}: already in the archive as {draft.id} ({path}); nothing changed")
        elif out.terminal:
            out.print(output.added_line(draft.article, path))
        else:
            out.write(f"{path}\n")
    click.get_current_context().exit(EXIT_ERROR if state.failed else EXIT_FOUND)


def _read_input(name: str) -> str:
    """The text of an input file (or stdin for -): UTF-8, not empty, not binary."""
    from . import frontmatter

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


@cli.command()
@click.pass_obj
def check(state: State, /) -> None:
    """Check every article of the archive; print PATH:LINE: message for each problem.

    Exit 0 when the archive is clean, 1 when problems were found, 2 when it cannot be read.

    \b
    Example:
      kn check && echo clean
    """
    problems = state.archive.check()
    for problem in problems:
        click.echo(output.visible(str(problem)) if sys.stdout.isatty() else str(problem))
    files = len({problem.path for problem in problems})
    if problems:
        warn(f"{len(problems)} problem(s) in {files} file(s)")
    click.get_current_context().exit(EXIT_NONE if problems else EXIT_FOUND)


def _utf8_output() -> None:
    """UTF-8 whatever the locale, and buffered in a pipe even under PYTHONUNBUFFERED."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")
    if isinstance(sys.stdout, io.TextIOWrapper) and not sys.stdout.isatty():
        sys.stdout.reconfigure(line_buffering=False, write_through=False)


def main() -> NoReturn:
    """The console script: no Python traceback ever reaches the user."""
    # A run is short and makes no garbage cycles worth collecting, but it may hold
    # 10^5 articles: the collector's passes over them cost more than the memory it frees.
    gc.disable()
    if sys.stderr is None:  # closed before kn started: no messages, the exit code still tells
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:  # as grep says on a write error
        warn("cannot write: standard output is closed")
        _exit(EXIT_ERROR)
    _utf8_output()
    code: int | str | None = EXIT_ERROR
    try:
        cli.main(prog_name="kn")
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_PIPE
    except OSError as error:  # kn reports its reads itself: this is a write that failed
        _write_failed(error)
        code = EXIT_ERROR
    except Exception as error:  # a bug: say so in one line, not a traceback
        if os.environ.get("KN_DEBUG"):
            raise
        warn(f"internal error: {type(error).__name__}: {error} (KN_DEBUG=1 shows more)")
    _exit(code)


def _write_failed(error: OSError) -> None:
    """Say that the output could not be written (a full disk, say), as grep does."""
    _silence_stdout()  # what is still buffered can go nowhere either
    warn(f"cannot write: {error.strerror or error}")


def _exit(code: int | str | None) -> NoReturn:
    """Flush the output and end the process at once.

    The interpreter's own ending would free every object one by one: tens of milliseconds
    after a walk of 10^5 articles, for memory the system takes back anyway. Nothing of
    kn's is left to do by then (the cache is saved as each walk ends).
    """
    if isinstance(code, str):  # sys.exit("message"), as Python itself reports it
        warn(code)
        code = EXIT_ERROR
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_PIPE
    except OSError as error:
        _write_failed(error)
        code = EXIT_ERROR
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code or 0)
