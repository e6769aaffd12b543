"""What `kn add` keeps beside the archive, in `ARCHIVE.kn/` (articles.kn/ beside articles/),
so that `grep -r` over the archive meets only articles: each page as it was fetched or
saved, gzipped (`pages/ID.gz`, a name no longer than `ID.txt`), and what the web told the
last runs (`web.json`): the validators of each feed (for a conditional request) and the
links that led to an article already archived under another URL."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from typing import Any

from .model import KnError


def folder(root: str) -> str:
    """The folder beside the archive at `root` (its real path)."""
    return f"{root.rstrip(os.sep)}.kn"


def page_path(root: str, article_id: str) -> str:
    return os.path.join(folder(root), "pages", f"{article_id}.gz")


def keep_page(root: str, article_id: str, page: bytes) -> None:
    """Keep a page as it was fetched or saved, for `kn show --original` and `kn add --again`."""
    write(page_path(root, article_id), gzip.compress(page, mtime=0))


def page(root: str, article_id: str) -> bytes:
    """The page kept for an article; KnError if none was."""
    try:
        with gzip.open(page_path(root, article_id)) as file:
            return file.read()
    except FileNotFoundError:
        raise KnError(f"{article_id}: no page kept (only pages added from the web are)") from None
    except (OSError, EOFError) as error:
        raise KnError(f"{article_id}: its kept page cannot be read ({error})") from None


def state(root: str) -> dict[str, Any]:
    """What the last runs saw: {"feeds": {URL: validators}, "links": {URL: ID}}."""
    try:
        with open(os.path.join(folder(root), "web.json"), encoding="utf-8") as file:
            found = json.load(file)
    except (OSError, ValueError):  # none yet, or damaged: the next run asks for everything
        found = {}
    found = found if isinstance(found, dict) else {}
    feeds, links = (_mapping(found.get(key)) for key in ("feeds", "links"))
    return {"feeds": feeds, "links": {k: v for k, v in links.items() if isinstance(v, str)}}


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def save_state(root: str, seen: dict[str, Any]) -> None:
    write(os.path.join(folder(root), "web.json"), json.dumps(seen, indent=1).encode())


def write(path: str, data: bytes) -> None:
    """Replace a file with `data`, whole or not at all (as umask lets a new file be)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kn-", suffix=".tmp")
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
