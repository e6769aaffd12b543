"""The derived store: one SQLite database per archive, the one place that reads it at scale.

The files are the truth; the database keeps what reader.py derived from each, and an FTS5
index that narrows searches and ranks kn find. A damaged database is rebuilt; one that
cannot be used (locked past LOCK_S, unwritable, --no-cache) gives way to one in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import narrow, reader
from .archive import Archive, Folder
from .frontmatter import parse_date
from .model import INDEXED, NO_EXTRA, Article, InvalidArticle, KnError
from .narrow import Required
from .sync import BATCH, TEXT, Sync

if TYPE_CHECKING:
    from .structure import FactRow

SCHEMA = 13  # PRAGMA user_version: raise it whenever what is stored is derived differently
WEIGHTS = (5.0, 1.0, 5.0, 1.0)  # kn find's ranking: of title, body and their CJK bigrams (TEXT)
LOCK_S = 2.0  # how long to wait for another kn's write before answering from the files

Derive = Callable[[reader.Opened], tuple[Any, bool]]  # what to keep of a file, and whether

# The text index folds case and accents as unicode61 does; `terms` holds every word it
# has indexed (it only grows), so that a word piece is found inside longer words.
_TOKENS = "tokenize = 'unicode61 remove_diacritics 2'"
_LISTED = "folder, name, title, date, source, url, authors, tags, extra, title_line, body_line"
_TABLES = [
    "CREATE TABLE folders (inside TEXT PRIMARY KEY, digest BLOB NOT NULL) WITHOUT ROWID",
    """CREATE TABLE files (
        folder TEXT NOT NULL, name TEXT NOT NULL, stat TEXT, line INTEGER, problem TEXT,
        id TEXT, title TEXT, date TEXT, ts REAL, source TEXT, url TEXT, authors TEXT,
        tags TEXT, extra TEXT, title_line INTEGER, body_line INTEGER, empty INTEGER,
        indexed INTEGER, facts TEXT, digest TEXT, sketch BLOB, UNIQUE (folder, name))""",
    # The articles in order, with all that a listing reads: one walk of the index, none
    # of the table (whose rows hold facts and stats too), makes a listing 2-3 times faster.
    f"CREATE INDEX files_order ON files (problem, ts DESC, id, {_LISTED}, indexed)",
    "CREATE INDEX files_digest ON files (digest)",
    "CREATE INDEX files_problems ON files (folder) WHERE problem IS NOT NULL",
    "CREATE INDEX files_whole ON files (folder) WHERE NOT indexed",
    "CREATE TABLE terms (term TEXT PRIMARY KEY) WITHOUT ROWID",
    f"CREATE VIRTUAL TABLE text USING fts5 ({TEXT}, {_TOKENS})",
    # Index segments of up to 8 MB (not 1), merged 16 at a time (not 4): first builds sooner.
    "INSERT INTO text (text, rank) VALUES ('automerge', 16), ('hashsize', 8388608)",
    "CREATE VIRTUAL TABLE vocabulary USING fts5vocab (text, row)",
    f"PRAGMA user_version = {SCHEMA}",
]
# A few texts' words reach `terms` through a table of the connection's own; many, by one
# scan of the whole index at the end (until then `terms` holds '': not to be narrowed by).
_FRESH = [
    f"CREATE VIRTUAL TABLE temp.fresh USING fts5 ({TEXT}, content='', {_TOKENS})",
    "CREATE VIRTUAL TABLE temp.fresh_terms USING fts5vocab (temp, fresh, row)",
]
# A body as the text index keeps it (FTS5's own table of its texts: its column c1), where
# the whole body is indexed: the sync that stored it found the file's stat unchanged since.
_BODY = ", (SELECT c1 FROM text_content WHERE text_content.id = files.rowid AND indexed)"
_COLUMNS = f"id, {_LISTED}"


def check(root: str) -> list[InvalidArticle]:
    """Every problem of an archive's files, empty bodies included, by path and line."""
    try:
        os.listdir(root)
    except OSError as error:
        raise KnError(f"cannot read the archive {root}: {error.strerror}") from None
    found: list[InvalidArticle] = []
    store = Store(Archive(root, on_error=found.append), persistent=False)
    store.sync()
    query = "SELECT folder, name, body_line FROM files WHERE empty AND problem IS NULL"
    for inside, name, line in store.db.execute(query):
        found.append(InvalidArticle(store._path(inside, name), line, "empty body"))
    return sorted(found, key=lambda problem: (problem.path, problem.line))


def location(root: str) -> str:
    """The database of the archive whose real path is `root`."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    readable = re.sub(r"[^A-Za-z0-9]+", "-", os.path.basename(root))[:40] or "top"
    digest = hashlib.sha256(root.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(base, "kn", f"{readable}-{digest}.sqlite")


class Store:
    """An archive's derived store: `sync()`, then `articles()`, `facts()`, `problems()`."""

    def __init__(self, archive: Archive, persistent: bool = True, ranks: bool = False) -> None:
        self.archive = archive
        self.path = location(archive.root) if persistent else ""
        self.ranks = ranks  # whether to index the text even without a database (kn find)
        self.db = self._open()
        self.index = self.path != "" or ranks  # whether text and facts are kept
        self.folders, self.unreadable = list[Folder](), list[InvalidArticle]()
        self.shown: dict[str, str] = {}  # each folder's path as shown, in walk order

    def _open(self) -> sqlite3.Connection:
        """The database, rebuilt if damaged; in memory (self.path emptied) if unusable."""
        for _ in range(2 if self.path else 0):  # a damaged one is removed, then tried again
            try:
                return self._connect()
            except _Damaged:
                self._remove()
            except (sqlite3.Error, OSError):
                break
        self.path = ""  # a temporary database: in memory, or in a file that none can see
        db = sqlite3.connect("" if self.ranks else ":memory:", isolation_level=None)
        for statement in _TABLES + _FRESH:
            db.execute(statement)
        return db

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        for path in (self.path, f"{self.path}-wal", f"{self.path}-shm"):
            with contextlib.suppress(FileNotFoundError):  # a link, a FIFO, a folder: not ours
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    raise OSError(f"{path} is not a regular file")
        db = sqlite3.connect(self.path, timeout=LOCK_S, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA journal_size_limit = 1048576")  # the WAL, once checkpointed
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and not db.execute("SELECT 1 FROM sqlite_master").fetchone():
                with self.writing(db):  # two kn may start at once: one creates the tables
                    if not db.execute("SELECT 1 FROM sqlite_master").fetchone():
                        for statement in _TABLES:
                            db.execute(statement)
            elif version != SCHEMA:
                raise _Damaged
            db.execute("SELECT count(*) FROM folders").fetchone()
            for statement in _FRESH:
                db.execute(statement)
        except sqlite3.DatabaseError as error:
            db.close()
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise
            raise _Damaged from None
        except BaseException:
            db.close()
            raise
        return db

    def _remove(self) -> None:
        for path in (self.path, f"{self.path}-wal", f"{self.path}-shm"):
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)

    @contextlib.contextmanager
    def writing(self, db: sqlite3.Connection | None = None) -> Iterator[None]:
        """One write transaction: committed whole, or rolled back (Ctrl-C included)."""
        db = db or self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def sync(self, tell: bool = True) -> None:
        """Bring the store up to date with the files, and tell their problems (on_error)."""
        self.folders = self.archive.scan()
        self.shown = {folder.inside: folder.shown for folder in self.folders}
        try:
            Sync(self).run()
            problems = self.problems()
        except sqlite3.Error as error:
            if not self.path:
                raise
            self._in_memory(error)
            problems = self.problems()
        self.archive.problems = []
        for problem in problems if tell else ():
            self.archive.on_error(problem)

    def _in_memory(self, error: sqlite3.Error) -> None:
        """The database failed: go on with one in memory (a damaged one is removed)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        if not isinstance(error, sqlite3.OperationalError):  # not a lock, a full disk ...
            self._remove()
        self.path, self.index, self.unreadable = "", self.ranks, []
        self.db = self._open()
        Sync(self).run()

    def problems(self) -> list[InvalidArticle]:
        """The files that are no article or could not be read, and the scan's, in walk order."""
        query = "SELECT folder, name, line, problem FROM files WHERE problem IS NOT NULL"
        found = [*self.archive.problems, *self.unreadable]
        for inside, name, line, message in self.db.execute(query):
            found.append(InvalidArticle(self._path(inside, name), line, message))
        where = {path: place for place, path in enumerate(self.shown.values())}
        return sorted(found, key=lambda p: (where.get(os.path.dirname(p.path), 0), p.path))

    def articles(self, reverse: bool = False) -> Iterator[Article]:
        """The articles, newest first (then by ID)."""
        return (article for article, _ in self._rows(None, reverse, ""))

    def texts(
        self, required: Required | None, reverse: bool, select: Callable[[Article], bool]
    ) -> Iterator[tuple[Article, reader.Opened | reader.Kept]]:
        """The articles that `select` keeps and may hold `required`, each with its text."""
        for article, (body,) in self._rows(required, reverse, _BODY if self.index else ", NULL"):
            if not select(article):
                continue
            if body is not None:
                yield article, reader.Kept(article, body)
                continue
            try:
                opened = reader.open_article(article.path, article.path, article.id, article)
            except InvalidArticle as problem:  # it changed, or went, since the sync
                self.archive.on_error(problem)
                continue
            with opened:
                yield article, opened

    def facts(self, reverse: bool = False) -> Iterator[tuple[Article, tuple[FactRow, ...]]]:
        """The articles in order, each with its facts (see derived)."""
        for article, kept in self.derived("facts", _facts, reverse):
            yield article, tuple(tuple(row) for row in json.loads(kept))

    def same_body(self, digest: str) -> Iterator[Article]:
        """The articles whose body has this digest (duplicates.Digest), by ID."""
        query = f"SELECT {_COLUMNS} FROM files WHERE digest = ? AND problem IS NULL ORDER BY id"
        return (article for article, _ in self._select(query, [digest]))

    def derived(self, column: str, derive: Derive, reverse: bool = False, more: str = "") -> Any:
        """(article, what `derive` makes of its file, then `more`) in order, kept in `column`."""
        pending: list[tuple[Any, int]] = []
        for article, (kept, rowid, *rest) in self._rows(None, reverse, f", {column}, rowid{more}"):
            if kept is None:
                path = article.path
                try:
                    with reader.open_article(path, path, article.id, article) as opened:
                        kept, keep = derive(opened)
                except InvalidArticle as problem:  # it changed, or went, since the sync
                    self.archive.on_error(problem)
                    continue
                if self.index and keep:
                    pending.append((kept, rowid))
                    if len(pending) >= BATCH:
                        self._keep(column, pending)
            yield article, (kept, *rest) if rest else kept
        self._keep(column, pending)
        with contextlib.suppress(OSError, sqlite3.Error):  # the WAL grew as the query read, and
            if self.path and os.path.getsize(f"{self.path}-wal") > 1 << 20:  # no write may follow
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _keep(self, column: str, pending: list[tuple[Any, int]]) -> None:
        """Keep what was derived meanwhile, unless the database gave way to one in memory."""
        with contextlib.suppress(sqlite3.Error), self.writing():
            if self.index:
                self.db.executemany(f"UPDATE files SET {column} = ? WHERE rowid = ?", pending)
        pending.clear()

    def _going_on(self, query: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """What query() yields; if the database fails midway, the rest from one in memory."""
        given = 0
        while True:
            try:
                for count, row in enumerate(query()):
                    if count >= given:
                        given += 1
                        yield row
                return
            except sqlite3.DatabaseError as error:
                if not self.path or str(error).startswith("fts5:"):
                    raise
                self._in_memory(error)

    def _rows(self, required: Required | None, reverse: bool, more: str) -> Iterator[Any]:
        """(article, what `more` selects) in order, of the texts that may hold `required`."""
        return self._going_on(lambda: self._query(required, reverse, more))

    def _query(self, required: Required | None, reverse: bool, more: str) -> Iterator[Any]:
        where, values = "problem IS NULL", list[Any]()
        files = sum(len(folder.names) for folder in self.folders)  # (narrowing: of how many)
        match = narrow.match(self.db, required, files) if required and self.index else None
        if match == "":
            where += " AND NOT indexed"
        elif match is not None:
            where += (
                " AND rowid IN (SELECT rowid FROM text WHERE text MATCH ?"
                " UNION ALL SELECT rowid FROM files WHERE NOT indexed)"
            )
            values.append(match)
        order = "ts, id DESC" if reverse else "ts DESC, id"
        query = f"SELECT {_COLUMNS}{more} FROM files WHERE {where} ORDER BY {order}"
        return self._select(query, values)

    def ranked(self, match: str, reverse: bool = False) -> Iterator[tuple[Article, float, int]]:
        """The articles matching an FTS5 query (find.py), best first, with score and rowid."""
        try:
            yield from self._going_on(lambda: self._ranked(match, reverse))
        except sqlite3.DatabaseError as error:  # find.py quotes every word: a bug
            raise KnError(f"find: cannot search for {match}: {error}") from None

    def _ranked(self, match: str, reverse: bool) -> Iterator[tuple[Article, float, int]]:
        score = f"-bm25(text, {', '.join(map(str, WEIGHTS))})"
        order = "2, ts, id DESC" if reverse else "2 DESC, ts DESC, id"
        ranking = self.db.execute(
            f"SELECT files.rowid, {score} FROM text JOIN files ON files.rowid = text.rowid"
            f" WHERE text MATCH ? AND problem IS NULL ORDER BY {order}",
            (match,),
        )
        while batch := ranking.fetchmany(64):
            scores = dict(batch)
            marks = ", ".join("?" * len(batch))
            query = f"SELECT {_COLUMNS}, rowid FROM files WHERE rowid IN ({marks})"
            found = {rowid: article for article, (rowid,) in self._select(query, list(scores))}
            for rowid, score in batch:
                yield found[rowid], score, rowid

    def body(self, rowid: int) -> str:
        """The text of an article's body as indexed (its first INDEXED characters)."""
        found = self.db.execute("SELECT body FROM text WHERE rowid = ?", (rowid,)).fetchone()
        return found[0] if found else ""

    def _select(self, query: str, values: list[Any]) -> Iterator[tuple[Article, Any]]:
        """(article, the columns after _COLUMNS) for each row that a query selects."""
        # Dates, tags and sources repeat across articles: each text is parsed once.
        dates: dict[str, Any] = {}  # (parse_date: the text is ISO 8601, as stored)
        fields: dict[str | None, Any] = {None: ()}
        for row in self.db.execute(query, values):
            article_id, inside, name, title, date, source, url, authors, tags, extra = row[:10]
            when: Any = dates.get(date) or dates.setdefault(date, parse_date(date))
            path = self._path(inside, name)
            for text in (authors, tags, extra):
                if text not in fields:
                    value = json.loads(text)
                    fields[text] = tuple(value) if isinstance(value, list) else value
            article = Article(
                article_id, path, title, when, source, url, fields[authors], fields[tags],
                fields[extra] if extra else NO_EXTRA, row[10], row[11],
            )  # fmt: skip
            yield article, row[12:]

    def _path(self, inside: str, name: str) -> str:
        return f"{self.shown.get(inside, self.archive.shown_root)}{os.sep}{name}"


def _facts(opened: reader.Opened) -> tuple[str, bool]:
    """An article's facts as JSON, kept when its whole body is indexed."""
    from .structure import facts_of

    body, article = "".join(text for _, text in opened.body()), opened.article
    found = facts_of(article.title, body, article.body_line)
    return json.dumps(found, ensure_ascii=False), len(body) <= INDEXED


class _Damaged(Exception):
    """The database is damaged, or of another schema: it is removed and built anew."""
