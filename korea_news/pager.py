"""The pager, as git runs it: `$KN_PAGER`, then `$PAGER`, then `less -FRX`."""

from __future__ import annotations

import os
import sys
from typing import TextIO


def page(stream: TextIO, text: str, height: int | None) -> None:
    """Write text to a terminal, through the pager when it has `height` lines or more."""
    command = os.environ.get("KN_PAGER", os.environ.get("PAGER", "less -FRX")).strip()
    if height is None or command in ("", "cat") or text.count("\n") < height:
        stream.write(text)
        return
    import signal
    import subprocess

    stream.flush()
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
    if process.returncode in (126, 127):  # the shell could not run it: shown without it
        print(f"kn: the pager {command!r} could not run: shown without it", file=sys.stderr)
        stream.write(text)
