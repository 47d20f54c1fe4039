"""Settings from the environment (and an optional .env), validated once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERSALES_", env_file=".env", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MONGODB_URI", "AFTERSALES_MONGODB_URI"),
        description="A MongoDB replica set to use; unset: start the embedded SecantusDB.",
    )
    database: str = Field(default="aftersales", pattern=r"^[A-Za-z0-9_-]{1,63}$")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Field(
        default=Path("data"), description="Where the embedded database keeps data."
    )
    db_port: int | None = Field(
        default=None, ge=1, le=65535, description="Embedded DB port; unset: free."
    )
    demo_data: bool = True
    graphiql: bool = True
    db_timeout_ms: int = Field(default=5000, ge=100)
    worker_enabled: bool = Field(default=True, description="Run the deadline worker (C6, C8).")
    worker_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    worker_batch_size: int = Field(default=200, gt=0, le=10_000)
    ws_legacy_protocol: bool = Field(
        default=True, description="Also accept the legacy graphql-ws subprotocol."
    )
    ws_max_subscriptions: int = Field(default=20, gt=0, le=1000)
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    ws_shared_execution: bool = Field(
        default=True, description="Execute identical feed subscriptions once per event."
    )
    subscriber_queue: int = Field(
        default=1000, gt=0, le=100_000, description="Events a subscriber may have waiting."
    )


class SettingsError(Exception):
    """One line naming the setting that is wrong."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        env = name if name == "MONGODB_URI" else f"AFTERSALES_{name}"
        raise SettingsError(f"setting {env} is invalid: {first['msg']}") from None
