"""The ranking of kn find, measured on a labelled set: the articles in tests/find/articles
and the queries in tests/find/queries.yaml, each with the IDs that must come first.

Run as a script to print precision@5 and MRR over all the queries:

    .venv/bin/python tests/test_find_relevance.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import KN

HERE = Path(__file__).parent / "find"
ARTICLES = HERE / "articles"
QUERIES: list[dict[str, Any]] = yaml.safe_load((HERE / "queries.yaml").read_text("utf-8"))
LIMIT = 5  # results asked for, and the depth of precision
MIN_MRR = 0.9


Run = Callable[[list[str]], tuple[int, str, str]]  # kn's arguments to exit code, stdout, stderr


def installed(cwd: Path, env: dict[str, str]) -> Run:
    """The installed kn, run in cwd (which holds articles/) with env."""
    assert KN is not None, "the kn console script is not installed beside this Python"

    def run(args: list[str]) -> tuple[int, str, str]:
        done = subprocess.run(
            [KN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr

    return run


def found(query: str, kn: Run) -> list[tuple[str, float, str]]:
    """`kn find --limit 5 QUERY`: (ID, score, title), best first."""
    code, stdout, stderr = kn(["find", "--limit", str(LIMIT), query])
    assert code in (0, 1), f"kn find {query!r} exited {code}: {stderr}"
    rows = []
    for line in stdout.splitlines():
        fields = line.split("\t")
        assert len(fields) == 3, f"not ID<TAB>SCORE<TAB>TITLE: {line!r}"
        rows.append((fields[0], float(fields[1]), fields[2]))
    assert (code == 0) == bool(rows), f"exit {code} with {len(rows)} rows"
    assert len(rows) <= LIMIT
    return rows


def precision(ranked: list[str], relevant: set[str], k: int = LIMIT) -> float:
    """The share of the top k that is relevant, out of as many as could be: min(k, relevant)."""
    return len(set(ranked[:k]) & relevant) / min(k, len(relevant))


def reciprocal_rank(ranked: list[str], relevant: set[str]) -> float:
    """1 / the rank of the first relevant ID, 0 if none is found."""
    return next((1 / rank for rank, id in enumerate(ranked, 1) if id in relevant), 0.0)


def measure(kn: Run) -> tuple[float, float, list[str]]:
    """Mean precision@5 and MRR over all the queries, and a line for each query."""
    precisions, ranks, lines = [], [], []
    for labelled in QUERIES:
        ranked = [id for id, _, _ in found(labelled["query"], kn)]
        relevant = set(labelled["first"])
        precisions.append(precision(ranked, relevant))
        ranks.append(reciprocal_rank(ranked, relevant))
        lines.append(f"{precisions[-1]:5.2f} {ranks[-1]:5.2f}  {labelled['query']}")
    return sum(precisions) / len(QUERIES), sum(ranks) / len(QUERIES), lines


@pytest.fixture
def relevance_kn(make_archive: Callable[[dict[str, str | bytes]], Path], kn: Any) -> Run:
    """kn, in this process, on the labelled articles copied below tmp_path/articles, with
    this test's own home and cache (the cache is used, as by a person)."""
    make_archive(
        {str(path.relative_to(ARTICLES)): path.read_bytes() for path in ARTICLES.rglob("*.txt")}
    )

    def run(args: list[str]) -> tuple[int, str, str]:
        result = kn(*args, env={"KN_NO_CACHE": ""})
        return result.exit_code, result.stdout, result.stderr

    return run


def test_the_labelled_set_is_sound() -> None:
    ids = {path.stem for path in ARTICLES.rglob("*.txt")}
    assert len(QUERIES) >= 22
    for labelled in QUERIES:
        assert set(labelled) <= {"query", "first", "note"}, labelled
        assert labelled["first"], labelled
        assert len(set(labelled["first"])) == len(labelled["first"]) <= LIMIT, labelled
        assert set(labelled["first"]) <= ids, labelled


@pytest.mark.parametrize("labelled", QUERIES, ids=[q["query"] for q in QUERIES])
def test_the_most_relevant_come_first(labelled: dict[str, Any], relevance_kn: Run) -> None:
    rows = found(labelled["query"], relevance_kn)
    top = {id for id, _, _ in rows[: len(labelled["first"])]}
    shown = "\n".join(f"{id}\t{score:g}\t{title}" for id, score, title in rows)
    assert top == set(labelled["first"]), f"{labelled.get('note', '')}\n{shown}"


def test_precision_at_5_and_mrr(relevance_kn: Run) -> None:
    mean_precision, mrr, lines = measure(relevance_kn)
    report = "\n".join(
        ["   P@5    RR  query", *lines, f"precision@5 {mean_precision:.3f}  MRR {mrr:.3f}"]
    )
    print(report)
    assert mrr >= MIN_MRR, report


def main() -> None:
    """Print precision@5 and MRR, kn run on a copy of the articles with a home of its own."""
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        shutil.copytree(ARTICLES, cwd / "articles")
        skip = ("KN_ARCHIVE", "KN_NO_CACHE", "NO_COLOR", "PAGER")
        env = {key: value for key, value in os.environ.items() if key not in skip}
        env.update(HOME=folder, XDG_CACHE_HOME=str(cwd / ".cache"), KN_PAGER="")
        mean_precision, mrr, lines = measure(installed(cwd, env))
    print("   P@5    RR  query", *lines, sep="\n")
    print(f"{len(QUERIES)} queries: precision@5 {mean_precision:.3f}, MRR {mrr:.3f}")
    sys.exit(0 if mrr >= MIN_MRR else 1)


if __name__ == "__main__":
    main()
