"""What graphql_runtime/ and feed/ assume of Strawberry beyond its documented API, one
assumption a test.

An upgrade that breaks one fails here by name, instead of as a wrong answer, a slower one, a
gate that quietly stopped refusing, or a feed handler that is no longer called.
docs/architecture.md lists each use.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import GraphQLError, GraphQLSchema, parse
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.types import base_scalars
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import ExecutionResult
from strawberry.types.field import StrawberryField
from strawberry.utils.aio import aclosing

from api.app import AfterSalesGraphQL
from feed.handlers import LegacyFeedHandler, SharedFeedHandler
from feed.ws_messages import CheckedWebSocketAdapter
from graphql_runtime import validation_cache
from graphql_runtime.execution_plans import plain_attribute, plain_object_classes
from graphql_runtime.operation_log import observe_operations
from resolvers.schema import schema as service_schema
from resolvers.values import Edge


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Item:
    name: str
    at: datetime
    colour: Colour

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


calls: list[str] = []


@strawberry.type
class Query:
    @strawberry.field
    def item(self) -> Item:
        calls.append("item")
        return Item(name="one", at=datetime(2026, 1, 1), colour=Colour.RED)

    @strawberry.field
    def other(self) -> str:
        return "other"


def _schema(*extensions: Any) -> strawberry.Schema:
    calls.clear()
    return strawberry.Schema(query=Query, extensions=list(extensions))


# ---- the schema's types, as the compiled plans read them -------------------------------------


def test_strawberry_schema_keeps_its_graphql_core_schema_in_underscore_schema() -> None:
    # The validation cache and the introspection gate validate against `schema._schema`.
    schema = _schema()
    assert isinstance(schema._schema, GraphQLSchema)
    assert "Item" in schema._schema.type_map


def test_strawberry_marks_a_plain_field_the_way_plans_recognise_it() -> None:
    # graphql_runtime/execution_plans.py::plain_attribute: the field's definition behind
    # DEFINITION_BACKREF, a basic field read with getattr, and Strawberry's own resolver for it
    # (`_is_default`, named `_get_basic_result`). If any of it changes, no plan is compiled.
    item = _schema()._schema.type_map["Item"]
    field = item.fields["name"]
    definition = field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert isinstance(definition, StrawberryField)
    assert definition.is_basic_field and definition.default_resolver is getattr
    assert getattr(field.resolve, "_is_default", False) is True
    assert field.resolve.__name__ == "_get_basic_result"
    assert plain_attribute(item, "name") == "name"
    assert plain_attribute(item, "shout") is None  # a resolver of ours is not plain
    assert item.extensions[GraphQLCoreConverter.DEFINITION_BACKREF].origin is Item
    assert plain_object_classes(item) == (Item,)


def test_strawberry_specialises_a_generic_type_as_a_subclass_naming_the_generic() -> None:
    # plain_object_classes takes a generic type's own instances for its specialisation
    # (`Edge(...)` served as CancellationEdge) through the definition's `concrete_of.origin`.
    edge = service_schema._schema.type_map["CancellationEdge"]
    definition = edge.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert issubclass(definition.origin, Edge) and definition.origin is not Edge
    assert definition.concrete_of.origin is Edge
    assert Edge in plain_object_classes(edge)


def test_strawberry_enum_types_carry_their_python_enum_in_wrapped_cls() -> None:
    colour = _schema()._schema.type_map["Colour"]
    assert colour.wrapped_cls is Colour  # the plans' enum table is built from it


def test_strawberry_serializes_datetime_with_base_scalars_isoformat() -> None:
    # Plans inline this coercion for datetime, date and time values (_TRUSTED_COERCIONS).
    assert _schema()._schema.type_map["DateTime"].coerce_output_value is base_scalars.isoformat


# ---- extension hooks the gates and caches rely on ---------------------------------------------


def test_strawberry_validates_with_exactly_the_two_rules_the_validation_cache_adds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # graphql_runtime/validation_cache.py::validate_document restates Strawberry's own
    # validate_document (its two rules added); both must pass the same rules to graphql-core.
    seen: dict[str, tuple[Any, ...]] = {}

    def spy(name: str) -> Any:
        def validate(schema: Any, document: Any, rules: Any, **_: Any) -> list[GraphQLError]:
            seen[name] = tuple(rules)
            return []

        return validate

    monkeypatch.setattr(strawberry_schema, "validate", spy("strawberry"))
    monkeypatch.setattr(validation_cache, "validate", spy("ours"))
    schema, document = _schema()._schema, parse("{ other }")
    strawberry_schema.validate_document(schema, document, ())
    validation_cache.validate_document(schema, document, ())
    assert seen["strawberry"] == seen["ours"]
    assert set(seen["ours"]) == {MaybeNullValidationRule, OneOfInputValidationRule}


def test_strawberry_skips_its_validation_when_an_extension_set_the_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DocumentValidationCache sets `pre_execution_errors` (an empty list too) in on_validate;
    # Strawberry must then not validate again, or the cache saves nothing.
    validated: list[Any] = []
    real = strawberry_schema.validate_document
    monkeypatch.setattr(
        strawberry_schema,
        "validate_document",
        lambda *args: validated.append(args) or real(*args),
    )

    class AlreadyValidated(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            assert isinstance(self.execution_context.validation_rules, tuple | list)
            self.execution_context.pre_execution_errors = []
            yield

    assert _schema().execute_sync("{ other }").data == {"other": "other"}
    assert len(validated) == 1  # without the extension: Strawberry's own validation
    assert _schema(AlreadyValidated).execute_sync("{ other }").data == {"other": "other"}
    assert len(validated) == 1


def test_strawberry_refuses_an_operation_whose_errors_an_extension_set_before_yielding() -> None:
    # IntrospectionGate, EncodableVariables and CostRateLimit refuse this way in on_validate.
    class Refuse(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            self.execution_context.pre_execution_errors = [GraphQLError("refused")]
            yield

    result = _schema(Refuse).execute_sync("{ item { name } }")
    assert [e.message for e in result.errors or []] == ["refused"]
    assert result.data is None and calls == []


def test_strawberry_skips_execution_when_an_extension_set_the_result_in_on_execute() -> None:
    # graphql_runtime/limits.py::_refuse (rate limit, subscription over HTTP) sets the result.
    class Answer(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            error = GraphQLError("rate limited")
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
            yield

    result = _schema(Answer).execute_sync("{ item { name } }")
    assert [e.message for e in result.errors or []] == ["rate limited"]
    assert calls == []


def test_strawberry_uses_the_document_an_extension_set_in_on_parse() -> None:
    # graphql_runtime/parse_cache.py::BoundedParserCache hands Strawberry its cached parse.
    class Parsed(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            assert isinstance(self.execution_context.parse_options, dict)
            self.execution_context.graphql_document = parse("{ other }")
            yield

    assert _schema(Parsed).execute_sync("{ item { name } }").data == {"other": "other"}


async def test_strawberry_raises_an_unknown_operation_through_the_operation_hook() -> None:
    # The operation log sees CannotGetOperationTypeError escape its on_operation (and codes it
    # UNKNOWN_OPERATION); Strawberry's view answers it 400.
    escaped: list[BaseException] = []

    class Watch(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            try:
                yield
            except Exception as exc:
                escaped.append(exc)
                raise

    with pytest.raises(CannotGetOperationTypeError):
        await _schema(Watch).execute("query A { other }", operation_name="B")
    assert [type(e) for e in escaped] == [CannotGetOperationTypeError]


def test_strawberry_reads_the_schema_extensions_per_operation() -> None:
    # observe_operations puts the operation log first after the schema was built.
    schema = _schema()
    observe_operations(schema)
    seen: list[str] = []

    class Later(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            seen.append("ran")
            yield

    schema.extensions = [*schema.extensions, Later]
    schema.execute_sync("{ other }")
    assert seen == ["ran"]


async def test_strawberry_aclosing_suppresses_what_aclose_raises() -> None:
    # The feed's handlers close a result stream with strawberry.utils.aio.aclosing, which (unlike
    # contextlib.aclosing) swallows an error raised while the stream closes.
    async def stream() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            raise RuntimeError("closing failed")

    async with aclosing(stream()) as source:
        assert await source.__anext__() == 1


# ---- the WebSocket view and handlers the feed subclasses ---------------------------------------


def _parameters(cls: type, name: str) -> list[str]:
    return list(inspect.signature(getattr(cls, name)).parameters)


def _calls(cls: type, caller: str, name: str) -> bool:
    """Whether `cls.caller` refers to `name` (`self.name(...)`): the override is reached."""
    return name in getattr(cls, caller).__code__.co_names


def test_strawberry_view_takes_the_feed_handlers_from_its_class_attributes() -> None:
    assert _calls(AsyncBaseHTTPView, "run", "websocket_adapter_class")
    assert _calls(AsyncBaseHTTPView, "run", "graphql_transport_ws_handler_class")
    assert _calls(AsyncBaseHTTPView, "run", "graphql_ws_handler_class")
    assert issubclass(AfterSalesGraphQL, GraphQL)
    assert AfterSalesGraphQL.graphql_transport_ws_handler_class is SharedFeedHandler
    assert AfterSalesGraphQL.graphql_ws_handler_class is LegacyFeedHandler
    assert AfterSalesGraphQL.websocket_adapter_class is CheckedWebSocketAdapter


def test_strawberry_websocket_adapter_has_what_the_checked_adapter_overrides() -> None:
    assert _parameters(ASGIWebSocketAdapter, "__init__") == ["self", "view", "request", "response"]
    assert _parameters(ASGIWebSocketAdapter, "iter_json") == ["self", "ignore_parsing_errors"]
    assert _parameters(ASGIWebSocketAdapter, "close") == ["self", "code", "reason"]
    assert _calls(ASGIWebSocketAdapter, "__init__", "ws")  # the Starlette WebSocket, read as .ws


def test_strawberry_transport_ws_handler_has_the_hooks_the_shared_feed_handler_overrides() -> None:
    base = BaseGraphQLTransportWSHandler
    assert _parameters(base, "handle") == ["self"]
    assert _parameters(base, "handle_message") == ["self", "message"]
    assert _parameters(base, "handle_connection_init") == ["self", "message"]
    assert _parameters(base, "send_message") == ["self", "message"]
    assert _parameters(base, "run_operation") == ["self", "operation"]
    assert _parameters(base, "handle_task_exception") == ["self", "error"]
    assert _parameters(base, "handle_invalid_message") == ["self", "error_message"]
    assert _calls(base, "handle_subscribe", "run_operation")
    assert _calls(base, "handle_message", "handle_connection_init")
    for attribute in ("view", "websocket", "context", "root_value", "schema", "operations"):
        assert _calls(base, "__init__", attribute), attribute
    assert _calls(base, "handle_connection_init", "connection_acknowledged")
    assert _parameters(Operation, "send_operation_message") == ["self", "message"]
    for attribute in ("id", "query", "variables", "operation_name"):
        assert _calls(Operation, "__init__", attribute), attribute


def test_strawberry_legacy_ws_handler_has_the_hooks_the_legacy_feed_handler_overrides() -> None:
    base = BaseGraphQLWSHandler
    # LegacyFeedHandler restates handle_async_results; Strawberry must still start each
    # operation through it, and clean up through the same `subscriptions` and `tasks`.
    assert _parameters(base, "handle_async_results") == [
        "self",
        "operation_id",
        "query",
        "operation_name",
        "variables",
    ]
    assert _calls(base, "handle_start", "handle_async_results")
    assert _calls(base, "handle_start", "tasks")
    assert _calls(base, "cleanup_operation", "subscriptions")
    assert _calls(base, "cleanup_operation", "tasks")
    assert _parameters(base, "send_data_message") == ["self", "execution_result", "operation_id"]
    assert _parameters(base, "handle_message") == ["self", "message"]
    assert _parameters(base, "handle_connection_init") == ["self", "message"]
    assert _calls(base, "handle_connection_init", "on_ws_connect")
    assert _calls(base, "__init__", "connection_acknowledged")
