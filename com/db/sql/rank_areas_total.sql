-- Base score of every area of a level from the all-time rollup (migration 0008_rollup): one row
-- per (area, category) instead of every point, for rankings without a date or severity filter
-- whose :as_of is on or after every row's anchor (com.analysis.risk.rollup checks). The decayed
-- sum is relative to the row's anchor date; undated points weigh :undated_factor.
SELECT CASE CAST(:level AS text)
           WHEN 'subdistrict' THEN r.subdistrict_code
           WHEN 'district' THEN r.district_code
           ELSE r.province_code
       END AS code,
       r.category,
       CAST(sum(r.points) AS bigint) AS points,
       CAST(sum(r.incidents) AS bigint) AS incidents,
       sum(COALESCE(cw.weight, CAST(:unknown_weight AS float8)) * CASE
           WHEN NOT CAST(:use_recency AS boolean) THEN r.dated_plain + r.undated_plain
           ELSE r.undated_plain * CAST(:undated_factor AS float8)
                + COALESCE(r.decayed * power(2.0, -(CAST(:as_of AS date) - r.anchor)
                                                  / CAST(:half_life_days AS float8)), 0)
       END) AS base
FROM risk_rollup_total r
LEFT JOIN unnest(CAST(:cat_keys AS text[]), CAST(:cat_weights AS float8[])) AS cw(key, weight)
       ON cw.key = r.category
WHERE (CAST(:provinces AS text[]) IS NULL OR r.province_code = ANY(CAST(:provinces AS text[])))
  AND (CAST(:district AS text) IS NULL OR r.district_code = CAST(:district AS text))
  AND (CAST(:subdistrict AS text) IS NULL OR r.subdistrict_code = CAST(:subdistrict AS text))
  AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
GROUP BY 1, 2
