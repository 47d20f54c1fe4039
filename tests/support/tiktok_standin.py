"""The TikTok Shop stand-in as a test sees it: the process, a signing client, a webhook listener."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import httpx

from devtools.tiktok_shop.launch import standin_command
from integrations.tiktok_shop.signing import signed_query, verify_webhook
from tests.support.processes import ROOT, free_port

APP_KEY, APP_SECRET = "standin-key", "standin-secret"
SHOP_CIPHER, ACCESS_TOKEN = "ROW_test_cipher", "TTP_test_token"
API = "/return_refund/202309"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Polls until check() is truthy; fails naming what never happened (a wait, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


@dataclass
class Received:
    body: bytes
    authorization: str | None
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookListener:
    """A loopback HTTP server that records every POST and checks its TikTok signature."""

    port: int
    received: list[Received] = field(default_factory=list)
    # tts_notification_ids to answer 500 the first time they arrive
    fail_once: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/tiktok"

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.payload["data"].get("order_id") == order_id]


@contextmanager
def webhook_listener() -> Iterator[WebhookListener]:
    listener = WebhookListener(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            auth = self.headers.get("Authorization")
            ok = verify_webhook(APP_KEY, APP_SECRET, body, auth)
            ident = json.loads(body).get("tts_notification_id")
            status = 200
            if ident in listener.fail_once:
                listener.fail_once.discard(ident)
                status = 500
            else:
                listener.received.append(Received(body, auth, ok))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", listener.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class StandIn:
    base: str

    _default: TikTokClient | None = None
    _local: threading.local = field(default_factory=threading.local)
    _clients: list[httpx.Client] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def control(self) -> httpx.Client:
        """This thread's client of the control API: one httpx.Client used from several threads
        at once read a socket another thread had closed (EBADF, seen in the chaos test)."""
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self.base, timeout=10)
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()

    def client(self, **overrides: Any) -> TikTokClient:
        if overrides:
            return TikTokClient(self.base, **overrides)
        # One client for the defaults: building an httpx client (its SSL context) is slow.
        if self._default is None:
            self._default = TikTokClient(self.base)
        return self._default

    def seed_order(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("line_items", [{"product_name": "Mug", "sale_price": "12.50"}])
        return self.ok("POST", "/_standin/orders", spec)

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.control.request(method, path, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def applied(self) -> dict[str, int]:
        return self.ok("GET", "/_standin/applied")["counts"]

    def notifications(self) -> list[dict[str, Any]]:
        return self.ok("GET", "/_standin/webhooks")["notifications"]

    def settle(self) -> None:
        wait_for(lambda: self.ok("GET", "/_standin/webhooks")["idle"], "webhooks sent")

    def chaos(self, **spec: Any) -> dict[str, Any]:
        return self.ok("PUT", "/_standin/chaos", spec)

    def calm(self) -> None:
        zero_hooks = {"drop": 0, "duplicate": 0, "delay": 0, "reorder": 0}
        zero_calls = {"throttle": 0, "server_error": 0, "timeout": 0}
        self.chaos(webhooks=zero_hooks, calls=zero_calls)


class TikTokClient:
    """Signs as the service will: integrations/tiktok_shop/signing.py."""

    def __init__(
        self,
        base: str,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        cipher: str | None = SHOP_CIPHER,
        token: str | None = ACCESS_TOKEN,
        timeout: float = 10.0,
    ) -> None:
        self.http = httpx.Client(base_url=base, timeout=timeout)
        self.app_key, self.app_secret, self.cipher, self.token = app_key, app_secret, cipher, token

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        *,
        timestamp: int | None = None,
        tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]] | None = None,
    ) -> httpx.Response:
        raw = json.dumps(body).encode() if body is not None else b""
        params = dict(params or {})
        if self.cipher is not None:
            params["shop_cipher"] = self.cipher
        stamp = int(time.time()) if timestamp is None else timestamp
        query = signed_query(self.app_key, self.app_secret, path, params, raw, stamp)
        if tamper:
            query, raw = tamper(query, raw)
        headers = {"content-type": "application/json"}
        if self.token is not None:
            headers["x-tts-access-token"] = self.token
        return self.http.request(method, path, params=query, content=raw or None, headers=headers)

    def ok(
        self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None
    ) -> Any:
        answer = self.request(method, path, params, body)
        envelope = answer.json()
        assert answer.status_code == 200 and envelope["code"] == 0, answer.text
        return envelope["data"]


@contextmanager
def running_standin(webhook_url: str | None, *extra: str) -> Iterator[StandIn]:
    with tempfile.TemporaryFile(mode="w+") as log:
        yield from _run_standin(webhook_url, extra, log)


def _run_standin(
    webhook_url: str | None, extra: tuple[str, ...], log: IO[str]
) -> Iterator[StandIn]:
    port = free_port()
    process = subprocess.Popen(
        standin_command(
            port,
            APP_KEY,
            APP_SECRET,
            webhook_url,
            *("--shop-cipher", SHOP_CIPHER, "--access-token", ACCESS_TOKEN),
            *("--webhook-retry-delays", "0.05,0.1"),
            *extra,
        ),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    standin = StandIn(f"http://127.0.0.1:{port}")

    def up() -> bool:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"stand-in exited: {log.read()}")
        try:
            return standin.control.get("/_standin/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, "stand-in listening", timeout=20)
        yield standin
    finally:
        standin.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
