-- The heaviest points of one area (its explanation): weight as in the ranking.
WITH p AS (
{weighted_points}
)
SELECT p.id, p.name, p.category, p.severity, p.incident_count, p.reported_on,
       p.subdistrict_code, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.weight
FROM p
ORDER BY p.weight DESC, p.id
LIMIT :top
