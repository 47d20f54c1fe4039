"""The webhook receiver stand-in (devtools/webhook_receiver) run as its own process, and a client
for it: what the tests of outbound webhooks deliver to."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.processes import ROOT, free_port
from tests.support.tiktok_standin import wait_for

SECRET = "whsec-test"


def stripe_header(body: bytes, stamp: int | None = None, secret: str = SECRET) -> str:
    # Computed here, not with devtools/webhook_receiver/signature.py, so a slip there shows.
    t = int(time.time()) if stamp is None else stamp
    hexdigest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={hexdigest}"


class Receiver:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=10)

    def deliver(
        self,
        delivery_id: str,
        shop: str = "shop-1",
        sequence: int = 1,
        *,
        body: bytes | None = None,
        signature: str | None = None,
        timeout: float = 10,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = body if body is not None else json.dumps({"event": delivery_id}).encode()
        sent = {
            "Webhook-Id": delivery_id,
            "Webhook-Shop": shop,
            "Webhook-Sequence": str(sequence),
            "Webhook-Signature": signature if signature is not None else stripe_header(body),
            "Content-Type": "application/json",
        } | (headers or {})
        return self.http.post("/hooks", content=body, headers=sent, timeout=timeout)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.http.request(method, f"/_receiver/{path}", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def summary(self) -> dict[str, Any]:
        return self.control("GET", "deliveries")


@contextmanager
def running_receiver(*args: str) -> Iterator[Receiver]:
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.webhook_receiver", "--port", str(port), *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        receiver = Receiver(f"http://127.0.0.1:{port}")

        def up() -> bool:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"receiver exited: {log.read()}")
            try:
                return receiver.http.get("/_receiver/health").status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(up, "receiver listening")
            yield receiver
        finally:
            receiver.http.close()
            process.terminate()
            process.wait(timeout=5)
