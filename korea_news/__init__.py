"""kn: a command-line archive of news articles stored as plain text with YAML front matter."""

# Nothing is imported until asked for (not even __future__): the console script imports this
# package before main() can catch a Ctrl-C, which would print a traceback during an import.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def __getattr__(name: str) -> "Any":
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("korea-news")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(name)
