"""The one place that reads the archive at scale: `each(archive, work, ...)`.

A command hands `each` a plain function, `work(article, extra)` that returns a row (a sort
key and a payload) or None, and gets back the payloads in order. `each` does the rest:

- it scans the archive (archive.py) and, with the cache, stat()s each file once;
- it takes what reading a file found from the cache while the file is unchanged (device,
  inode, size, mtime_ns and ctime_ns all as they were), else reads the file through
  reader.py, the one place that decides what an article is, and keeps what it found;
- for a search, it reads only the files that the word index (index.py) admits;
- it shares the folders with a second process, one per core, and merges the rows that
  both found (marshal data, then);
- it shows progress while many files are read, and reports each file that is not an
  article to `archive.on_error`, in the same order with the cache or without it.

What `work` receives as `extra` depends on `read`:
- "meta": None: the front matter is all the command needs (list, the newest article);
- "text": the opened file (reader.Opened), its body not yet read (search);
- "facts": the article's facts, a tuple of (line, heading, text) (facts).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import marshal
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from . import cache, reader
from .archive import Archive, Folder
from .index import Required, Sieve, words
from .model import Article, InvalidArticle, KnError, Unreadable

Row = tuple[Any, Any]  # (a sort key, a payload): marshal data when a child sends it
Work = Callable[[Article, Any], Row | None]
FactRow = tuple[int, str, str]  # line, heading, text
PROGRESS_EVERY = 256  # files read whole between two updates of the progress line


def each(
    archive: Archive,
    work: Work,
    read: str = "meta",
    required: Required | None = None,
    first: bool = False,
    share: bool = True,
    reverse: bool = False,
    memo: str = "",
    limit: int | None = None,
) -> Iterator[Any]:
    """The payloads of the rows that `work` returns, (sort key, payload) each, in the
    order of their keys (`reverse`: the other way round), the first `limit`. See above.

    With `first`, the walk stops at the first row. With `share` (and not `first`), a
    second process walks half of the folders. `required` narrows a search (index.py).
    `memo` names what `work` makes of a file alone (its front matter, and its facts with
    read="facts"; no pattern or filter): then a folder's rows are kept, and used while
    every file of the folder is as it was.
    """
    walk = _Walk(archive, work, read, required, first, memo)
    folders = archive.scan()
    for problem in archive.problems:
        archive.on_error(problem)
    archive.problems = []
    try:
        if not share or first or len(folders) < 2 or (os.cpu_count() or 1) < 2:
            rows: Iterator[Row] = iter(_sorted(walk.run(folders), reverse))
        else:
            rows = _shared(walk, folders, reverse)
        return (payload for _, payload in itertools.islice(rows, limit))
    finally:  # done, or interrupted: the progress line goes
        if archive.progress is not None and walk.count >= PROGRESS_EVERY:
            archive.progress(walk.count, True)


def _sorted(rows: list[Row], reverse: bool) -> list[Row]:
    rows.sort(reverse=reverse)  # by key: no two articles have the same (their IDs differ)
    return rows


class _Walk:
    """One process's walk over some folders: see each()."""

    def __init__(
        self,
        archive: Archive,
        work: Work,
        read: str,
        required: Required | None,
        first: bool,
        memo: str,
    ) -> None:
        self.archive, self.work, self.read, self.first, self.memo = archive, work, read, first, memo
        self.directory = archive.cache_directory
        self.sieve = Sieve(self.directory, required) if self.directory and read == "text" else None
        self.count = 0  # files read whole, for the progress line

    def run(self, folders: Iterable[Folder]) -> list[Any]:
        results: list[Any] = []
        for folder in folders:
            if self._folder(folder, results) and self.first:
                break
        return results

    def _folder(self, folder: Folder, results: list[Any]) -> bool:
        """Add what `work` makes of a folder's articles to `results`; whether it made any."""
        count = len(folder.names)
        stats = _stats(folder) if self.directory else None
        positions: Iterable[int] = range(count)
        if stats is None:  # no cache, or a file went away meanwhile: read every file
            return self._files(folder, positions, [None] * count, None, None, results)
        sifted = None
        if self.sieve is not None:
            sifted = self.sieve.folder(folder.inside, folder.names, stats)
            positions = sifted.chosen
            if not sifted.chosen:  # no file of the folder may match: nothing to read
                sifted.save()
                return False
        memos = cache.Store(self.directory, "rows", folder.inside) if self.memo else None
        memo = (self.memo, folder.shown)
        if memos is not None and memos.same(folder.names, stats) and memo in memos.extra:
            results += memos.extra[memo]  # the folder is as it was: so are the rows made of it
            return bool(memos.extra[memo])
        meta = cache.Store(self.directory, "meta", folder.inside)
        same = meta.same(folder.names, stats)
        records = list(meta.values) if same else _kept(meta, folder.names, stats)
        facts = facts_store = None
        if self.read == "facts":
            facts_store = cache.Store(self.directory, "facts", folder.inside)
            facts = _kept(facts_store, folder.names, stats)
        missing = records.count(None), facts.count(None) if facts is not None else 0
        start = len(results)
        try:
            return self._files(folder, positions, records, facts, sifted, results)
        finally:
            if sifted is not None:
                sifted.save()
            if not same or records.count(None) != missing[0]:
                _keep(meta, folder.names, stats, records)
            if facts_store is not None and facts is not None and facts.count(None) != missing[1]:
                _keep(facts_store, folder.names, stats, facts)
            if memos is not None and all(type(r) is tuple and len(r) > 2 for r in records):
                # Every file an article: the rows made of them are kept, beside other kinds'.
                others = memos.extra if memos.same(folder.names, stats) else {}
                others = dict(list(others.items())[-3:])  # a few formats and places, no more
                _keep(memos, folder.names, stats, b"", {**others, memo: results[start:]})

    def _files(
        self,
        folder: Folder,
        positions: Iterable[int],
        records: list[Any],
        facts: list[Any] | None,
        sifted: Any,
        results: list[Any],
    ) -> bool:
        """What `work` makes of the articles at `positions`. records[i] is what the cache
        holds of file i (None: read it), and is filled in as files are read; so are facts."""
        found_any, work, meta = False, self.work, self.read == "meta"
        for position in positions:
            name = folder.names[position]
            known = _from_record(records[position], name[:-4], folder.path_of(name))
            if meta and type(known) is Article:  # the usual case of a listing: nothing to read
                result = work(known, None)
            else:
                result = self._one(folder, position, known, records, facts, sifted)
            if result is not None:
                results.append(result)
                found_any = True
                if self.first:
                    break
        return found_any

    def _one(
        self,
        folder: Folder,
        position: int,
        known: Article | InvalidArticle | None,
        records: list[Any],
        facts: list[Any] | None,
        sifted: Any,
    ) -> Any:
        """What `work` makes of one file, read if the cache does not hold what it needs."""
        name = folder.names[position]
        learn = sifted is not None and position in sifted.unknown
        heard: set[bytes] = set()
        try:
            if isinstance(known, InvalidArticle):
                raise known
            rows = None if facts is None else facts[position]
            if known is not None and rows is not None:
                return self.work(known, rows)
            self.count += 1
            if self.count % PROGRESS_EVERY == 0 and self.archive.progress is not None:
                self.archive.progress(self.count, False)
            real, path = folder.real_path(name), folder.path_of(name)
            with reader.open_article(real, path, name[:-4], known) as opened:
                if learn:  # every piece of the body passes by: all its words are heard
                    heard |= words(opened.article.title.encode())
                    opened.listen = lambda text: heard.update(words(text.encode()))
                result = self._opened(opened, facts, position)
            if known is None:
                records[position] = _to_record(opened.article)
        except InvalidArticle as problem:
            if not isinstance(problem, Unreadable):
                records[position] = _to_record(problem)
            if learn:
                sifted.learn(position, None, not isinstance(problem, Unreadable))
            self.archive.on_error(problem)
            return None
        if learn:
            sifted.learn(position, heard, True)
        return result

    def _opened(self, opened: reader.Opened, facts: list[Any] | None, position: int) -> Any:
        """What `work` makes of an opened file, read to its end: only a file that is an
        article throughout counts."""
        article = opened.article
        if self.read == "text":
            result = self.work(article, opened)
        elif self.read == "facts":
            body = "".join(text for _, text in opened.body())
            rows = facts_of(article, body)
            if facts is not None:
                facts[position] = rows
            result = self.work(article, rows)
        else:
            result = None
        opened.rest()
        return self.work(article, None) if self.read == "meta" else result


def problems(root: str) -> list[InvalidArticle]:
    """Every problem of an archive's files, empty bodies among them, sorted by path and
    line: each file is read whole, with no cache (`kn check`)."""
    try:
        os.listdir(root)
    except OSError as error:
        raise KnError(f"cannot read the archive {root}: {error.strerror}") from None
    found: list[InvalidArticle] = []
    archive = Archive(root, on_error=found.append)

    def empty(article: Article, text: reader.Opened) -> None:
        if not any(piece.strip() for _, piece in text.body()):
            found.append(InvalidArticle(article.path, article.body_line, "empty body"))

    each(archive, empty, "text", share=False)
    return sorted(found, key=lambda problem: (problem.path, problem.line))


def facts_of(article: Article, body: str) -> tuple[FactRow, ...]:
    """An article's facts, (line, heading, text) in document order (structure.py)."""
    from . import structure

    blocks = structure.parse(body, article.body_line)
    return tuple(
        (item.line, sys.intern(heading), item.text)
        for heading, item in structure.facts(blocks, article.title)
    )


def _stats(folder: Folder) -> list[cache.Stat] | None:
    """Each file's cache.Stat; None if a file went away meanwhile."""
    try:
        directory = os.open(folder.real, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:  # by name inside the open folder: the kernel looks up one name, not a whole path
        return [
            (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
            for found in [os.stat(name, dir_fd=directory) for name in folder.names]
        ]
    except OSError:
        return None
    finally:
        os.close(directory)


def _kept(store: cache.Store, names: list[str], stats: list[cache.Stat]) -> list[Any]:
    """What a store keeps of each file, None where the file changed or is new."""
    if store.same(names, stats):
        return list(store.values)
    found = [store.find(name, stat) for name, stat in zip(names, stats, strict=True)]
    return [None if position is None else store.values[position] for position in found]


def _keep(
    store: cache.Store, names: list[str], stats: list[cache.Stat], values: Any, extra: Any = None
) -> None:
    """Keep a folder's values; a file that had not settled keeps none (see cache.settled)."""
    kept: list[cache.Stat | None] = [stat if cache.settled(stat[4]) else None for stat in stats]
    store.save(names, kept, values, {} if extra is None else extra)


# --- what the cache keeps of a read: the article's fields, or the problem -----------------


def _to_record(found: Article | InvalidArticle) -> tuple[Any, ...]:
    if isinstance(found, InvalidArticle):
        return (found.line, found.message)
    # Sources, tags and dates repeat across articles: interned, marshal stores each once.
    intern = sys.intern
    source, authors, tags = found.source and intern(found.source), found.authors, found.tags
    date = intern(found.date.isoformat())
    extra = dict(found.extra) or None
    return (found.title, date, source, found.url, tuple(map(intern, authors)),
            tuple(map(intern, tags)), extra, found.title_line, found.body_line)  # fmt: skip


_NO_EXTRA: dict[str, Any] = {}


def _from_record(record: Any, article_id: str, path: str) -> Article | InvalidArticle | None:
    """The article or problem a record holds; None if there is none, or not understood."""
    try:
        if len(record) == 2:
            line, message = record
            ok = type(line) is int and type(message) is str
            return InvalidArticle(path, line, message) if ok else None
        title, date, source, url, authors, tags, extra, title_line, body_line = record
        when = dt.date.fromisoformat(date) if len(date) == 10 else dt.datetime.fromisoformat(date)
        fields = (title, when, source, url, authors, tags, extra or _NO_EXTRA)
        return Article(article_id, path, *fields, title_line, body_line)
    except (TypeError, ValueError):  # None, or a record of another shape
        return None


# --- two processes ------------------------------------------------------------------------


def _shared(walk: _Walk, folders: list[Folder], reverse: bool) -> Iterator[Row]:
    """Both halves' rows, merged in order: this process walks its half while a child walks
    the other, sorts its rows and sends them back in chunks of marshal data, after its
    problems. Where the child fails before sending its rows, this process walks its half
    too: the result is the same, only slower."""
    halves: list[list[Folder]] = [[], []]
    loads = [0, 0]
    for folder in folders:  # each folder to the half with fewer files so far
        half = loads.index(min(loads))
        halves[half].append(folder)
        loads[half] += len(folder.names)
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return iter(_sorted(walk.run(folders), reverse))
    if child == 0:  # pragma: no cover - measured by the parent's results
        os.close(read_end)
        _child(walk, halves[1], write_end, reverse)
    os.close(write_end)
    pipe = os.fdopen(read_end, "rb")
    try:
        mine = _sorted(walk.run(halves[0]), reverse)
        problems = _receive(pipe)
    except BaseException:
        _end(child, pipe)
        raise
    if problems is None:  # the child failed: walk its half here
        _end(child, pipe)
        return iter(_sorted(mine + walk.run(halves[1]), reverse))
    for path, line, message in problems:
        walk.archive.on_error(InvalidArticle(path, line, message))
    return heapq.merge(mine, _chunks(pipe, child), reverse=reverse)


def _receive(pipe: BinaryIO) -> Any:
    """The next message of the child's, or None if there is none to be had."""
    try:
        size = int.from_bytes(pipe.read(8), "little")
        return marshal.loads(pipe.read(size)) if size else None
    except (ValueError, EOFError, TypeError, OSError):
        return None


def _chunks(pipe: BinaryIO, child: int) -> Iterator[Row]:
    """The child's rows, a chunk at a time, until its last (an empty one)."""
    try:
        while chunk := _receive(pipe):
            yield from chunk
        if chunk is None:
            raise KnError("a second process ended before its work was done: try again")
    finally:
        _end(child, pipe)


def _end(child: int, pipe: BinaryIO) -> None:
    pipe.close()
    with contextlib.suppress(OSError):
        os.kill(child, signal.SIGTERM)
        os.waitpid(child, 0)


def _child(walk: _Walk, folders: list[Folder], pipe: int, reverse: bool) -> None:
    """Walk the child's half, send its problems, then its rows in order; never return."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent speaks for both
        problems: list[InvalidArticle] = []
        walk.archive.on_error = problems.append
        walk.archive.progress = None
        rows = _sorted(walk.run(folders), reverse)
        with os.fdopen(pipe, "wb") as out:
            _send(out, [(p.path, p.line, p.message) for p in problems])
            for start in range(0, len(rows), CHUNK):
                _send(out, rows[start : start + CHUNK])
            _send(out, [])
        status = 0
    except BrokenPipeError:  # the parent stopped reading (kn ... | head)
        status = 0
    finally:
        os._exit(status)


def _send(out: BinaryIO, data: Any) -> None:
    payload = marshal.dumps(data)
    out.write(len(payload).to_bytes(8, "little"))
    out.write(payload)


CHUNK = 2048  # rows sent at a time: the parent holds no more than this of the child's
