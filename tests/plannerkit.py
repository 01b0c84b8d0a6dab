"""A test client of the app in which a header stands for a signed-in planner (API tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from api.main import create_app
from com.config.settings import Settings
from com.security.access import Principal

PLANNER = Principal(kind="user", name="planner1", role="planner")
#: Headers of a request made as :data:`PLANNER`.
SIGNED_IN = {"x-test-user": "planner"}


@contextmanager
def planner_client(settings: Settings) -> Iterator[TestClient]:
    """Yield a client of ``create_app(settings)``; requests with :data:`SIGNED_IN` act as a planner.

    The test resolver comes first; the app's real resolvers follow it.
    """
    app = create_app(settings)
    app.state.principal_resolvers.insert(
        0, lambda request: PLANNER if request.headers.get("x-test-user") == "planner" else None
    )
    with TestClient(app) as client:
        yield client
