"""Write side of cancellations (C1 to C10): their steps (resolvers/requests/steps.py) under one
result union."""

from __future__ import annotations

from models.commands import CancellationCommand
from resolvers import errors
from resolvers.cancellations import inputs  # noqa: F401  (they declare the steps they take)
from resolvers.cancellations.types import Cancellation
from resolvers.commands import ResultMutations

# One union for every cancellation step (the policy: resolvers/errors.py::result_union).
cancellation = ResultMutations.of_type(
    Cancellation,
    errors.OrderNotCancellableError,
    errors.AlreadyRequestedError,
    errors.PaymentWindowOpenError,
    errors.NotPendingError,
    errors.ResponseWindowClosedError,
    errors.InvalidStateError,
    errors.UnitsNotAvailableError,
)
CancellationMutations = cancellation.steps("CancellationMutations", CancellationCommand)
