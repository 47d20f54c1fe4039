"""Settings from the environment (and an optional .env), validated once at start.

Every field has a description: the README's settings table is generated from this model
(`./dev run api.settings_table`) and tests/unit/test_settings.py fails when the two differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from integrations.tiktok_shop.credentials import ShopLink
    from integrations.tiktok_shop.sealing import Sealer

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
    operation_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="deadline of a GraphQL operation over HTTP, waiting its turn on a busy shop "
        "included, and of each of the worker's batches; then 503 `SERVICE_UNAVAILABLE`",
    )
    db_call_timeout_ms: int = Field(
        default=10_000,
        ge=100,
        description="the driver's timeout (`timeoutMS`) for one database call, and for one "
        "attempt of a transaction (ms, at least 100)",
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
    webhooks_enabled: bool = Field(
        default=True,
        description="deliver outbound webhooks and prune the event log in each process",
    )
    webhook_lease_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="a process holds a webhook this long unrenewed; a dead one's pass on after it",
    )
    webhook_poll_seconds: float = Field(
        default=0.05, gt=0, le=60, description="how often an idle webhook looks for new events"
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="deadline of one outbound webhook call"
    )
    webhook_concurrency: int = Field(
        default=32, ge=1, le=1000, description="outbound webhook calls in flight per process"
    )
    webhook_retry_base_seconds: float = Field(
        default=2.0, gt=0, description="wait before a delivery's second attempt; doubles after"
    )
    webhook_retry_cap_seconds: float = Field(
        default=600.0, gt=0, description="longest wait between two attempts of a delivery"
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, le=100, description="attempts before a delivery is FAILED"
    )
    webhook_pause_after: int = Field(
        default=5, ge=1, le=1000, description="FAILED deliveries in a row that pause a webhook"
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
    introspection: bool = Field(
        default=True, description="schema introspection (always off in production)"
    )
    allowed_origins: str = Field(
        default="", description="Comma-separated origins allowed to open a WebSocket."
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=10 * 1024 * 1024,
        description="largest request body (1 KiB to 10 MiB); larger: 413",
    )
    ws_init_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="how long a WebSocket may wait before `connection_init` (then 4408)",
    )
    ws_max_subscriptions: int = Field(
        default=20, ge=1, le=1000, description="subscriptions per WebSocket connection"
    )
    metrics_token: str | None = Field(
        default=None,
        description="bearer token `/metrics` requires; unset: open, and refused (403) in "
        "production",
    )
    ws_max_connections_per_caller: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="open WebSocket connections per caller in each process (then 4429)",
    )
    rate_limit_cost: int = Field(
        default=50_000, ge=0, description="Query cost a caller may spend per window; 0: no limit."
    )
    rate_limit_window_seconds: float = Field(
        default=60.0, gt=0, le=86_400, description="the window the rate-limit budget refills over"
    )

    # ---- evidence (E1; README: docs/evidence.md) ----
    evidence_max_photo_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="largest photo upload (bytes); larger: 413"
    )
    evidence_max_video_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="largest video upload (bytes); larger: 413"
    )
    evidence_pending_ttl_seconds: int = Field(
        default=3600, gt=0, description="how long an upload waits to be attached before it expires"
    )
    evidence_url_ttl_seconds: int = Field(
        default=900, gt=0, le=86_400, description="how long an evidence download URL is valid"
    )
    evidence_budget_bytes: int = Field(
        default=500 * 1024 * 1024, ge=0, description="bytes a caller may upload per budget window"
    )
    evidence_required_reasons: str = Field(
        default="",
        description="comma-separated request and appeal reasons refused without a photo or "
        "video (the marketplace's: `DAMAGED,NOT_AS_DESCRIBED`); empty: none",
    )
    evidence_budget_window_seconds: int = Field(
        default=3600, gt=0, description="the window of the upload budget (seconds)"
    )
    tiktok_shop: str | None = Field(
        default=None,
        description="this service's shop linked to TikTok Shop at start, with the other "
        "`AFTERSALES_TIKTOK_` settings; unset: shops are linked through the API (docs/tiktok.md)",
    )
    tiktok_shop_id: str | None = Field(default=None, description="TikTok's id of that shop")
    tiktok_app_key: str | None = Field(default=None, description="the TikTok app's key")
    tiktok_app_secret: SecretStr | None = Field(
        default=None, description="the TikTok app's secret (signs calls, checks webhooks)"
    )
    tiktok_shop_cipher: str | None = Field(default=None, description="the shop's `shop_cipher`")
    tiktok_access_token: SecretStr | None = Field(
        default=None, description="the shop's access token"
    )
    tiktok_refresh_token: SecretStr | None = Field(
        default=None, description="the shop's refresh token (renews an expired access token)"
    )
    tiktok_seal_key: SecretStr | None = Field(
        default=None,
        description="the key linked shops' TikTok secrets are sealed under in the database "
        "(32+ random bytes, the same in every process; required in production with "
        "`AFTERSALES_TIKTOK_SHOP`, and without it production links no shop); unset: the "
        "development one",
    )
    tiktok_api_base: str = Field(
        default="https://open-api.tiktokglobalshop.com", description="TikTok's Open API"
    )
    tiktok_auth_base: str = Field(
        default="https://auth.tiktok-shops.com", description="TikTok's token service"
    )
    tiktok_reconcile_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="pause between passes of the reconciler over each linked shop's search "
        "endpoints",
    )
    tiktok_replay_window_seconds: int = Field(
        default=259_200,
        gt=0,
        description="how long a TikTok webhook's id is remembered (a repeat is not handled "
        "again); older webhooks are ignored",
    )

    @field_validator("demo_actor")
    @classmethod
    def _demo_actor_is_notation(cls, value: str | None) -> str | None:
        from api.identity import Unauthenticated, parse_actor

        try:
            parse_actor(value)
        except Unauthenticated as exc:
            raise ValueError(str(exc)) from None
        return value or None

    @field_validator("evidence_required_reasons")
    @classmethod
    def _reasons_are_codes(cls, value: str) -> str:
        from models.errors import ValidationFailed
        from models.evidence import reason_codes

        try:
            reason_codes(value)
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
        return value

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

    def tiktok_link(self) -> ShopLink | None:
        """The shop these settings link to TikTok Shop; None when none is named."""
        from integrations.tiktok_shop.credentials import ShopLink
        from models.errors import ValidationFailed

        if not self.tiktok_shop:
            return None
        try:
            return ShopLink(
                shop_id=self.tiktok_shop,
                tiktok_shop_id=self.tiktok_shop_id or "",
                app_key=self.tiktok_app_key or "",
                shop_cipher=self.tiktok_shop_cipher or "",
                api_base=self.tiktok_api_base,
                app_secret=_secret(self.tiktok_app_secret),
                access_token=_secret(self.tiktok_access_token),
                refresh_token=_secret(self.tiktok_refresh_token),
                auth_base=self.tiktok_auth_base,
            )
        except ValidationFailed as exc:
            field = {"shop_id": "tiktok_shop", "tiktok_shop_id": "tiktok_shop_id"}.get(
                exc.field or "", f"tiktok_{exc.field}"
            )
            raise SettingsError(f"setting {env_name(field)} is invalid: {exc.message}") from None

    def tiktok_sealer(self) -> Sealer:
        """What seals the linked shops' secrets in the database; in production without a key,
        one that refuses to link a shop (check_production refuses a weak key)."""
        from integrations.tiktok_shop.sealing import DEVELOPMENT_SEAL_KEY, NoSealKey, Sealer

        key = _secret(self.tiktok_seal_key)
        if not key and self.production:
            return NoSealKey()
        return Sealer(key or DEVELOPMENT_SEAL_KEY)

    def signing_secret(self) -> str:
        from api.identity import DEVELOPMENT_SECRET

        return self.jwt_secret or DEVELOPMENT_SECRET


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"{PREFIX}{field.upper()}"


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
    if settings.metrics_token is not None:
        reason = weak_secret_reason(settings.metrics_token)
        if reason:
            raise SettingsError(f"AFTERSALES_METRICS_TOKEN is too weak for production: {reason}")
    if settings.tiktok_shop or settings.tiktok_seal_key is not None:
        reason = weak_secret_reason(_secret(settings.tiktok_seal_key))
        if reason:
            raise SettingsError(f"AFTERSALES_TIKTOK_SEAL_KEY is too weak for production: {reason}")


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        env = env_name(name) if name in Settings.model_fields else name.upper()
        raise SettingsError(f"setting {env} is invalid: {first['msg']}") from None
    check_production(settings)
    return settings


def default_settings(**overrides: object) -> Settings:
    """Defaults only, not read from the environment (for tests and in-process apps)."""
    return Settings.model_construct(**overrides)
