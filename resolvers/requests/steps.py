"""The steps of both kinds of request as mutations (ResultMutations.steps): each the command it
sends (models/commands.py), with its description, in the order the schema lists them."""

from __future__ import annotations

from collections.abc import Mapping

from models import commands
from models.commands import Command

STEPS: Mapping[type[Command], str] = {
    # ---- cancellations: buyer, seller agent, platform, seller agent on some lines -----------
    commands.RequestCancellation: "Buyer: cancel an order. At once inside the unconditional "
    "window (C1), a request to the seller after it (C2), refused once the carrier has it (C3).",
    commands.WithdrawCancellation: "Buyer: take back a request the seller has not answered.",
    commands.AcceptCancellation: "Seller: accept; the order is cancelled and refunded (C4).",
    commands.RejectCancellation: "Seller: reject with a reason from the list (C5).",
    commands.CancelOrder: "Seller: cancel an order with a reason (C7).",
    commands.CancelUnpaidOrder: "Platform: cancel an order not paid in time (C8).",
    commands.CancelOrderLines: "Seller: cancel some lines and quantities of an order with a "
    "reason (C10). Those units are refunded and the rest of the order goes on; asking for every "
    "unit left cancels the whole order (C7).",
    # ---- after-sale requests: buyer ----------------------------------------------------------
    commands.RequestAfterSale: "Buyer: ask for a refund only, a return and refund, or a "
    "replacement for some lines and quantities (R1, P1); after one rejection, a second request "
    "(R5).",
    commands.WithdrawAfterSale: "Buyer: take back a request not yet answered or shipped.",
    commands.AppealAfterSale: "Buyer: appeal a rejection within the appeal window (R5).",
    commands.AnswerOffer: "Buyer: accept the seller's partial-refund offer (refunded that "
    "amount, keep the item) or decline it (the seller decides again) (R12).",
    commands.ShipReturn: "Buyer: the item is on its way back (R8).",
    # ---- seller agent -----------------------------------------------------------------------
    commands.ApproveAfterSale: "Seller: approve with a decision (R7, P2): some lines, a partial "
    "amount, or let the buyer keep the item; or decide otherwise: OFFER_PARTIAL_REFUND offers "
    "partialAmount and waits for the buyer (R12), ISSUE_REPLACEMENT_REFUND settles a replacement "
    "with a refund instead (P4).",
    commands.RejectAfterSale: "Seller: reject with a reason of the kind's catalogue (R4).",
    commands.ConfirmReturnReceived: "Seller: the returned parcel arrived; the refund is paid.",
    commands.RejectReturnOnReceipt: "Seller: the returned parcel is not as agreed (R8).",
    commands.ShipReplacement: "Seller: the replacement is on its way (P2); its replacement "
    "order is handed to the carrier with it (P4).",
    commands.RefundOrder: "Seller: refund with no buyer request (R9).",
    # ---- platform ---------------------------------------------------------------------------
    commands.PlatformRefund: "Platform: refund with no seller step (R10).",
    commands.DecideAppeal: "Platform: decide an appeal for the buyer or the seller (R6).",
    commands.RecordReplacementDelivered: "Platform (carrier event): the replacement was "
    "delivered (its replacement order too).",
}
