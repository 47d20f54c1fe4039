"""Operations status for the platform: this process's deadline worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import access
from resolvers.context import Context, actor_of


@strawberry.type
class DeadlineMoves:
    deadline: str = strawberry.field(
        description="seller_response_window (C6), payment_window (C8), "
        "after_sale_seller_response_window (R3), return_shipping_window (R8), "
        "return_receipt_window (R8), appeal_window (R5)"
    )
    moves: int


@strawberry.type(description="The deadline worker of the process that answered.")
class DeadlineWorkerStatus:
    running: bool
    last_run_at: datetime | None
    last_run_moves: int
    total_moves: int
    lag_seconds: float = strawberry.field(
        description="How far behind it was when its last pass began: now minus the oldest "
        "deadline that had passed and was not yet acted on."
    )
    last_error: str | None
    moves_by_deadline: list[DeadlineMoves]


@strawberry.type
class OperationsQueries:
    @strawberry.field(
        description="The platform only: this process's deadline worker (null: it runs none)."
    )
    def deadline_worker(self, info: Info[Context, Any]) -> DeadlineWorkerStatus | None:
        access.require_platform(actor_of(info))  # operations status spans every shop
        worker = info.context.worker
        if worker is None:
            return None
        s = worker.status
        return DeadlineWorkerStatus(
            running=s.running,
            last_run_at=s.last_run_at,
            last_run_moves=s.last_run_moves,
            total_moves=s.total_moves,
            lag_seconds=s.lag.total_seconds(),
            last_error=s.last_error,
            moves_by_deadline=[
                DeadlineMoves(deadline=name, moves=n)
                for name, n in sorted(s.moves_by_deadline.items())
            ],
        )
