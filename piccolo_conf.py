"""Piccolo's entry point: the engine (one asyncpg pool per process) and the app registry."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from stayflow.settings import get_settings

_settings = get_settings()

DB = PostgresEngine(
    config={"dsn": _settings.database_url or "postgresql://postgres@127.0.0.1:5432/stayflow"},
    # Extensions are created by migrations, not by every process at start-up.
    extensions=(),
    log_queries=False,
)

APP_REGISTRY = AppRegistry(apps=["models.piccolo_app"])
