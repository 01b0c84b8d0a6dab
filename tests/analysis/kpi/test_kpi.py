"""KPI arithmetic on hand-made examples: fiscal years, tests, path to 2570, coverage, PAI."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy.stats import binomtest

from com.analysis import kpi
from com.analysis.kpi.projects import _parse_fy_value
from com.errors import ParseError, ValidationError
from com.text.thai import fiscal_year_be, fiscal_year_bounds


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (dt.date(2024, 9, 30), 2567),
        (dt.date(2024, 10, 1), 2568),
        (dt.date(2025, 9, 30), 2568),
        (dt.date(2025, 10, 1), 2569),
        (dt.date(2025, 1, 1), 2568),
    ],
)
def test_fiscal_year_boundaries(day, fy):
    assert fiscal_year_be(day) == fy


def test_fiscal_year_bounds_of_2568():
    assert fiscal_year_bounds(2568) == (dt.date(2024, 10, 1), dt.date(2025, 9, 30))
    with pytest.raises(ParseError):
        fiscal_year_bounds(2025)


def test_ten_to_nine_is_not_significant_and_says_so():
    result = kpi.binomial_change_test(9, 10)
    assert result["p_value"] == pytest.approx(1.0)
    assert result["significant"] is False
    assert result["rate_change_pct"] == pytest.approx(-10.0)
    assert result["summary"] == "ไม่มีนัยสำคัญทางสถิติ — likely noise"
    assert "ไม่มีนัยสำคัญทางสถิติ" in result["text_th"]
    assert "likely noise" in result["text_en"]


def test_a_large_drop_is_significant():
    result = kpi.binomial_change_test(10, 40)
    assert result["p_value"] == pytest.approx(binomtest(10, 50, 0.5).pvalue)
    assert result["significant"] and result["direction"] == "decrease"
    assert result["text_th"].startswith("ลดลง 75.0%")


def test_exposure_of_a_leap_year_is_used():
    # 366 days in FY 2567 against 365 in FY 2568: the null share is 365/731.
    result = kpi.binomial_change_test(30, 30, days_this=365, days_previous=366)
    assert result["p_value"] == pytest.approx(binomtest(30, 60, 365 / 731).pvalue)


def test_weighted_displacement_difference_by_hand():
    result = kpi.weighted_displacement_difference(40, 20, 10, 16)
    assert result["wdd"] == -14.0
    assert result["variance"] == 86.0
    assert result["z"] == pytest.approx(-14 / math.sqrt(86))
    assert result["possible_displacement"] is True
    quiet = kpi.weighted_displacement_difference(10, 9, 2, 2)
    assert not quiet["significant"] and "likely noise" in quiet["text_en"]


def test_path_to_2570_by_hand():
    path = kpi.reduction_path(baseline_fy=2566, baseline_value=100, fiscal_year_be=2568,
                              actual_value=50)
    rate = 1 - 0.2 ** (1 / 4)  # four years from 2566 to 2570
    assert path["required_annual_reduction"] == pytest.approx(rate)
    assert path["required_level"] == pytest.approx(100 * (1 - rate) ** 2)  # 44.72
    assert path["achieved_cumulative_reduction"] == pytest.approx(0.5)
    assert path["on_track"] is False
    assert path["annual_reduction_still_needed"] == pytest.approx(1 - (20 / 50) ** 0.5)
    assert path["annual_target_alone_reaches"] == pytest.approx(1 - 0.9 ** 4)
    with pytest.raises(ValidationError):
        kpi.reduction_path(baseline_fy=2570, baseline_value=1, fiscal_year_be=2570,
                           actual_value=1)


def test_project_coverage_eighty_percent_by_hand():
    targets = ["320605", "320601", "320111", "320701"]
    projects = ["320605", "320605", "320601", "320111", "321001"]  # 4 of 5 in targets
    result = kpi.project_coverage(projects, targets)
    assert result["share_in_targets"] == pytest.approx(0.8)
    assert result["passed_share_in_targets"] is True
    assert result["targets_reached"] == 3
    assert result["share_targets_reached"] == pytest.approx(0.75)
    assert result["passed_targets_reached"] is False
    fewer = kpi.project_coverage(projects[1:] + ["330101"], targets)
    assert fewer["share_in_targets"] == pytest.approx(0.6)
    assert fewer["passed_share_in_targets"] is False


def test_project_coverage_at_district_level_and_coarse_codes():
    result = kpi.project_coverage(["320605", "3206", None, "320111"], ["3206"], level="district")
    assert result["in_targets"] == 2
    assert result["too_coarse"] == 1


def test_predictive_accuracy_index_by_hand():
    # 30 of 100 incidents in areas covering 10 of 200 km2: (0.3) / (0.05) = 6.
    assert kpi.predictive_accuracy_index(30, 100, 10, 200) == pytest.approx(6.0)
    assert kpi.predictive_accuracy_index(0, 0, 10, 200) is None


@pytest.mark.parametrize("value", ["2568", "FY2568", "ปีงบประมาณ ๒๕๖๘", 2568, 2568.0])
def test_project_fiscal_year_forms(value):
    assert _parse_fy_value(value, "fy") == 2568


def test_common_era_fiscal_year_is_explained():
    with pytest.raises(ValidationError, match="Buddhist-era"):
        _parse_fy_value("2025", "row 3: fiscal_year_be")
