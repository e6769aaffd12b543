"""Which texts a search needs to read: the one entry point `match`, an FTS5 query.

Each word piece that every match holds (search.required_words) is looked up in `terms` as
a substring, so that `said` finds `unsaid`. A piece in too many words, or in more than
half of the texts, narrows nothing. The index may narrow a search, never answer it.
"""

from __future__ import annotations

from typing import Any

MAX_TERMS = 256  # a word piece inside more indexed words than this does not narrow a search

Required = list[list[str]]  # any of the alternatives; all word pieces of one alternative


def match(db: Any, required: Required, files: int) -> str | None:
    """An FTS5 query for the texts of `files` that may match; None: all; "": none indexed."""
    alternatives = []
    for pieces in required:
        clauses: list[str] | None = []
        for piece in pieces:
            query = "SELECT term FROM terms WHERE instr(replace(term, 'ı', 'i'), ?) LIMIT ?"
            terms = [term for (term,) in db.execute(query, (piece, MAX_TERMS + 1))]
            if not terms:
                clauses = None  # this alternative matches no indexed text
                break
            if clauses is not None and len(terms) <= MAX_TERMS and _rare(db, terms, files):
                quoted = ('"' + term.replace('"', '""') + '"' for term in terms)  # FTS5's quotes
                clauses.append("(" + " OR ".join(quoted) + ")")
        if clauses == []:
            return None  # an alternative that may match anything
        if clauses:
            alternatives.append("(" + " AND ".join(clauses) + ")")
    return " OR ".join(alternatives)


def _rare(db: Any, terms: list[str], files: int) -> bool:
    """Whether at most half of the texts hold any of these words (`said` is in most)."""
    marks = ", ".join("?" * len(terms))
    query = f"SELECT sum(doc) FROM vocabulary WHERE term IN ({marks})"
    return bool((db.execute(query, terms).fetchone()[0] or 0) * 2 <= files)
