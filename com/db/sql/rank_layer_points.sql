-- Base score of every area of a layer (villages or a custom polygon layer, issue 16): the
-- filtered risk points joined to the layer's polygons (point in polygon, GiST on the areas).
-- Areas of a layer may overlap (custom layers) or share edges: a point counts once, in the
-- area of the lowest code that covers it. One row per (area code, category).
WITH p AS (
{weighted_points}
), hit AS (
    SELECT DISTINCT ON (p.id) a.code, p.category, p.incident_count, p.weight
    FROM p
    JOIN area_features a
      ON a.layer = CAST(:layer AS text) AND ST_Covers(a.geom, p.geom)
    ORDER BY p.id, a.code
)
SELECT hit.code,
       hit.category,
       count(*) AS points,
       CAST(sum(hit.incident_count) AS bigint) AS incidents,
       sum(hit.weight) AS base
FROM hit
GROUP BY 1, 2
