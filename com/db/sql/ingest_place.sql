-- Subdistrict of each staged point with coordinates, in one pass: the containing subdivided
-- part, else the nearest subdistrict within :max_m metres (simplified boundaries leave slivers
-- along rivers and the border); the same rule as reverse_geocode.sql. :max_deg is a degree
-- pre-filter at least as wide as :max_m so the geometry GiST index does the search.
WITH hit AS (
    SELECT s.row_number, COALESCE(inside.code, near.code) AS code,
           CASE WHEN inside.code IS NULL THEN near.dist END AS nearest_m
    FROM ingest_stage s
    LEFT JOIN LATERAL (
        SELECT p.subdistrict_code AS code FROM subdistrict_parts p
        WHERE ST_Contains(p.geom, s.geom) LIMIT 1
    ) inside ON true
    LEFT JOIN LATERAL (
        SELECT d.code, ST_Distance(d.geom::geography, s.geom::geography) AS dist
        FROM subdistricts d
        WHERE inside.code IS NULL
          AND ST_DWithin(d.geom, s.geom, :max_deg)
          AND ST_DWithin(d.geom::geography, s.geom::geography, :max_m)
        ORDER BY d.geom <-> s.geom
        LIMIT 1
    ) near ON true
    WHERE s.status = 'pending' AND s.target = 'main' AND s.quality = 'coordinates'
)
UPDATE ingest_stage s
SET subdistrict_code = hit.code, district_code = d.district_code,
    province_code = d.province_code, nearest_m = hit.nearest_m
FROM hit
JOIN subdistricts d ON d.code = hit.code
WHERE s.row_number = hit.row_number
