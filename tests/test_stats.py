"""kn stats: counts per bucket equal what list and find print, grouped by hand; gaps
filled; filters; formats; a golden terminal rendering."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from conftest import GOLDEN, article, in_terminal, strip_ansi

NEWS = {
    "a.txt": article("Coal ban", "2017-01-30", source="Reuters", tags="[sanctions, coal]",
                     authors="[Kim, Lee]", body="Coal exports banned.\n"),
    "b.txt": article("Coal again", "2017-02-02T23:30:00-05:00", source="Reuters",
                     tags="[coal]", body="More coal news.\n"),
    "c.txt": article("Talks", "2017-04-10", source="BBC News", authors="[Kim]",
                     body="Talks, no coal.\n"),
    "d.txt": article("Missile", "2018-12-31", tags="[nuclear]", body="A missile.\n"),
    "e.txt": article("New year", "2019-01-01", source="Yonhap", body="Fireworks and coal.\n"),
}  # fmt: skip


@pytest.fixture
def news(make_archive):
    return make_archive(NEWS)


def label(day: dt.date, by: str) -> str:
    year, week, _ = day.isocalendar()
    return {"year": f"{day.year}", "month": f"{day:%Y-%m}", "week": f"{year}-W{week:02}"}.get(
        by, day.isoformat()
    )


def by_hand(records: list[dict], by: str) -> Counter[str]:
    counted: Counter[str] = Counter()
    for record in records:
        if by in ("year", "month", "week", "day"):
            counted[label(dt.date.fromisoformat(record["date"][:10]), by)] += 1
            continue
        values = {"source": [record["source"]], "tag": record["tags"], "author": record["authors"]}
        for value in {v for v in values[by] if v} or {"(none)"}:
            counted[value] += 1
    return counted


def stats(kn, *args):
    result = kn("stats", *args)
    assert result.exit_code == 0, result.stderr
    return [(line.split("\t")[0], int(line.split("\t")[1])) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("by", ["year", "month", "week", "day", "source", "tag", "author"])
@pytest.mark.parametrize("query", [[], ["coal"]])
def test_counts_are_list_or_find_grouped_by_hand(kn, news, by, query):
    listed = (
        kn("find", *query, "--all", "--format", "jsonl")
        if query
        else kn("list", "--format", "jsonl")
    )
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    counted = stats(kn, *query, "--by", by)
    assert {name: count for name, count in counted if count} == dict(by_hand(records, by))
    assert sum(count for _, count in counted) >= len(records)


def test_time_buckets_run_oldest_first_with_no_gaps(kn, news):
    months = stats(kn)
    assert months[0] == ("2017-01", 1) and months[-1] == ("2019-01", 1)
    assert len(months) == 25 and ("2017-03", 0) in months  # every month of the range
    assert months[1] == ("2017-02", 1)  # a date-time counts by its own calendar day
    weeks = [name for name, _ in stats(kn, "--by", "week")]
    assert weeks[:2] == ["2017-W05", "2017-W06"] and weeks[-1] == "2019-W01"
    assert len(weeks) == len(set(weeks)) == 101
    assert stats(kn, "--by", "year", "--reverse") == [("2019", 1), ("2018", 1), ("2017", 3)]


def test_other_buckets_come_biggest_first_and_limit_keeps_the_top(kn, news):
    assert stats(kn, "--by", "source") == [
        ("Reuters", 2), ("(none)", 1), ("BBC News", 1), ("Yonhap", 1)
    ]  # fmt: skip
    assert stats(kn, "--by", "tag", "--limit", "1") == [("(none)", 2)]
    assert stats(kn, "--by", "author")[:2] == [("(none)", 3), ("Kim", 2)]


def test_filters_apply_and_nothing_counted_exits_1(kn, news):
    assert stats(kn, "--by", "year", "--since", "2018") == [("2018", 1), ("2019", 1)]
    assert stats(kn, "coal", "--by", "year", "--source", "reuters") == [("2017", 2)]
    assert stats(kn, "--by", "tag", "--tag", "coal") == [("coal", 2), ("sanctions", 1)]
    nothing = kn("stats", "nowhere")
    assert (nothing.exit_code, nothing.stdout) == (1, "")
    none_shown = kn("stats", "--limit", "0")  # as list -n 0, find and search --limit 0
    assert (none_shown.exit_code, none_shown.stdout) == (1, "")
    assert kn("stats", '"').exit_code == 2


def test_time_buckets_cover_the_window_of_since_and_until(kn, news):
    """A timeline of a query over a year shows each of its months, as the filters' window."""
    months = stats(kn, "coal", "--since", "2017", "--until", "2017")
    assert [name for name, _ in months] == [f"2017-{month:02}" for month in range(1, 13)]
    assert sum(count for _, count in months) == 3 and ("2017-12", 0) in months
    assert stats(kn, "--by", "year", "--until", "2020") == [
        ("2017", 3), ("2018", 1), ("2019", 1), ("2020", 0)
    ]  # fmt: skip


def test_json_is_bucket_and_count(kn, news):
    records = json.loads(kn("stats", "--by", "year", "--format", "json").stdout)
    assert records == [
        {"bucket": "2017", "count": 3}, {"bucket": "2018", "count": 1}, {"bucket": "2019", "count": 1}
    ]  # fmt: skip
    lines = kn("stats", "--by", "year", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == records


def test_the_terminal_draws_the_total_range_and_bars(news, process_env):
    env = {**process_env, "KN_ARCHIVE": str(news), "NO_COLOR": "1"}
    drawn = in_terminal(["stats", "--by", "year"], news.parent, env, cols=80)
    expected = (GOLDEN / "stats-by-year.txt").read_text(encoding="utf-8")
    assert drawn == expected
    coloured = in_terminal(["--color", "always", "stats", "--by", "year"], news.parent,
                           {**env, "NO_COLOR": ""}, cols=80)  # fmt: skip
    assert "\x1b[" in coloured and strip_ansi(coloured) == expected


def test_one_article_is_told_as_one(kn, make_archive):
    make_archive({"a.txt": article("Alone", "2017-01-30")})
    drawn = strip_ansi(kn("--color", "always", "stats").stdout)
    assert drawn.startswith("1 article, 2017-01-30 to 2017-01-30\n")


def test_too_many_buckets_is_an_error_that_says_what_to_do(kn, make_archive):
    make_archive({"a.txt": article("Old", "0001-01-01"), "b.txt": article("New", "9999-12-31")})
    for by in ("month", "week", "day"):
        result = kn("stats", "--by", by)
        assert result.exit_code == 2 and result.stdout == "", by
        assert (
            result.stderr.startswith("kn: stats: over 100,000 buckets")
            and "--since" in result.stderr
        )
    assert len(stats(kn, "--by", "year")) == 9999


def test_weeks_of_early_years_are_named_with_four_digits_as_years_and_months(kn, make_archive):
    make_archive({"a.txt": article("Old", "0001-01-03"), "b.txt": article("Later", "0099-12-31")})
    assert stats(kn, "--by", "year")[0] == ("0001", 1)
    assert stats(kn, "--by", "month")[0] == ("0001-01", 1)
    weeks = stats(kn, "--by", "week")
    assert (weeks[0], weeks[-1]) == (("0001-W01", 1), ("0099-W53", 1))


@pytest.mark.parametrize("columns", ["40", "30", "20", "12"])
def test_every_bar_keeps_its_count_however_wide_the_labels_and_narrow_the_screen(
    kn, make_archive, columns
):
    make_archive({
        **{f"{n}.txt": article("A", f"2020-01-0{n}", source="The Very Long Source Name",
                               tags="[북한미사일발사]") for n in (1, 2, 3)},
        "4.txt": article("B", "2020-01-04", tags="[x]"),
    })  # fmt: skip
    for by, counts in (("tag", ["3", "1"]), ("source", ["3", "1"])):
        result = kn("--color", "always", "stats", "--by", by, env={"COLUMNS": columns})
        rows = strip_ansi(result.stdout).splitlines()[-2:]
        assert [row.rstrip().rsplit(" ", 1)[-1] for row in rows] == counts, rows
