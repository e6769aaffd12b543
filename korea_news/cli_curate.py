"""The commands that look after the archive: `kn check`, `kn path`, `kn tag`, `kn rm`, `kn edit`."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from . import curate, escape, options
from .archive import locate
from .model import KnError, is_utf8
from .options import EXIT_FOUND, State, warn


@click.command()
@click.argument(
    "names", metavar="ARTICLE...", nargs=-1, required=True, shell_complete=options.complete_ids
)
@options.command_options("PATH lines; json: {id, path}.")
@click.pass_obj
def path(state: State, /, names: tuple[str, ...], fmt: str) -> None:
    """Print the path of each article named (ID, unique prefix or path; -: names from stdin).

    \b
    Example:
      vim "$(kn path 2017-08-07-north)"
      kn find sanctions | cut -f1 | kn path - | xargs -d '\\n' wc -w
    """
    found = state.each(options.named(names), state.archive.find)
    state.finish(state.output(fmt).show(found, lambda entry: entry.path))


@click.command(context_settings={"ignore_unknown_options": True})  # kn tag ID -old +new
@click.argument(
    "words",
    metavar="ARTICLE... +TAG... -TAG...",
    nargs=-1,
    required=True,
    shell_complete=options.complete_ids,
)
@options.global_options()
@click.pass_obj
def tag(state: State, /, words: tuple[str, ...]) -> None:
    """Add (+TAG) and remove (-TAG) tags of articles, in any case; only their `tags:`
    lines are rewritten, every other byte of the files is kept.

    An ID that starts with + or - is named by its path.

    \b
    Example:
      kn tag 2017-08-07-north +sanctions -draft
      kn find coal | cut -f1 | kn tag - +coal
    """
    signed = [word for word in words if word[:1] in ("+", "-") and word != "-"]  # "" is a name
    changes = [(word[0] == "+", word[1:]) for word in signed]
    for _, name in changes:
        if not name.strip() or not is_utf8(name):
            raise click.UsageError("a tag after + or - is text, and not empty")
    names = options.named(tuple(word for word in words if word not in signed))
    if not changes or not names:
        raise click.UsageError("give ARTICLE... and +TAG or -TAG")
    archive = state.archive
    entries = state.each(names, archive.find)
    state.finish(len(state.each(entries, lambda entry: curate.retag(archive, entry, changes))))


@click.command()
@click.argument("names", metavar="[ARTICLE]...", nargs=-1, shell_complete=options.complete_ids)
@click.option("-y", "--yes", is_flag=True, help="Do not ask (needed when stdin is no terminal).")
@click.option("--undo", is_flag=True, help="Put back the articles of the last kn rm.")
@options.global_options()
@click.pass_obj
def rm(state: State, /, names: tuple[str, ...], yes: bool, undo: bool) -> None:
    """Remove articles: move their files to the trash beside the archive (articles-trash/),
    from where `kn rm --undo` puts back those of the last kn rm. Asks first on a terminal.

    \b
    Example:
      kn rm 2017-08-07-north
      kn search -l 'lorem ipsum' | kn rm --yes -
    """
    archive = state.archive
    if undo:
        if names:
            raise click.UsageError("--undo takes no ARTICLE: it puts back the last kn rm's")
        back, left = curate.restore(archive)
        for message in left:
            state.problem(KnError(message))
        state.finish(state.output().show(back, str))
    if not names:
        raise click.UsageError("give ARTICLE... (or --undo)")
    asking = not yes and "-" not in names and sys.stdin.isatty()
    if not yes and not asking:
        raise click.UsageError("no terminal to ask on: give --yes to remove without asking")
    entries = list({e.path: e for e in state.each(options.named(names), archive.find)}.values())
    if state.failed or not entries:
        state.finish(0)  # as git rm: nothing is removed when a name is wrong
    if asking:
        listed = "".join(f"  {escape.visible(entry.path)}\n" for entry in entries)
        if not click.confirm(f"{listed}Move {len(entries)} article(s) to the trash?", err=True):
            state.finish(0)
    where = curate.remove(archive, entries)
    warn(f"moved {len(entries)} article(s) to {where}; kn rm --undo puts them back")
    state.finish(len(entries))


def _read(path: str) -> bytes:
    """A file's bytes; none if the editor took it away."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return b""


@click.command()
@click.argument("name", metavar="ARTICLE", shell_complete=options.complete_ids)
@options.global_options()
@click.pass_obj
def edit(state: State, /, name: str) -> None:
    """Edit an article in $VISUAL, else $EDITOR, else vi. The edited text replaces the file
    only once it is an article (else, on a terminal, it asks to edit again), whole, with
    the file's mode; a file changed meanwhile is not overwritten.

    \b
    Example:
      kn edit 2017-08-07-north
    """
    import tempfile

    archive = state.archive
    entry = archive.find(name)
    was = archive.read_bytes(entry)
    folder = tempfile.mkdtemp(prefix="kn-edit-")
    copy = os.path.join(folder, os.path.basename(entry.real))  # ID.txt, for the editor's sake
    kept = False
    try:
        Path(copy).write_bytes(was)  # cut short on a full disk: removed with its folder
        while True:
            curate.run_editor(copy)
            data = _read(copy)
            if data == was or (wrong := curate.problem(data, entry.path, entry.id)) is None:
                break
            warn(wrong)
            if not (sys.stdin.isatty() and click.confirm("Edit it again?", default=True, err=True)):
                raise KnError(f"{entry.path} is unchanged")
        if data != was:
            curate.replace(archive, entry, data, was)
    except KnError as error:
        kept = _read(copy) not in (was, b"")  # an emptied or removed copy: nothing to keep
        message = f"{error}; the edited text is kept in {copy}" if kept else str(error)
        raise KnError(message) from None
    finally:
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)
    click.get_current_context().exit(EXIT_FOUND)


@click.command()
@click.option("--duplicates", is_flag=True, help="List the pairs of same and near-same bodies.")
@options.command_options(
    "PATH:LINE: message lines; json: {path, line, message}, with --duplicates {ids, similarity}."
)
@click.pass_obj
def check(state: State, /, duplicates: bool, fmt: str) -> None:
    """Check every article of the archive; print PATH:LINE: message for each problem.
    With --duplicates: ID, ID and SIMILARITY by tabs for each pair of articles whose bodies
    are the same (1.000) or near the same (a Jaccard index of their 5-word shingles of 0.8+).

    Exit 0 when the archive is clean, 1 when problems were found, 2 when it cannot be read.

    \b
    Example:
      kn check && echo clean
      kn check --duplicates | sort -k3 -n
    """
    from .store import check as problems_of

    if duplicates:
        from .duplicates import near

        pairs = near(state.synced())
        state.output(fmt).show(pairs, str)
        state.finish(not pairs)  # the other way round: 0 when clean, 1 when pairs were found

    problems = problems_of(locate(state.archive_option))
    state.output(fmt).show(problems, str)
    if problems:
        files = len({problem.path for problem in problems})
        warn(f"{len(problems)} problem(s) in {files} file(s)")
    state.finish(not problems)
