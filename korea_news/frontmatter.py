"""Split, parse and write the YAML front matter of an article file: every problem is an
`InvalidArticle(path, line, message)` with the line in the file, for an editor to jump to."""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from codecs import IncrementalDecoder
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from .model import Article, Date, InvalidArticle

# yaml is imported where it is used: a command served from the cache never needs it.
if TYPE_CHECKING:
    import yaml

BOM = "\ufeff"
FIELDS = ("title", "date", "source", "url", "authors", "tags")
MAX_NODES = 10_000  # nodes, each alias's repeat counted: past them, refused rather than expanded
# Python prints an integer in decimal up to 4,300 digits (sys.get_int_max_str_digits): a
# longer one, which YAML builds from hexadecimal (0xff…), is kept as hexadecimal text.
LONGEST = 10**4300


@dataclass(frozen=True, slots=True)
class Parts:
    """A decoded article file cut into front matter and body."""

    front_matter: str
    body: str
    body_line: int  # the file line on which the body starts


# Each top-level entry of the front matter: (its key's file line, the line after its value).
Entries = dict[str, tuple[int, int]]


def decode(data: bytes, path: str, line: int = 1, utf8: IncrementalDecoder | None = None) -> str:
    """The UTF-8 text of an article file without NUL bytes or BOM, or of a piece of one from
    file line `line` through an incremental decoder `utf8` (an empty piece ends the file)."""
    at_start = utf8 is None or utf8.getstate()[1]  # a decoder that has read nothing yet
    if at_start and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = "UTF-16 text, not UTF-8 (iconv -f UTF-16 -t UTF-8 converts it)"
        raise InvalidArticle(path, 1, message)
    if (nul := data.find(b"\0")) >= 0:
        message = "binary file (NUL byte), not an article"
        raise InvalidArticle(path, line + data.count(b"\n", 0, nul), message)
    try:
        return data.decode().removeprefix(BOM) if utf8 is None else utf8.decode(data, not data)
    except UnicodeDecodeError as error:
        at, byte = line + data.count(b"\n", 0, max(error.start, 0)), error.object[error.start]
        # A byte that no UTF-8 text starts with, in a news text: most likely Windows-1252
        # (curly quotes, 0x80-0x9f) or Latin-1 (£, é, 0xa0-0xff).
        legacy = "latin1" if byte >= 0xA0 else "cp1252"
        hint = f"; {legacy} text? iconv -f {legacy} -t UTF-8 converts it" if byte >= 0x80 else ""
        raise InvalidArticle(path, at, f"not UTF-8 text (byte 0x{byte:02x}){hint}") from None


def has_front_matter(text: str) -> bool:
    """Whether text starts with a front-matter line, `---`."""
    return _OPENING.match(text) is not None


def split(text: str, path: str) -> Parts:
    """Cut text into its front matter and body; the body is kept exactly as stored."""
    if (opening := _OPENING.match(text)) is None:
        if not text.strip():
            raise InvalidArticle(path, 1, "empty file, not an article")
        raise InvalidArticle(path, 1, "no front matter: the first line must be ---")
    start = opening.end() + 1
    if (closing := _CLOSING.search(text, start)) is None:
        raise InvalidArticle(path, 1, "front matter is not closed: no --- line after the first")
    body_line = text.count("\n", 0, closing.start()) + 2
    # The closing line ends at a line break or at the end of the text.
    return Parts(text[start : closing.start()], text[closing.end() + 1 :], body_line)


_OPENING = re.compile(r"---[ \t\r]*$", re.MULTILINE)
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t\r]*$", re.MULTILINE)


def _check_nodes(root: yaml.MappingNode, path: str, offset: int) -> Entries:
    """Refuse duplicate keys and alias bombs before anything is built; the root's entries."""
    import yaml

    stack: list[yaml.Node] = [root]
    seen, mappings = 0, []  # the entries of each mapping, root first
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            message = f"front matter is too large (over {MAX_NODES} values with aliases)"
            raise InvalidArticle(path, offset, message)
        if isinstance(node, yaml.MappingNode):
            entries: Entries = {}
            mappings.append(entries)
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    name, line = str(key.value), offset + key.start_mark.line
                    if key.tag != "tag:yaml.org,2002:merge":  # <<: *base
                        key.tag = "tag:yaml.org,2002:str"  # a key as written: on, no, null, 0x1F
                    if name in entries:
                        message = f"duplicate key {name!r} (first on line {entries[name][0]})"
                        raise InvalidArticle(path, line, message)
                    end = offset + value.end_mark.line + (value.end_mark.column > 0)
                    entries[name] = (line, max(end, line + 1))
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return mappings[0]


def load(front_matter: str, path: str, offset: int = 2) -> tuple[dict[Any, Any], Entries]:
    """The front matter's mapping and its entries' lines (the front matter's first is `offset`)."""
    import yaml

    # libyaml's loader where PyYAML was built with it: many times faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(front_matter)
    try:
        if (node := loader.get_single_node()) is None:
            raise InvalidArticle(path, offset - 1, "front matter is empty")
        if not isinstance(node, yaml.MappingNode):
            line = offset + node.start_mark.line
            raise InvalidArticle(path, line, "front matter is not a mapping of key: value lines")
        entries = _check_nodes(node, path, offset)
        try:
            data = loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as error:  # such as 2017-02-30
            line, where = _failing_value(loader, node, offset)
            if "integer string conversion" in str(error):  # Python's limit: see LONGEST
                error = ValueError("a number of over 4,300 digits (quote it to keep it as text)")
            elif "offset must be a timedelta" in str(error):  # Python's words for +25:00
                error = ValueError("a time zone 24 hours or more from UTC")
            raise InvalidArticle(path, line, f"{where}{error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = offset + mark.line if mark is not None else offset
        problem = error.problem or error.context or "invalid YAML"
        raise InvalidArticle(path, line, f"YAML: {problem}") from None
    except yaml.YAMLError as error:  # a character YAML refuses (ReaderError): its line
        line = offset + front_matter.count("\n", 0, getattr(error, "position", 0))
        raise InvalidArticle(path, line, f"YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise InvalidArticle(path, offset, "front matter nests too deeply") from None
    finally:
        loader.dispose()
    return data, entries


def _failing_value(loader: Any, node: yaml.MappingNode, offset: int) -> tuple[int, str]:
    """The file line and key of the first top-level value that cannot be built."""
    import yaml

    for key, value in node.value:
        try:
            loader.construct_object(value, deep=True)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            return offset + int(value.start_mark.line), f"{key.value}: "
    return offset, "YAML: "


def _plain(value: Any) -> Any:
    """A YAML value as JSON data: ISO dates, text keys, no NaN, too long integers in hex."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and abs(value) >= LONGEST:
        return hex(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):  # a YAML !!set: in a stable order, not hash order
        return sorted((_plain(v) for v in value), key=lambda v: (type(v).__name__, str(v)))
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_KINDS = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}


def _kind(value: Any) -> str:
    return "a date" if isinstance(value, dt.date) else _KINDS.get(type(value), type(value).__name__)


def parse_date(value: Any) -> Date | None:
    """A date or date-time from YAML or ISO 8601 text; None if it is neither."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text) if len(text) <= 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _text(meta: Mapping[Any, Any], key: str, line: int, path: str) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidArticle(path, line, f"{key} must be text, not {_kind(value)} (quote it)")


def _texts(meta: Mapping[Any, Any], key: str, line: int, path: str) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise InvalidArticle(path, line, f"{key} must be a list of text, not {_kind(value)}")
    for index, item in enumerate(value, 1):
        if not isinstance(item, str):
            message = f"{key}: item {index} must be text, not {_kind(item)} (quote it)"
            raise InvalidArticle(path, line, message)
    return tuple(value)


def to_article(
    meta: Mapping[Any, Any], entries: Entries, path: str, article_id: str, body_line: int
) -> Article:
    """Check the fields of a front-matter mapping and build the article."""
    lines = {key: first for key, (first, _) in entries.items()}
    title_line, date_line = lines.get("title", 1), lines.get("date", 1)
    title = _text(meta, "title", title_line, path)
    if title is None or not title.strip():
        raise InvalidArticle(path, title_line, "title is missing or empty")
    if meta.get("date") is None:
        raise InvalidArticle(path, date_line, "date is missing")
    if (date := parse_date(meta["date"])) is None:
        given = repr(_plain(meta["date"]))  # cut short: it may be a number of 4,000 digits
        given = given if len(given) <= 60 else f"{given[:56]}...{given[-1]}"
        message = f"date {given} is not YYYY-MM-DD or an ISO 8601 date-time"
        raise InvalidArticle(path, date_line, message)
    source, url = (_text(meta, key, lines.get(key, 1), path) for key in ("source", "url"))
    authors, tags = (_texts(meta, key, lines.get(key, 1), path) for key in ("authors", "tags"))
    extra = {str(_plain(k)): _plain(v) for k, v in meta.items() if k not in FIELDS}
    fields = (source, url, authors, tags, extra, title_line, body_line)
    return Article(article_id, path, title, date, *fields)


def parse(data: bytes, path: str, article_id: str) -> tuple[Article, str]:
    """An article and its body from the bytes of its file."""
    parts = split(decode(data, path), path)
    meta, lines = load(parts.front_matter, path)
    return to_article(meta, lines, path, article_id, parts.body_line), parts.body


@cache
def _dumper() -> type[yaml.SafeDumper]:
    """A safe dumper: block style for the mapping, flow style for lists (`tags: [a, b]`)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def flow_list(self, data: list[Any]) -> yaml.Node:
            return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)

        def text(self, data: str) -> yaml.Node:
            style = '"' if _NEEDS_ESCAPES.search(data) else None
            return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(list, Dumper.flow_list)
    Dumper.add_representer(str, Dumper.text)
    return Dumper


# Line breaks that YAML folds in a plain or single-quoted scalar, and other characters
# it would not keep there: a string holding any is written double-quoted, escaped.
_NEEDS_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def dump(fields: dict[str, Any]) -> str:
    """Front matter for `fields`, in their order, that loads back to exactly the same values."""
    import yaml

    text = yaml.dump(fields, Dumper=_dumper(), allow_unicode=True, sort_keys=False, width=math.inf)
    return f"---\n{text}---\n"
