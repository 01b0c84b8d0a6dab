-- Cut subdistricts that have no parts yet into pieces of at most 64 vertices.
INSERT INTO subdistrict_parts (subdistrict_code, geom)
SELECT s.code, ST_Subdivide(s.geom, 64)
FROM subdistricts s
WHERE NOT EXISTS (SELECT 1 FROM subdistrict_parts p WHERE p.subdistrict_code = s.code)
