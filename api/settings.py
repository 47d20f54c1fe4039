"""Settings from the environment (and an optional .env), validated once at start.

Every field has a description: the README's settings table is generated from this model
(`./dev run api.settings_table`) and tests/test_settings.py fails when the two differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "AFTERSALES_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=".env", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URI", "AFTERSALES_MONGODB_URI"),
        description="a MongoDB replica set (or Atlas) to use; unset: start the embedded SecantusDB",
    )
    database: str = Field(
        default="aftersales", pattern=r"^[A-Za-z0-9_-]{1,63}$", description="database name"
    )
    host: str = Field(default="127.0.0.1", description="where the service listens")
    port: int = Field(default=8000, ge=0, le=65535, description="the port it listens on")
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="service processes sharing the port (also `--workers N`); each runs the "
        "deadline worker",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="the embedded database keeps its files in `<dir>/db`",
    )
    db_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="port of the embedded database; unset: a free port",
    )
    demo_data: bool = Field(default=True, description="load demo data into an empty database")
    graphiql: bool = Field(default=True, description="serve GraphiQL at `/graphql`")
    db_timeout_ms: int = Field(
        default=5000, ge=100, description="how long to wait for the database (ms, at least 100)"
    )
    worker_enabled: bool = Field(
        default=True, description="run the deadline worker (C6, C8) in each process"
    )
    worker_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="pause between the worker's passes (more than 0, at most 3600)",
    )
    worker_batch_size: int = Field(
        default=200, gt=0, le=10_000, description="requests moved per transaction (1 to 10,000)"
    )

    ready_max_worker_lag_seconds: float = Field(
        default=120.0,
        gt=0,
        description="`/readyz` fails when the deadline worker is further behind than this",
    )
    shutdown_timeout_seconds: float = Field(
        default=20.0,
        ge=0,
        le=600,
        description="on SIGTERM or Ctrl-C, how long requests in flight may take to finish",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`: readable lines for development; `json`: one JSON object a line",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="the least severe level logged"
    )
    access_log: bool = Field(
        default=False,
        description="also log every HTTP request (GraphQL operations are always logged)",
    )


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{PREFIX}{field.upper()}"


class SettingsError(Exception):
    """One line naming the setting that is wrong."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        env = env_name(name) if name in Settings.model_fields else name.upper()
        raise SettingsError(f"setting {env} is invalid: {first['msg']}") from None
