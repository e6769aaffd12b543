"""Generated articles that read, to a search, like real wire and web news.

Calibrated against what kn's tries on about 10,000 real stories measured:
- a Zipf vocabulary that grows as real text does: about 80,000 distinct lower-case words
  of three or more letters at 10,000 articles, nearly half of them in one article only;
- body lengths from a log-normal law: median 2.2 KB, p90 6 KB, p99 15 KB, at most 75 KB;
- `said` in three articles of four, `trump` in 29%, `nuclear` in 2%, and RARE in two;
- names, numbers, datelines, headings, bullet lists (with and without a space after the
  glyph), dash-led paragraphs and scene breaks.

`python tests/newstext.py N` prints the statistics of N generated articles.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import sys
from collections.abc import Iterator

RARE = "zhelyabuzhsky"  # a name in exactly two articles of every 10,000
COMMON = "said"  # in three articles of four
VOCABULARY = 180_000
ZIPF = 1.31
TOP = (
    "the of and to in a that is for on was with he it as at by from his an were are which "
    "this be has have had not but they their its after been also who will more one new would "
    "there about when two than first other into some could them over only years year people "
    "government state minister president police told last week officials country million "
    "percent company time under against during three before while where since city news"
).split()
SOURCES = ["Reuters", "AP", "BBC News", "The Guardian", "CNN", "Yonhap", "NK News", "AFP"]
TAGS = ["politics", "economy", "world", "us", "asia", "europe", "business", "tech", "health"]
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def _vocabulary(rng: random.Random) -> list[str]:
    """TOP, then made-up words, longer as they get rarer, none a word the benchmark seeks."""
    words, seen = list(TOP), set(TOP) | {RARE, COMMON, "trump", "nuclear"}
    while len(words) < VOCABULARY:
        rank = len(words)
        count = 1 + min(4, int(math.log10(rank + 10)) + rng.randrange(2))
        word = "".join(rng.choices(_SYLLABLES, k=count))
        if rng.random() < 0.3:
            word += rng.choice(("s", "ed", "ing", "n", "r"))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class NewsText:
    """A source of articles; the same seed gives the same articles."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        self.cumulative = list(
            itertools.accumulate(1 / rank**ZIPF for rank in range(1, VOCABULARY + 1))
        )
        self.names = [w.capitalize() for w in self.rng.sample(self.words[2000:60000], 3000)]

    def _sentence(self, extra: list[str]) -> str:
        rng = self.rng
        words = rng.choices(self.words, cum_weights=self.cumulative, k=rng.randint(8, 30))
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randrange(len(words)), rng.choice(self.names))
        if rng.random() < 0.4:
            number = rng.choice(
                (
                    f"{rng.randint(2, 999)},{rng.randint(0, 999):03d}",
                    f"{rng.randint(1, 99)}%",
                    f"${rng.randint(1, 99)}.{rng.randint(1, 9)}bn",
                    str(rng.randint(1990, 2018)),
                )
            )
            words.insert(rng.randrange(len(words)), number)
        for word in extra:
            words.insert(rng.randrange(len(words) + 1), word)
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice((".", ".", ".", "?", ":"))[0]

    def _list(self) -> list[str]:
        rng = self.rng
        glyph = rng.choice(("  • ", "• ", "•", "- ", "* ", "1. "))
        items = []
        for number in range(1, rng.randint(3, 7)):
            text = self._sentence([])[: rng.randint(20, 90)].rstrip()
            marker = f"{number}. " if glyph == "1. " else glyph
            items.append(marker + text)
        lead = self._sentence([]).rstrip(".?:") + ":"
        return [lead, "\n".join(items)]

    def article(self, index: int, special: list[str]) -> tuple[str, str]:
        """(a file path inside the archive, the file's text) of article number `index`."""
        rng = self.rng
        year = 2004 + index % 15
        date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        size = min(75_000, int(math.exp(rng.gauss(math.log(1950), 0.87))))
        wanted = list(special)
        if rng.random() < 0.75:
            wanted.append(COMMON)
        if rng.random() < 0.29:
            wanted += ["trump"] * rng.randint(1, 6)
        if rng.random() < 0.02:
            wanted.append("nuclear")
        place = rng.choice(self.names).upper()
        paragraphs = [f"{place} ({rng.choice(SOURCES)}) - {self._sentence([])}"]
        length = len(paragraphs[0])
        while length < size:
            roll = rng.random()
            if roll < 0.04:
                block = [" ".join(rng.choice(self.names) for _ in range(rng.randint(1, 4)))]
            elif roll < 0.07:
                block = self._list()
            elif roll < 0.08:
                block = [
                    rng.choice(("* * *", "― " + self._sentence([]), "— " + self._sentence([])))
                ]
            else:
                take = [wanted.pop()] if wanted and rng.random() < 0.5 else []
                block = [" ".join(self._sentence(take) for _ in range(rng.randint(1, 4)))]
            paragraphs += block
            length += sum(len(text) + 2 for text in block)
        if wanted:
            paragraphs.append(self._sentence(wanted))
        title = self._sentence([]).rstrip(".?:")[: rng.randint(30, 90)].rstrip()
        slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:50].strip("-")
        tags = ", ".join(rng.sample(TAGS, rng.randint(1, 3)))
        front = (
            f"---\ntitle: {_quoted(title)}\ndate: {date}\nsource: {rng.choice(SOURCES)}\n"
            f"tags: [{tags}]\n---\n"
        )
        return f"{year}/{date}-{slug}-{index}.txt", front + "\n\n".join(paragraphs) + "\n"

    def archive(self, count: int) -> Iterator[tuple[str, str]]:
        """`count` articles: RARE in two of every 10,000."""
        rare = {7, 5003}
        for index in range(count):
            yield self.article(index, [RARE] if index % 10_000 in rare else [])


def _quoted(title: str) -> str:
    return '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'


def statistics(count: int) -> None:
    import collections

    sizes, frequency = [], collections.Counter[str]()
    for _, text in NewsText().archive(count):
        body = text.split("---\n", 2)[2]
        sizes.append(len(body.encode()))
        frequency.update(set(re.findall(r"[a-z0-9]{3,}", body.lower())))
    sizes.sort()
    print(
        f"articles {count}, body bytes median {sizes[count // 2]}, p90 {sizes[count * 9 // 10]}, "
        f"p99 {sizes[count * 99 // 100]}, max {sizes[-1]}"
    )
    print(
        f"distinct words {len(frequency)}, in one article only "
        f"{sum(1 for n in frequency.values() if n == 1)}"
    )
    for word in (COMMON, "trump", "nuclear", RARE):
        print(f"{word}: in {frequency[word] / count:.1%} of the articles ({frequency[word]})")


if __name__ == "__main__":
    statistics(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
