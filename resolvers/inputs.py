"""GraphQL inputs, with the reason catalogues turned into enums (one source: models/reasons)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import overload

import strawberry

from models.errors import ValidationFailed
from models.money import Money, currency_exponent
from models.reasons import (
    BUYER_CANCEL_REASONS,
    CANCELLATION_REJECT_REASONS,
    SELLER_CANCEL_REASONS,
)
from resolvers.types import FulfilmentState

BuyerCancelReason = strawberry.enum(
    Enum("BuyerCancelReason", {code: code for code in BUYER_CANCEL_REASONS}),  # type: ignore[misc]
    description="Why the buyer wants to cancel.",
)
CancellationRejectReason = strawberry.enum(
    Enum("CancellationRejectReason", {c: c for c in CANCELLATION_REJECT_REASONS}),  # type: ignore[misc]
    description="C5: the fixed list a seller picks from to reject a cancellation.",
)
SellerCancelReason = strawberry.enum(
    Enum("SellerCancelReason", {code: code for code in SELLER_CANCEL_REASONS}),  # type: ignore[misc]
    description="C7: why the seller cancels an order.",
)


@strawberry.enum
class CancellationSort(Enum):
    NEWEST = "NEWEST"
    OLDEST = "OLDEST"
    DEADLINE_SOONEST = "DEADLINE_SOONEST"


IDEMPOTENCY_HELP = (
    "Repeat a call with the same key to get its first outcome; nothing changes twice."
)


@strawberry.input
class CancellationFilter:
    order_id: strawberry.ID | None = None
    buyer_id: strawberry.ID | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class OrderFilter:
    fulfilment_state: FulfilmentState | None = None
    buyer_id: strawberry.ID | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None


@strawberry.input
class RequestCancellationInput:
    order_id: strawberry.ID
    reason: BuyerCancelReason  # type: ignore[valid-type]
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class DecideCancellationInput:
    cancellation_id: strawberry.ID
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class RejectCancellationInput:
    cancellation_id: strawberry.ID
    reason: CancellationRejectReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: SellerCancelReason  # type: ignore[valid-type]
    comment: str | None = strawberry.field(default=None, description="At most 500 characters.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class CancelUnpaidOrderInput:
    order_id: strawberry.ID
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_HELP)


@strawberry.input
class OrderInput:
    order_id: strawberry.ID


@strawberry.input
class HandToCarrierInput:
    order_id: strawberry.ID
    carrier: str
    tracking_number: str


_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@overload
def well_formed_id(value: str, field: str) -> str: ...
@overload
def well_formed_id(value: None, field: str) -> None: ...
def well_formed_id(value: str | None, field: str) -> str | None:
    """Ids are short and plain; anything else is refused before it reaches the database."""
    if value is not None and not _ID_PATTERN.fullmatch(value):
        raise ValidationFailed(f"{field} is not a well-formed id", field=field)
    return value


# Far above any one order on the shop (10 million in a two-decimal currency), far below where
# arithmetic on totals could surprise: money from a client is at most this, either way.
MAX_MONEY_MINOR = 1_000_000_000


@strawberry.input(description="Exact money: a decimal string in the currency's major unit.")
class MoneyInput:
    amount: Decimal
    currency: str


def money_of(m: MoneyInput | None, field: str) -> Money | None:
    """Exact minor units, or a ValidationFailed on `field`: never a float, never rounded."""
    if m is None:
        return None
    currency = m.currency.strip().upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise ValidationFailed("currency is an ISO 4217 code", field=field)
    try:
        scaled = Decimal(m.amount).scaleb(currency_exponent(currency))
        if not scaled.is_finite():
            raise ValidationFailed("amount is not a finite number", field=field)
        if scaled != scaled.to_integral_value():
            raise ValidationFailed(
                f"{m.amount} has more decimals than {currency} allows", field=field
            )
    except (ValueError, InvalidOperation) as exc:
        raise ValidationFailed(f"not an amount of money: {exc}", field=field) from exc
    minor = int(scaled)
    # More than zero is R7's, with its own code (REFUND_AMOUNT_INVALID), decided in the domain.
    if abs(minor) > MAX_MONEY_MINOR:
        raise ValidationFailed(f"{field} is over {MAX_MONEY_MINOR} minor units", field=field)
    return Money(minor, currency)
