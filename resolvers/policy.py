"""Y2 through GraphQL: the response window a request got, and the business calendar."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models import access
from models.actors import Actor
from models.errors import ValidationFailed
from models.policy import BusinessCalendar as DomainCalendar
from models.policy import CategoryPolicy as DomainPolicy
from models.policy import WindowKind as DomainWindowKind
from models.policy import seller_response_window
from resolvers.commands import ResultMutations
from resolvers.context import Context, services_of
from resolvers.errors import ForbiddenError, ValidationError
from services.bootstrap import Services

WindowKind = strawberry.enum(
    DomainWindowKind,
    name="ResponseWindowKind",
    description="Y2: HIGH_VALUE is the longer window above an order value.",
)

# More holidays than any marketplace lists in years: the list is read before it is checked.
MAX_HOLIDAYS = 500


def policy_values(p: DomainPolicy) -> SimpleNamespace:
    """A policy as the API shows it: a window `x` as `x_seconds`, a flag or an amount as it is
    (CategoryPolicyInput reads them back the same way)."""
    values: dict[str, Any] = {}
    for f in fields(p):
        value = getattr(p, f.name)
        if isinstance(value, timedelta):
            values[f"{f.name}_seconds"] = int(value.total_seconds())
        else:
            values[f.name] = value
    return SimpleNamespace(**values)


@strawberry.type(description="Y2: the seller response window a request was given, and why.")
class ResponseWindow:
    kind: WindowKind  # type: ignore[valid-type]
    seconds: int = strawberry.field(description="Its length; in business days if `businessDays`.")
    business_days: bool = strawberry.field(
        description="Each whole day counted a business day on the business calendar."
    )

    @classmethod
    def for_request(cls, policy: DomainPolicy, order_value_minor: int) -> ResponseWindow:
        w = seller_response_window(policy, order_value_minor)
        return cls(
            kind=w.kind, seconds=int(w.length.total_seconds()), business_days=w.business_days
        )


@strawberry.type(description="Y2: the days that deadlines counted in business days skip (UTC).")
class BusinessCalendar:
    weekend: list[int] = strawberry.field(description="Weekdays, 0 Monday to 6 Sunday.")
    holidays: list[date]

    @classmethod
    def of(cls, c: DomainCalendar) -> BusinessCalendar:
        return cls(weekend=sorted(c.weekend), holidays=sorted(c.holidays))


@strawberry.input
class BusinessCalendarInput:
    weekend: list[int] = strawberry.field(description="Weekdays, 0 Monday to 6 Sunday.")
    holidays: list[date]


SetBusinessCalendarResult = Annotated[
    BusinessCalendar | ForbiddenError | ValidationError,
    strawberry.union("SetBusinessCalendarResult"),
]


@strawberry.type
class PolicyQuery:
    @strawberry.field(description="Y2: the marketplace's business calendar.")
    async def business_calendar(self, info: Info[Context, Any]) -> BusinessCalendar:
        return BusinessCalendar.of((await services_of(info).after_sales.policy_book([])).calendar)


business_calendar = ResultMutations(SetBusinessCalendarResult, BusinessCalendar.of)


@strawberry.type
class PolicyMutation:
    @business_calendar.service_call(
        access.require_platform,
        "Platform: set the business calendar (Y2). Deadlines already set keep theirs.",
    )
    async def set_business_calendar(
        services: Services, actor: Actor, input: BusinessCalendarInput
    ) -> DomainCalendar:
        if len(input.holidays) > MAX_HOLIDAYS:
            raise ValidationFailed(f"at most {MAX_HOLIDAYS} holidays", field="holidays")
        calendar = DomainCalendar(frozenset(input.weekend), frozenset(input.holidays))
        await services.after_sales.set_calendar(actor, calendar)
        return calendar
