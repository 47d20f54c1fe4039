"""The browser for the dashboard's test: Debian's Chromium, installed here when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.locks import held

PACKAGE = "chromium"


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def ensure_chromium() -> tuple[str | None, str]:
    """The path of a Chromium to drive, installing Debian's package when it can (root with
    apt-get); else None and why, for the skip message."""
    # Machine-wide: apt-get takes dpkg's lock and fails, not waits, while another one runs.
    with held(Path(tempfile.gettempdir()) / "aftersales-tests-chromium.lock"):
        return _ensure_chromium()


def _ensure_chromium() -> tuple[str | None, str]:
    found = find_chromium()
    if found:
        return found, ""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None, "no chromium, and apt-get as root is not available to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [apt, "install", "-y", "-q", PACKAGE]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:  # stale package lists: refresh them once and try again
        subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=900)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return None, f"apt-get install {PACKAGE} failed: {tail}"
    found = find_chromium()
    return found, "" if found else f"{PACKAGE} installed but no chromium on PATH"
