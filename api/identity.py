"""Who is calling: the whole identity decision, for HTTP requests and WebSocket connections.

A caller sends `Authorization: Bearer <JWT>` (HTTP header, or the same key in the WebSocket
`connection_init` payload). The token is HS256-signed with the secret from settings and must carry
`exp`; its claims name the actor:

    {"kind": "seller", "sub": "agent-1", "shop": "shop-1", "perms": ["adjustments"], "exp": ...}
    {"kind": "buyer", "sub": "buyer-1", "exp": ...}
    {"kind": "platform", "sub": "ops-1", "exp": ...}
    {"kind": "integration", "sub": "tts-orders", "shop": "shop-1", "exp": ...}

An integration is a system (the marketplace's order system) that feeds one shop's orders: one
token per shop it feeds, so a leaked token reaches one shop.

The short actor notation `seller:agent-1@shop-1+adjustments`, `buyer:b-1`, `platform:ops-1`,
`integration:tts-orders@shop-1` is a
development convenience only: the token command and the tests' client mint tokens from it, and the
demo identity setting (off unless set, refused in production) is written in it.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from models.actors import ADJUSTMENTS, Actor, ActorKind

ALGORITHM = "HS256"
# Used only outside production when no AFTERSALES_JWT_SECRET is set, so that tokens minted by
# `./dev token` work against `./dev serve` at once. Production refuses to start with it.
DEVELOPMENT_SECRET = "aftersales-development-secret-never-use-in-production"
MIN_SECRET_LENGTH = 32
PERMISSIONS = frozenset({ADJUSTMENTS})

_ID = r"[A-Za-z0-9_.-]{1,64}"
_ID_PATTERN = re.compile(rf"^{_ID}$")
_NOTATION = re.compile(
    rf"^(?P<kind>buyer|seller|platform|integration):(?P<id>{_ID})(?:@(?P<shop>{_ID}))?(?P<adjust>\+adjustments)?$"
)
_KINDS = {
    "buyer": ActorKind.BUYER,
    "seller": ActorKind.SELLER_AGENT,
    "platform": ActorKind.PLATFORM,
    "integration": ActorKind.INTEGRATION,
}
# The kinds whose token names the one shop they act for.
_SHOP_KINDS = frozenset({ActorKind.SELLER_AGENT, ActorKind.INTEGRATION})
_KIND_NAMES = {kind: name for name, kind in _KINDS.items()}


class Unauthenticated(ValueError):
    """No usable identity: the message says what to send instead."""


BadIdentity = Unauthenticated  # the name the X-Actor era used


@dataclass(frozen=True)
class IdentityConfig:
    secret: str = DEVELOPMENT_SECRET
    # Who an anonymous caller is (development only, AFTERSALES_DEMO_ACTOR); None: nobody.
    demo_actor: Actor | None = None


_active = IdentityConfig()


def config_from(secret: str, demo_actor: str | None, *, production: bool) -> IdentityConfig:
    """The app's identity configuration: production never has an anonymous demo identity."""
    return IdentityConfig(secret=secret, demo_actor=None if production else parse_actor(demo_actor))


def configure(config: IdentityConfig) -> None:
    """Install the configuration the app runs with (create_app calls this)."""
    global _active
    _active = config


def active_config() -> IdentityConfig:
    return _active


def weak_secret_reason(secret: str | None) -> str | None:
    """Why a secret may not sign production tokens (or guard /metrics), or None when it may:
    at least 32 bytes, at least 8 distinct characters, and no short unit repeated."""
    if not secret:
        return "it is not set"
    if secret == DEVELOPMENT_SECRET:
        return "it is the development secret"
    if len(secret.encode()) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} bytes"
    if len(set(secret)) < 8:
        return "it repeats too few characters"
    # A short unit repeated ("abcdefgh" four times) passes the two checks above. Three in four
    # of a random secret's 3-character runs differ (all but a handful, for hex or base64).
    runs = [secret[i : i + 3] for i in range(len(secret) - 2)]
    if len(set(runs)) * 4 < len(runs) * 3:
        return "it repeats a pattern (fewer than 3 in 4 of its 3-character runs differ)"
    return None


# ---- the development notation -----------------------------------------------------------------


def parse_actor(value: str | None) -> Actor | None:
    """`buyer:b-1`, `seller:agent-1@shop-1+adjustments`, `platform:ops-1`; None for blank."""
    if value is None or not value.strip():
        return None
    match = _NOTATION.fullmatch(value.strip())
    if not match:
        raise Unauthenticated(
            "an actor looks like buyer:b-1, seller:agent-1@shop-1+adjustments, platform:ops-1 "
            "or integration:orders-1@shop-1"
        )
    kind = _KINDS[match["kind"]]
    if (kind in _SHOP_KINDS) != bool(match["shop"]):
        raise Unauthenticated(
            "a seller is seller:<agent>@<shop>, an integration integration:<system>@<shop>; "
            "only they name a shop"
        )
    permissions = frozenset({ADJUSTMENTS}) if match["adjust"] else frozenset()
    return Actor(kind, match["id"], match["shop"], permissions)


# ---- tokens -----------------------------------------------------------------------------------


def claims_of(actor: Actor) -> dict[str, Any]:
    claims: dict[str, Any] = {"kind": _KIND_NAMES[actor.kind], "sub": actor.id}
    if actor.shop_id:
        claims["shop"] = actor.shop_id
    if actor.permissions:
        claims["perms"] = sorted(actor.permissions)
    return claims


def mint_token(
    actor: Actor,
    secret: str | None = None,
    *,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    claims = claims_of(actor) | {"iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret or _active.secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class _Verified:
    """A token that verified: its caller, and the times between which it stays valid."""

    actor: Actor
    valid_from: float  # iat and nbf: PyJWT refuses a token issued in the future
    valid_until: float  # exp: refused from that second on


# A client sends the same token with every request; checking its signature and claims is ~50 us
# (benchmarks/tab_query.py). Everything but the time checks depends only on the token and the
# secret, so a token that verified is remembered and only its times are checked again.
MAX_VERIFIED_TOKENS = 4096
_verified: OrderedDict[tuple[str, str], _Verified] = OrderedDict()


def actor_from_token(token: str, secret: str | None = None) -> Actor:
    secret = secret or _active.secret
    key = (secret, token)
    now = time.time()  # the clock PyJWT checks exp, iat and nbf against
    known = _verified.get(key)
    if known is not None:
        if known.valid_from <= now < known.valid_until:
            _verified.move_to_end(key)
            return known.actor
        del _verified[key]  # expired (or not yet valid): decoding it again says which
    if not token.isascii():  # a JWT is base64url text; PyJWT fails on what UTF-8 cannot encode
        raise Unauthenticated("the token is not valid (malformed or wrongly signed)")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "kind"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired: mint a new one") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"the token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("the token is not valid (malformed or wrongly signed)") from None
    _check_times_are_numbers(claims)
    actor = _actor_of_claims(claims)
    # PyJWT accepted these as integers (int() of each) when it checked them just now.
    starts = [int(claims[c]) for c in ("iat", "nbf") if c in claims]
    _verified[key] = _Verified(actor, max(starts, default=-math.inf), int(claims["exp"]))
    while len(_verified) > MAX_VERIFIED_TOKENS:
        _verified.popitem(last=False)
    return actor


def _check_times_are_numbers(claims: Mapping[str, Any]) -> None:
    """RFC 7519 times are JSON numbers. PyJWT checks int() of each, which also takes the string
    "1893456000" and true (as 1): a token that gives its times as another type was not minted
    by a client of this service, so it is refused rather than read generously."""
    for claim in ("exp", "iat", "nbf"):
        if claim not in claims:
            continue
        value = claims[claim]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unauthenticated(
                f"the token's {claim!r} claim must be a JSON number of seconds since the epoch"
            )


def _actor_of_claims(claims: Mapping[str, Any]) -> Actor:
    kind = _KINDS.get(claims["kind"]) if isinstance(claims["kind"], str) else None
    if kind is None:
        raise Unauthenticated("the token's kind is not buyer, seller, platform or integration")
    actor_id, shop = claims["sub"], claims.get("shop")
    if not isinstance(actor_id, str) or not _ID_PATTERN.fullmatch(actor_id):
        raise Unauthenticated("the token's subject is not a well-formed id")
    if kind in _SHOP_KINDS:
        if not isinstance(shop, str) or not _ID_PATTERN.fullmatch(shop):
            raise Unauthenticated("a seller's or an integration's token names its shop")
    elif shop is not None:
        raise Unauthenticated("only a seller's or an integration's token names a shop")
    perms = claims.get("perms", [])
    if not isinstance(perms, list) or not all(p in PERMISSIONS for p in perms):
        raise Unauthenticated(f"the token's perms are a list drawn from {sorted(PERMISSIONS)}")
    if perms and kind is not ActorKind.SELLER_AGENT:
        raise Unauthenticated("only a seller agent's token carries permissions")
    return Actor(kind, actor_id, shop, frozenset(perms))


# ---- requests and connections -----------------------------------------------------------------


def _from_authorization(value: object, config: IdentityConfig) -> Actor | None:
    if value is None or value == "":
        return config.demo_actor
    if not isinstance(value, str):
        raise Unauthenticated("Authorization must be a string: Bearer <token>")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be: Bearer <token>")
    return actor_from_token(token.strip(), config.secret)


def actor_from_headers(
    headers: Mapping[str, str], config: IdentityConfig | None = None
) -> Actor | None:
    """The caller of an HTTP request; None when anonymous (and no demo identity is set)."""
    return _from_authorization(headers.get("authorization"), config or _active)


def actor_from_connection_params(params: object, config: IdentityConfig | None = None) -> Actor:
    """The caller of a WebSocket connection, from its `connection_init` payload:
    `{"Authorization": "Bearer <token>"}` (the key in any case, at the top level or inside a
    `headers` object). Raises Unauthenticated.
    Without a config: that of the app created last (create_app installs it)."""
    return connection_identity(params, config)[0]


def connection_identity(
    params: object, config: IdentityConfig | None = None
) -> tuple[Actor, float | None]:
    """`actor_from_connection_params`, and when the token expires (epoch seconds; None when
    no token was sent and the caller is the demo identity)."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise Unauthenticated("the connection_init payload must be an object")
    # The key at the top level, or in a `headers` object (what several clients send).
    nested = params.get("headers")
    value = next((v for k, v in params.items() if str(k).lower() == "authorization"), None)
    if value is None and isinstance(nested, Mapping):
        value = next((v for k, v in nested.items() if str(k).lower() == "authorization"), None)
    actor = _from_authorization(value, config or _active)
    if actor is None:
        raise Unauthenticated('send {"Authorization": "Bearer <token>"} in connection_init')
    if value is None or value == "":
        return actor, None
    assert isinstance(value, str)  # _from_authorization verified it
    token = value.strip().partition(" ")[2].strip()
    # Verified just now: only its exp is read again (PyJWT took it as int() of the claim).
    claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    return actor, float(int(claims["exp"]))
