"""Settings: read from the environment, each variable documented, errors name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from digester.settings import Settings, SettingsError, load_settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))

    assert documented == {name.upper() for name in Settings.model_fields}


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = load_settings(env_file=None)

    assert settings.database_url.startswith("sqlite://")
    assert settings.openai_api_key is None


def test_secret_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-1234")

    settings = load_settings(env_file=None)

    assert "sk-test-secret-value-1234" not in repr(settings)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test-secret-value-1234"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("ADMIN_IDS", "12, abc"),
        ("OPENAI_BASE_URL", "ftp://example"),
        ("DIGESTER_WORKERS", "0"),
    ],
)
def test_invalid_setting_names_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=variable):
        load_settings(env_file=None)


def test_admin_ids_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12, 34 56")

    assert load_settings(env_file=None).admin_ids == (12, 34, 56)
