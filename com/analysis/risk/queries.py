"""Database reads of the risk analysis: filter parameters, packaged point queries, COPY."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import RiskFilter
from com.config.severity import SeverityModel
from com.db.engine import load_sql


def filter_params(
    filt: RiskFilter, model: SeverityModel, *, level: str = "subdistrict", **extra: Any
) -> dict[str, Any]:
    """Return the bound parameters of the packaged point queries for a filter and a model.

    ``extra`` adds or overrides parameters (``bbox``, ``subdistrict``, ``top``...).
    """
    params: dict[str, Any] = {
        "level": level,
        "province": filt.province,
        "provinces": list(filt.province_codes) if filt.province_codes else None,
        "district": filt.district,
        "subdistrict": None,
        "date_from": filt.date_from,
        "date_to": filt.date_to,
        "categories": list(filt.categories) if filt.categories else None,
        "min_severity": filt.min_severity,
        "as_of": filt.analysis_date,
        "use_recency": filt.use_recency,
        "half_life_days": model.recency.half_life_days,
        "undated_factor": model.recency.undated_factor,
        "unknown_weight": model.unknown_category.weight,
        "cat_keys": list(model.categories),
        "cat_weights": [c.weight for c in model.categories.values()],
        "bbox": None,
    }
    params.update(extra)
    return params


def points_query(name: str) -> sa.TextClause:
    """Return the packaged query ``com/db/sql/<name>.sql`` over the weighted points."""
    # Both texts are packaged files, never user input.
    return sa.text(load_sql(name).replace("{weighted_points}", load_sql("rank_weighted_points")))


def copy_frame(
    conn: Connection, statement: sa.TextClause, params: Mapping[str, Any], columns: list[str],
    *, dtype: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run a large select through COPY ... TO STDOUT (CSV) into a DataFrame.

    Fetching a million rows through the cursor costs seconds of Python per row; COPY streams
    them as text that pandas parses in C. The statement is a packaged SQL file and the values
    are bound by psycopg on the client (lists as arrays), never formatted into the text.
    """
    names = set(re.findall(r"(?<![:\w]):(\w+)", statement.text))
    bound = statement.bindparams(**{k: v for k, v in params.items() if k in names})
    compiled = bound.compile(dialect=conn.dialect)
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the database connection is closed")
    buffer = io.BytesIO()
    with raw.cursor().copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)",
                           compiled.params) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:
        return pd.DataFrame(columns=columns)
    return pd.read_csv(buffer, header=None, names=columns, float_precision="round_trip",
                       keep_default_na=False, na_values=[""], dtype=dict(dtype or {}))


def read_geoms(conn: Connection, query: Any, params: Mapping[str, Any] | None = None
                ) -> gpd.GeoDataFrame:
    """Run a select with a ``geom`` column; decode all geometries in one vectorised call."""
    result = conn.execute(query, dict(params or {}))
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    # geopandas.read_postgis decodes row by row; shapely.from_wkb on the array is ~10x faster.
    geoms = shapely.from_wkb(
        np.array([bytes.fromhex(g) if isinstance(g, str) else bytes(g)
                  for g in frame.pop("geom")], dtype=object)
    ) if len(frame) else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)
