"""Clients nobody here wrote, for the live feed: the npm `graphql-ws` client run by node.

The npm packages are installed on first use into .cache/node (ignored by git), pinned below.
Where node (or npm) is absent, the tests that need it are skipped with a message that says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.api_client import authorization
from tests.support.locks import held
from tests.support.processes import ROOT

NODE_DIR = ROOT / ".cache" / "node"
PACKAGES = ["graphql-ws@6.4.2", "ws@8.23.0", "graphql@16.11.0"]
SCRIPT = Path(__file__).parent / "node" / "feed_client.mjs"


def node_ready() -> Path:
    """The node directory with the packages and the client script; skips where node is absent."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the npm graphql-ws client test needs them")
    stamp = NODE_DIR / ".installed"
    with held(NODE_DIR.parent / "node.lock"):  # another test process may be installing
        if not stamp.exists() or stamp.read_text() != " ".join(PACKAGES):
            NODE_DIR.mkdir(parents=True, exist_ok=True)
            (NODE_DIR / "package.json").write_text('{"private": true, "type": "module"}\n')
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"npm install failed: {done.stderr}"
            stamp.write_text(" ".join(PACKAGES))
        # Next to its node_modules, so node resolves the packages as an app would.
        shutil.copyfile(SCRIPT, NODE_DIR / SCRIPT.name)
    return NODE_DIR


@dataclass
class NodeSubscriber:
    proc: asyncio.subprocess.Process

    async def ready(self, timeout: float = 30) -> None:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line.decode().strip() == "ready", line

    async def results(self, timeout: float = 30) -> list[dict[str, Any]]:
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        assert self.proc.returncode == 0, (out.decode(), err.decode())
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


async def node_subscriber(
    url: str, actor: str, query: str, variables: dict[str, Any], count: int
) -> NodeSubscriber:
    directory = node_ready()
    env = dict(
        os.environ,
        FEED_URL=url,
        FEED_AUTHORIZATION=authorization(actor)["Authorization"],
        FEED_QUERY=query,
        FEED_VARIABLES=json.dumps(variables),
        FEED_COUNT=str(count),
    )
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(directory / SCRIPT.name),
        cwd=directory,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return NodeSubscriber(proc)
