-- Base score per distinct location and category, for H3 levels: PostgreSQL has no H3 here, so
-- com.analysis.risk computes the cell of each distinct coordinate in Python (h3.api.basic_int) and sums
-- these rows by cell. Grouping on the coordinates first means h3 is called once per location,
-- not once per point.
WITH p AS (
{weighted_points}
)
SELECT ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.category,
       count(*) AS points, sum(p.incident_count) AS incidents, sum(p.weight) AS base
FROM p
GROUP BY 1, 2, 3
