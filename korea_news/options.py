"""What kn's commands share: global options and state, filters, --format, exit codes, messages."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, NoReturn, TypeVar

import click

from . import escape, output
from .archive import Archive, locate
from .model import KnError
from .store import Store

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
R = TypeVar("R")

EXIT_FOUND, EXIT_NONE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141


def warn(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    click.echo(f"kn: {escape.visible(message)}".replace("\n", "\\n"), err=True)


class State:
    """The global options, the archive they name, and whether anything went wrong."""

    def __init__(self, archive: str | None, color: str, no_cache: bool) -> None:
        self.archive_option, self.color, self.no_cache = archive, color, no_cache
        self.failed = self.no_pager = False

    def problem(self, error: KnError) -> None:
        """An article that could not be read: warn, carry on, and exit 2 at the end."""
        self.failed = True
        warn(str(error))

    @cached_property
    def archive(self) -> Archive:
        use_cache = not self.no_cache and os.environ.get("KN_NO_CACHE", "") in ("", "0")
        return Archive(locate(self.archive_option), self.problem, use_cache, output.progress())

    def synced(self, ranks: bool = False) -> Store:
        """The archive's store, in step with its files (`ranks`: with the text index, always)."""
        store = Store(self.archive, persistent=self.archive.use_cache, ranks=ranks)
        store.sync()
        return store

    def each(self, items: Iterable[T], function: Callable[[T], R]) -> list[R]:
        """What `function` makes of each item; as cat, an error is told, and the rest done."""
        done = []
        for item in items:
            try:
                done.append(function(item))
            except KnError as error:
                self.problem(error)
        return done

    def output(self, fmt: str = "text", force: bool = True) -> output.Output:
        return output.Output(fmt, self.color, not self.no_pager, force)

    def finish(self, count: int) -> NoReturn:
        """Exit as grep does: 0 found, 1 nothing, 2 if any article could not be read."""
        code = EXIT_ERROR if self.failed else EXIT_FOUND if count else EXIT_NONE
        click.get_current_context().exit(code)


class KnGroup(click.Group):
    """kn's errors, interrupts and closed pipes as exit codes; `lazy` commands load when asked."""

    def __init__(self, *args: Any, lazy: dict[str, str], **settings: Any) -> None:
        super().__init__(*args, **settings)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.commands, *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import pkgutil

            self.add_command(pkgutil.resolve_name(self.lazy.pop(name)), name)
        return super().get_command(ctx, name)

    def make_context(self, *args: Any, **settings: Any) -> click.Context:
        try:
            return super().make_context(*args, **settings)
        except click.ClickException as error:  # kn's own options: kn --bogus
            if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
                raise  # kn alone: its help, as click shows it
            _usage(error)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KnError as error:
            warn(str(error))
            ctx.exit(EXIT_ERROR)
        except click.ClickException as error:
            _usage(error)
        except BrokenPipeError:
            output.silence()
            ctx.exit(EXIT_PIPE)
        except KeyboardInterrupt:
            ctx.exit(EXIT_INTERRUPTED)


def _usage(error: click.ClickException) -> NoReturn:
    """Click's error in one line, as kn's (and exit 2: click's 1 means "nothing matched")."""
    message = error.format_message().rstrip(".")
    if (command := getattr(error, "ctx", None)) is not None:
        message += f" (see {command.command_path} --help)"
    warn(message[:1].lower() + message[1:])
    sys.exit(EXIT_ERROR)


def named(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names given, each `-` read from stdin (one a line, blank lines left out)."""
    if "-" not in names:
        return names
    given = [line.strip() for line in sys.stdin]
    return tuple(n for name in names for n in (given if name == "-" else [name]) if n)


def complete_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion: the IDs that start with what was typed, with or without their date."""
    import unicodedata

    from click.shell_completion import CompletionItem

    from .archive import undated

    typed = unicodedata.normalize("NFC", incomplete)
    try:
        given = ctx.meta.get("archive_option", ctx.find_root().params.get("archive_option"))
        ids = sorted(Archive(locate(given)).ids())  # a scan tells no problem
    except (KnError, OSError):
        return []
    return [CompletionItem(i) for i in ids if i.startswith(typed) or undated(i).startswith(typed)]


def _to_state(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A command's option kept in the state: a global one counts as if given before it."""
    if value is not None and value is not False:
        ctx.meta[param.name or ""] = value  # shell completion makes no state: it reads this
        if ctx.obj is not None:
            setattr(ctx.obj, param.name or "", value)


def global_options(before: bool = False) -> Callable[[F], F]:
    """--archive, --color and --no-cache: the group's own (`before`), or a command's."""
    after: dict[str, Any] = {} if before else {"expose_value": False, "callback": _to_state}
    return _all([
        click.option("--archive", "archive_option", metavar="DIR", help="The archive (default: $KN_ARCHIVE, else the nearest articles/).", **after),
        click.option("--color", type=click.Choice(output.COLORS), default="auto" if before else None, help="Colour: auto, always or never.", **after),
        click.option("--no-cache", is_flag=True, help="Do not use or update the cache ($KN_NO_CACHE=1).", **after),
    ])  # fmt: skip


def command_options(text: str, limit: tuple[str, ...] = ()) -> Callable[[F], F]:
    """--format (`text` tells its text output), global_options, and with `limit` the filters."""
    declared = [
        click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="text", show_default=True, help=text),
        click.option("--no-pager", is_flag=True, expose_value=False, callback=_to_state, help="Never page, even when taller than the screen."),
        global_options(),
    ]  # fmt: skip
    if limit:  # a --limit past any archive's size (99999999999999999999) is none
        declared += [
            click.option("--since", metavar="DATE", help="On or after DATE: 2017, 2017-08 or 2017-08-07."),
            click.option("--until", metavar="DATE", help="On or before DATE (inclusive, same forms)."),
            click.option("--tag", "tags", multiple=True, metavar="TAG", help="Has TAG (repeatable: all of them)."),
            click.option("--source", help="Source contains this text (case-insensitive)."),
            click.option("--where", multiple=True, metavar="KEY=VALUE", help="Front-matter KEY equals VALUE, or its list holds it."),
            click.option(*limit, type=click.IntRange(min=0), callback=_clamped, metavar="N", help="At most N, the first in order (stats: buckets, else articles)."),
            click.option("--reverse", is_flag=True, help="Turn the order round: oldest first; find: worst first; stats: newest or smallest first."),
        ]  # fmt: skip
    return _all(declared)


def search_options(function: F) -> F:
    """What `kn search` takes beside the shared filters: grep's options."""
    number: dict[str, Any] = {"type": click.IntRange(min=0), "callback": _clamped, "metavar": "NUM"}
    return _all([
        click.argument("pattern", required=False),
        click.option("-e", "--regexp", "patterns", multiple=True, help="A pattern (repeatable: any)."),
        click.option("-f", "--file", "pattern_files", multiple=True, type=click.File("rb"), help="Patterns from FILE, one a line (-: stdin; repeatable)."),
        click.option("-E", "--extended-regexp", is_flag=True, help="Accepted: patterns are extended (grep -E) already."),
        click.option("-F", "--fixed-strings", "fixed", is_flag=True, help="Patterns are plain text."),
        click.option("-i", "--ignore-case", is_flag=True, help="Ignore case."),
        click.option("-w", "--word-regexp", "words", is_flag=True, help="Match whole words only."),
        click.option("-x", "--line-regexp", "whole_lines", is_flag=True, help="Match whole lines only."),
        click.option("-v", "--invert-match", "invert", is_flag=True, help="Select the lines that do not match."),
        click.option("-o", "--only-matching", "only", is_flag=True, help="Print each match alone, not its line."),
        click.option("-m", "--max-count", "most", **number, help="At most NUM matching lines of each article."),
        click.option("-l", "--files-with-matches", "listed", flag_value="matching", help="Print the paths of matching articles."),
        click.option("-L", "--files-without-match", "listed", flag_value="unmatched", help="Print the paths of articles with no match (the last of -l and -L wins)."),
        click.option("-c", "--count", is_flag=True, help="Print PATH:COUNT of matching lines."),
        click.option("-H", "--with-filename", "filename", flag_value=True, default=True, help="PATH before each line (the default)."),
        click.option("-h", "--no-filename", "filename", flag_value=False, help="No PATH before each line."),
        click.option("-A", "--after-context", "after", **number, help="NUM lines of context after each match."),
        click.option("-B", "--before-context", "before", **number, help="NUM lines of context before each match."),
        click.option("-C", "--context", **number, help="NUM lines of context around each match."),
        click.option("-0", "--null", is_flag=True, help="End each path with NUL (for xargs -0)."),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing; exit 0 at the first match."),
        click.option("-n", "--line-number", is_flag=True, help="As grep's -n: line numbers are always printed."),
    ])(function)  # fmt: skip


def add_options(function: F) -> F:
    """What `kn add` takes: inputs, and the fields they cannot give."""
    return _all([
        click.argument("files", metavar="[FILE|URL|-]...", nargs=-1, type=click.Path(allow_dash=True)),
        click.option("--title", help="The title (default: the text's first non-empty line)."),
        click.option("--date", help="YYYY-MM-DD or an ISO 8601 date-time (default: today)."),
        click.option("--source", help="Where the article comes from."),
        click.option("--url", help="The article's address."),
        click.option("--author", "authors", multiple=True, help="An author (repeatable)."),
        click.option("--tag", "tags", multiple=True, help="A tag (repeatable)."),
        click.option("--id", "article_id", help="The ID (default: DATE-slug-of-the-title)."),
        click.option("--title-from", type=click.Choice(["first-sentence"]), help="A text with no title line: its first sentence is the title."),
        click.option("--dry-run", is_flag=True, help="Print ID, PATH, TITLE and new or same for each input; write nothing."),
        click.option("--feed", "feeds", multiple=True, metavar="FEED", help="An RSS or Atom feed (a file or URL): add its pages, oldest first."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=DAY), default=30.0, callback=_not_nan, show_default=True, metavar="SECONDS", help="A deadline for the whole fetch of each URL."),
        click.option("--again", is_flag=True, help="Extract the pages of the ARTICLEs given anew, from the pages kept; print what changed."),
        click.option("-q", "--quiet", count=True, help="Say nothing but errors (no paths, no notes)."),
        click.option("-v", "--verbose", count=True, help="Also name each feed's link skipped as archived already."),
        click.option("--delay", type=click.FloatRange(min=0, max=DAY), default=1.0, callback=_not_nan, show_default=True, metavar="SECONDS", help="Wait between two requests to one host."),
    ])(function)  # fmt: skip


DAY = 86400.0  # the most seconds --timeout and --delay take: more is a typo, or inf


def _clamped(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """A count of at most sys.maxsize: more is as many as there can be (islice takes no more)."""
    return None if value is None else min(value, sys.maxsize)


def _not_nan(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A number of seconds, not NaN (which FloatRange lets through)."""
    if math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds", ctx, param)
    return value


def _all(declared: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        for option in reversed(declared):
            function = option(function)
        return function

    return decorate
