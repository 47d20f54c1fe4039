"""Query limits answer with a clear error, and a repeated document is validated only once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import GraphQLClient
from tests.support.factories import seller


async def test_too_deep_and_too_many_aliases_are_refused(api: GraphQLClient, shop_id: str) -> None:
    # 16 levels: cancellations > edges > node, then order > cancellations, and again.
    deep = (
        "{ cancellations { edges { node { "
        + "order { cancellations { " * 6
        + "id"
        + " } }" * 6
        + " } } } }"
    )
    aliases = "{ " + " ".join(f"a{n}: viewer {{ id }}" for n in range(31)) + " }"
    for document, words in ((deep, "exceeds maximum operation depth"), (aliases, "aliases")):
        body = await api.raw(document, actor=seller(shop_id))
        assert body.get("data") is None
        assert words in body["errors"][0]["message"]
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_repeated_document_is_validated_once(
    api: GraphQLClient, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphql_runtime import validation_cache

    validations: list[object] = []
    validate_document = validation_cache.validate_document

    def counting(*args: Any) -> Any:
        validations.append(args[1])
        return validate_document(*args)

    monkeypatch.setattr(validation_cache, "validate_document", counting)
    document = "{ cancellationTabCounts { tab count } }"
    for _ in range(4):
        body = await api.raw(document, actor=seller(shop_id))
        assert "errors" not in body
    # Once at most (an earlier test may have sent the same text): the limit rules are the same
    # objects every time, and ParserCache hands out the same document object.
    assert len(validations) <= 1

    invalid = "{ cancellationTabCounts { tab count nope } }"
    for _ in range(2):
        body = await api.raw(invalid, actor=seller(shop_id))
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(validations) <= 2
