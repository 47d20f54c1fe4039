"""Query limits answer with a clear error, and a repeated document is validated only once."""

from __future__ import annotations

from tests.api_client import GraphQLClient
from tests.factories import seller


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


async def test_a_repeated_document_is_validated_once(api: GraphQLClient, shop_id: str) -> None:
    from strawberry.extensions.validation_cache import DEFAULT_MAXSIZE, _get_validate_cache

    cached_validate = _get_validate_cache(DEFAULT_MAXSIZE)
    document = "{ cancellationTabCounts { tab count } }"
    await api(document, actor=seller(shop_id))
    before = cached_validate.cache_info()

    for _ in range(3):
        await api(document, actor=seller(shop_id))

    after = cached_validate.cache_info()
    assert after.hits - before.hits == 3  # the limit rules are the same objects every time
    assert after.misses == before.misses
