"""Edges of the process and of the archive: Ctrl-C at start-up, file names that are not
UTF-8, numbers too long to print."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import KN

# Runs the console script as the shell would, but a Ctrl-C lands while `module` is imported.
INTERRUPTED_IMPORT = """
import runpy, sys
module, kn = sys.argv[1:3]
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv = [kn, "list"]
runpy.run_path(kn, run_name="__main__")
"""


@pytest.mark.parametrize("module", ["korea_news.model", "click", "korea_news.store", "yaml"])
def test_ctrl_c_while_python_imports_kn_exits_130_without_a_word(
    seed_archive, tmp_path, process_env, module
):
    run = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT, module, KN],
        cwd=tmp_path,
        env=process_env,
        capture_output=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr.decode()) == (130, "")


def test_ctrl_c_early_in_a_run_never_shows_kns_code_in_a_traceback(
    seed_archive, tmp_path, process_env
):
    """A Ctrl-C in Python's own start-up (its site imports, the console script's first
    lines) is Python's to report; from kn's first line on, it exits 130 quietly."""
    ours = f"{os.sep}korea_news{os.sep}"
    for delay in [0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08] * 3:
        process = subprocess.Popen(
            [KN, "list"], cwd=tmp_path, env=process_env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        stderr = process.communicate(timeout=60)[1]
        assert ours not in stderr, (delay, stderr)
        assert process.returncode in (0, 1, 130, -signal.SIGINT), (delay, stderr)
