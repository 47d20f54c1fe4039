"""E1 in GraphQL: the `Evidence` type a request lists, with a download URL made for the viewer.

Files go up and down over HTTP (api/evidence_routes.py); GraphQL carries their ids (the
mutations' `evidenceIds`) and their records (the `evidence` field of `AfterSale` and
`Cancellation`, read for a whole page at once through the context's loader).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models.errors import ValidationFailed
from models.evidence import MAX_PER_STEP, EvidenceKind, EvidenceStep
from resolvers.context import Context, actor_of
from resolvers.inputs import well_formed_id
from resolvers.values import ActorKind
from services.read_types import Evidence as StoredEvidence

strawberry.enum(
    EvidenceKind, description="E1: a photo (JPEG, PNG, WebP) or a video (MP4, QuickTime)."
)
strawberry.enum(EvidenceStep, description="E1: the step of a request a file was attached to.")

EVIDENCE_IDS_HELP = (
    "E1: ids of your uploads for this order (POST /evidence), attached to this step; "
    f"at most {MAX_PER_STEP}."
)


@strawberry.type(description="E1: who uploaded a file.")
class EvidenceUploader:
    actor_kind: ActorKind
    actor_id: str


@strawberry.type(description="E1: a photo or video attached to a step of a request.")
class Evidence:
    _e: strawberry.Private[StoredEvidence]
    id: strawberry.ID
    kind: EvidenceKind
    content_type: str
    size: int = strawberry.field(description="Bytes.")
    uploaded_by: EvidenceUploader
    uploaded_at: datetime
    request_id: strawberry.ID
    step: EvidenceStep

    @strawberry.field(
        description="Where the viewer downloads the file (a path on this service, signed for "
        "this viewer); valid until `urlExpiresAt`."
    )
    def url(self, info: Info[Context, Any]) -> str:
        return _url(info, self._e)[0]

    @strawberry.field(description="When `url` stops working; read the request again for a new one.")
    def url_expires_at(self, info: Info[Context, Any]) -> datetime:
        return _url(info, self._e)[1]

    @classmethod
    def of(cls, e: StoredEvidence) -> Evidence:
        assert e.request_id is not None and e.step is not None
        return cls(
            _e=e,
            id=strawberry.ID(e.id),
            kind=e.kind,
            content_type=e.content_type,
            size=e.size,
            uploaded_by=EvidenceUploader(actor_kind=e.uploader_kind, actor_id=e.uploader_id),
            uploaded_at=e.uploaded_at,
            request_id=strawberry.ID(e.request_id),
            step=e.step,
        )


def _url(info: Info[Context, Any], e: StoredEvidence) -> tuple[str, datetime]:
    return info.context.services.evidence.url_for(actor_of(info), e)


async def evidence_of(info: Info[Context, Any], request_id: str) -> list[Evidence]:
    """A request's files; the request was already checked visible to the caller."""
    return [Evidence.of(e) for e in await info.context.evidence.load(request_id)]


def evidence_ids_of(ids: Sequence[strawberry.ID] | None) -> list[str]:
    if not ids:
        return []
    if len(ids) > MAX_PER_STEP:
        raise ValidationFailed(f"at most {MAX_PER_STEP} files per step", field="evidenceIds")
    return [well_formed_id(i, "evidenceIds") for i in ids]
