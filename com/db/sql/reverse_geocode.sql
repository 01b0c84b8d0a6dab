-- Subdistrict, district and province of a point: the containing subdistrict (indexed
-- ST_Contains on the subdivided parts), else the nearest one within :max_m metres
-- (simplified boundaries leave slivers along rivers and the coast).
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
inside AS (
    SELECT p.subdistrict_code AS code, 'inside' AS match, 0.0 AS distance_m
    FROM subdistrict_parts p, pt
    WHERE ST_Contains(p.geom, pt.g)
    LIMIT 1
),
nearest AS (
    SELECT s.code, 'nearest' AS match, ST_Distance(s.geom::geography, pt.g::geography) AS distance_m
    FROM subdistricts s, pt
    WHERE NOT EXISTS (SELECT 1 FROM inside)
      AND ST_DWithin(s.geom::geography, pt.g::geography, :max_m)
    ORDER BY s.geom <-> pt.g
    LIMIT 1
),
hit AS (SELECT * FROM inside UNION ALL SELECT * FROM nearest)
SELECT s.code AS subdistrict_code, s.name_th AS subdistrict_th, s.name_en AS subdistrict_en,
       d.code AS district_code, d.name_th AS district_th, d.name_en AS district_en,
       p.code AS province_code, p.name_th AS province_th, p.name_en AS province_en,
       hit.match, round(hit.distance_m::numeric, 1)::float AS distance_m
FROM hit
JOIN subdistricts s ON s.code = hit.code
JOIN districts d ON d.code = s.district_code
JOIN provinces p ON p.code = s.province_code
