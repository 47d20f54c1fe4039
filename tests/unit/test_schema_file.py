"""schema.graphql is the schema clients build against: it must match the code."""

from resolvers.export_schema import SCHEMA_FILE, current_sdl


def test_schema_graphql_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == current_sdl(), "schema.graphql is stale: run ./dev schema"
