"""A linked shop's secrets sealed for the database: the app secret and the tokens are stored only
as Fernet tokens (AES-128-CBC and HMAC-SHA256, from `cryptography`) under a key from the
settings (`AFTERSALES_TIKTOK_SEAL_KEY`), so no database command, reply, log line of the driver or
backup carries them. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from models.errors import ValidationFailed

# The key when none is set: development only (production refuses to start without its own).
DEVELOPMENT_SEAL_KEY = "aftersales-development-tiktok-seal-key-never-use-in-production"
# Marks a sealed value; a stored value without it was written before sealing and is read as is.
PREFIX = "sealed:1:"


class SealBroken(Exception):
    """A sealed value this key cannot open (another key, or changed in the database). The
    message never holds the value."""


class Sealer:
    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("a seal key is needed")
        # Fernet takes 32 bytes in base64; any setting string becomes them through SHA-256.
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"

    def seal(self, value: str) -> str:
        if not value:
            return ""  # nothing to hide: an absent refresh token stays absent
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def unseal(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SealBroken("a sealed TikTok secret does not open with this seal key") from None


class NoSealKey(Sealer):
    """Production without a seal key: nothing is sealed, so no shop can be linked (the link's
    answer says which setting is missing) and no stored secret is opened."""

    def __init__(self) -> None:
        pass

    def __repr__(self) -> str:
        return "NoSealKey()"

    def seal(self, value: str) -> str:
        raise ValidationFailed(
            "linking a TikTok shop in production needs AFTERSALES_TIKTOK_SEAL_KEY",
            field="appSecret",
        )

    def unseal(self, stored: str) -> str:
        raise SealBroken("no AFTERSALES_TIKTOK_SEAL_KEY to open a sealed TikTok secret with")
