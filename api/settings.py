"""Settings from the environment (and an optional .env), validated once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, ValidationError, field_validator
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
    ws_shared_execution: bool = Field(
        default=True, description="Execute identical feed subscriptions once per event."
    )
    subscriber_queue: int = Field(
        default=1000, gt=0, le=100_000, description="Events a subscriber may have waiting."
    )

    # ---- identity and hardening (README: Identity and access) ----
    production: bool = Field(
        default=False, description="GraphiQL, introspection and demo identity off; real secret."
    )
    jwt_secret: str | None = Field(
        default=None, description="HS256 secret for bearer tokens; unset: the development one."
    )
    demo_actor: str | None = Field(
        default=None, description="Who an anonymous caller is (development only), e.g. buyer:b-1."
    )
    introspection: bool = True
    allowed_origins: str = Field(
        default="", description="Comma-separated origins allowed to open a WebSocket."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    ws_init_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    ws_max_subscriptions: int = Field(default=20, ge=1, le=1000)
    rate_limit_cost: int = Field(
        default=50_000, ge=0, description="Query cost a caller may spend per window; 0: no limit."
    )
    rate_limit_window_seconds: float = Field(default=60.0, gt=0, le=86_400)

    @field_validator("demo_actor")
    @classmethod
    def _demo_actor_is_notation(cls, value: str | None) -> str | None:
        from api.identity import Unauthenticated, parse_actor

        try:
            parse_actor(value)
        except Unauthenticated as exc:
            raise ValueError(str(exc)) from None
        return value or None

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        from strawberry.http.websocket_origin import normalize_allowed_origins

        normalize_allowed_origins([o.strip() for o in value.split(",") if o.strip()])
        return value

    @property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql and not self.production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection and not self.production

    def signing_secret(self) -> str:
        from api.identity import DEVELOPMENT_SECRET

        return self.jwt_secret or DEVELOPMENT_SECRET


class SettingsError(Exception):
    """One line naming the setting that is wrong."""


def check_production(settings: Settings) -> None:
    """Production refuses to start on what is only safe on a developer's machine."""
    from api.identity import weak_secret_reason

    if not settings.production:
        return
    reason = weak_secret_reason(settings.jwt_secret)
    if reason:
        raise SettingsError(
            f"AFTERSALES_JWT_SECRET is too weak for production: {reason} "
            "(set 32+ random bytes: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if settings.demo_actor:
        raise SettingsError("AFTERSALES_DEMO_ACTOR must be unset in production")


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        env = name if name == "MONGODB_URI" else f"AFTERSALES_{name}"
        raise SettingsError(f"setting {env} is invalid: {first['msg']}") from None
    check_production(settings)
    return settings


def default_settings(**overrides: object) -> Settings:
    """Defaults only, not read from the environment (for tests and in-process apps)."""
    return Settings.model_construct(**overrides)
