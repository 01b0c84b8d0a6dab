"""Settings for COM in one place: `COM_` environment variables and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused outside development
BASEMAP_SUFFIXES = (".mbtiles", ".pmtiles")  # issue 15: the basemap files COM serves itself


class Settings(BaseSettings):
    """Configuration of the library, the CLI and the API.

    Every field can be set with an environment variable named ``COM_<FIELD>`` (for example
    ``COM_DATABASE_URL``) or in a ``.env`` file in the working directory.
    """

    model_config = SettingsConfigDict(env_prefix="COM_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/com"
    geodata_dir: Path = Field(
        default=Path("../shared/geodata"),
        description="Directory holding the HDX COD-AB boundary files (tha_adm1/2/3 ...).",
    )
    default_province: str | None = Field(
        default=None, description="Province code (e.g. '32' for Surin) used when none is given."
    )
    severity_config: Path | None = Field(
        default=None, description="TOML file overriding the packaged severity model."
    )
    regions_config: Path | None = Field(
        default=None, description="TOML file adding or replacing regions (sets of provinces)."
    )
    secret_key: str = DEFAULT_SECRET
    max_upload_mb: int = 50
    max_upload_rows: int = Field(default=200_000, description="Rows accepted in one upload.")
    max_upload_columns: int = Field(default=200, description="Columns accepted in one upload.")
    max_uncompressed_mb: float = Field(
        default=200,
        description="Largest total a zip container (XLSX, KMZ, .shp.zip) may expand to.",
    )
    max_compression_ratio: float = Field(
        default=100, description="Largest expansion ratio of a zip container (zip-bomb guard)."
    )
    duplicate_distance_m: float = 25.0
    basemap: str = Field(
        default="none",
        description="'osm' for OpenStreetMap tiles, 'none' for a plain background, a tile URL "
        "template such as https://tiles.example.go.th/{z}/{x}/{y}.png, or a basemap file the "
        "province provides, served by COM itself: file:/srv/com/surin.mbtiles",
    )
    anonymous_access: bool = True
    cors_origins: list[str] = Field(default_factory=list)
    session_max_age_s: int = 8 * 3600
    small_area_k: int = 5
    # CCTV planning by callers below the planner role (viewers, read keys): work caps.
    cctv_max_k: int = Field(default=100, ge=1, description="Most cameras a non-planner may ask.")
    cctv_max_candidates: int = Field(
        default=20_000, ge=1, description="Most candidate sites (list or grid) for a non-planner."
    )
    cctv_max_time_limit_s: float = Field(
        default=10.0, gt=0, description="Longest solver time limit a non-planner may ask."
    )
    cctv_min_radius_m: float = Field(
        default=50.0, ge=0, description="Smallest radius around sites a non-planner places."
    )
    log_level: str = "INFO"

    # Issue 11: overload. The pool is sized here; requests in flight are bounded (default: one
    # per pooled connection) and heavy work (rankings, hot spots, KPI, exports, tiles, the map
    # page, CCTV plans) has its own smaller bound; what cannot get a slot within
    # ``queue_wait_s`` is refused with 503 + Retry-After. Heavy requests are also limited per
    # caller (token bucket; 429 + Retry-After); 0 turns the per-caller limit off.
    db_pool_size: int = Field(default=10, ge=1, description="Pooled database connections.")
    db_max_overflow: int = Field(default=10, ge=0, description="Connections beyond the pool.")
    db_pool_timeout_s: float = Field(
        default=5.0, gt=0, description="Wait for a pooled connection before answering 503."
    )
    max_concurrent_requests: int | None = Field(
        default=None, ge=1,
        description="Requests handled at once (default: db_pool_size + db_max_overflow).",
    )
    heavy_concurrency: int = Field(default=3, ge=1, description="Heavy requests at once.")
    tile_concurrency: int = Field(default=6, ge=1, description="Vector tiles built at once.")
    queue_wait_s: float = Field(default=10.0, ge=0, description="Wait for a slot, then 503.")
    max_queued_requests: int = Field(default=200, ge=0, description="Waiting beyond: 503.")
    rate_limit_per_minute: float = Field(
        default=120.0, ge=0, description="Heavy requests per caller per minute (0: no limit)."
    )
    rate_limit_burst: int = Field(default=60, ge=1, description="Heavy requests in a burst.")
    # --- issue 11: the reverse proxy in front of COM, and the address users reach it at ---
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto COM believes, comma-separated; empty (default) trusts none.",
    )
    # --- issue 13: H3 rankings kept ready after uploads and geodata loads ---
    h3_prepared_resolutions: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [8],
        description="H3 resolutions (6-9) whose national ranking values are computed after "
        "each upload and geodata load once the country holds 50,000 points, comma-separated; "
        "empty: none (the first ranking computes them). A geodata load also keeps the "
        "values of every cell of the country at these resolutions.",
    )
    public_url: str | None = Field(
        default=None,
        description="Scheme and host users reach COM at (https://com.surin.example.go.th); "
        "absolute links are built from it instead of the request's Host header.",
    )

    @field_validator("h3_prepared_resolutions")
    @classmethod
    def _check_resolutions(cls, value: list[int]) -> list[int]:
        for res in value:
            if not 6 <= res <= 9:
                raise ValueError(f"COM_H3_PREPARED_RESOLUTIONS: {res} is not a stored H3 "
                                 "resolution (6-9)")
        return list(dict.fromkeys(value))

    @field_validator("trusted_proxies", "h3_prepared_resolutions", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # "127.0.0.1, 10.0.0.0/24" (as uvicorn's --forwarded-allow-ips), "8,9" or a JSON list.
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"COM_TRUSTED_PROXIES: {item!r} is not an IP address or network "
                    "(e.g. 127.0.0.1 or 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("basemap")
    @classmethod
    def _check_basemap_file(cls, value: str) -> str:
        # Issue 15: a basemap file must be there and readable; the app opens it at start-up
        # (com.maps.basemap, which the settings may not import) and names it in any error.
        if not value.startswith("file:"):
            return value
        path = Path(value.removeprefix("file:")).expanduser()
        if path.suffix.lower() not in BASEMAP_SUFFIXES:
            raise ValueError(
                f"COM_BASEMAP {value!r}: a basemap file must be {' or '.join(BASEMAP_SUFFIXES)}"
            )
        if not path.is_file():
            raise ValueError(f"COM_BASEMAP: basemap file {path} does not exist")
        if not os.access(path, os.R_OK):
            raise ValueError(f"COM_BASEMAP: basemap file {path} is not readable")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"COM_PUBLIC_URL {value!r}: use http(s)://host[:port]")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise ValueError(
                f"COM_PUBLIC_URL {value!r}: give only the scheme and host (COM is served at "
                "the root of its host)"
            )
        return f"{parts.scheme}://{parts.netloc.lower()}"
    # Issue 17: live feeds. Detector alerts over MQTT (off while no URL is set) and webhook
    # pushes to other agencies from the outbox.
    mqtt_url: str | None = Field(
        default=None,
        description="Broker COM subscribes to for detector alerts (topic com/alerts/#), e.g. "
        "mqtt://127.0.0.1:1883; empty (default): no MQTT subscriber.",
    )
    mqtt_client_id: str = Field(
        default="com-alerts",
        description="Client id of COM's persistent MQTT session (one per running subscriber).",
    )
    webhook_delivery: bool = Field(
        default=True, description="Deliver webhook events from the outbox in the API process."
    )
    webhook_retry_base_s: float = Field(
        default=5.0, gt=0, description="First retry delay of a failed webhook delivery."
    )
    webhook_retry_max_s: float = Field(
        default=3600.0, gt=0, description="Longest delay between two webhook delivery attempts."
    )
    webhook_max_attempts: int = Field(
        default=50, ge=1, description="Attempts before a webhook delivery is given up (failed)."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one POST.")
    device_silence_s: float = Field(
        default=3600.0, gt=0, description="A device with no heartbeat for this long is silent."
    )
    # Issue 11: migrations run as the tables' owner, the app as a role with only the rights it
    # needs (`com db grant-app-role com_app`), so the app cannot TRUNCATE the audit trail.
    migration_database_url: str | None = Field(
        default=None,
        description="Database URL of the owner role `com db upgrade` and `com db grant-app-role`"
        " connect as; default COM_DATABASE_URL.",
    )

    @property
    def migration_url(self) -> str:
        """Return the URL migrations connect with (the owner's)."""
        return self.migration_database_url or self.database_url

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "COM_SECRET_KEY must be set to a private value outside development "
                f"(COM_ENVIRONMENT={self.environment})"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
