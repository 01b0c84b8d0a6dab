-- Base score per stored H3 cell (risk_points.h3_<:resolution>, 0010_h3cells) and category:
-- the same weights and filters as every ranking (rank_weighted_points.sql), grouped here.
-- :resolution is one of the stored resolutions (com.geo.h3.STORED_RESOLUTIONS).
WITH p AS (
{weighted_points}
)
SELECT CASE CAST(:resolution AS integer)
           WHEN 6 THEN p.h3_6 WHEN 7 THEN p.h3_7 WHEN 8 THEN p.h3_8 WHEN 9 THEN p.h3_9
       END AS code,
       p.category, count(*) AS points, sum(p.incident_count) AS incidents, sum(p.weight) AS base
FROM p
GROUP BY 1, 2
