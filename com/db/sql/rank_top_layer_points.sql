-- The heaviest points of one area of a layer (villages, layer:NAME; issue 16): the points its
-- polygon covers, weight as in the ranking.
WITH p AS (
{weighted_points}
)
SELECT p.id, p.name, p.category, p.severity, p.incident_count, p.reported_on,
       p.subdistrict_code, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.weight
FROM p
JOIN area_features a
  ON a.layer = CAST(:layer AS text) AND a.code = CAST(:area AS text) AND ST_Covers(a.geom, p.geom)
ORDER BY p.weight DESC, p.id
LIMIT :top
