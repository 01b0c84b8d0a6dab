"""Provincial KPIs: target lists (บัญชีเป้าหมาย), year-on-year change, significance, projects, PAI.

The national targets (``[kpi]`` in ``com/config/severity.toml``): projects reach at least 80% of the
declared target areas; threats in the target areas fall by at least 10% a fiscal year, and by
80% in all by fiscal year 2570. Thai fiscal years run from 1 October to 30 September and are
written in the Buddhist era (FY 2568 = 1 October 2024 - 30 September 2025).

With a few incidents per area a "-10%" is usually noise, so every comparison carries an exact
test (the conditional binomial test of two Poisson counts) and the weighted displacement
difference against a ring around the target areas, and says in words when a change is not
statistically significant.
"""

from com.analysis.kpi.projects import (
    PROJECT_FIELDS,
    build_project,
    project_coverage,
    store_projects,
)
from com.analysis.kpi.regional import region_kpi_report
from com.analysis.kpi.report import kpi_report
from com.analysis.kpi.statistics import (
    binomial_change_test,
    predictive_accuracy_index,
    reduction_path,
    weighted_displacement_difference,
)
from com.analysis.kpi.targets import (
    FISCAL_YEAR_BE_MAX,
    FISCAL_YEAR_BE_MIN,
    TARGET_LEVELS,
    declare_targets,
    get_target_list,
    list_target_lists,
)

__all__ = [
    "FISCAL_YEAR_BE_MAX",
    "FISCAL_YEAR_BE_MIN",
    "PROJECT_FIELDS",
    "TARGET_LEVELS",
    "binomial_change_test",
    "build_project",
    "declare_targets",
    "get_target_list",
    "kpi_report",
    "region_kpi_report",
    "list_target_lists",
    "predictive_accuracy_index",
    "project_coverage",
    "reduction_path",
    "store_projects",
    "weighted_displacement_difference",
]
