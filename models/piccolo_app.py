import os

from piccolo.conf.apps import AppConfig

from models import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="models",
    migrations_folder_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
