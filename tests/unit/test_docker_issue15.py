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


def test_the_image_builds_the_typing_alignment_after_installing_the_package():
    """The C alignment's source ships in the package and the image compiles it (as setup.sh
    does in a checkout) before dropping root; pure Python is only the fallback."""
    import tomllib

    from test_compose import REPO

    steps = dockerfile_instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM"):]
    words = [word for word, _ in final]
    pip = next(i for i, (word, rest) in enumerate(final) if word == "RUN" and "pip install" in rest)
    build = next(i for i, (word, rest) in enumerate(final)
                 if word == "RUN" and "build_typing_align()" in rest)
    assert pip < build < words.index("USER")
    assert "gcc" in final[build][1]
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "text/*.c" in data["tool"]["setuptools"]["package-data"]["com"]
    assert (REPO / "com" / "text" / "typing_align.c").is_file()
