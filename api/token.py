"""Mint a bearer token for development: `./dev token --seller shop-1 --agent a-1 --adjustments`,
`./dev token --integration shop-1 --system tts-orders` (a system feeding that shop's orders).

Signed with AFTERSALES_JWT_SECRET (the development secret when unset), so a token minted here is
accepted by `./dev serve` run with the same settings. Prints the token; `--header` prints the
JSON for GraphiQL's header editor instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from api.identity import Unauthenticated, mint_token, parse_actor
from api.settings import SettingsError, load_settings
from models.actors import ADJUSTMENTS, Actor, ActorKind


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="./dev token", description=__doc__.splitlines()[0])
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--seller", metavar="SHOP", help="a seller agent of this shop")
    who.add_argument("--buyer", metavar="BUYER", help="this buyer")
    who.add_argument("--platform", metavar="OPERATOR", help="a platform operator")
    who.add_argument(
        "--integration", metavar="SHOP", help="a system feeding this shop's orders (--system)"
    )
    who.add_argument("--actor", help="development notation, e.g. seller:a-1@shop-1+adjustments")
    p.add_argument("--agent", default="agent-1", help="the seller agent's id (default agent-1)")
    p.add_argument(
        "--system", default="orders-1", help="the integration's system id (default orders-1)"
    )
    p.add_argument(
        "--adjustments", action="store_true", help="the seller may approve, reject, cancel"
    )
    p.add_argument("--hours", type=float, default=12.0, help="valid for (default 12)")
    p.add_argument("--header", action="store_true", help="print GraphiQL's header JSON")
    return p


def actor_from_args(args: argparse.Namespace) -> Actor:
    if args.actor:
        actor = parse_actor(args.actor)
        if actor is None:
            raise Unauthenticated("--actor is empty")
        return actor
    if args.seller:
        perms = frozenset({ADJUSTMENTS}) if args.adjustments else frozenset()
        # The same checks as a token's claims: ids short and plain.
        parse_actor(f"seller:{args.agent}@{args.seller}")
        return Actor(ActorKind.SELLER_AGENT, args.agent, args.seller, perms)
    if args.adjustments:
        raise Unauthenticated("--adjustments is a seller agent's permission")
    if args.integration:
        actor = parse_actor(f"integration:{args.system}@{args.integration}")
        assert actor is not None
        return actor
    if args.buyer:
        parse_actor(f"buyer:{args.buyer}")
        return Actor(ActorKind.BUYER, args.buyer)
    parse_actor(f"platform:{args.platform}")
    return Actor(ActorKind.PLATFORM, args.platform)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 < args.hours <= 24 * 30:
        print("error: --hours is more than 0 and at most 720", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        actor = actor_from_args(args)
    except (SettingsError, Unauthenticated) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    token = mint_token(actor, settings.signing_secret(), ttl=timedelta(hours=args.hours))
    print(json.dumps({"Authorization": f"Bearer {token}"}) if args.header else token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
