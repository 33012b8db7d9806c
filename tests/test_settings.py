from pathlib import Path

import pytest
from pydantic import ValidationError

from patronage.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_work_without_environment(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("PATRONAGE_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.database_url == "sqlite:///patronage.db"
    assert settings.is_sqlite


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("PATRONAGE_PORT", "9123")
    assert Settings().port == 9123


def test_production_refuses_default_secret():
    with pytest.raises(ValidationError, match="PATRONAGE_SECRET_KEY"):
        Settings(environment="production")
    Settings(environment="production", secret_key="x" * 40)


def test_every_setting_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`PATRONAGE_{name.upper()}`" in text, f"{name} is missing from the README"


def test_an_invalid_setting_is_a_message_naming_the_variable_not_a_traceback(monkeypatch):
    from click.testing import CliRunner

    from patronage.cli import main

    monkeypatch.setenv("PATRONAGE_MIN_SAMPLE", "0")
    result = CliRunner().invoke(main, ["analyze", "nps"])
    assert result.exit_code == 1
    assert "PATRONAGE_MIN_SAMPLE='0'" in result.output and "default (30)" in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)
    monkeypatch.setenv("PATRONAGE_MIN_SAMPLE", "30")
    monkeypatch.setenv("PATRONAGE_ENVIRONMENT", "production")
    monkeypatch.delenv("PATRONAGE_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["analyze", "nps"])
    assert result.exit_code == 1 and "PATRONAGE_SECRET_KEY must be set" in result.output
