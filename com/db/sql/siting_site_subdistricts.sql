-- Subdistrict of each CCTV site, in input order (:lons and :lats are arrays of equal length):
-- the containing subdistrict (indexed ST_Contains on the subdivided parts), else the nearest
-- within 1 km, the same rule as reverse_geocode.sql.
WITH pt AS (
    SELECT u.i, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS g
    FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS u(lon, lat, i)
),
hit AS (
    SELECT pt.i,
           COALESCE(
               (SELECT p.subdistrict_code FROM subdistrict_parts p
                WHERE ST_Contains(p.geom, pt.g) LIMIT 1),
               (SELECT s.code FROM subdistricts s
                WHERE ST_DWithin(s.geom::geography, pt.g::geography, 1000)
                ORDER BY s.geom <-> pt.g LIMIT 1)
           ) AS code
    FROM pt
)
SELECT hit.i, hit.code, s.name_th, s.district_code
FROM hit
LEFT JOIN subdistricts s ON s.code = hit.code
ORDER BY hit.i
