"""Who is calling, from the `X-Actor` request header (development identity).

Format: `buyer:<buyer-id>`, `seller:<agent-id>@<shop-id>` (add `+adjustments` to act on
requests), `platform:<operator-id>`. Signed bearer tokens replace this header later (issue 6);
only this module changes then.

WebSocket clients (subscriptions) send the same value in the `connection_init` payload, as
`{"X-Actor": "..."}` or `{"headers": {"X-Actor": "..."}}` (what many clients send).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from models.actors import ADJUSTMENTS, Actor, ActorKind

HEADER = "x-actor"
_ID = r"[A-Za-z0-9_.-]{1,64}"
_PATTERN = re.compile(
    rf"^(?P<kind>buyer|seller|platform):(?P<id>{_ID})(?:@(?P<shop>{_ID}))?(?P<adjust>\+adjustments)?$"
)
_KINDS = {
    "buyer": ActorKind.BUYER,
    "seller": ActorKind.SELLER_AGENT,
    "platform": ActorKind.PLATFORM,
}


class BadIdentity(ValueError):
    pass


def parse_actor(value: str | None) -> Actor | None:
    if value is None or not value.strip():
        return None
    match = _PATTERN.match(value.strip())
    if not match:
        raise BadIdentity(
            "X-Actor must look like buyer:b-1, seller:agent-1@shop-1+adjustments or platform:ops-1"
        )
    kind = _KINDS[match["kind"]]
    if (kind is ActorKind.SELLER_AGENT) != bool(match["shop"]):
        raise BadIdentity("a seller is seller:<agent>@<shop>; only sellers name a shop")
    permissions = frozenset({ADJUSTMENTS}) if match["adjust"] else frozenset()
    return Actor(kind, match["id"], match["shop"], permissions)


def actor_from_connection_params(params: Mapping[str, Any] | None) -> Actor | None:
    """The caller of a WebSocket connection, from its `connection_init` payload."""
    if not params:
        return None
    for source in (params, params.get("headers")):
        if isinstance(source, Mapping):
            for key, value in source.items():
                if isinstance(key, str) and key.lower() == HEADER:
                    if not isinstance(value, str):
                        raise BadIdentity("X-Actor must be a string")
                    return parse_actor(value)
    return None
