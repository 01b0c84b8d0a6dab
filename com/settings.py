"""Settings for COM in one place: `COM_` environment variables and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "dev-insecure-change-me"  # noqa: S105 - refused outside development


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
        description="'osm' for OpenStreetMap tiles, 'none' for a plain background, or a tile URL "
        "template such as https://tiles.example.go.th/{z}/{x}/{y}.png",
    )
    anonymous_access: bool = True
    cors_origins: list[str] = Field(default_factory=list)
    session_max_age_s: int = 8 * 3600
    small_area_k: int = 5
    log_level: str = "INFO"

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
