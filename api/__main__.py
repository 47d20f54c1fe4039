"""`python -m api` (what `./dev serve` runs); `--help` lists the options. The work is in
api/start.py: this module only imports it, so a Ctrl-C while the imports run (most of the
first second) ends with one line instead of a traceback."""

from __future__ import annotations

import signal
import sys

INTERRUPTED = 130  # what a shell reports for a program stopped by Ctrl-C


def _entry() -> int:
    try:
        if hasattr(signal, "pthread_sigmask"):
            # ./dev serve starts Python with SIGINT blocked (a Ctrl-C in the interpreter's own
            # start-up would print its traceback): one pressed meanwhile is delivered here.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        from api.start import main
    except KeyboardInterrupt:
        print("stopped (Ctrl-C) before the service started", file=sys.stderr)
        return INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(_entry())
