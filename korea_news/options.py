"""The options that kn's commands share: the global ones, the filters and --format."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import output, query
from .archive import Archive, locate
from .model import KnError

F = TypeVar("F", bound=Callable[..., Any])


def complete_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion: the article IDs that start with what was typed."""
    from click.shell_completion import CompletionItem

    try:
        root = locate(ctx.find_root().params.get("archive"), dict(os.environ), os.getcwd())
        entries = Archive(root, on_error=lambda error: None).entries()
        return [CompletionItem(e.id) for e in entries if e.id.startswith(incomplete)]
    except (KnError, OSError):
        return []


def _after(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command counts as if given before it."""
    if value is not None and value is not False and ctx.obj is not None:
        setattr(ctx.obj, {"archive": "archive_option"}.get(param.name or "", param.name), value)


def global_options(before: bool = False) -> Callable[[F], F]:
    """--archive, --color and --no-cache: the group's own (`before`), or a command's."""
    after: dict[str, Any] = {} if before else {"expose_value": False, "callback": _after}
    colors = click.Choice(output.COLORS)
    declared = [
        click.option("--archive", metavar="DIR", help=f"The archive (default: ${ENV}, else the nearest articles/).", **after),
        click.option("--color", type=colors, default="auto" if before else None, help="Colour: auto, always or never.", **after),
        click.option("--no-cache", is_flag=True, help="Do not use or update the cache ($KN_NO_CACHE=1).", **after),
    ]  # fmt: skip
    return _all(declared)


def command_options(text: str, limit: str) -> Callable[[F], F]:
    """--format, whose `text` output is described, the shared filters unless `limit` is
    empty (its options: "-n" for -n and --limit, else --limit alone), and global_options."""
    limits = ["-n", "--limit"] if limit == "-n" else ["--limit"]
    declared = [
        click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="text", show_default=True, help=text),
        global_options(),
    ]  # fmt: skip
    if limit:
        declared += [
            click.option("--since", metavar="DATE", help="On or after DATE: 2017, 2017-08 or 2017-08-07."),
            click.option("--until", metavar="DATE", help="On or before DATE (inclusive, same forms)."),
            click.option("--tag", "tags", multiple=True, metavar="TAG", help="Has TAG (repeatable: all of them)."),
            click.option("--source", help="Source contains this text (case-insensitive)."),
            click.option("--where", multiple=True, metavar="KEY=VALUE", help="Front-matter KEY equals VALUE, or its list holds it."),
            click.option(*limits, type=click.IntRange(min=0), metavar="N", help="At most N articles, the first in order."),
            click.option("--reverse", is_flag=True, help="Oldest first."),
        ]  # fmt: skip
    return _all(declared)


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
        click.option("--dry-run", is_flag=True, help="Print ID, PATH and TITLE each input would get; write nothing."),
        click.option("--feed", "feeds", multiple=True, metavar="FEED", help="An RSS or Atom feed (a file or URL): add its pages, oldest first."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True, max=DAY), default=30.0, callback=_not_nan, show_default=True, metavar="SECONDS", help="Give up on a URL after this long."),
        click.option("--delay", type=click.FloatRange(min=0, max=DAY), default=1.0, callback=_not_nan, show_default=True, metavar="SECONDS", help="Wait between two requests to one host."),
    ])(function)  # fmt: skip


DAY = 86400.0  # the most seconds --timeout and --delay take: more is a typo, or inf


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


def limit(params: dict[str, Any]) -> int | None:
    """The --limit asked for; one past any archive's size (99999999999999999999) is none."""
    return None if params["limit"] is None else min(params["limit"], sys.maxsize)


def filters(params: dict[str, Any]) -> query.Filter:
    """The shared filters of a command's options."""
    return query.Filter.from_options(
        params["since"], params["until"], params["tags"], params["source"], params["where"]
    )


ENV = "KN_ARCHIVE"
