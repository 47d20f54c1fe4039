"""E1: photos and videos attached to a request's steps, pure: what a file is (by its first bytes,
never its name or the client's word), how large it may be, which steps take evidence from whom,
which reasons need it, and the signed, expiring download URL.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from models.actors import Actor, ActorKind
from models.after_sales_machine import AfterSaleAction
from models.cancellations import CancellationAction
from models.errors import DomainError, Forbidden, ValidationFailed


class EvidenceKind(Enum):
    PHOTO = "PHOTO"
    VIDEO = "VIDEO"


class EvidenceStep(Enum):
    """The step of a request a file belongs to."""

    REQUEST = "REQUEST"  # the buyer's request (R1, P1)
    APPEAL = "APPEAL"  # the buyer's appeal (R5)
    REJECTION = "REJECTION"  # the seller's rejection (R4, P3)
    RECEIPT_REJECTION = "RECEIPT_REJECTION"  # the seller's rejection on receipt (R8)


class EvidenceStatus(Enum):
    PENDING = "PENDING"  # uploaded, not yet named by a step; expires
    ATTACHED = "ATTACHED"
    EXPIRED = "EXPIRED"  # never attached: its bytes are gone, its size still counts (budget)


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooLarge(DomainError):
    code = "REQUEST_TOO_LARGE"

    def __init__(self, message: str, *, max_bytes: int) -> None:
        super().__init__(message)
        self.max_bytes = max_bytes


class BudgetSpent(DomainError):
    """The caller's upload budget for the window is spent."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


# How many bytes `sniff` needs to decide.
SNIFF_BYTES = 16

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})

# At most this many files per step of a request.
MAX_PER_STEP = 10

# The timeline action that opens each step: a step takes evidence only in the call that makes it.
STEP_OF_ACTION: Mapping[Enum, EvidenceStep] = {
    CancellationAction.REJECT: EvidenceStep.REJECTION,  # C5: the seller rejects a cancellation
    AfterSaleAction.REQUEST: EvidenceStep.REQUEST,
    AfterSaleAction.INSTANT_REFUND: EvidenceStep.REQUEST,
    AfterSaleAction.APPEAL: EvidenceStep.APPEAL,
    AfterSaleAction.REJECT: EvidenceStep.REJECTION,
    AfterSaleAction.REJECT_ON_RECEIPT: EvidenceStep.RECEIPT_REJECTION,
}

# Who attaches at each step, and which kinds: buyers photos and videos, sellers images.
STEP_ATTACHERS: Mapping[EvidenceStep, tuple[ActorKind, frozenset[EvidenceKind]]] = {
    EvidenceStep.REQUEST: (ActorKind.BUYER, frozenset(EvidenceKind)),
    EvidenceStep.APPEAL: (ActorKind.BUYER, frozenset(EvidenceKind)),
    EvidenceStep.REJECTION: (ActorKind.SELLER_AGENT, frozenset({EvidenceKind.PHOTO})),
    EvidenceStep.RECEIPT_REJECTION: (ActorKind.SELLER_AGENT, frozenset({EvidenceKind.PHOTO})),
}

# E1: the buyer's steps whose reason can need evidence (a request, an appeal), and the reasons
# the marketplace names as needing it (DOMAIN.md E1: damaged, not as described). Which codes a
# deployment enforces is a setting (AFTERSALES_EVIDENCE_REQUIRED_REASONS).
STEPS_WITH_REQUIRED_EVIDENCE = frozenset({EvidenceStep.REQUEST, EvidenceStep.APPEAL})
MARKETPLACE_REASONS_NEEDING_EVIDENCE = frozenset({"DAMAGED", "NOT_AS_DESCRIBED"})


def reason_codes(text: str) -> frozenset[str]:
    """The codes of a comma-separated list; ValidationFailed for one of no buyer catalogue."""
    from models.after_sales_reasons import (
        APPEAL_REASONS,
        REFUND_ONLY_REASONS,
        REPLACEMENT_REASONS,
        RETURN_AND_REFUND_REASONS,
    )

    known = {*REFUND_ONLY_REASONS, *RETURN_AND_REFUND_REASONS, *REPLACEMENT_REASONS}
    known |= set(APPEAL_REASONS)
    codes = frozenset(c.strip() for c in text.split(",") if c.strip())
    unknown = sorted(codes - known)
    if unknown:
        raise ValidationFailed(f"not a request or appeal reason: {', '.join(unknown)}")
    return codes


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, or None: JPEG, PNG, WebP, MP4 or QuickTime."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":  # ISO base media: the first box names the brand
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    return None


def kind_of(content_type: str) -> EvidenceKind:
    return EvidenceKind.VIDEO if content_type in VIDEO_TYPES else EvidenceKind.PHOTO


@dataclass(frozen=True)
class Limits:
    max_photo_bytes: int
    max_video_bytes: int

    def for_kind(self, kind: EvidenceKind) -> int:
        return self.max_video_bytes if kind is EvidenceKind.VIDEO else self.max_photo_bytes

    @property
    def largest(self) -> int:
        return max(self.max_photo_bytes, self.max_video_bytes)


@dataclass(frozen=True)
class Upload:
    """What the attaching step needs to know of one pending upload."""

    id: str
    uploader: str  # `viewer_key` of who uploaded it
    order_id: str
    kind: EvidenceKind
    status: EvidenceStatus
    expired: bool


def check_attach(
    actor: Actor,
    step: EvidenceStep,
    reason: str | None,
    order_id: str,
    wanted: Sequence[str],
    found: Mapping[str, Upload],
    needing: frozenset[str],
) -> None:
    """May `actor` attach the uploads `wanted` to this step of a request of `order_id`? And does
    the step's reason (one of `needing`) need evidence it was not given? Raises
    ValidationFailed on `evidenceIds`."""
    field = "evidenceIds"
    if not wanted and step in STEPS_WITH_REQUIRED_EVIDENCE and reason in needing:
        raise ValidationFailed(
            f"the reason {reason} needs at least one photo or video", field=field
        )
    if not wanted:
        return
    attacher, kinds = STEP_ATTACHERS[step]
    if actor.kind is not attacher:
        raise ValidationFailed(
            f"the {step.value.lower()} step takes no evidence from you", field=field
        )
    if len(set(wanted)) != len(wanted):
        raise ValidationFailed("an evidence id is listed twice", field=field)
    if len(wanted) > MAX_PER_STEP:
        raise ValidationFailed(f"at most {MAX_PER_STEP} files per step", field=field)
    me = viewer_key(actor)
    for evidence_id in wanted:
        up = found.get(evidence_id)
        # Someone else's upload is answered as a missing one: its id tells an outsider nothing.
        if up is None or up.uploader != me or up.order_id != order_id:
            raise ValidationFailed(f"no upload {evidence_id} of yours for this order", field=field)
        if up.status is not EvidenceStatus.PENDING:
            raise ValidationFailed(f"upload {evidence_id} is already attached", field=field)
        if up.expired:
            raise ValidationFailed(f"upload {evidence_id} expired; upload it again", field=field)
        if up.kind not in kinds:
            raise ValidationFailed(
                f"the {step.value.lower()} step takes photos only ({evidence_id} is a video)",
                field=field,
            )


# ---- who views, and the signed URL ------------------------------------------------------------

_KIND_CHAR = {ActorKind.BUYER: "b", ActorKind.SELLER_AGENT: "s", ActorKind.PLATFORM: "p"}
_CHAR_KIND = {v: k for k, v in _KIND_CHAR.items()}


def viewer_key(actor: Actor) -> str:
    """`b:buyer-1`, `s:agent-1@shop-1`, `p:ops-1`: who a URL was given to (ids hold no : or @)."""
    key = f"{_KIND_CHAR[actor.kind]}:{actor.id}"
    return f"{key}@{actor.shop_id}" if actor.kind is ActorKind.SELLER_AGENT else key


def viewer_of(key: str) -> Actor | None:
    """The viewer a key names (without permissions: viewing needs none), or None if malformed."""
    kind_char, _, rest = key.partition(":")
    kind = _CHAR_KIND.get(kind_char)
    if kind is None or not rest:
        return None
    if kind is ActorKind.SELLER_AGENT:
        actor_id, _, shop = rest.partition("@")
        return Actor(kind, actor_id, shop) if actor_id and shop else None
    return Actor(kind, rest) if "@" not in rest else None


def signature(secret: bytes, evidence_id: str, viewer: str, expires: int) -> str:
    """HMAC-SHA256 over the id, the viewer and the expiry (seconds since the epoch)."""
    message = f"{evidence_id}\n{viewer}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def url_expiry(now: datetime, ttl_seconds: int) -> int:
    return int(now.timestamp()) + ttl_seconds


def check_url(
    secret: bytes, evidence_id: str, viewer: str, expires: str, sig: str, now: datetime
) -> Actor:
    """The viewer of a download URL that is genuine and not expired; Forbidden otherwise."""
    if not expires.isdigit() or len(expires) > 12:
        raise Forbidden("the link is not valid")
    expected = signature(secret, evidence_id, viewer, int(expires))
    if not hmac.compare_digest(expected, sig):
        raise Forbidden("the link is not valid")
    if int(expires) <= now.timestamp():
        raise Forbidden("the link has expired; ask for the request again for a new one")
    actor = viewer_of(viewer)
    if actor is None:
        raise Forbidden("the link is not valid")
    return actor
