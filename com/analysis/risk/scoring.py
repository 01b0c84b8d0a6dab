"""Risk scores: the weight of each point and the combination with context factors."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from com.analysis.risk.output import json_ready
from com.config.severity import SeverityModel, severity_model_of
from com.errors import ValidationError


def point_weights(
    points_df: pd.DataFrame,
    model: SeverityModel | None = None,
    *,
    as_of: dt.date | None = None,
    use_recency: bool = True,
) -> pd.Series:
    """Weight of each risk point: category weight x severity x recency x incident count.

    This is the demand weight of a point everywhere in COM (area ranking, CCTV siting, heat
    surface). Recency is ``exp(-ln 2 x age_days / half_life_days)`` with the age counted back
    from ``as_of`` (future dates count as age 0); undated points get ``undated_factor``.

    Parameters
    ----------
    points_df : pandas.DataFrame
        Columns ``category`` (a key; other values get the unknown weight), ``severity`` (1-5),
        optionally ``incident_count`` (default 1) and ``reported_on`` (date; missing = undated).
    model : SeverityModel, optional
        Default: the packaged model.
    as_of : datetime.date, optional
        Date the ages are counted back from; default today.
    use_recency : bool
        False gives every point recency 1 (comparisons between whole periods).

    Returns
    -------
    pandas.Series
        Float weights aligned with ``points_df.index``.

    Raises
    ------
    com.errors.ValidationError
        When a column is missing or a severity is outside 1-5.

    Examples
    --------
    >>> import pandas as pd, datetime as dt
    >>> df = pd.DataFrame({"category": ["drugs"], "severity": [3],
    ...                    "reported_on": [dt.date(2024, 1, 1)], "incident_count": [2]})
    >>> float(point_weights(df, as_of=dt.date(2025, 1, 1)).iloc[0])  # 2 x 3 x 2 x 0.5^(366/365)
    5.98...
    """
    model = severity_model_of(model)
    for column in ("category", "severity"):
        if column not in points_df.columns:
            raise ValidationError(f"points need a {column!r} column")
    severity = pd.to_numeric(points_df["severity"], errors="coerce").astype(float)
    bad = severity.isna() | (severity < 1) | (severity > 5)
    if bad.any():
        first = points_df.index[bad.to_numpy()][0]
        value = json_ready(points_df.loc[first, "severity"])
        raise ValidationError(f"row {first} (index): severity {value!r} is not 1-5")
    weights = {k: c.weight for k, c in model.categories.items()}
    cat_weight = (
        points_df["category"].map(weights).fillna(model.unknown_category.weight).astype(float)
    )
    if "incident_count" in points_df.columns:
        count = pd.to_numeric(points_df["incident_count"], errors="coerce").fillna(1).astype(float)
    else:
        count = pd.Series(1.0, index=points_df.index)
    if use_recency:
        as_of = as_of or dt.date.today()
        if "reported_on" in points_df.columns:
            dates = pd.to_datetime(points_df["reported_on"], errors="coerce")
            age = (pd.Timestamp(as_of) - dates).dt.days.astype(float).clip(lower=0)
            recency = np.exp(-math.log(2.0) * age / model.recency.half_life_days)
            recency = recency.fillna(model.recency.undated_factor)
        else:
            recency = pd.Series(model.recency.undated_factor, index=points_df.index)
    else:
        recency = pd.Series(1.0, index=points_df.index)
    return (cat_weight * severity * recency * count).astype(float)


def combine_scores(
    base: pd.DataFrame, multipliers: pd.DataFrame, weights: Mapping[str, float]
) -> pd.DataFrame:
    """Combine category base scores with context multipliers, with an exact decomposition.

    ``risk_score = base x prod_f m_f ** w_f``. With ``L_f = w_f ln m_f`` and ``L = sum_f L_f``
    the uplift ``base x (e**L - 1)`` is shared as ``ctx_f = base x (e**L - 1) x L_f / L``
    (``base x L_f`` when ``L = 0``), so categories and factors add up to the score.

    Parameters
    ----------
    base : pandas.DataFrame
        Areas x categories: each category's base score.
    multipliers : pandas.DataFrame
        Areas x factors (same index): band multipliers, 1 where a factor does not apply.
    weights : mapping of str to float
        Factor weights (exponents).

    Returns
    -------
    pandas.DataFrame
        ``risk_score``, ``base_score``, ``cat_<key>`` and ``ctx_<key>`` columns.

    Examples
    --------
    >>> import pandas as pd
    >>> out = combine_scores(pd.DataFrame({"drugs": [10.0]}), pd.DataFrame({"border": [1.5]}),
    ...                      {"border": 1.0})
    >>> float(out.loc[0, "risk_score"]), float(out.loc[0, "ctx_border"])
    (15.0, 5.0)
    """
    # In numpy (pandas' row sums and frame products cost 0.1 s at 500,000 H3 cells); NaN
    # counts as 0 in the sums, as in ``DataFrame.sum``.
    values = base.to_numpy(dtype=float)  # a view when ``base`` is one float block
    base_total = np.nansum(values, axis=1) if np.isnan(values).any() else values.sum(axis=1)
    logs = [float(weights.get(k, 1.0)) * np.log(multipliers[k].to_numpy(dtype=float))
            for k in multipliers.columns]
    total_log = np.zeros(len(base))
    for log in logs:
        total_log += np.where(np.isnan(log), 0.0, log)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total_log == 0.0, 1.0, np.expm1(total_log) / total_log)
    share = base_total * ratio
    data: dict[str, np.ndarray] = {
        "base_score": base_total,
        "risk_score": base_total + base_total * np.expm1(total_log),
    }
    for j, column in enumerate(base.columns):
        data[f"cat_{column}"] = values[:, j]
    for column, log in zip(multipliers.columns, logs, strict=True):
        data[f"ctx_{column}"] = log * share
    return pd.DataFrame(data, index=base.index, copy=False)
