"""Fixtures shared by the ranking tests: an empty connection and a model without context.

tests/conftest.py loads this module as a plugin; a test module may define its own ``db``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from com.config.severity import load_severity_model


@pytest.fixture
def db(conn):  # type: ignore[no-untyped-def]
    """The rolled-back connection with no risk points, target lists or projects."""
    conn.execute(sa.text("DELETE FROM projects"))
    conn.execute(sa.text("DELETE FROM target_lists"))
    conn.execute(sa.text("DELETE FROM risk_points"))
    return conn


@pytest.fixture
def flat_model(tmp_path):  # type: ignore[no-untyped-def]
    """The packaged model with every context factor switched off."""
    path = tmp_path / "flat.toml"
    path.write_text("".join(f"[context.{k}]\nweight = 0\n" for k in
                            ("land_border", "border_crossings", "mekong", "district_towns")),
                    encoding="utf-8")
    return load_severity_model(path)
