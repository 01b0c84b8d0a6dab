"""The one severity model: override merge, category spelling rule and the sensitive set."""

from __future__ import annotations

import pytest

from com.config.severity import (
    CategoryMatcher,
    category_key,
    load_severity_model,
    match_category,
    normalise_category,
    sensitive_categories,
)
from com.ogc.collections import builtin_collections, load_categories
from com.ogc.cql2 import cql2_condition, parse_cql2
from com.ogc.query import parse_item_query
from com.ogc.sources import SourceContext

# Spellings the upload accepts without typo correction: key, Thai and English names, aliases,
# case, spaces, punctuation and a bracketed note.
EXACT_SPELLINGS = [
    ("ยาเสพติด", "drugs"),
    ("Drugs", "drugs"),
    (" DRUGS ", "drugs"),
    ("ค้ายา", "drugs"),
    ("narcotics", "drugs"),
    ("ยาเสพติด (ค้ารายย่อย)", "drugs"),
    ("Illegal-Entry", "illegal_entry"),
    ("หลบหนี เข้าเมือง", "illegal_entry"),
    ("ไม่ระบุประเภท", "unknown"),
]


def _risk_points():
    return next(c for c in builtin_collections() if c.id == "risk-points")


def _bound_values(condition) -> list:
    return list(condition.compile().params.values())


@pytest.mark.parametrize(("spelling", "key"), EXACT_SPELLINGS)
def test_upload_and_both_filters_read_a_spelling_as_the_same_category(spelling, key):
    model = load_severity_model()
    upload_key, warning = CategoryMatcher.from_model(model).match(spelling)
    assert (upload_key, warning) == (key, None)
    assert category_key(spelling, model) == key

    categories = load_categories()
    collection = _risk_points()
    query = parse_item_query(collection, [("category", spelling)], categories=categories)
    ((_, values),) = query.properties
    assert values == (key,)

    source = collection.build(SourceContext(coarsen=False, sensitive=(), categories=categories))
    escaped = spelling.replace("'", "''")
    condition = cql2_condition(parse_cql2(f"category = '{escaped}'"), collection, source,
                               categories)
    assert _bound_values(condition) == [key]


def test_typo_correction_is_the_uploads_option_and_is_reported():
    model = load_severity_model()
    key, warning = CategoryMatcher.from_model(model).match("ยาเสพติค")
    assert key == "drugs" and "read as" in warning
    key, warning = CategoryMatcher.from_model(model, fuzzy=False).match("ยาเสพติค")
    assert key == "unknown" and "not in the category list" in warning
    # Filters never guess: a misspelling passes through and matches nothing.
    query = parse_item_query(_risk_points(), [("category", "ยาเสพติค")],
                             categories=load_categories())
    assert query.properties[0][1] == ("ยาเสพติค",)
    assert category_key("ยาเสพติค", model) == "unknown"


def test_normalisation_folds_case_space_punctuation_and_thai_digits():
    assert normalise_category(" Illegal-Entry ") == "illegalentry"
    assert normalise_category("เขต ๑") == normalise_category("เขต1") == "เขต1"
    assert match_category(None, {"x": "x"}) is None


def test_override_merges_key_by_key_for_every_reader(tmp_path):
    path = tmp_path / "province.toml"
    path.write_text("[categories.drugs]\nweight = 3.0\n", encoding="utf-8")
    model = load_severity_model(path)
    assert model.categories["drugs"].weight == 3.0
    # The names and aliases survive the one-key override, so the upload still reads them.
    assert model.categories["drugs"].th == "ยาเสพติด"
    assert CategoryMatcher.from_model(model).match("ค้ายา") == ("drugs", None)
    assert load_categories(path)["drugs"].aliases == model.categories["drugs"].aliases


def test_sensitive_set_is_one_frozenset_including_a_sensitive_unknown(tmp_path):
    assert sensitive_categories() == frozenset({"drugs"})
    path = tmp_path / "province.toml"
    path.write_text("[unknown_category]\nsensitive = true\n"
                    "[categories.flood]\nsensitive = true\n", encoding="utf-8")
    expected = frozenset({"drugs", "flood", "unknown"})
    assert sensitive_categories(path) == expected
    assert sensitive_categories(str(path)) == expected
    assert sensitive_categories(load_severity_model(path)) == expected
