"""`python -m api` (what `./dev serve` runs); `--help` lists the options. The work is in
api/start.py: this module only imports it, so a Ctrl-C while the imports run (most of the
first second) ends with one line instead of a traceback."""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

from api import ctrl_c

INTERRUPTED = 130  # what a shell reports for a program stopped by Ctrl-C


def _exit_interrupted() -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit: an interrupt that passed through C code running Python code (some imports
    # do) sets CPython's "unhandled KeyboardInterrupt" flag, and Python then ends by killing
    # itself with SIGINT whatever the exit code (seen as -2 in tests/system/test_run_command.py).
    # Nothing is left to clean up: the database was stopped on the way here.
    os._exit(INTERRUPTED)


def _entry() -> int:
    ctrl_c.watch()
    try:
        if hasattr(signal, "pthread_sigmask"):
            # ./dev serve starts Python with SIGINT blocked (a Ctrl-C in the interpreter's own
            # start-up would print its traceback): one pressed meanwhile is delivered here.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        from api.start import main

        ctrl_c.check()  # one that landed in an import's callback was only reported
    except KeyboardInterrupt:
        print("stopped (Ctrl-C) before the service started", file=sys.stderr)
        _exit_interrupted()
    code = main()
    if code == INTERRUPTED:
        _exit_interrupted()
    return code


if __name__ == "__main__":
    sys.exit(_entry())
