"""Text safe for a terminal, a tab-separated line or JSON: its control characters escaped."""

from __future__ import annotations

# Bidirectional controls: U+202E shows a text's end backwards ("gpj.exe" as "exe.jpg").
_BIDI = (0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_BIDI_ESCAPED = {c: f"\\u{c:04x}" for c in _BIDI}
# Control characters (but tab and newline) shown escaped on a terminal, never sent raw.
_VISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (9, 10)}
# ... and bidirectional controls, and the bytes of a name that is not UTF-8 (\udce9: 0xe9).
_VISIBLE |= {0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)} | _BIDI_ESCAPED
# In a tab-separated line, a field's own tabs and line breaks would split the record.
_ONE_LINE = {9: " ", 10: " ", 13: " "}
# JSON escapes C0 controls itself; C1 and bidi controls too (a terminal would act on them),
# and U+2028 and U+2029, where Python's splitlines() would cut a line of jsonl.
_JSON = {**{c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029)}, **_BIDI_ESCAPED}


def visible(text: str) -> str:
    """Text safe for a terminal: control characters, bidi controls and undecodable bytes escaped."""
    return _translate(text, _VISIBLE)


def field(text: str | None) -> str:
    """A field of a tab-separated line: no tab or line break of its own."""
    return _translate(text or "", _ONE_LINE)


def json_safe(text: str) -> str:
    """JSON text (which escapes C0 controls itself) with C1 and bidi controls escaped too."""
    return _translate(text, _JSON)


def _translate(text: str, table: dict[int, str]) -> str:
    # Every character of the tables is one that Python does not count printable: a text
    # whose all are (nearly every one) is tested 20 times quicker than it is translated.
    return text if text.isprintable() else text.translate(table)
