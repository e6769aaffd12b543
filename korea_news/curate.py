"""Curating the archive (`kn tag`, `kn edit`, `kn rm`): tags rewritten in place, articles
edited, moved to the trash and back. What is written must read back as the article it should
be, or nothing is; and it goes in whole or not at all, never through a link (write.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from typing import TYPE_CHECKING

from . import frontmatter, kept, write
from .model import InvalidArticle, KnError
from .query import folded

if TYPE_CHECKING:
    from .archive import Archive, Entry

TRASH = "-trash"  # the trash is the archive's folder with this after its name: articles-trash/
PAGES = ".pages"  # the kept pages of the articles of a batch of the trash
_BOM = b"\xef\xbb\xbf"


def retag(archive: Archive, entry: Entry, changes: list[tuple[bool, str]]) -> None:
    """Rewrite an article's `tags:` lines alone: (True, tag) adds, (False, tag) removes any case."""
    data, path = archive.read_bytes(entry), entry.path
    text = frontmatter.decode(data, path)
    parts = frontmatter.split(text, path)
    meta, entries = frontmatter.load(parts.front_matter, path)
    article = frontmatter.to_article(meta, entries, path, entry.id, parts.body_line)
    tags = list(article.tags)
    for add, tag in changes:
        same = [old for old in tags if folded(old) == folded(tag)]  # café as typed on macOS too
        if add and not same:
            tags.append(tag)
        elif not add:
            tags = [old for old in tags if old not in same]
    if tags == list(article.tags):
        return
    start = text.find("\n") + 1  # the front matter's first line: after the opening ---
    # File line n is lines[n - 1]; YAML refuses the breaks splitlines() knows beyond its own.
    lines = [text[:start], *parts.front_matter.splitlines(keepends=True)]
    if "tags" in entries:
        first, end = entries["tags"]
        while end - 1 > first and lines[end - 2].strip()[:1] in ("", "#"):  # YAML's end: the
            end -= 1  # next key's line; the blank and comment lines before it are kept
    else:  # a new entry, after the fields that come before tags
        first = end = max(entries[key][1] for key in frontmatter.FIELDS[:5] if key in entries)
    newline = "\r\n" if text[:start].endswith("\r\n") else "\n"
    written = frontmatter.dump({"tags": tags})[4:-4].replace("\n", newline) if tags else ""
    changed = "".join([*lines[: first - 1], written, *lines[end - 1 :]])
    new = changed + text[start + len(parts.front_matter) :]
    made = (_BOM if data.startswith(_BOM) else b"") + new.encode()
    try:  # (an alias elsewhere of an anchor on the tags would have nothing to name)
        found, found_body = frontmatter.parse(made, path, entry.id)
        alone = found.to_dict() == {**article.to_dict(), "tags": tags} and found_body == parts.body
    except InvalidArticle:
        alone = False
    if not alone:
        raise KnError(f"{path}: its tags cannot be rewritten alone: change them with kn edit")
    replace(archive, entry, made, data)


def run_editor(path: str) -> None:
    """Edit a file in $VISUAL, else $EDITOR, else vi (through the shell, as git does), and wait."""
    import signal
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    process = subprocess.Popen(["/bin/sh", "-c", f'{editor} "$@"', editor, path])
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the editor's
    try:
        code = process.wait()
    finally:
        signal.signal(signal.SIGINT, interrupt)
    if code:
        raise KnError(f"the editor {editor!r} failed (exit {code}): nothing was changed")


def problem(data: bytes, path: str, article_id: str) -> str | None:
    """What makes an article file's bytes no article (as kn check says it), if anything."""
    try:
        article, body = frontmatter.parse(data, path, article_id)
    except InvalidArticle as error:
        return str(error)
    return None if body.strip() else f"{path}:{article.body_line}: empty body"


def replace(archive: Archive, entry: Entry, data: bytes, was: bytes) -> None:
    """Put `data` whole over an article's file (a link's target), with its mode, if still `was`."""
    inside, name = os.path.split(os.path.relpath(entry.real, archive.root))
    try:
        with write.folder(archive.root, inside, archive.shown_root, make=False) as folder:
            if archive.read_bytes(entry) != was:
                raise KnError(f"{entry.path} changed meanwhile: nothing was written")
            write.replace(folder, name, data)
    except OSError as error:
        raise KnError(f"{entry.path}: cannot write: {error.strerror}") from None


def trash(archive: Archive) -> tuple[str, str, str]:
    """The trash beside the archive's folder: (its parent, its name, the parent as shown)."""
    parent, name = os.path.split(archive.root)
    if not name:
        raise KnError("the archive is the root folder: there is no room beside it for a trash")
    return parent, f"{name}{TRASH}", os.path.normpath(os.path.join(archive.shown_root, os.pardir))


def remove(archive: Archive, entries: list[Entry]) -> str:
    """Move articles' files (a link as the link) to a new batch of the trash; its path as shown."""
    parent, name, shown_parent = trash(archive)
    batch = os.path.join(name, f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H%M%S.%fZ}")
    for entry in entries:
        inside, file = os.path.split(os.path.relpath(entry.path, archive.shown_root))
        target = (parent, os.path.join(batch, inside), shown_parent)
        try:  # into a new folder: nothing there to replace
            write.move(file, (archive.root, inside, archive.shown_root), target, replace=True)
        except OSError as error:
            raise KnError(f"{entry.path}: cannot move it to the trash: {error.strerror}") from None
        try:
            _move_page(archive, entry.id, batch, to_trash=True)
        except (OSError, KnError) as error:  # such as a link where a folder should be
            why = error.strerror if isinstance(error, OSError) else error
            message = f"{entry.path}: moved to the trash, but not its kept page: {why}"
            raise KnError(message) from None
    return os.path.normpath(os.path.join(shown_parent, batch))


def restore(archive: Archive) -> tuple[list[str], list[str]]:
    """Put back what the last `kn rm` moved to the trash: (paths put back, why others are left)."""
    parent, name, shown_parent = trash(archive)
    batches = []
    with contextlib.suppress(FileNotFoundError):  # no trash yet
        batches = sorted(os.listdir(os.path.join(parent, name)))
    if not batches:
        shown = os.path.normpath(os.path.join(shown_parent, name))
        raise KnError(f"nothing to undo: {shown} holds no article that kn rm removed")
    batch = os.path.join(name, batches[-1])
    back, left, ids, top = [], [], archive.ids(), os.path.join(parent, batch)
    for folder, _, files in sorted(os.walk(top)):
        inside = folder[len(top) + 1 :]  # "" for the batch's own folder
        if inside.split(os.sep)[0] == PAGES:
            continue  # each goes back with its article
        for file in sorted(files):
            in_trash = os.path.normpath(os.path.join(shown_parent, batch, inside, file))
            try:
                if (taken := ids.get(file[: -len(".txt")])) is not None:
                    here = os.path.join(folder, file)
                    if not os.path.samefile(taken[0].entry(taken[1]).real, here):
                        raise FileExistsError
                    os.unlink(here)  # back already: a killed undo had linked it
                else:
                    source = (parent, os.path.join(batch, inside), shown_parent)
                    write.move(file, source, (archive.root, inside, archive.shown_root))
                back.append(os.path.join(archive.shown_root, inside, file))
            except FileExistsError:
                left.append(f"{in_trash}: its ID is taken again: left in the trash")
            except (OSError, KnError) as error:
                why = error.strerror if isinstance(error, OSError) else str(error)
                left.append(f"{in_trash}: cannot put it back: {why}")
            else:
                try:
                    _move_page(archive, file[: -len(".txt")], batch, to_trash=False)
                except (OSError, KnError):
                    left.append(f"{in_trash}: put back, but not its kept page (in {PAGES}/)")
    for folder, _, _ in sorted(os.walk(top), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # the batch's folders, once empty
    if not back and not left and not os.path.lexists(top):  # a batch a kn rm began, then failed
        return restore(archive)  # to move anything to (or was killed): the one before is undone
    return back, left


def _move_page(archive: Archive, article_id: str, batch: str, to_trash: bool) -> None:
    """Move an article's kept page, if any, to a batch of the trash or back, never over another."""
    parent, _, shown_parent = trash(archive)
    pages, name = os.path.split(os.path.relpath(kept.page_path(archive.root, article_id), parent))
    in_batch = os.path.join(batch, PAGES)
    source, target = (pages, in_batch) if to_trash else (in_batch, pages)
    if os.path.lexists(os.path.join(parent, source, name)):
        write.move(name, (parent, source, shown_parent), (parent, target, shown_parent))
