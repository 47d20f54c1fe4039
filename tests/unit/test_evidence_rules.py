"""E1's pure rules: what a file is by its bytes, who may attach and see it, the signed URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import access
from models.actors import ADJUSTMENTS, Actor, ActorKind
from models.errors import Forbidden, NotFound, ValidationFailed
from models.evidence import (
    EvidenceKind,
    EvidenceStatus,
    EvidenceStep,
    Upload,
    check_attach,
    check_url,
    reason_codes,
    signature,
    sniff,
    viewer_key,
    viewer_of,
)

BUYER = Actor(ActorKind.BUYER, "b-1")
AGENT = Actor(ActorKind.SELLER_AGENT, "a-1", "shop-1", frozenset({ADJUSTMENTS}))
READER = Actor(ActorKind.SELLER_AGENT, "a-2", "shop-1")
OTHER_AGENT = Actor(ActorKind.SELLER_AGENT, "a-1", "shop-2", frozenset({ADJUSTMENTS}))
OTHER_BUYER = Actor(ActorKind.BUYER, "b-2")
PLATFORM = Actor(ActorKind.PLATFORM, "ops-1")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SECRET = b"k" * 32


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "video/quicktime"),
        (b"just text called photo.jpg", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF that is audio
        (b"GIF89a\x01\x00\x01\x00\x00\x00", None),
        (b"", None),
    ],
)
def test_e1_sniff_reads_the_type_from_the_first_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_e1_viewing_is_for_the_buyer_the_shop_and_the_platform() -> None:
    for actor in (BUYER, AGENT, READER, PLATFORM):
        access.require_evidence_view(actor, "shop-1", "b-1")
    for actor in (OTHER_BUYER, OTHER_AGENT):  # told what an unknown id tells: nothing
        with pytest.raises(NotFound):
            access.require_evidence_view(actor, "shop-1", "b-1")


def test_e1_uploading_is_for_the_buyer_and_the_shops_acting_agents() -> None:
    for actor in (BUYER, AGENT):
        access.require_uploader(actor, "shop-1", "b-1")
    for actor in (READER, OTHER_AGENT, OTHER_BUYER, PLATFORM):
        with pytest.raises(Forbidden):
            access.require_uploader(actor, "shop-1", "b-1")


def _up(owner: Actor, kind: EvidenceKind = EvidenceKind.PHOTO, **kw: object) -> Upload:
    base: dict = {
        "id": "e-1",
        "uploader": viewer_key(owner),
        "order_id": "o-1",
        "kind": kind,
        "status": EvidenceStatus.PENDING,
        "expired": False,
    }
    return Upload(**{**base, **kw})


NEEDING = frozenset({"DAMAGED"})


def test_e1_a_reason_that_needs_evidence_is_refused_without_it() -> None:
    with pytest.raises(ValidationFailed) as err:
        check_attach(BUYER, EvidenceStep.REQUEST, "DAMAGED", "o-1", [], {}, NEEDING)
    assert err.value.field == "evidenceIds"
    check_attach(BUYER, EvidenceStep.REQUEST, "OTHER", "o-1", [], {}, NEEDING)
    check_attach(
        BUYER, EvidenceStep.REQUEST, "DAMAGED", "o-1", ["e-1"], {"e-1": _up(BUYER)}, NEEDING
    )
    # The seller's steps are never held to the buyer's reasons.
    check_attach(AGENT, EvidenceStep.REJECTION, "DAMAGED", "o-1", [], {}, NEEDING)


@pytest.mark.parametrize(
    ("actor", "step", "upload"),
    [
        (BUYER, EvidenceStep.REQUEST, _up(OTHER_BUYER)),  # someone else's
        (BUYER, EvidenceStep.REQUEST, _up(BUYER, order_id="o-2")),  # another order's
        (BUYER, EvidenceStep.REQUEST, _up(BUYER, status=EvidenceStatus.ATTACHED)),
        (BUYER, EvidenceStep.REQUEST, _up(BUYER, expired=True)),
        (AGENT, EvidenceStep.REJECTION, _up(AGENT, EvidenceKind.VIDEO)),  # sellers: images
        (BUYER, EvidenceStep.REJECTION, _up(BUYER)),  # not the buyer's step
        (AGENT, EvidenceStep.REQUEST, _up(AGENT)),
    ],
)
def test_e1_only_own_pending_uploads_of_the_order_of_an_allowed_kind_attach(
    actor: Actor, step: EvidenceStep, upload: Upload
) -> None:
    with pytest.raises(ValidationFailed):
        check_attach(actor, step, "OTHER", "o-1", ["e-1"], {"e-1": upload}, NEEDING)


def test_e1_url_signature_binds_id_viewer_and_expiry() -> None:
    viewer = viewer_key(BUYER)
    expires = int((NOW + timedelta(minutes=5)).timestamp())
    sig = signature(SECRET, "e-1", viewer, expires)
    assert check_url(SECRET, "e-1", viewer, str(expires), sig, NOW) == Actor(ActorKind.BUYER, "b-1")
    for args in (
        ("e-2", viewer, str(expires), sig),
        ("e-1", viewer_key(OTHER_BUYER), str(expires), sig),
        ("e-1", viewer, str(expires + 1), sig),
        ("e-1", viewer, "-1", sig),
        ("e-1", viewer, str(expires), sig[:-1] + "0"),
    ):
        with pytest.raises(Forbidden):
            check_url(SECRET, *args, NOW)
    with pytest.raises(Forbidden):
        check_url(b"another secret", "e-1", viewer, str(expires), sig, NOW)
    with pytest.raises(Forbidden, match="expired"):
        check_url(SECRET, "e-1", viewer, str(expires), sig, NOW + timedelta(minutes=5))


def test_e1_viewer_keys_round_trip() -> None:
    for actor in (BUYER, READER, PLATFORM):
        assert viewer_of(viewer_key(actor)) == Actor(actor.kind, actor.id, actor.shop_id)
    for bad in ("", "x:1", "b:", "s:a-1", "b:a@s"):
        assert viewer_of(bad) is None


def test_e1_required_reasons_setting_names_only_buyer_reasons() -> None:
    assert reason_codes("DAMAGED, NOT_AS_DESCRIBED") == {"DAMAGED", "NOT_AS_DESCRIBED"}
    assert reason_codes("") == frozenset()
    with pytest.raises(ValidationFailed):
        reason_codes("DAMAGED,NO_SUCH_REASON")
