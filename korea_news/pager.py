"""The pager, as git runs it: `$KN_PAGER`, then `$PAGER`, then `less -FRX`."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def page(stream: TextIO, text: str, height: int | None) -> None:
    """Write text to a terminal, through the pager when it is taller than `height` lines;
    as it is with no height (no paging), or no pager asked for (an empty value, or `cat`)."""
    command = os.environ.get("KN_PAGER", os.environ.get("PAGER", "less -FRX")).strip()
    if height is None or command in ("", "cat") or text.count("\n") < height:
        stream.write(text)
        return
    stream.flush()
    if not _run(command, text):  # the shell could not run it: the text is shown without it
        print(f"kn: the pager {command!r} could not run: shown without it", file=sys.stderr)
        stream.write(text)


def _run(command: str, text: str) -> bool:
    """Show `text` through the pager `command` (by the shell), and wait for it to end;
    False if the shell could not run it (126 or 127)."""
    import signal
    import subprocess

    process = subprocess.Popen(
        command, shell=True, stdin=subprocess.PIPE, env={"LESS": "FRX", **os.environ}
    )
    # Ctrl-C is the pager's while it runs: kn waits for it, so the terminal is restored.
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert process.stdin is not None
        process.stdin.write(text.encode("utf-8"))
        process.stdin.close()
    except BrokenPipeError:  # the reader quit the pager early, or it never started
        pass
    finally:
        process.wait()
        signal.signal(signal.SIGINT, interrupt)
    return process.returncode not in (126, 127)
