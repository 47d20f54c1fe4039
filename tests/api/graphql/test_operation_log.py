"""One log line per GraphQL operation, and the request id the client gets back."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from api.logs import FIELDS, JsonFormatter, TextFormatter
from services.bootstrap import Services
from tests.support.api_client import authorization
from tests.support.factories import seller

MUTATION = """mutation Reject($id: ID!) {
  rejectCancellation(input: {cancellationId: $id, reason: ALREADY_SHIPPED}) {
    __typename ... on UserError { code }
  }
}"""


def _operation_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, FIELDS) for r in caplog.records if r.name == "aftersales.graphql"]


async def _post(
    http: httpx.AsyncClient, query: str, actor: str | None, **extra: Any
) -> httpx.Response:
    headers = authorization(actor)
    headers |= extra.pop("headers", {})
    return await http.post("/graphql", json={"query": query, **extra}, headers=headers)


async def test_a_query_logs_one_line_with_its_request_id_actor_and_shop(
    http: httpx.AsyncClient, shop_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    response = await _post(
        http, "query Counts { cancellationTabCounts { tab count } }", seller(shop_id)
    )
    assert response.status_code == 200 and "errors" not in response.json()
    [line] = _operation_lines(caplog)
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["operation"] == "Counts"
    assert line["type"] == "query"
    assert (line["actor_kind"], line["shop"]) == ("SELLER_AGENT", shop_id)
    assert line["outcome"] == "ok" and line["error_codes"] == []
    assert line["duration_ms"] > 0


async def test_a_typed_error_is_the_outcome_with_its_code(
    http: httpx.AsyncClient, shop_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    response = await _post(
        http, MUTATION, seller(shop_id), variables={"id": "can_doesnotexist00000"}
    )
    assert response.json()["data"]["rejectCancellation"]["code"] == "NOT_FOUND"
    [line] = _operation_lines(caplog)
    assert (line["operation"], line["type"]) == ("Reject", "mutation")
    assert line["outcome"] == "error" and line["error_codes"] == ["NOT_FOUND"]


async def test_an_anonymous_operation_is_named_by_its_root_fields(
    http: httpx.AsyncClient, shop_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    await _post(http, "{ viewer { id } cancellationTabCounts { tab } }", seller(shop_id))
    [line] = _operation_lines(caplog)
    assert line["operation"] == "viewer+cancellationTabCounts"


async def test_the_callers_request_id_is_kept_and_put_on_every_error(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    sent = "lb-7f3a9c21e0d4"
    response = await _post(http, "{ viewer { id } }", None, headers={"X-Request-Id": sent})
    assert response.headers["x-request-id"] == sent
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "requestId": sent}
    [line] = _operation_lines(caplog)
    assert line["request_id"] == sent
    assert line["actor_kind"] == "none"
    assert line["outcome"] == "error" and line["error_codes"] == ["UNAUTHENTICATED"]


async def test_a_request_id_that_does_not_look_like_one_is_replaced(
    http: httpx.AsyncClient,
) -> None:
    response = await _post(http, "{ viewer { id } }", None, headers={"X-Request-Id": "a b\tc"})
    assert response.headers["x-request-id"] != "a b\tc"
    assert len(response.headers["x-request-id"]) == 32


async def test_a_document_that_does_not_parse_is_logged_as_a_client_error(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "aftersales.graphql")
    response = await _post(http, "{ viewer { ", None)
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "requestId": response.headers["x-request-id"],
    }
    [line] = _operation_lines(caplog)
    assert (line["operation"], line["type"]) == ("(unparsed)", "unknown")
    assert line["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("POST", {"query": "query Q { __typename }", "operationName": "Nope"}, "UNKNOWN_OPERATION"),
        (
            "GET",
            {
                "query": 'mutation { cancelOrder(input: {orderId: "o-1", reason: OUT_OF_STOCK}) '
                "{ __typename } }"
            },
            "OPERATION_NOT_ALLOWED",
        ),
    ],
)
async def test_an_operation_the_request_cannot_run_is_a_client_error_logged_without_a_traceback(
    http: httpx.AsyncClient,
    shop_id: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    params: dict[str, str],
    code: str,
) -> None:
    # An operation name the document lacks, a mutation by GET: the client's mistake, answered
    # 400; logged as a bug, anyone could fill the log with ERROR lines and tracebacks.
    caplog.set_level(logging.INFO)
    headers = authorization(seller(shop_id))
    if method == "GET":
        response = await http.get("/graphql", params=params, headers=headers)
    else:
        response = await http.post("/graphql", json=params, headers=headers)
    assert response.status_code == 400
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    [line] = _operation_lines(caplog)
    assert (line["outcome"], line["error_codes"]) == ("error", [code])


async def test_an_internal_error_is_logged_once_with_its_traceback(
    http: httpx.AsyncClient,
    services: Services,
    shop_id: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("a bug in the service")

    monkeypatch.setattr(services.cancellations, "get", broken)
    caplog.set_level(logging.INFO)
    response = await _post(
        http, '{ cancellation(id: "can_abcdefabcdef01") { id } }', seller(shop_id)
    )
    [error] = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, "the detail is logged once"
    assert getattr(tracebacks[0], FIELDS)["request_id"] == request_id
    assert "a bug in the service" in caplog.text
    [line] = _operation_lines(caplog)[-1:]
    assert line["outcome"] == "internal_error"


def _record(**fields: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "aftersales.graphql", logging.INFO, __file__, 1, "graphql ok", (), None
    )
    setattr(record, FIELDS, fields)
    return record


def test_json_logs_are_one_object_a_line_with_the_fields() -> None:
    text = JsonFormatter().format(_record(request_id="r1", operation="Counts", error_codes=[]))
    assert "\n" not in text
    line = json.loads(text)
    assert line["msg"] == "graphql ok" and line["level"] == "INFO"
    assert (line["request_id"], line["operation"], line["error_codes"]) == ("r1", "Counts", [])


def test_text_logs_read_as_a_sentence_with_key_values() -> None:
    text = TextFormatter().format(
        _record(request_id="r1", operation="Counts", shop=None, error_codes=["NOT_FOUND"])
    )
    assert text.endswith(
        "aftersales.graphql: graphql ok request_id=r1 operation=Counts error_codes=NOT_FOUND"
    )
