"""What a webhook may point at, and what its secret must be.

HTTPS only in production; HTTP too in development. In production a target on a loopback,
private, link-local or otherwise internal address (or `localhost`) is refused, so a webhook
cannot make the service call into its own network (SSRF); the sender checks the addresses a
name resolves to again before each connection (services/webhook_delivery.py), as DNS can change
after registration. Development and tests deliver to loopback.
"""

from __future__ import annotations

import ipaddress
import string
from urllib.parse import urlsplit

from models.errors import ValidationFailed

MAX_URL_LENGTH = 2048
SECRET_MIN, SECRET_MAX = 24, 128
_SECRET_CHARS = frozenset(string.ascii_letters + string.digits + "_-.~+/=")
INTERNAL_NAMES = ("localhost", "localhost.localdomain")


def internal_address(address: str) -> bool:
    """An IP address the service must not call in production."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, production: bool) -> str:
    """The URL as given, when it may be a webhook's target; else ValidationFailed on `url`."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"url: 1 to {MAX_URL_LENGTH} characters", field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValidationFailed("url is not a URL", field="url") from None
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise ValidationFailed(
            "url must be https" + ("" if production else " (or http in development)"),
            field="url",
        )
    if not host:
        raise ValidationFailed("url has no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("url must not carry credentials", field="url")
    if parts.fragment:
        raise ValidationFailed("url must not have a fragment", field="url")
    if production:
        name = host.rstrip(".").lower()
        if name in INTERNAL_NAMES or name.endswith(".localhost") or name.endswith(".internal"):
            raise ValidationFailed("url points at an internal host", field="url")
        try:
            literal = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None and internal_address(str(literal)):
            raise ValidationFailed("url points at an internal address", field="url")
    return url


def check_secret(secret: str) -> str:
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise ValidationFailed(f"secret: {SECRET_MIN} to {SECRET_MAX} characters", field="secret")
    if not set(secret) <= _SECRET_CHARS:
        raise ValidationFailed("secret: letters, digits and _ - . ~ + / = only", field="secret")
    return secret
