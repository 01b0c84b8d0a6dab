"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none on this machine).

The compose file is read the way `docker compose config` reads it with an empty environment:
YAML, then `${VAR:-default}` interpolation.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from com.config.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value, env: dict[str, str]):
    """Apply compose-style ${VAR} / ${VAR:-default} substitution to every string."""
    if isinstance(value, str):
        return VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), {})


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def healthcheck_text(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_postgis_service(compose):
    db = compose["services"]["db"]
    assert db["image"] == "postgis/postgis:15-3.4"
    assert "pg_isready" in healthcheck_text(db)
    mounts = [v.split(":") for v in db["volumes"]]
    assert ["pgdata", "/var/lib/postgresql/data"] in mounts
    assert "pgdata" in compose["volumes"]  # a named volume, not a bind mount
    assert "ports" not in db  # the database is reachable from the api service only


def test_api_service_is_wired_to_the_database_by_environment(compose, monkeypatch):
    services = compose["services"]
    db_env = environment(services["db"])
    migrate_env = environment(services["migrate"])
    for name in ("api", "migrate"):
        env = environment(services[name])
        url = make_url(env["COM_DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg"
        assert url.host == "db" and url.host in services  # the PostGIS service by name
        assert (url.port or 5432) == 5432
        assert url.database == db_env["POSTGRES_DB"]
        # The app connects as com_app, not as the owner of the tables (issue 11).
        assert url.username == "com_app" != db_env["POSTGRES_USER"]
        assert url.password == migrate_env["COM_APP_DB_PASSWORD"]
        assert "COM_MIGRATION_DATABASE_URL" not in environment(services["api"])
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        # COM's own settings read these variables as intended.
        for key in [k for k in Settings.model_fields if f"COM_{k.upper()}" in env]:
            monkeypatch.setenv(f"COM_{key.upper()}", env[f"COM_{key.upper()}"])
        settings = Settings(_env_file=None)
        assert make_url(settings.database_url).host == "db"
        assert settings.geodata_dir == Path("/geodata")
    owner = make_url(migrate_env["COM_MIGRATION_DATABASE_URL"])
    assert (owner.host, owner.database) == ("db", db_env["POSTGRES_DB"])
    assert owner.username == db_env["POSTGRES_USER"]
    assert owner.password == db_env["POSTGRES_PASSWORD"]


def test_api_runs_after_migrations_with_a_healthcheck_and_port_8000(compose):
    services = compose["services"]
    api, migrate = services["api"], services["migrate"]
    assert api["build"] in (".", {"context": "."})
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    command = migrate["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert "com db upgrade" in command
    assert command.index("com db upgrade") < command.index("com db grant-app-role com_app")
    assert "/api/health" in healthcheck_text(api)
    assert any(str(p).endswith(":8000") for p in api["ports"])
    # The health route the checks call exists in the app.
    from api.main import create_app

    assert "/api/health" in create_app(Settings(_env_file=None)).openapi()["paths"]


def test_boundary_directory_is_mounted_read_only(compose):
    for name in ("api", "migrate"):
        service = compose["services"][name]
        assert environment(service)["COM_GEODATA_DIR"] == "/geodata"
        mounts = [v.split(":") for v in service["volumes"]]
        geodata = [m for m in mounts if m[1] == "/geodata"]
        assert len(geodata) == 1 and geodata[0][2] == "ro"
        host = (COMPOSE.parent / geodata[0][0]).resolve()
        assert host == (REPO.parent / "shared" / "geodata").resolve()
    overridden = interpolate(
        yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), {"COM_GEODATA_HOST_DIR": "/srv/cod"}
    )
    assert "/srv/cod:/geodata:ro" in overridden["services"]["api"]["volumes"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_installs_this_package_with_the_constraints():
    steps = dockerfile_instructions()
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    final = steps[stages[-1] :]
    assert final[0][1].split()[0] == "python:3.11-slim"
    copied = " ".join(rest for word, rest in final if word == "COPY")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for needed in [
        "pyproject.toml",
        "constraints.txt",
        *project["tool"]["setuptools"]["packages"]["find"]["include"],
    ]:
        assert needed.rstrip("*") in copied, needed
    installs = [
        shlex.split(rest) for word, rest in final if word == "RUN" and "pip install" in rest
    ]
    assert any(
        "-c" in args and args[args.index("-c") + 1] == "constraints.txt" and "." in args
        for args in installs
    ), installs
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not ignored & {"com", "api", "geodata", "pyproject.toml", "constraints.txt"}


def test_dockerfile_serves_the_app_factory():
    steps = dict(dockerfile_instructions())  # the last of each instruction wins
    cmd = json.loads(steps["CMD"])
    assert cmd[:2] == ["uvicorn", "api.main:create_app"]
    assert "--factory" in cmd
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--port") + 1] == "8000"
    assert "/api/health" in steps["HEALTHCHECK"]
