"""The pager, as git runs it: `$KN_PAGER`, then `$PAGER`, then `less -FRX`."""

from __future__ import annotations

import os


def command() -> str:
    """The pager asked for; "" for none (an empty value, or `cat`)."""
    chosen = os.environ.get("KN_PAGER", os.environ.get("PAGER", "less -FRX")).strip()
    return "" if chosen == "cat" else chosen


def run(command: str, text: str) -> bool:
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
