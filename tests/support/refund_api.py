"""GraphQL documents for refund tests: register the payment integration, settle refunds, and a
cancellation accepted (a refund decided) through the API."""

from __future__ import annotations

REGISTER = """
mutation($shop: ID!) {
  registerPaymentIntegration(shopId: $shop) {
    __typename
    ... on PaymentIntegration { shopId newlyRegistered }
    ... on UserError { code field }
  }
}"""

REFUND = """id shopId orderId requestId requestKind state settledBy reference failureReason
nextStep amount { minorUnits currency } lines { lineId quantity amount { minorUnits } }"""

SETTLE = f"""
mutation($shop: ID!, $s: [SettlementInput!]!) {{
  settleRefunds(input: {{shopId: $shop, settlements: $s}}) {{
    __typename
    ... on UserError {{ code message field }}
    ... on SettleRefundsPayload {{ results {{
      __typename
      ... on UserError {{ code message field }}
      ... on RefundConflictError {{ refundId state }}
      ... on RefundSettled {{ repeated refund {{ {REFUND} }} }}
    }} }}
  }}
}}"""

REQUEST = """
mutation($order: ID!) {
  requestCancellation(input: {orderId: $order, reason: CHANGED_MIND}) {
    ... on Cancellation { id }
  }
}"""

ACCEPT = f"""
mutation($id: ID!) {{
  acceptCancellation(input: {{cancellationId: $id}}) {{
    __typename
    ... on Cancellation {{ id status tab refundSettlement {{ {REFUND} }} }}
  }}
}}"""


def payments(shop_id: str) -> str:
    return f"integration:payments-1@{shop_id}"
