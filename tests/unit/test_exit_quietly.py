"""A SIGTERM before the event loop's handler ends the process with 0 — even when the handler
happens to run inside a finalizer, where a raised SystemExit would be swallowed."""

import subprocess
import sys

PROGRAM = """
import os, signal, sys
from bot.cli import exit_quietly

signal.signal(signal.SIGTERM, exit_quietly)

class Finalized:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        total = 0
        for i in range(100_000):  # the handler runs between these bytecodes
            total += i

thing = Finalized()
del thing
print("the SIGTERM was lost", flush=True)
sys.exit(3)
"""


def test_sigterm_handled_inside_a_finalizer_still_exits_0():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lost" not in done.stdout
