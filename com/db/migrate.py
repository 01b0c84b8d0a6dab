"""Database lifecycle: create the PostGIS extension and run Alembic migrations."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from com.db.engine import translate_db_errors
from com.errors import ConfigError


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("com.db").joinpath("migrations"))
    )
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def ensure_postgis(engine: Engine) -> str:
    """Create the PostGIS extension when it is missing and return its version.

    Raises
    ------
    ConfigError
        When PostGIS is not installed on the server or the role may not create it.
    """
    with translate_db_errors(), engine.begin() as conn:
        try:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except sa.exc.DBAPIError as exc:
            raise ConfigError(
                "cannot create the PostGIS extension: install postgresql-15-postgis-3 "
                f"or ask a superuser to run CREATE EXTENSION postgis ({exc.orig})"
            ) from exc
        return str(conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one())


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create PostGIS if allowed and migrate the schema to ``revision``."""
    ensure_postgis(engine)
    with translate_db_errors(), engine.begin() as conn:
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the schema down to ``revision`` (``base`` drops every COM table)."""
    with translate_db_errors(), engine.begin() as conn:
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema's Alembic revision, or None for an empty database."""
    with translate_db_errors(), engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar_one()
        if exists is None:
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
