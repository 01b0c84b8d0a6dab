"""The upload kind ``projects`` (issue 4): project lists uploaded and placed like risk points.

:mod:`com.ingest.kinds` names this module as the provider of the kind: it is imported on the
first lookup of ``projects``, so the ingest package never imports the KPI package.
"""

from __future__ import annotations

from com.analysis.kpi.projects import PROJECT_FIELDS, build_project
from com.ingest.kinds import Kind, register_kind

__all__ = ["PROJECTS"]

PROJECTS = Kind(
    name="projects",
    table="projects",
    columns=("name", "fiscal_year_be", "attributes"),
    build=build_project,
    extra_fields=PROJECT_FIELDS,
    dedupe_column="project_key",  # generated: name | fiscal year (com/db/tables_risk.py)
    has_district=True,
)
register_kind(PROJECTS)
