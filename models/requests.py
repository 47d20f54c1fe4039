"""The kinds of request a seller's team works: the vocabulary tickets and the live feed share."""

from __future__ import annotations

from enum import Enum


class RequestKind(Enum):
    CANCELLATION = "CANCELLATION"
    REFUND_ONLY = "REFUND_ONLY"
    RETURN_AND_REFUND = "RETURN_AND_REFUND"
    REPLACEMENT = "REPLACEMENT"
