"""The `kn` process (`python -m korea_news`, the console script's `main()`): whatever ends a
command becomes an exit code and one line on stderr, never a traceback (nor for a Ctrl-C)."""

# Only modules that Python loads before any program runs: importing them runs no code, in
# which a Ctrl-C could strike before main() can catch it.
import io
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> "NoReturn":
    """The console script: no Python traceback ever reaches the user."""
    try:
        import gc

        # A run is short and makes no garbage cycles worth collecting, but it may hold
        # 10^5 articles: the collector's passes over them cost more than the memory it frees.
        gc.disable()
        _run()
    except BaseException as error:  # Ctrl-C, maybe wrapped (Python 3.11, as a class is made)
        if KeyboardInterrupt not in (type(error), type(error.__cause__)):
            raise
        os._exit(130)  # as Python imports kn, or as it ends: nothing to flush


def _run() -> "NoReturn":
    from .cli import cli
    from .options import EXIT_ERROR, warn

    if sys.stderr is None:  # closed before kn started: no messages, the exit code still tells
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    sys.stdin = sys.stdin or open(os.devnull, encoding="utf-8")  # noqa: SIM115 (closed: no input)
    if sys.stdout is None:  # as grep says on a write error
        warn("cannot write: standard output is closed")
        _exit(EXIT_ERROR)
    # UTF-8 whatever the locale; in a pipe, buffered even under PYTHONUNBUFFERED.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")
    if isinstance(sys.stdout, io.TextIOWrapper) and not sys.stdout.isatty():
        sys.stdout.reconfigure(line_buffering=False, write_through=False)
    code: int | str | None = EXIT_ERROR
    try:
        cli.main(prog_name="kn")
    except SystemExit as done:
        code = done.code
    except OSError as error:  # kn reports its reads itself: this is a write that failed
        code = _write_failed(error)
    except Exception as error:  # a bug: say so in one line, not a traceback
        if os.environ.get("KN_DEBUG") or isinstance(error.__cause__, KeyboardInterrupt):
            raise  # (a wrapped Ctrl-C: see main)
        warn(f"internal error: {type(error).__name__}: {error} (KN_DEBUG=1 shows more)")
    _exit(code)


def _write_failed(error: OSError) -> int:
    """Drop what is still buffered; say why (a full disk) unless the reader went away, as grep."""
    from .options import EXIT_ERROR, EXIT_PIPE, warn
    from .output import silence

    silence()
    if isinstance(error, BrokenPipeError):
        return EXIT_PIPE
    warn(f"cannot write: {error.strerror or error}")
    return EXIT_ERROR


def _exit(code: int | str | None) -> "NoReturn":
    """Flush and end at once: Python's own ending would free 10^5 articles one by one."""
    import contextlib

    from .options import EXIT_ERROR, warn

    if isinstance(code, str):  # sys.exit("message"), as Python itself reports it
        warn(code)
        code = EXIT_ERROR
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as error:
        code = _write_failed(error)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
