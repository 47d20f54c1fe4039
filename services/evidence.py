"""E1 use cases: upload a file (streamed into GridFS, checked as it arrives), attach uploads to a
request's step in that step's own transaction, list a page's files, open a download.

The flow: `POST /evidence?orderId=` stores a pending upload owned by its uploader and the order
and answers its id; the mutation that makes the step (requestAfterSale, appealAfterSale,
rejectAfterSale, rejectReturnOnReceipt) names the ids in `evidenceIds`, and `attach_claimed`,
called by the after-sale write path inside its transaction, attaches them (or refuses the whole
step). Uploads never attached expire after `pending_ttl_seconds`; the next upload sweeps them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId

from models import access
from models import evidence as rules
from models.actors import Actor
from models.clock import Clock
from models.errors import Forbidden, NotFound, ValidationFailed
from models.evidence import EvidenceStatus, EvidenceStep
from storage import evidence as store
from storage import orders as order_store
from storage.mongo import Database, Session

# Uploads swept per upload call: a bounded cost on the caller, and the backlog still drains.
SWEEP_PER_UPLOAD = 20


DEFAULT_LIMITS = rules.Limits(10 * 1024 * 1024, 50 * 1024 * 1024)


@dataclass(frozen=True)
class EvidenceConfig:
    limits: rules.Limits = DEFAULT_LIMITS
    pending_ttl_seconds: int = 3600
    url_ttl_seconds: int = 900
    budget_bytes: int = 500 * 1024 * 1024
    budget_window_seconds: int = 3600
    url_secret: bytes = b"development evidence url secret"
    # Reasons refused without evidence on a request or an appeal (models/evidence.py).
    reasons_needing_evidence: frozenset[str] = frozenset()


def url_secret_of(signing_secret: str) -> bytes:
    """The URL key, derived from the server's secret, so a URL signature is never a token's."""
    return hashlib.sha256(b"evidence-url\n" + signing_secret.encode()).digest()


@dataclass(frozen=True)
class _Claim:
    actor: Actor
    ids: tuple[str, ...]
    needing: frozenset[str]  # the serving app's reasons that need evidence


# The evidence ids a mutation names, for the write path of the step that mutation makes. Set by
# the resolver around its one service call; read by `attach_claimed` for that caller only (a
# helpdesk rule acting after the request, as its own actor, never picks it up). In-process
# callers that open no claim (demo data) are not held to the reasons that need evidence.
_CLAIM: ContextVar[_Claim | None] = ContextVar("evidence_claim", default=None)


@contextlib.contextmanager
def claiming(
    actor: Actor, ids: Sequence[str] | None, needing: frozenset[str] = frozenset()
) -> Iterator[None]:
    token = _CLAIM.set(_Claim(actor, tuple(ids or ()), needing))
    try:
        yield
    finally:
        _CLAIM.reset(token)


def _step_of(before: Sequence[Any], after: Sequence[Any]) -> tuple[EvidenceStep, str | None] | None:
    """The evidence step a write made, with its reason: the first new timeline record (of an
    after-sale request or a cancellation) that opens one."""
    for record in after[len(before) :]:
        step = rules.STEP_OF_ACTION.get(record.action)
        if step is not None:
            return step, record.reason
    return None


class EvidenceService:
    def __init__(self, db: Database, clock: Clock, config: EvidenceConfig | None = None) -> None:
        self.db = db
        self.clock = clock
        self.config = config or EvidenceConfig()

    # ---- upload ---------------------------------------------------------------------------

    async def upload(
        self, actor: Actor, order_id: str, body: AsyncIterator[bytes], declared: int | None
    ) -> store.Evidence:
        """Stream one file into GridFS. Its type is read from its first bytes; its size limit
        (its kind's, or what is left of the caller's budget) is enforced on every chunk, so a
        file over it is refused without ever being held whole."""
        cfg = self.config
        now = self.clock.now()
        order = await order_store.get(self.db, order_id)
        # An order the caller may not see is answered as a missing one: an outsider holding an
        # id learns nothing of it.
        if order is None or not access.can_view(actor, order.shop_id, order.buyer_id):
            raise NotFound(f"no order {order_id}", field="orderId")
        access.require_uploader(actor, order.shop_id, order.buyer_id)
        if declared is not None and declared > cfg.limits.largest:
            raise rules.TooLarge(
                f"files are at most {cfg.limits.largest} bytes", max_bytes=cfg.limits.largest
            )
        await store.sweep_expired(self.db, now, SWEEP_PER_UPLOAD)
        uploader = rules.viewer_key(actor)
        window = timedelta(seconds=cfg.budget_window_seconds)
        left = cfg.budget_bytes - await store.bytes_since(self.db, uploader, now - window)
        if left <= 0:
            raise rules.BudgetSpent(
                f"upload budget of {cfg.budget_bytes} bytes per {cfg.budget_window_seconds} s "
                "is spent",
                retry_after_seconds=cfg.budget_window_seconds,
            )

        head = b""
        chunks = body.__aiter__()
        async for chunk in chunks:
            head += chunk
            if len(head) >= rules.SNIFF_BYTES:
                break
        content_type = rules.sniff(head[: rules.SNIFF_BYTES])
        if content_type is None:
            raise rules.UnsupportedMediaType(
                "only JPEG, PNG or WebP photos and MP4 or QuickTime videos (read from the "
                "file's content, not its name)"
            )
        kind = rules.kind_of(content_type)
        cap = min(cfg.limits.for_kind(kind), left)
        if declared is not None and declared > cap:
            raise self._over(kind, cap, left)

        evidence_id = f"evd_{ObjectId()}"
        writer = store.ChunkWriter(self.db)
        try:
            size = len(head)
            if size > cap:
                raise self._over(kind, cap, left)
            await writer.write(head)
            async for chunk in chunks:
                size += len(chunk)
                if size > cap:
                    raise self._over(kind, cap, left)
                await writer.write(chunk)
            meta = {"contentType": content_type, "orderId": order_id}
            await writer.close(evidence_id, meta, now)
        except BaseException:
            await writer.abort()  # the chunks written so far are deleted
            raise
        if size == 0:
            raise ValidationFailed("the file is empty", field="body")
        saved = store.Evidence(
            id=evidence_id,
            file_id=writer.file_id,
            order_id=order_id,
            shop_id=order.shop_id,
            buyer_id=order.buyer_id,
            uploader=uploader,
            uploader_kind=actor.kind,
            uploader_id=actor.id,
            kind=kind,
            content_type=content_type,
            size=size,
            uploaded_at=now,
            status=EvidenceStatus.PENDING,
            expires_at=store.pending_expiry(now, cfg.pending_ttl_seconds),
        )
        await store.insert(self.db, saved)
        return saved

    def _over(self, kind: rules.EvidenceKind, cap: int, left: int) -> Exception:
        if cap == left and left < self.config.limits.for_kind(kind):
            return rules.BudgetSpent(
                f"this file is over what is left of the upload budget ({left} bytes)",
                retry_after_seconds=self.config.budget_window_seconds,
            )
        return rules.TooLarge(f"a {kind.value.lower()} is at most {cap} bytes", max_bytes=cap)

    # ---- attach (in the step's transaction) -------------------------------------------------

    async def attach_claimed(
        self, session: Session, actor: Actor, changes: Sequence[tuple[Any, Any]]
    ) -> None:
        """The write path's hook, for every kind of request (services/request_writes.py::OnWrite):
        the step this write makes gets the uploads its caller named, and a reason that needs
        evidence is refused without it; a refusal aborts the whole transaction."""
        steps = [
            (after.id, after.order_id, _step_of(before.timeline if before else (), after.timeline))
            for before, after in changes
        ]
        await self._attach(session, actor, steps)

    async def _attach(
        self,
        session: Session,
        actor: Actor,
        steps: Sequence[tuple[str, str, tuple[EvidenceStep, str | None] | None]],
    ) -> None:
        claim = _CLAIM.get()
        if claim is None or claim.actor != actor:
            claim = _Claim(actor, (), frozenset())
        claimed = claim.ids
        used = False
        for request_id, order_id, found in steps:
            if found is None:
                continue
            step, reason = found
            ids = claimed if not used else ()  # one step per call takes the files
            uploads = await store.get_many(self.db, ids, session) if ids else {}
            now = self.clock.now()
            rules.check_attach(
                actor,
                step,
                reason,
                order_id,
                ids,
                {i: u.upload(now) for i, u in uploads.items()},
                claim.needing,
            )
            if ids:
                used = True
                if await store.attach(self.db, ids, request_id, step, session) != len(ids):
                    raise ValidationFailed("an upload was attached meanwhile", field="evidenceIds")
        if claimed and not used:
            raise ValidationFailed("this step takes no evidence", field="evidenceIds")

    # ---- read -----------------------------------------------------------------------------

    async def of_requests(self, request_ids: Sequence[str]) -> dict[str, list[store.Evidence]]:
        return await store.of_requests(self.db, request_ids)

    def url_for(self, viewer: Actor, e: store.Evidence) -> tuple[str, datetime]:
        """A download URL for this viewer, valid `url_ttl_seconds` from now."""
        access.require_evidence_view(viewer, e.shop_id, e.buyer_id)
        now = self.clock.now()
        expires = rules.url_expiry(now, self.config.url_ttl_seconds)
        key = rules.viewer_key(viewer)
        sig = rules.signature(self.config.url_secret, e.id, key, expires)
        query = urlencode({"viewer": key, "expires": expires, "sig": sig})
        return f"/evidence/{e.id}?{query}", datetime.fromtimestamp(expires, now.tzinfo)

    async def open_download(
        self,
        evidence_id: str,
        viewer: str,
        expires: str,
        sig: str,
        caller: Actor | None,
    ) -> store.Evidence:
        """The file a signed URL names; Forbidden for a URL that is not
        genuine, expired, or used by someone else than its viewer (when a token is sent)."""
        now = self.clock.now()
        who = rules.check_url(self.config.url_secret, evidence_id, viewer, expires, sig, now)
        if caller is not None and rules.viewer_key(caller) != viewer:
            raise Forbidden("this link was given to someone else")
        e = await store.get(self.db, evidence_id)
        if e is None or e.status is not EvidenceStatus.ATTACHED:
            raise NotFound(f"no evidence {evidence_id}")
        access.require_evidence_view(who, e.shop_id, e.buyer_id, f"evidence {evidence_id}")
        return e

    def read(self, e: store.Evidence, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` (inclusive) of a file, a chunk at a time."""
        return store.read_range(self.db, e.file_id, start, end)


def as_dict(e: store.Evidence) -> dict[str, Any]:
    """The upload route's answer."""
    return {
        "id": e.id,
        "kind": e.kind.value,
        "contentType": e.content_type,
        "size": e.size,
        "orderId": e.order_id,
        "expiresAt": e.expires_at.isoformat() if e.expires_at else None,
    }
