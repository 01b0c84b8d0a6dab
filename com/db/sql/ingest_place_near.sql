-- Staged points with coordinates that no subdistrict part holds (com.ingest.placing found
-- the others in memory: "placed"): the nearest subdistrict within :max_m metres, the rule of
-- ingest_place.sql and reverse_geocode.sql for the slivers the simplified boundaries leave
-- along rivers, the coast and the border. :max_deg is a degree pre-filter at least as wide as
-- :max_m so the geometry GiST index of subdistricts does the near search. These are few
-- points: each probes the index itself.
WITH hit AS (
    SELECT s.row_number, near.code, near.dist AS nearest_m
    FROM ingest_stage s
    CROSS JOIN LATERAL (
        SELECT d.code, ST_Distance(d.geom::geography, s.geom::geography) AS dist
        FROM subdistricts d
        WHERE ST_DWithin(d.geom, s.geom, :max_deg)
          AND ST_DWithin(d.geom::geography, s.geom::geography, :max_m)
        ORDER BY d.geom <-> s.geom
        LIMIT 1
    ) near
    WHERE s.status = 'pending' AND s.target = 'main' AND s.quality = 'coordinates'
      AND NOT s.placed
)
UPDATE ingest_stage s
SET subdistrict_code = hit.code, district_code = d.district_code,
    province_code = d.province_code, nearest_m = hit.nearest_m
FROM hit
JOIN subdistricts d ON d.code = hit.code
WHERE s.row_number = hit.row_number
