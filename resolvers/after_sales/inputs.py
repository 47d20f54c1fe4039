"""GraphQL inputs of after-sale requests. Reason codes are strings checked by the domain against
the kind's catalogue (query `afterSaleReasons`), since the list depends on the kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

import strawberry

from models import after_sales_reasons as catalogues
from models import commands
from models.errors import ValidationFailed
from models.policy import CategoryPolicy as DomainPolicy
from models.request_kinds import profile_of
from resolvers.after_sales.types import AfterSaleKind, DecisionType, with_policy_fields
from resolvers.commands import takes, value_of
from resolvers.evidence.types import EVIDENCE_IDS_HELP
from resolvers.inputs import LineQuantityInput, MoneyInput, well_formed_id
from resolvers.requests.types import api_enum

MAX_LINES = 50

# The reason catalogues of after-sale requests, by the name a client asks for one with.
CATALOGUES: Mapping[str, Mapping[str, str]] = {
    **{f"{kind.name}_REQUEST": profile_of(kind).request_reasons for kind in AfterSaleKind},
    "REFUND_REJECT": catalogues.REFUND_REJECT_REASONS,
    "REPLACEMENT_REJECT": catalogues.REPLACEMENT_REJECT_REASONS,
    "REPLACEMENT_APPROVE": catalogues.REPLACEMENT_APPROVE_REASONS,
    "RECEIPT_REJECT": catalogues.RECEIPT_REJECT_REASONS,
    "APPEAL": catalogues.APPEAL_REASONS,
    "SELLER_REFUND": catalogues.SELLER_REFUND_REASONS,
    "PLATFORM_REFUND": catalogues.PLATFORM_REFUND_REASONS,
}
AfterSaleCatalogue = api_enum(
    "AfterSaleCatalogue", CATALOGUES, "The reason catalogues of after-sale requests."
)


@strawberry.input
class AfterSaleFilter:
    kind: AfterSaleKind | None = None
    order_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    deadline_before: datetime | None = strawberry.field(
        default=None, description="Exclusive; sort by DEADLINE_SOONEST."
    )


def lines_of(lines: list[LineQuantityInput] | None) -> commands.Lines | None:
    """The lines and quantities an after-sale input names, each line at most once."""
    if lines is None:
        return None
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"at most {MAX_LINES} lines", field="lines")
    out: dict[str, int] = {}
    for line in lines:
        line_id = well_formed_id(line.line_id, "lines")
        if line_id in out:
            raise ValidationFailed(f"line {line_id} is listed twice", field="lines")
        out[line_id] = line.quantity
    return commands.chosen_lines(out)


def approval_terms(input: Any) -> commands.ApprovalTerms:
    """What an approval (R7, P2) covers, as the request's own input or its ticket's gives it
    (their fields named as the terms')."""
    return value_of(commands.ApprovalTerms, input, lines=lines_of)


@strawberry.input
@takes(commands.RequestAfterSale, evidence=EVIDENCE_IDS_HELP, lines=lines_of)
class RequestAfterSaleInput:
    order_id: strawberry.ID
    kind: AfterSaleKind
    lines: list[LineQuantityInput]
    reason: str = strawberry.field(description="A code of the kind's request catalogue.")
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
@takes(
    commands.WithdrawAfterSale, commands.ConfirmReturnReceived, commands.RecordReplacementDelivered
)
class AfterSaleStepInput:
    request_id: strawberry.ID


@strawberry.input
@takes(commands.ApproveAfterSale)
class ApproveAfterSaleInput:
    request_id: strawberry.ID
    decision: DecisionType
    lines: list[LineQuantityInput] | None = strawberry.field(
        default=None, description="Cover only these lines and quantities (default: as asked)."
    )
    buyer_keeps_item: bool = False
    partial_amount: MoneyInput | None = strawberry.field(
        default=None,
        description="Refund less than the items' price (R7); with OFFER_PARTIAL_REFUND the "
        "amount offered, which the buyer accepts or declines (R12).",
    )
    reason: str | None = strawberry.field(
        default=None, description="APPROVE_REPLACEMENT only: the reason type (P2)."
    )
    comment: str | None = None

    def command(self) -> commands.Command:
        """The seller's decision as its step (an approval, an offer or a refund instead)."""
        request_id = well_formed_id(self.request_id, "requestId")
        return commands.decision_command(request_id, self.decision, approval_terms(self))


@strawberry.input(description="R12: the buyer's answer to the seller's partial-refund offer.")
@takes(commands.AnswerOffer)
class AnswerOfferInput:
    request_id: strawberry.ID
    accept: bool = strawberry.field(
        description="true: refunded the offered amount, keep the item, the request closes; "
        "false: the seller decides again."
    )


@strawberry.input
@takes(
    commands.AppealAfterSale,
    commands.RejectAfterSale,
    commands.RejectReturnOnReceipt,
    evidence=EVIDENCE_IDS_HELP + " Appeals and rejections only.",
)
class ReasonedStepInput:
    request_id: strawberry.ID
    reason: str = strawberry.field(description="A code from the matching catalogue.")
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")


@strawberry.input
@takes(commands.ShipReturn, commands.ShipReplacement)
class ShipmentInput:
    request_id: strawberry.ID
    carrier: str
    tracking_number: str


@strawberry.input
@takes(commands.DecideAppeal)
class DecideAppealInput:
    request_id: strawberry.ID
    for_buyer: bool
    note: str


@strawberry.input
@takes(commands.RefundOrder, commands.PlatformRefund, lines=lines_of)
class RefundOrderInput:
    order_id: strawberry.ID
    reason: str = strawberry.field(description="SELLER_REFUND or PLATFORM_REFUND catalogue.")
    comment: str | None = None
    lines: list[LineQuantityInput] | None = strawberry.field(
        default=None, description="Default: every unit not yet refunded or requested."
    )
    partial_amount: MoneyInput | None = None


@strawberry.input(description="Y1: windows in seconds; a field left out takes the default.")
@with_policy_fields(
    optional=True,
    payment_window_seconds="Y2, C8: how long an order may stay unpaid.",
    business_days="Y2: the seller response window counts business days (businessCalendar).",
    high_value_above="Y2: above this order value (items, minor units of the order's "
    "currency; 0: never) the high-value response window applies.",
)
class CategoryPolicyInput:
    category: str

    def policy(self) -> DomainPolicy:
        """Each field given, named as the domain's (a window's name less `_seconds`: it is given
        in seconds, the domain's decoding of a policy in seconds); a field left out takes the
        default."""
        given = {f.name.removesuffix("_seconds"): getattr(self, f.name) for f in fields(self)}
        del given["category"]
        return DomainPolicy.from_seconds({k: v for k, v in given.items() if v is not None})
