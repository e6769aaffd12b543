"""The `kn` command: read options, call the core, hand records to the output."""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import islice
from typing import Any

import click

from . import escape, options, output
from .archive import Entry, init
from .model import Article, Document, Fact, Hit, KnError
from .options import EXIT_ERROR, EXIT_FOUND, F, KnGroup, State, warn
from .query import Filter
from .stats import BY


# The curating commands (cli_curate.py) are imported only when one runs: kn starts sooner.
@click.group(
    "kn",
    cls=KnGroup,
    lazy={name: f"korea_news.cli_curate.{name}" for name in ("check", "edit", "path", "rm", "tag")},
    context_settings={"max_content_width": 100},
)
@click.version_option(package_name="korea-news", prog_name="kn")
@options.global_options(before=True)
@click.pass_context
def cli(ctx: click.Context, archive_option: str | None, color: str, no_cache: bool) -> None:
    """kn: an archive of news articles, in plain text with YAML front matter.

    \b
    Example:
      kn list --tag sanctions --since 2017-08
      kn show 2017-08-07-north
    """
    ctx.obj = State(archive_option, color, no_cache)


def command(
    text: str, limit: tuple[str, ...] = ("-n", "--limit"), **settings: Any
) -> Callable[[F], click.Command]:
    """A command with --format, the shared filters (see options.command_options)."""

    def decorate(function: F) -> click.Command:
        passed: Any = click.pass_obj(function)
        return cli.command(**settings)(options.command_options(text, limit)(passed))

    return decorate


@command("text: a table on a terminal; ID, DATE, SOURCE, TITLE by tabs in a pipe.", name="list")
def list_articles(state: State, /, fmt: str, **params: Any) -> None:
    """List articles, newest first.

    In a pipe: one line per article, ID, DATE, SOURCE and TITLE separated by tabs.

    \b
    Example:
      kn list --tag sanctions --since 2017 | cut -f1
    """
    select = Filter.from_options(params)
    found = state.synced().articles(reverse=params["reverse"])
    shown = islice(filter(select.matches, found) if select.active else found, params["limit"])
    state.finish(state.output(fmt).show(shown, output.article_line, output.article_table))


@command("text: the article rendered on a terminal; title, metadata, body in a pipe.", limit=())
@click.argument("names", metavar="[ARTICLE]...", nargs=-1, shell_complete=options.complete_ids)
@click.option("--raw", is_flag=True, help="The file exactly as stored, byte for byte.")
@click.option("--original", is_flag=True, help="The page it was added from (kn add, web).")
def show(state: State, /, names: tuple[str, ...], raw: bool, original: bool, fmt: str) -> None:
    """Show articles (by ID, unique ID prefix or path); the newest with no ARTICLE; `-`
    reads names from stdin, one a line.

    \b
    Example:
      kn show 2017-08-07-north
      kn show --raw articles/2017/2017-08-07-north-korea-calls-offer-*.txt
    """
    archive = state.archive
    if "-" in names and not (names := options.named(names)):  # kn find coal | cut -f1 | kn show -
        state.finish(0)
    if not names:
        if (newest := next(state.synced().articles(), None)) is None:
            raise KnError(f"the archive {archive.shown_root} has no articles")
        names = (newest.id,)
    entries = state.each(names, archive.find)
    if raw or original:  # bytes as they are
        from .kept import page

        read = (lambda e: page(archive.root, e.id)) if original else archive.read_bytes
        state.finish(len(state.each(entries, lambda entry: output.raw(read(entry)))))
    out = state.output(fmt)
    if out.format == "text" and not out.terminal:  # streamed: no body is ever held whole
        streamed: list[Entry] = []

        def stream(entry: Entry) -> None:
            with archive.open(entry) as opened:  # all of it an article: then write it
                opened.rest()
            with archive.open(entry) as opened:
                output.stream_document(opened.article, opened.body(), first=not streamed)
            streamed.append(entry)

        state.each(entries, stream)
        state.finish(len(streamed))
    documents = [Document(*found) for found in state.each(entries, archive.read)]
    state.finish(out.show(documents, str, output.documents_view))  # text in a pipe: streamed


@command("text: grouped by article on a terminal; PATH:LINE:TEXT in a pipe.", limit=("--limit",))
@options.search_options
def search(state: State, /, pattern: str | None, fmt: str, **params: Any) -> None:
    """Search titles and bodies for an extended regular expression, as grep -E does.

    In a pipe: PATH:LINE:TEXT per matching line, exactly as grep -Hn prints it (LINE counts
    the front matter; a title match reports the title: line). Exit 0 if anything
    matched, 1 if nothing did, 2 on an error. -n is grep's; --limit N limits articles.

    \b
    Example:
      kn search -i -w 'coal|iron' --since 2017
      kn search -o -i '[[:digit:]]+ tonnes'
    """
    from .search import Grep, compile_pattern

    read = [file.read().decode("utf-8", "surrogateescape") for file in params["pattern_files"]]
    lines = [text.removesuffix("\n") for text in read if text]  # an empty file: no pattern
    wanted = [*params["patterns"], *lines, *([pattern] if pattern is not None else [])]
    if not wanted and not read:
        raise click.UsageError("give a PATTERN, -e PATTERN or -f FILE")
    flags = ("fixed", "ignore_case", "words", "whole_lines")
    compiled = compile_pattern(wanted, *(params[flag] for flag in flags))
    quiet, listed, count = (params[k] for k in ("quiet", "listed", "count"))  # -l or -L: the last
    unmatched = listed == "unmatched"
    context = params["context"]  # -A and -B win over -C; 0 is context too (grep's --)
    before, after = (context if params[k] is None else params[k] for k in ("before", "after"))
    select = Filter.from_options(params)
    out = state.output(fmt, force=False)  # --color always: grep's
    spans = params["only"] or out.terminal or out.color or out.format != "text"  # else unseen
    grep = Grep(compiled, params["invert"], params["only"], params["most"], (before, after), spans)
    required = None if grep.invert or unmatched else compiled.required
    texts = state.synced().texts(required, params["reverse"], select.matches)
    if quiet or listed:
        hits: Iterator[Any] = grep.chosen(texts, without=unmatched)
        if quiet:  # as grep -q: exit 0 at the first match, errors or not
            click.get_current_context().exit(EXIT_FOUND) if next(hits, None) else state.finish(0)
        path, end = operator.attrgetter("path"), "\0" if params["null"] else "\n"
        listed = out.show(islice(hits, params["limit"]), path, end=end)
        state.finish(grep.selected if unmatched else listed)
    hits = islice(grep.counts(texts) if count else grep.lines(texts), params["limit"])
    records: Iterable[Any] = hits if count else (record for lines in hits for record in lines)
    if out.format != "text":  # grep's `--` between groups: JSON marks context lines instead
        records = filter(None, records)
    color, named = out.color and not out.terminal, params["filename"]
    line = partial(output.match_line, color=color, null=params["null"], named=named)
    state.finish(out.show(records, line, None if count else output.match_groups) or grep.selected)


@command(
    "text: titles and snippets on a terminal; ID, SCORE, TITLE by tabs.",
    limit=("--limit",),
    context_settings={"ignore_unknown_options": True},  # kn find korea -china
)
@click.argument("words", metavar="QUERY...", nargs=-1, required=True)
@click.option("--all", "every", is_flag=True, help="Every article found (--limit N wins).")
def find(state: State, /, words: tuple[str, ...], every: bool, fmt: str, **params: Any) -> None:
    """Find the articles about something, best first, with a snippet of each.

    QUERY: words (all of them), "a phrase", OR between two words, -word (left out),
    prefix*, title:word. Case and accents do not matter; Korean, Chinese and Japanese
    words are found inside longer ones (북한 finds 북한이). Ranked by BM25, the title
    above the body; ties: newest first, then by ID. --reverse: worst first.

    \b
    Example:
      kn find '"north korea"' coal OR iron -china --since 2017
      kn find sanctions | cut -f1 | kn show -
    """
    from .find import Query

    query = Query.parse(" ".join(words))
    limit = params["limit"] if params["limit"] is not None or every else 10
    select, out = Filter.from_options(params), state.output(fmt)
    store = state.synced(ranks=True)
    found = (hit for hit in store.ranked(query.match, params["reverse"]) if select.matches(hit[0]))
    snippets = out.terminal or out.format != "text"
    hits = (
        Hit(article, score, *(query.snippet(store.body(rowid)) if snippets else ("", ())))
        for article, score, rowid in islice(found, limit)
    )
    state.finish(out.show(hits, output.hit_line, output.hits_view))


@command(
    "text: bars on a terminal; BUCKET, COUNT by tabs.",
    limit=("--limit",),
    context_settings={"ignore_unknown_options": True},
)
@click.argument("words", metavar="[QUERY]...", nargs=-1)
@click.option("--by", type=click.Choice(BY), default="month", help="The buckets: month by default.")
def stats(state: State, /, words: tuple[str, ...], by: str, fmt: str, **params: Any) -> None:
    """Count the articles per month, year, week, day, source, tag or author: all of them,
    or those that `kn find QUERY` finds (its query language). Time buckets run oldest
    first with no gaps; the others biggest first. In a pipe: BUCKET and COUNT by a tab.

    \b
    Example:
      kn stats --by year
      kn stats sanctions --since 2017 --by week
    """
    from .find import Query
    from .stats import counts

    if words:
        match = Query.parse(" ".join(words)).match
        found: Iterable[Article] = (a for a, *_ in state.synced(ranks=True).ranked(match))
    else:
        found = state.synced().articles()
    select = Filter.from_options(params)
    buckets, total, span = counts(filter(select.matches, found), by, select.since, select.until)
    shown = (buckets[::-1] if params["reverse"] else buckets)[: params["limit"]]
    view = partial(output.buckets_view, total=total, span=span)
    state.finish(state.output(fmt).show(shown, output.bucket_line, view))  # --limit 0: none


@command("text: grouped by article and heading on a terminal; ID, HEADING, FACT by tabs.")
@click.argument("names", metavar="[ARTICLE]...", nargs=-1, shell_complete=options.complete_ids)
@click.option("--heading", metavar="PATTERN", help="Only facts whose heading matches (any case).")
def facts(
    state: State, /, names: tuple[str, ...], heading: str | None, fmt: str, **params: Any
) -> None:
    """List the bullet-point facts of articles under the heading they stand under.

    The heading is the nearest heading above the list, or the line ending with ':' that leads
    into it, else the article's title. With no ARTICLE, all articles that the filters select;
    `-` reads names from stdin, one a line. In a pipe: ID, HEADING and FACT separated by tabs.

    \b
    Example:
      kn facts --heading sanctions
      kn facts 2017-08-07-north --format jsonl | jq -r .text
    """
    from .search import compile_pattern
    from .structure import FactRow, facts_of

    wanted = compile_pattern([heading], ignore_case=True).regex if heading is not None else None
    select, out = Filter.from_options(params), state.output(fmt)
    if "-" in names and not (names := options.named(names)):  # nothing read: no article
        state.finish(0)
    if names:
        named = state.each(state.each(names, state.archive.find), state.archive.read)
        found: Iterable[tuple[Article, Iterable[FactRow]]] = sorted(
            ((a, facts_of(a.title, body, a.body_line)) for a, body in named),
            key=lambda pair: pair[0].sort_key,
            reverse=params["reverse"],
        )
    else:
        found = state.synced().facts(params["reverse"])
    per_article = (
        [Fact(article, *row) for row in rows if not wanted or wanted.search(row[1])]
        for article, rows in found
        if select.matches(article)
    )
    chosen = islice(filter(None, per_article), params["limit"])
    records = (fact for facts in chosen for fact in facts)
    state.finish(out.show(records, output.fact_line, output.fact_groups))


@cli.command()
@options.add_options
@options.global_options()
@click.pass_obj
def add(state: State, /, files: tuple[str, ...], article_id: str | None, **fields: Any) -> None:
    """Add articles from plain text, web pages (saved, or URLs) and feeds (stdin: -).

    A text's title is its first line (or --title); of a page, its main text (the web extra).

    \b
    Example:
      kn add story.txt --date 2017-08-07 --source "BBC News" --tag sanctions
      kn add --feed https://example.com/rss.xml
    """
    from . import compose

    named = ("title", "date", "source", "url", "authors", "tags", "title_from", "feeds")
    if fields["again"] and (not files or article_id or any(map(fields.get, named))):
        raise click.UsageError("--again takes ARTICLEs and no field: it keeps those stored")
    out, feeds = state.output(), fields["feeds"]
    progress = output.progress("adding pages") if feeds else None  # a feed can be long
    adder = compose.Adder(state.archive, {**fields, "id": article_id}, progress)

    def add_one(name: str, linked: bool = False) -> None:
        made, path, done = adder.add(name, linked)
        if adder.dry_run and not made and done == "same":  # known by its URL: as stored
            title = state.archive.read(entry := state.archive.find(path))[0].title
            out.show([f"{entry.id}\t{entry.path}\t{escape.field(title)}\tsame"], str)
        elif adder.dry_run and made:  # escaped on a terminal, as any line
            out.show([f"{made.id}\t{path}\t{escape.field(made.article.title)}\t{done}"], str)
        elif made and done == "added" and adder.talk >= 0:
            out.added(made.article, path)
        elif said := compose.note(name, made, path, done, adder.talk):
            warn(said)

    try:  # the progress line goes, and the cursor comes back, whatever happens
        if fields["again"]:
            state.each(options.named(files), lambda name: out.show(adder.again(name), str))
        else:
            pages = [url for urls in state.each(feeds, adder.feed) for url in urls]
            state.each(files if files or feeds else ["-"], add_one)
            state.each(pages, lambda url: add_one(url, linked=True))
    finally:
        adder.done(state.failed or sys.exc_info()[0] is not None)
    click.get_current_context().exit(EXIT_ERROR if state.failed else EXIT_FOUND)


@cli.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False))
@options.global_options()
def init_archive(folder: str) -> None:
    """Start an archive: create FOLDER/articles/ (default: ./articles/). Idempotent.

    \b
    Example:
      kn init && kn add story.txt
    """
    click.echo(init(folder), err=True)
