-- Risk points passing the ranking filters, each with its weight
--     category weight x severity x recency x incident count
-- (the same formula as com.analysis.risk.point_weights). Category weights arrive as two parallel arrays
-- (:cat_keys, :cat_weights); a category not in them gets :unknown_weight. Recency decays
-- exponentially with the age in days before :as_of (exp(-ln 2 x age / half-life)); future
-- dates count as age 0; undated points get :undated_factor; :use_recency = false gives 1.
-- A NULL filter parameter means "no filter". Included by the rank_*.sql statements.
SELECT r.id, r.name, r.category, r.severity, r.incident_count, r.reported_on,
       r.subdistrict_code, r.district_code, r.province_code, r.geom,
       r.h3_6, r.h3_7, r.h3_8, r.h3_9,
       COALESCE(cw.weight, CAST(:unknown_weight AS float8)) * r.severity * r.incident_count *
       CASE
           WHEN NOT CAST(:use_recency AS boolean) THEN 1.0
           WHEN r.reported_on IS NULL THEN CAST(:undated_factor AS float8)
           ELSE exp(-ln(2.0) * GREATEST(CAST(:as_of AS date) - r.reported_on, 0)
                    / CAST(:half_life_days AS float8))
       END AS weight
FROM risk_points r
LEFT JOIN unnest(CAST(:cat_keys AS text[]), CAST(:cat_weights AS float8[])) AS cw(key, weight)
       ON cw.key = r.category
WHERE (CAST(:provinces AS text[]) IS NULL OR r.province_code = ANY(CAST(:provinces AS text[])))
  AND (CAST(:district AS text) IS NULL OR r.district_code = CAST(:district AS text))
  -- The district's province too: risk_points has no index of its own on district_code
  -- (0021_points_district_index), the one on province_code then narrows the rows.
  AND (CAST(:district AS text) IS NULL OR r.province_code = (
          SELECT d.province_code FROM districts d WHERE d.code = CAST(:district AS text)))
  AND (CAST(:subdistrict AS text) IS NULL OR r.subdistrict_code = CAST(:subdistrict AS text))
  AND (CAST(:date_from AS date) IS NULL OR r.reported_on >= CAST(:date_from AS date))
  AND (CAST(:date_to AS date) IS NULL OR r.reported_on <= CAST(:date_to AS date))
  AND (CAST(:categories AS text[]) IS NULL OR r.category = ANY(CAST(:categories AS text[])))
  AND (CAST(:min_severity AS integer) IS NULL OR r.severity >= CAST(:min_severity AS integer))
  AND (CAST(:bbox AS float8[]) IS NULL OR r.geom && ST_MakeEnvelope(
          (CAST(:bbox AS float8[]))[1], (CAST(:bbox AS float8[]))[2],
          (CAST(:bbox AS float8[]))[3], (CAST(:bbox AS float8[]))[4], 4326))
