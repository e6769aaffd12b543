"""What `kn add` keeps beside the archive, in `ARCHIVE.kn/` (articles.kn/ beside articles/),
so that `grep -r` over the archive meets only articles: each page as it was fetched or
saved, gzipped (`pages/ID.gz`, a name no longer than `ID.txt`), and what the web told the
last runs (`web.json`): the validators of each feed (for a conditional request) and the
links that led to an article already archived under another URL."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

from . import write
from .model import KnError


def folder(root: str) -> str:
    """The folder beside the archive at `root` (its real path)."""
    return f"{root.rstrip(os.sep)}.kn"


def page_path(root: str, article_id: str) -> str:
    return os.path.join(folder(root), "pages", f"{article_id}.gz")


def keep_page(root: str, article_id: str, page: bytes) -> None:
    """Keep a page as it was fetched or saved, for `kn show --original` and `kn add --again`."""
    _write(root, "pages", f"{article_id}.gz", gzip.compress(page, mtime=0))


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
    feeds, links = (v if isinstance(v := found.get(k), dict) else {} for k in ("feeds", "links"))
    return {"feeds": feeds, "links": {k: v for k, v in links.items() if isinstance(v, str)}}


def save_state(root: str, seen: dict[str, Any]) -> None:
    _write(root, "", "web.json", json.dumps(seen, indent=1).encode())


def _write(root: str, inside: str, name: str, data: bytes) -> None:
    # Whole or not at all, never through a link, as every write to the archive.
    parent, name_of_folder = os.path.split(folder(root))
    with write.folder(parent, os.path.join(name_of_folder, inside), parent) as fd:
        try:
            write.create(fd, name, data)
        except FileExistsError:
            write.replace(fd, name, data)
