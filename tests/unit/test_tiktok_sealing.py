"""H4: a linked shop's secrets are sealed for the database under the seal key, and production
refuses to link a shop from the settings under a weak or development key."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from api.settings import SettingsError, check_production, default_settings
from integrations.tiktok_shop.sealing import DEVELOPMENT_SEAL_KEY, SealBroken, Sealer
from models.errors import ValidationFailed

STRONG = "k3y-9f8e7d6c5b4a39281706f5e4d3c2b1a0-for-tests"


def test_h4_a_sealed_secret_opens_only_under_its_key_and_never_shows() -> None:
    sealer = Sealer(STRONG)
    sealed = sealer.seal("TTP_access_token_value")
    assert "TTP_access_token_value" not in sealed
    assert sealer.unseal(sealed) == "TTP_access_token_value"
    with pytest.raises(SealBroken) as broken:
        Sealer(DEVELOPMENT_SEAL_KEY).unseal(sealed)
    assert "TTP_access_token_value" not in str(broken.value) and sealed not in str(broken.value)
    assert sealer.seal("") == "" and sealer.unseal("") == ""
    assert STRONG not in repr(sealer)


def test_h4_a_value_stored_before_sealing_is_read_as_it_is() -> None:
    assert Sealer(STRONG).unseal("TTP_plain") == "TTP_plain"


def test_h4_production_refuses_a_linked_shop_without_a_strong_seal_key() -> None:
    base = {"production": True, "jwt_secret": STRONG.upper()}
    check_production(default_settings(**base))  # no TikTok shop: nothing to seal from start
    with pytest.raises(SettingsError, match="AFTERSALES_TIKTOK_SEAL_KEY"):
        check_production(default_settings(**base, tiktok_shop="shop-1"))
    with pytest.raises(SettingsError, match="AFTERSALES_TIKTOK_SEAL_KEY"):
        check_production(default_settings(**base, tiktok_seal_key=SecretStr("short")))
    check_production(
        default_settings(**base, tiktok_shop="shop-1", tiktok_seal_key=SecretStr(STRONG))
    )


def test_h4_production_without_a_seal_key_links_no_shop_through_the_api() -> None:
    sealer = default_settings(production=True).tiktok_sealer()
    with pytest.raises(ValidationFailed, match="AFTERSALES_TIKTOK_SEAL_KEY") as refused:
        sealer.seal("APP-SECRET-VALUE")
    assert refused.value.field == "appSecret"
    assert "APP-SECRET-VALUE" not in str(refused.value)
    assert default_settings().tiktok_sealer().unseal(Sealer(DEVELOPMENT_SEAL_KEY).seal("x")) == "x"
