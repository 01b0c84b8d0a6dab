-- Give risk points without a subdistrict code the containing (or nearest within 1 km) one.
WITH hit AS (
    SELECT r.id,
           COALESCE(
               (SELECT p.subdistrict_code FROM subdistrict_parts p
                WHERE ST_Contains(p.geom, r.geom) LIMIT 1),
               (SELECT s.code FROM subdistricts s
                WHERE ST_DWithin(s.geom::geography, r.geom::geography, 1000)
                ORDER BY s.geom <-> r.geom LIMIT 1)
           ) AS code
    FROM risk_points r
    WHERE r.subdistrict_code IS NULL
)
UPDATE risk_points r
SET subdistrict_code = s.code, district_code = s.district_code, province_code = s.province_code
FROM hit JOIN subdistricts s ON s.code = hit.code
WHERE r.id = hit.id
