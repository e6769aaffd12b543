"""An article body read once into blocks: paragraphs, headings and bullet lists.

`kn show` renders these blocks and `kn facts` selects the lists, so the two
always agree on what is a heading and what is a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A bullet is a marker at the start of a line (after any indent) followed by a space:
# a dash inside prose, or `-5` or `--`, is not one.
BULLET = re.compile(r"[ \t]*([•\-*–·▪]|\d{1,3}[.)])[ \t]+(\S.*)")
HEADING_MAX_CHARS = 80
HEADING_MAX_WORDS = 12
CLOSING_QUOTES = "’”'\")»"


@dataclass(frozen=True, slots=True)
class Paragraph:
    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True, slots=True)
class Heading:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Item:
    line: int
    marker: str
    text: str


@dataclass(frozen=True, slots=True)
class BulletList:
    line: int
    heading: str | None  # the nearest heading above, or the lead-in line ending with ':'
    items: tuple[Item, ...]


Block = Paragraph | Heading | BulletList


def is_heading(line: str) -> bool:
    """Whether a line standing alone reads as a title rather than a sentence."""
    text = line.strip()
    if not text or len(text) > HEADING_MAX_CHARS or len(text.split()) > HEADING_MAX_WORDS:
        return False
    if text.rstrip(CLOSING_QUOTES)[-1:] in (".", ",", ";", ":", "!"):
        return False
    first = next((c for c in text if c.isalnum()), "")
    return first.isupper() or first.isdigit()


def _lines(body: str) -> list[str]:
    # Split on newlines only (not str.splitlines, which also splits on form feeds
    # and other separators), so that line numbers agree with grep and editors.
    return [line[:-1] if line.endswith("\r") else line for line in body.split("\n")]


def parse(body: str, first_line: int = 1) -> list[Block]:
    """The blocks of a body whose first line is line `first_line` of its file."""
    lines = _lines(body)
    blocks: list[Block] = []
    heading: str | None = None
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        if BULLET.match(lines[i]):
            lead_in = _lead_in(blocks)
            i, items = _list_items(lines, i, first_line)
            blocks.append(BulletList(items[0].line, lead_in or heading, tuple(items)))
            continue
        start = i
        while i < len(lines) and lines[i].strip() and not BULLET.match(lines[i]):
            i += 1
        chunk = [line.strip() for line in lines[start:i]]
        # Standing alone: blank lines around it, or a list right below it.
        alone = (start == 0 or not lines[start - 1].strip()) and (
            i == len(lines) or not lines[i].strip() or BULLET.match(lines[i]) is not None
        )
        if alone and len(chunk) == 1 and is_heading(chunk[0]):
            heading = chunk[0]
            blocks.append(Heading(first_line + start, heading))
        else:
            blocks.append(Paragraph(first_line + start, tuple(chunk)))
    return blocks


def _lead_in(blocks: list[Block]) -> str | None:
    if blocks and isinstance(blocks[-1], Paragraph) and blocks[-1].lines[-1].endswith(":"):
        return blocks[-1].lines[-1]
    return None


def _list_items(lines: list[str], i: int, first_line: int) -> tuple[int, list[Item]]:
    """Read a bullet list from line index i; return where it ends and its items."""
    items: list[Item] = []
    while i < len(lines):
        line = lines[i]
        match = BULLET.match(line)
        if match:
            items.append(Item(first_line + i, match[1], match[2].rstrip()))
        elif not line.strip():
            # Blank lines between items keep the list open; anything else after them ends it.
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j == len(lines) or not BULLET.match(lines[j]):
                break
            i = j
            continue
        elif line[0] in " \t":
            last = items[-1]
            items[-1] = Item(last.line, last.marker, f"{last.text} {line.strip()}")
        else:
            break
        i += 1
    return i, items


def facts(blocks: list[Block], title: str) -> list[tuple[str, Item]]:
    """Each list item with its heading; a list with no heading takes the article's title."""
    return [
        (block.heading or title, item)
        for block in blocks
        if isinstance(block, BulletList)
        for item in block.items
    ]
