"""TikTok Shop signatures against the vectors TikTok publishes (pure).

The two published vectors, from the Partner Center pages:
- "Sign your API request": app secret `e59af819cc`, GET /authorization/202309/shops with
  app_key 29a39d and timestamp 1623812664, sign b596b73e...82dc8 (the page's own final digest).
- "Webhooks overview": app key `abcdef`, app secret `123`, the page's order-status body,
  Authorization 5dec0f11...1ac05.
The service's signer (`integrations/tiktok_shop/signing.py`) and the stand-in's verifier
(`devtools/tiktok_shop/verify.py`) are separate code; both must give these digests.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from devtools.tiktok_shop import verify
from integrations.tiktok_shop import signing

DOC_SECRET = "e59af819cc"
DOC_PATH = "/authorization/202309/shops"
DOC_QUERY = {"app_key": "29a39d", "timestamp": "1623812664"}
DOC_SIGN = "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"

WEBHOOK_KEY, WEBHOOK_SECRET = "abcdef", "123"
WEBHOOK_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
WEBHOOK_SIGN = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


def test_the_signer_gives_the_published_request_sign() -> None:
    assert signing.sign_request(DOC_SECRET, DOC_PATH, DOC_QUERY) == DOC_SIGN


def test_the_stand_in_verifier_gives_the_published_request_sign() -> None:
    query = "app_key=29a39d&timestamp=1623812664&sign=whatever&access_token=TTP_x"
    assert (
        verify.expected_sign(DOC_SECRET, DOC_PATH, query, b"", method="GET", content_type="")
        == DOC_SIGN
    )


def test_the_published_base_string_with_a_body() -> None:
    # The page prints this base string (Update Shop Webhook) but no digest for it.
    body = b'{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}'
    query = {"app_key": "68xu9ks5p4i8", "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"}
    query["timestamp"] = "1696909648"
    assert signing.base_string("/event/202309/webhooks", query, body) == (
        b"/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipherROW_xkMbgAAAeVAQra0eZWebFQq5aIK"
        b"timestamp1696909648" + body
    )


def test_signer_and_verifier_agree_on_a_post_with_a_body_and_unsigned_parameters() -> None:
    body = b'{"reject_reason":"seller_reject_apply_product_has_been_packed","comment":"x"}'
    query = {
        "timestamp": "1700000000",
        "shop_cipher": "ROW_abc",
        "app_key": "k",
        "idempotency_key": "dec-1",
        "access_token": "TTP_not_signed",
    }
    path = "/return_refund/202309/cancellations/1/reject"
    signed = signing.sign_request("secret", path, query, body)
    raw_query = "&".join(f"{k}={v}" for k, v in reversed(query.items())) + "&sign=" + signed
    assert signed == verify.expected_sign(
        "secret", path, raw_query, body, method="POST", content_type="application/json"
    )
    assert signed != signing.sign_request("secret", path, query, body + b" ")
    assert signed == signing.sign_request("secret", path, query | {"sign": "old"}, body)


def test_a_multipart_body_is_not_signed() -> None:
    path = "/return_refund/202405/returns/shipping_documents"
    query = {"app_key": "k", "timestamp": "1"}
    assert signing.sign_request("s", path, query, b"file-a", multipart=True) == (
        signing.sign_request("s", path, query, b"file-b", multipart=True)
    )
    assert verify.expected_sign(
        "s",
        path,
        "app_key=k&timestamp=1",
        b"file-a",
        method="POST",
        content_type="multipart/form-data; boundary=x",
    ) == signing.sign_request("s", path, query, b"", multipart=True)


def test_array_parameters_are_signed_comma_joined() -> None:
    joined = signing.sign_request("s", "/p", {"ids": "1,2", "app_key": "k"})
    assert signing.sign_request("s", "/p", {"ids": ["1", "2"], "app_key": "k"}) == joined


def test_signed_query_adds_app_key_timestamp_and_sign() -> None:
    query = signing.signed_query("29a39d", DOC_SECRET, DOC_PATH, {}, b"", 1623812664)
    assert query == DOC_QUERY | {"sign": DOC_SIGN}


def test_the_published_webhook_signature() -> None:
    assert signing.webhook_signature(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY) == WEBHOOK_SIGN
    assert verify.webhook_authorization(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY) == WEBHOOK_SIGN


def test_a_webhook_is_verified_only_with_its_exact_body_key_and_secret() -> None:
    assert signing.verify_webhook(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY, WEBHOOK_SIGN)
    assert not signing.verify_webhook(
        WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY + b" ", WEBHOOK_SIGN
    )
    assert not signing.verify_webhook("abcdeg", WEBHOOK_SECRET, WEBHOOK_BODY, WEBHOOK_SIGN)
    assert not signing.verify_webhook(WEBHOOK_KEY, "124", WEBHOOK_BODY, WEBHOOK_SIGN)
    assert not signing.verify_webhook(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY, None)
    assert not signing.verify_webhook(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY, "")
    # Plain SHA-256 (one repository's reading of the page) is not what TikTok sends.
    plain = hashlib.sha256(WEBHOOK_KEY.encode() + WEBHOOK_BODY).hexdigest()
    assert not signing.verify_webhook(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY, plain)


def test_webhook_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert signing.verify_webhook(WEBHOOK_KEY, WEBHOOK_SECRET, WEBHOOK_BODY, WEBHOOK_SIGN)
    assert compared == [(WEBHOOK_SIGN.encode(), WEBHOOK_SIGN.encode())]
