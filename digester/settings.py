"""Settings from the environment and ``.env``, built once at start-up and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite://data/digest.sqlite3"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable and what it expects."""


class Settings(BaseSettings):
    """Every setting of the digest bot; ``.env.example`` documents each variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    telegram_web_url: str = "https://t.me"
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    digester_workers: int = Field(default=8, ge=1, le=256)
    post_max_attempts: int = Field(default=5, ge=1, le=50)
    summary_max_chars: int = Field(default=1200, ge=100, le=4000)
    shutdown_grace_s: float = Field(default=30.0, gt=0, le=3600)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
            raise ValueError("expected sqlite://PATH or postgres://USER@HOST:PORT/DB")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(",", " ").split())
        return value

    @field_validator("telegram_api_url", "telegram_web_url", "openai_base_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/") if value else value


def load_settings(env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable ``SettingsError``."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = "_".join(str(part) for part in error["loc"][:1]).upper()
            problems.append(f"{variable}: {error['msg']} (got {error.get('input')!r})")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from exc
