"""A small HTTP/1.1 server on asyncio streams, so that "down" can mean what it means to a sender:
the listening socket closed (connection refused), not an error answer. It reads Content-Length
bodies only (what webhook senders send) and keeps connections alive between requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from devtools.webhook_receiver.receiver import Decision, Receiver, Rule

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    411: "Length Required",
}
MAX_BODY = 1 << 20


class ReceiverServer:
    def __init__(self, receiver: Receiver, host: str, port: int) -> None:
        self.receiver = receiver
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._reopen: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)

    async def go_down(self, seconds: float) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._reopen = asyncio.create_task(self._come_back(seconds))

    async def _come_back(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip()] = value.strip()
        lowered = {k.lower(): v for k, v in headers.items()}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            await self._write(writer, 411, {"error": "send a Content-Length body"}, close=True)
            return False
        length = int(lowered.get("content-length", "0") or 0)
        if length > MAX_BODY:
            await self._write(writer, 400, {"error": "body too large"}, close=True)
            return False
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        if path.startswith("/_receiver/"):
            status, answer = await self._control(method, path, body)
            await self._write(writer, status, answer)
            if path == "/_receiver/down" and status == 200:
                # After the answer is written: closing flushes it first.
                await self.go_down(answer["down_for"])
                return False
        elif method == "POST":
            decision = self.receiver.receive(headers, body)
            if decision.status is None:
                await self._hold(reader, decision)
                return False
            await self._write(writer, decision.status, decision.body)
        else:
            await self._write(writer, 404, {"error": "POST a delivery"})
        return lowered.get("connection", "").lower() != "close"

    async def _hold(self, reader: asyncio.StreamReader, decision: Decision) -> None:
        # Says nothing until the time is up or the sender gives up and closes.
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(), decision.hold_seconds)

    async def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            spec = json.loads(body) if body else {}
            if path == "/_receiver/health":
                return 200, {"ok": True}
            if path == "/_receiver/deliveries" and method == "GET":
                return 200, self.receiver.summary()
            if path == "/_receiver/faults" and method == "POST":
                self.receiver.rules = [Rule.of(rule) for rule in spec.get("rules", [])]
                return 200, {"rules": len(self.receiver.rules)}
            if path == "/_receiver/down" and method == "POST":
                return 200, {"down_for": float(spec["seconds"])}
            if path == "/_receiver/reset" and method == "POST":
                self.receiver.reset()
                return 200, {"ok": True}
        except (KeyError, ValueError, TypeError) as exc:
            return 400, {"error": repr(exc)}
        return 404, {"error": f"no control {method} {path}"}

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter, status: int, body: dict[str, Any], close: bool = False
    ) -> None:
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        await writer.drain()
