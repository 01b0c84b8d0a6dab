-- Base score of every area of a level: one pass over the filtered risk points grouped on the
-- area codes stored at ingest (no point-in-polygon at query time; see PERFORMANCE_NOTES).
-- One row per (area code, category); com.analysis.risk pivots the categories into columns.
WITH p AS (
{weighted_points}
)
SELECT CASE CAST(:level AS text)
           WHEN 'subdistrict' THEN p.subdistrict_code
           WHEN 'district' THEN p.district_code
           ELSE p.province_code
       END AS code,
       p.category,
       count(*) AS points,
       CAST(sum(p.incident_count) AS bigint) AS incidents,
       sum(p.weight) AS base
FROM p
GROUP BY 1, 2
