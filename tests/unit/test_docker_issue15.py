"""The image draws Thai and every service running COM's code uses the app's role (issue 15).

Checked without a Docker engine, as tests/unit/test_compose.py does.
"""

from __future__ import annotations

import shlex

import yaml
from sqlalchemy.engine import make_url
from test_compose import COMPOSE, dockerfile_instructions, environment, interpolate

from com.siting.output import _THAI_FONTS


def test_the_image_installs_a_thai_font_the_charts_look_for():
    steps = dockerfile_instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    words = [word for word, _ in final]
    installs = [shlex.split(rest) for word, rest in final
                if word == "RUN" and "apt-get install" in rest]
    assert any("fonts-thai-tlwg" in args for args in installs), installs
    font_step = next(i for i, (word, rest) in enumerate(final)
                     if word == "RUN" and "fonts-thai-tlwg" in rest)
    assert font_step < words.index("USER")  # installed as root, before dropping rights
    # TLWG's families are among those the chart code picks.
    assert {"Loma", "Garuda"} <= set(_THAI_FONTS)


def test_services_running_the_app_connect_as_the_app_role():
    compose = interpolate(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), {})
    services = compose["services"]
    owner = services["db"]["environment"]["POSTGRES_USER"]
    for name in ("api", "demo"):
        url = make_url(environment(services[name])["COM_DATABASE_URL"])
        assert url.username == "com_app" != owner, name
        assert "COM_MIGRATION_DATABASE_URL" not in environment(services[name]), name
