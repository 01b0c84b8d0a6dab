-- Base score of every area of a level from the rollup (migration 0008_rollup), the same figures
-- as rank_areas_points.sql without reading every point: whole months come from risk_rollup,
-- multiplied by the query's recency factor; the few months a rollup cannot answer (the month
-- of a date filter's first or last day when it does not start or end a month, the month of
-- :as_of) come from the points themselves (:x1_from/:x1_to ... :x3_from/:x3_to, end exclusive).
-- com.analysis.risk.rollup decides which months are whole. One row per (area code, category).
WITH parts AS (
    SELECT CASE CAST(:level AS text)
               WHEN 'subdistrict' THEN r.subdistrict_code
               WHEN 'district' THEN r.district_code
               ELSE r.province_code
           END AS code,
           r.category, r.points, r.incidents,
           CASE
               WHEN NOT CAST(:use_recency AS boolean) THEN r.plain
               WHEN r.month IS NULL THEN r.plain * CAST(:undated_factor AS float8)
               WHEN r.month > CAST(:as_of AS date) THEN r.plain
               ELSE r.decayed * power(2.0, -(CAST(:as_of AS date) - r.month)
                                           / CAST(:half_life_days AS float8))
           END AS score
    FROM risk_rollup r
    WHERE (CAST(:provinces AS text[]) IS NULL OR r.province_code = ANY(CAST(:provinces AS text[])))
      AND (CAST(:district AS text) IS NULL OR r.district_code = CAST(:district AS text))
      AND (CAST(:subdistrict AS text) IS NULL OR r.subdistrict_code = CAST(:subdistrict AS text))
      AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
      AND (CAST(:min_severity AS integer) IS NULL OR r.severity >= CAST(:min_severity AS integer))
      AND CASE
              WHEN r.month IS NULL THEN CAST(:date_from AS date) IS NULL
                                        AND CAST(:date_to AS date) IS NULL
              ELSE (CAST(:full_from AS date) IS NULL OR r.month >= CAST(:full_from AS date))
                   AND (CAST(:full_to AS date) IS NULL OR r.month <= CAST(:full_to AS date))
                   AND NOT r.month = ANY(CAST(:exact_months AS date[]))
          END
    UNION ALL
    SELECT CASE CAST(:level AS text)
               WHEN 'subdistrict' THEN p.subdistrict_code
               WHEN 'district' THEN p.district_code
               ELSE p.province_code
           END,
           p.category, 1, p.incident_count,
           p.severity * p.incident_count::float8 *
           CASE
               WHEN NOT CAST(:use_recency AS boolean) THEN 1.0
               ELSE power(2.0, -GREATEST(CAST(:as_of AS date) - p.reported_on, 0)
                               / CAST(:half_life_days AS float8))
           END
    FROM risk_points p
    WHERE ((p.reported_on >= CAST(:x1_from AS date) AND p.reported_on < CAST(:x1_to AS date))
        OR (p.reported_on >= CAST(:x2_from AS date) AND p.reported_on < CAST(:x2_to AS date))
        OR (p.reported_on >= CAST(:x3_from AS date) AND p.reported_on < CAST(:x3_to AS date)))
      AND (CAST(:date_from AS date) IS NULL OR p.reported_on >= CAST(:date_from AS date))
      AND (CAST(:date_to AS date) IS NULL OR p.reported_on <= CAST(:date_to AS date))
      AND (CAST(:provinces AS text[]) IS NULL OR p.province_code = ANY(CAST(:provinces AS text[])))
      AND (CAST(:district AS text) IS NULL OR p.district_code = CAST(:district AS text))
      AND (CAST(:subdistrict AS text) IS NULL OR p.subdistrict_code = CAST(:subdistrict AS text))
      AND (CAST(:categories AS text[]) IS NULL OR p.category = ANY(CAST(:categories AS text[])))
      AND (CAST(:min_severity AS integer) IS NULL OR p.severity >= CAST(:min_severity AS integer))
)
SELECT parts.code, parts.category,
       CAST(sum(parts.points) AS bigint) AS points,
       CAST(sum(parts.incidents) AS bigint) AS incidents,
       sum(parts.score * COALESCE(cw.weight, CAST(:unknown_weight AS float8))) AS base
FROM parts
LEFT JOIN unnest(CAST(:cat_keys AS text[]), CAST(:cat_weights AS float8[])) AS cw(key, weight)
       ON cw.key = parts.category
GROUP BY 1, 2
