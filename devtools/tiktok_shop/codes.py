"""Answer codes of the stand-in. Those marked "TikTok" appear in TikTok Shop's published error
tables or SDK fixtures; the others are the stand-in's own (TikTok documents no code for the case),
chosen outside the ranges seen published, so a client treats them as an unknown business error."""

from __future__ import annotations

OK = 0
# TikTok: HTTP 401. "Invalid credentials. The `sign` query parameter is invalid."
BAD_SIGN = 106001
# TikTok: missing parameter, bad timestamp, bad app_key, bad access token header.
INVALID_PARAMETER = 36009004
# TikTok: HTTP 429.
THROTTLED = 36009002
# TikTok: HTTP 500; on a write the change may or may not have been applied.
INTERNAL_ERROR = 36009003
# TikTok: the access token has expired.
TOKEN_EXPIRED = 105002
# TikTok: "Missing identifier. The `shop_cipher` query parameter is required".
SHOP_CIPHER_MISSING = 106013
# TikTok: a shop_cipher that names no shop authorised for the app.
SHOP_CIPHER_INVALID = 12000000
# TikTok: "processing reverse order exists".
REVERSE_ORDER_EXISTS = 25001011
# TikTok: "status can't reject receive".
CANNOT_REJECT_RECEIVE = 25011014
# Stand-in: the request or order is not in a status that allows this decision.
STATUS_NOT_ALLOWED = 29000001
# Stand-in: no such cancellation, return or order in this shop.
NOT_FOUND = 29000002
# Stand-in: the decision does not fit the request's type (APPROVE_REPLACEMENT on a refund).
DECISION_NOT_APPLICABLE = 29000003
# Stand-in: the request is under arbitration; the seller cannot decide it now.
UNDER_ARBITRATION = 29000004
# Stand-in: an idempotency_key used before with a different request.
IDEMPOTENCY_KEY_REUSED = 29000005
# Stand-in: an auth code or refresh token the auth host does not know (or already used).
GRANT_INVALID = 29000006
# Stand-in control API: paced traffic is already under way.
TRAFFIC_UNDER_WAY = 29000007
