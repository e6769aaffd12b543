"""kn: a command-line archive of news articles stored as plain text with YAML front matter."""

# Nothing is imported until asked for (not even __future__): the console script imports this
# package before main() can catch a Ctrl-C, which would print a traceback during an import.
TYPE_CHECKING = False
if TYPE_CHECKING:
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


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("korea-news")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    if name in __all__:
        from . import model

        return getattr(model, name)
    raise AttributeError(name)
