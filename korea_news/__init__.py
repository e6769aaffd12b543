"""kn: a command-line archive of news articles stored as plain text with YAML front matter."""

from typing import Any

from .model import Article, ArticleNotFound, Document, Fact, InvalidArticle, KnError, Match

__all__ = [
    "Article",
    "ArticleNotFound",
    "Document",
    "Fact",
    "InvalidArticle",
    "KnError",
    "Match",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The version is read from the package metadata only when asked for: reading it
    # costs start-up time that most commands do not need.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("korea-news")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(name)
