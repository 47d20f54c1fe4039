"""How fast the TikTok Shop stand-in sends signed webhooks, against posting them directly.

    ./dev run benchmarks.standin_webhooks --n 2000

The ingest benchmark of the TikTok connection needs the stand-in to sustain 100 webhooks/s; this
says whether it can, and what it costs over the bare HTTP posts. "Stand-in": N orders made by
one control call, each sending one signed type 1 webhook to a loopback counter in this process;
timed from the call to the N-th webhook received. "Baseline": this
process posts N bodies of the same size to the same counter, one at a time on one connection,
signed the same way. Prints both rates and the ratio of times; the phases alternate `--repeat`
times so both see the same machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time

import httpx

from devtools.tiktok_shop.launch import standin_command
from integrations.tiktok_shop.signing import webhook_signature
from tests.support.processes import ROOT, free_port

APP_KEY, APP_SECRET = "bench-key", "bench-secret"


class Counter:
    """A loopback HTTP server that answers 200 to every POST and counts them."""

    def __init__(self) -> None:
        self.count = 0
        self.reached = asyncio.Event()
        self.target = 0
        self.port = free_port()

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def expect(self, n: int) -> None:
        self.count, self.target = 0, n
        self.reached = asyncio.Event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = 0
                line = await reader.readline()
                if not line:
                    break
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                self.count += 1
                if self.count >= self.target:
                    self.reached.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def standin_phase(base: str, counter: Counter, n: int) -> float:
    counter.expect(n)
    async with httpx.AsyncClient(base_url=base, timeout=60) as control:
        started = time.perf_counter()
        # One control call makes the N orders, so what is timed is the sending.
        (await control.post("/_standin/orders", json={"count": n})).raise_for_status()
        await asyncio.wait_for(counter.reached.wait(), 120)
        return time.perf_counter() - started


async def baseline_phase(counter: Counter, n: int, body_size: int) -> float:
    counter.expect(n)
    url = f"http://127.0.0.1:{counter.port}/webhooks"
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        for i in range(n):
            body = json.dumps({"i": i, "pad": "x" * body_size}).encode()
            headers = {"Authorization": webhook_signature(APP_KEY, APP_SECRET, body)}
            await client.post(url, content=body, headers=headers)
        await asyncio.wait_for(counter.reached.wait(), 120)
        return time.perf_counter() - started


async def main(n: int, repeat: int) -> None:
    counter = Counter()
    server = await counter.start()
    port = free_port()
    process = subprocess.Popen(
        standin_command(port, APP_KEY, APP_SECRET, f"http://127.0.0.1:{counter.port}/webhooks"),
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(200):
                try:
                    await probe.get("/_standin/health")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        # One type 1 body as the stand-in sends it: about 150 bytes.
        body_size = 110
        for run in range(1, repeat + 1):
            standin = await standin_phase(base, counter, n)
            baseline = await baseline_phase(counter, n, body_size)
            print(
                f"run {run}: N={n}  stand-in {standin:.2f} s ({n / standin:.0f}/s)  "
                f"baseline {baseline:.2f} s ({n / baseline:.0f}/s)  "
                f"ratio {standin / baseline:.2f}"
            )
    finally:
        process.terminate()
        process.wait()
        await asyncio.sleep(0.2)  # the counter's connections see the stand-in go
        server.close()
        await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.repeat))
