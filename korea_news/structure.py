"""An article body read once into blocks, which `kn show` renders and whose lists `kn facts`
selects: the two always agree on what is a heading and what is a list. Real web text is
ragged: the patterns below say what is read as what."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

BULLET = re.compile(
    r"[ \t]*([•▪‣◦·・](?=[ \t]*[\w\"'‘“($€£¥₩+\[])"  # a glyph, a space or not: •41%, • $1bn
    r"|[-*–](?=[ \t])|\d{1,3}[.)](?=[ \t]))"  # a dash, a star or a number, and a space
    r"[ \t]*(\S.*)"
)
CELL_BAR = re.compile(r"(?<!\\)\|")  # a bar between cells; `\|` is one inside a cell
# As Markdown marks a heading, its closing #s after a space: ## where to buy ##, ## C#
MARKED_HEADING = re.compile(r"#{1,6}[ \t]+(\S.*?)(?:[ \t]+#+)?[ \t]*")
DASHED = re.compile(r"([―—])[ \t]+(?=\S)")
RULE = re.compile(r"[ \t]*[-*–—_~•][-*–—_~• \t]*")
# A credit: an agency's name in capitals, Names / Around a slash, "Photo:" and such, or ©.
CREDIT = re.compile(
    r"(?=[^a-z]*$).*\b(GETTY|AFP|REUTERS|AP|EPA|SHUTTERSTOCK|IMAGES|PHOTO)\b|"
    r".*\b[A-Z][\w.'-]+(?: [A-Z][\w.'-]*)*\s*/\s*[A-Z][\w.'-]+|"
    r"(?i:photo|image|picture|credit)s?\b\s*[:/]|©"
)
# The end of a sentence with another after it (a word of three letters or more before it).
SENTENCE_END = re.compile(r"(?<=[a-z0-9]{3}[.!?])[\"'’”)]?\s+(?=[\"'‘“(]?[A-Z0-9])")
HEADING_MAX_CHARS = 80
HEADING_MAX_WORDS = 12
CLOSING_QUOTES = "’”'\")»」』"
# What ends a sentence or a clause, not a title (a question may be one), in Latin and CJK.
SENTENCE_MARKS = ".,;:!。，；：！"


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
class Rule:
    line: int


@dataclass(frozen=True, slots=True)
class Item:
    line: int
    marker: str
    text: str


@dataclass(frozen=True, slots=True)
class BulletList:
    line: int
    heading: str | None  # the lead-in line ending with ':', or the nearest heading above
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Table:
    line: int
    rows: tuple[tuple[str, ...], ...]  # the cells of each row


Block = Paragraph | Heading | Rule | BulletList | Table


def is_heading(line: str) -> bool:
    """Whether a line standing alone reads as a title rather than a sentence or a credit."""
    text = line.strip()
    if not text or len(text) > HEADING_MAX_CHARS or len(text.split()) > HEADING_MAX_WORDS:
        return False
    if text.rstrip(CLOSING_QUOTES)[-1:] in SENTENCE_MARKS or CREDIT.match(text):
        return False
    first = next((w for w in text.split() if any(map(str.isalnum, w))), "a")  # after ■ or ▶ too
    return not first.islower() and unicodedata.category(text[0]) != "Pd"  # — Jane Doe: a credit


def _item(line: str) -> re.Match[str] | None:
    """A list item's marker and text, if the line is one: it holds a letter or a digit."""
    found = BULLET.match(line)
    if found is None or RULE.fullmatch(line) or not any(c.isalnum() for c in found[2]):
        return None
    return found


def parse(body: str, first_line: int = 1) -> list[Block]:
    """The blocks of a body whose first line is line `first_line` of its file."""
    # On newlines only (str.splitlines also splits on form feeds...): as grep numbers lines.
    lines = [line.removesuffix("\r") for line in body.split("\n")]
    blocks: list[Block] = []
    heading: str | None = None
    i = 0
    while i < len(lines):
        line, start = lines[i], i
        if not line.strip():
            i += 1
        elif RULE.fullmatch(line):
            blocks.append(Rule(first_line + i))
            i += 1
        elif line.startswith("|"):
            i = _first(lines, i, lambda row: not row.startswith("|"))
            blocks.append(Table(first_line + start, tuple(map(_cells, lines[start:i]))))
        elif (listed := _list(lines, i, first_line)) is not None:
            i, items = listed
            if _section_title(items, lines, i):  # "1. The economy", then its paragraphs
                heading = items[0].text
                blocks.append(Heading(items[0].line, heading))
            else:
                blocks.append(BulletList(items[0].line, _lead_in(blocks) or heading, tuple(items)))
        else:
            while i < len(lines) and lines[i].strip() and not _item(lines[i]):
                if RULE.fullmatch(lines[i]) or lines[i].startswith("|"):
                    break
                i += 1
            chunk = [text.strip() for text in lines[start:i]]
            # Standing alone: a blank line or a list below it (above: one, or another block).
            alone = i == len(lines) or not lines[i].strip() or _item(lines[i]) is not None
            marked = MARKED_HEADING.fullmatch(chunk[0].strip()) if len(chunk) == 1 else None
            if alone and (marked or (len(chunk) == 1 and is_heading(chunk[0]))):
                heading = marked[1] if marked else chunk[0]
                blocks.append(Heading(first_line + start, heading))
            else:
                blocks.append(Paragraph(first_line + start, tuple(chunk)))
    return blocks


def _first(lines: list[str], i: int, wanted: Callable[[str], object]) -> int:
    """The index of the first line from index i that is `wanted`; len(lines) if none is."""
    while i < len(lines) and not wanted(lines[i]):
        i += 1
    return i


def _section_title(items: list[Item], lines: list[str], end: int) -> bool:
    """Whether a list is one numbered item, reading as a title, with a paragraph after it."""
    if len(items) != 1 or not items[0].marker[0].isdigit() or not is_heading(items[0].text):
        return False
    rest = _first(lines, end, str.strip)  # the next line that is not blank
    return rest < len(lines) and not _item(lines[rest])


def _list(lines: list[str], i: int, first_line: int) -> tuple[int, list[Item]] | None:
    """The list that starts at line index i, if one does: where it ends, and its items."""
    if not _item(lines[i]):
        return _dashed(lines, i, first_line)
    items: list[tuple[int, str, list[str]]] = []  # each item's line, marker and lines of text
    while i < len(lines):
        if not lines[i].strip():  # blank lines keep the list open if an item follows them
            i = _first(lines, i, str.strip)
            if i == len(lines) or not _item(lines[i]):
                break
        line = lines[i]
        if found := _item(line):
            items.append((first_line + i, found[1], [found[2].rstrip()]))
        elif line[0] in " \t" and not RULE.fullmatch(line):
            items[-1][2].append(line.strip())  # joined once: joined at each, it was quadratic
        else:
            break
        i += 1
    return i, [Item(line, marker, " ".join(text)) for line, marker, text in items]


def _dashed(lines: list[str], i: int, first_line: int) -> tuple[int, list[Item]] | None:
    """Two or more paragraphs from line index i that start with one dash and a space: where
    they end and their items; None if there are fewer."""
    dash = DASHED.match(lines[i])
    items, end = list[Item](), i
    while dash and i < len(lines) and (start := DASHED.match(lines[i])) and start[1] == dash[1]:
        end = _first(lines, i, lambda line: not line.strip())
        text = " ".join(line.strip() for line in lines[i:end])[len(start[0]) :]
        items.append(Item(first_line + i, dash[1], text))
        i = _first(lines, end, str.strip)
    return (end, items) if len(items) > 1 else None


def _cells(row: str) -> tuple[str, ...]:
    """The cells of a table's row, `| cell | cell |`, the last bar optional."""
    cells = CELL_BAR.split(row.strip())[1:]
    if len(cells) > 1 and not cells[-1]:
        cells.pop()
    return tuple(cell.strip().replace("\\|", "|") for cell in cells)


def _lead_in(blocks: list[Block]) -> str | None:
    """A paragraph just above that ends with ':': its last sentence."""
    if blocks and isinstance(blocks[-1], Paragraph) and blocks[-1].text.endswith((":", "：")):
        return SENTENCE_END.split(blocks[-1].text)[-1]
    return None


FactRow = tuple[int, str, str]  # line, heading, text


def facts_of(title: str, body: str, first_line: int) -> tuple[FactRow, ...]:
    """Each list item of a body with its heading (a list with none takes the article's title),
    as rows, from the number in the file of the body's first line."""
    lists = (block for block in parse(body, first_line) if isinstance(block, BulletList))
    return tuple(
        (item.line, found.heading or title, item.text) for found in lists for item in found.items
    )
