"""One settings object. Every field reads `THRESHOLD_<FIELD>` (nested: `THRESHOLD_SECTION__KEY`)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from threshold.errors import InvalidInput

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "development"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THRESHOLD_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path(".threshold")
    """The embedded home: metadata store, Iceberg catalog and warehouse live here unless set apart."""

    database_url: str | None = None
    """SQLAlchemy URL of the metadata store and Iceberg SQL catalog. Default: SQLite file in `home`.
    PostgreSQL: `postgresql+psycopg://user@host/db`."""

    warehouse: Path | None = None
    """Folder holding the Iceberg tables' files. Default: `home/warehouse`."""

    environment: str = "development"
    """`development` or `production`; production refuses placeholder secrets."""

    secret_key: str = ""
    """Signs web sessions. Generated and kept in `home/secret_key` when not set (development)."""

    max_share_bytes: int = 50 * 1024**3
    """Largest file that may be shared (bytes)."""

    engine_memory_limit: str = "2GB"
    """DuckDB memory limit for the gateway and for share conversions (spills to disk beyond it)."""

    engine_threads: int = Field(default=0, ge=0)
    """DuckDB threads; 0 = one per core."""

    query_row_limit: int = 1_000_000
    """Largest result a single query returns to a person (the web shows fewer)."""

    profile_sample_rows: int = 100_000
    """Rows sampled for top values and sensitive-data detection at share time."""

    guardrail_personal_mask: str = "redact"
    """How the built-in personal-data guardrail masks (`redact`, `hash`, `null`, `partial`, `year`)."""

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.environment == "production" and self.secret_key.strip().lower() in _PLACEHOLDER_SECRETS:
            raise InvalidInput("THRESHOLD_SECRET_KEY must be set to a real secret in production")
        return self

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @cached_property
    def warehouse_dir(self) -> Path:
        return (self.warehouse or self.home_dir / "warehouse").expanduser().resolve()

    @cached_property
    def staging_dir(self) -> Path:
        """Private scratch space for shares in progress; a share's folder is removed when it ends."""
        return self.home_dir / "staging"

    @cached_property
    def spill_dir(self) -> Path:
        return self.home_dir / "spill"

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'threshold.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def session_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.home_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
