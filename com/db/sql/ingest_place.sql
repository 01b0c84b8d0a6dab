-- Reference only since 0016_ingest_set: uploads find the containing part in memory
-- (com.ingest.placing) and run ingest_place_near.sql for the points in no part; this is the
-- all-SQL form of the same rule, which tests/ingest/test_ingest_set.py compares them with.
-- Subdistrict of each staged point with coordinates, set-based: the containing subdivided
-- part, else the nearest subdistrict within :max_m metres (simplified boundaries leave slivers
-- along rivers and the border); the same rule as reverse_geocode.sql.
-- The containment join runs polygon by polygon: for each of the ~7,000 subdivided parts the
-- GiST index of the staged points (created with the stage) finds the points in its box, and
-- PostGIS tests them against the part prepared once. Point by point (a GiST probe of
-- subdistrict_parts per point) took 5x longer for 100,000 points. :max_deg is a degree
-- pre-filter at least as wide as :max_m so the geometry GiST index does the near search.
WITH inside AS (
    SELECT DISTINCT ON (x.row_number) x.row_number, p.subdistrict_code AS code
    FROM subdistrict_parts p
    CROSS JOIN LATERAL (
        SELECT s.row_number FROM ingest_stage s
        WHERE s.geom && p.geom AND ST_Contains(p.geom, s.geom)
          AND s.status = 'pending' AND s.target = 'main' AND s.quality = 'coordinates'
    ) x
    ORDER BY x.row_number, p.subdistrict_code
), hit AS (
    SELECT s.row_number, COALESCE(i.code, near.code) AS code,
           CASE WHEN i.code IS NULL THEN near.dist END AS nearest_m
    FROM ingest_stage s
    LEFT JOIN inside i ON i.row_number = s.row_number
    LEFT JOIN LATERAL (
        SELECT d.code, ST_Distance(d.geom::geography, s.geom::geography) AS dist
        FROM subdistricts d
        WHERE i.code IS NULL
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
