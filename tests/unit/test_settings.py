from __future__ import annotations

from pathlib import Path

import pytest

from stayflow.settings import SettingsError, load_settings


def test_production_refuses_to_start_on_defaults_and_names_every_gap(tmp_path: Path) -> None:
    settings = load_settings({"STAYFLOW_ENV": "production", "STAYFLOW_HOME": str(tmp_path)})
    with pytest.raises(SettingsError) as refused:
        settings.check_can_start()
    message = str(refused.value)
    assert "STAYFLOW_JWT_SECRET" in message
    assert "STAYFLOW_DATABASE_URL" in message
    assert "STAYFLOW_TEMPORAL_ADDRESS" in message
    assert "STRIPE_API_KEY" in message and "STRIPE_WEBHOOK_SECRET" in message
    assert not (tmp_path / "jwt-secret").exists()  # production never invents a secret


def test_production_refuses_a_short_secret() -> None:
    settings = load_settings(
        {
            "STAYFLOW_ENV": "production",
            "STAYFLOW_JWT_SECRET": "too-short",
            "STAYFLOW_DATABASE_URL": "postgresql://db/stayflow",
            "STAYFLOW_TEMPORAL_ADDRESS": "temporal:7233",
        }
    )
    with pytest.raises(SettingsError, match="at least 32"):
        settings.check_can_start()


def test_complete_production_settings_start() -> None:
    settings = load_settings(
        {
            "STAYFLOW_ENV": "production",
            "STAYFLOW_JWT_SECRET": "Vx3q9kTz0bLr7mWc2yHn5sJd8fGa1pQe4uKo6iNt",
            "STAYFLOW_DATABASE_URL": "postgresql://db/stayflow",
            "STAYFLOW_TEMPORAL_ADDRESS": "temporal:7233",
            "STRIPE_API_KEY": "sk_live_abc",
            "STRIPE_WEBHOOK_SECRET": "whsec_real",
            "STAYFLOW_ACCESS_TOKEN_TTL_SECONDS": "600",
        }
    )
    settings.check_can_start()
    assert settings.access_token_ttl_seconds == 600
    assert settings.stripe_api_base == "https://api.stripe.com"


def test_dev_keeps_one_generated_secret_across_restarts(tmp_path: Path) -> None:
    first = load_settings({"STAYFLOW_ENV": "dev", "STAYFLOW_HOME": str(tmp_path)})
    second = load_settings({"STAYFLOW_ENV": "dev", "STAYFLOW_HOME": str(tmp_path)})
    assert len(first.jwt_secret) >= 32 and first.jwt_secret == second.jwt_secret
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0


def test_bad_values_are_reported() -> None:
    with pytest.raises(SettingsError, match="api_port"):
        load_settings({"STAYFLOW_API_PORT": "eighty"})
    with pytest.raises(SettingsError, match="env"):
        load_settings({"STAYFLOW_ENV": "staging"})


def test_email_provider_follows_the_key() -> None:
    assert load_settings({"STAYFLOW_HOME": "/tmp/x"}).email_provider == "outbox"
    assert load_settings({"STAYFLOW_HOME": "/tmp/x", "SENDGRID_API_KEY": "SG.x"}).email_provider == "sendgrid"


def test_sms_provider_needs_all_three_twilio_settings() -> None:
    twilio = {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+15005550006"}
    assert load_settings({"STAYFLOW_HOME": "/tmp/x"}).sms_provider == "outbox"
    assert load_settings({"STAYFLOW_HOME": "/tmp/x", **twilio}).sms_provider == "twilio"
    for missing in twilio:
        partial = {name: value for name, value in twilio.items() if name != missing}
        assert load_settings({"STAYFLOW_HOME": "/tmp/x", **partial}).sms_provider == "outbox"


def test_commands_outside_make_dev_find_its_servers_on_moved_ports(tmp_path: Path) -> None:
    """`stayflow create-admin`, `migrate` or a second `stayflow worker` next to a running `make dev`
    reach its embedded PostgreSQL and Temporal, also when STAYFLOW_DEV_*_PORT moved them."""
    defaults = load_settings({"STAYFLOW_HOME": str(tmp_path)})
    assert defaults.database_dsn == "postgresql://postgres@127.0.0.1:54329/stayflow"
    assert defaults.temporal_target == "127.0.0.1:7233"
    moved = load_settings(
        {"STAYFLOW_HOME": str(tmp_path), "STAYFLOW_DEV_POSTGRES_PORT": "54339", "STAYFLOW_DEV_TEMPORAL_PORT": "7243"}
    )
    assert moved.database_dsn == "postgresql://postgres@127.0.0.1:54339/stayflow"
    assert moved.temporal_target == "127.0.0.1:7243"
    explicit = load_settings(
        {
            "STAYFLOW_HOME": str(tmp_path),
            "STAYFLOW_DEV_POSTGRES_PORT": "54339",
            "STAYFLOW_DATABASE_URL": "postgresql://app@db:5432/prod",
            "STAYFLOW_TEMPORAL_ADDRESS": "temporal:7233",
        }
    )
    assert explicit.database_dsn == "postgresql://app@db:5432/prod"
    assert explicit.temporal_target == "temporal:7233"


def test_commands_beside_make_dev_are_dev_and_everywhere_else_production(tmp_path: Path) -> None:
    from stayflow.settings import DEV_STACK_MARKER

    home = tmp_path / ".stayflow"
    assert load_settings({"STAYFLOW_HOME": str(home)}).env == "production"
    home.mkdir()
    (home / DEV_STACK_MARKER).write_text("written by `stayflow dev`")
    assert load_settings({"STAYFLOW_HOME": str(home)}).env == "dev"
    assert load_settings({"STAYFLOW_HOME": str(home), "STAYFLOW_ENV": "production"}).env == "production"
