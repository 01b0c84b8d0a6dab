-- Insert or update a province; unchanged rows are not rewritten (so reloading changes nothing).
INSERT INTO provinces AS t (code, name_th, name_en, area_km2, geom, rep_point)
SELECT :code, :name_th, :name_en, ST_Area(g::geography) / 1e6, g, ST_PointOnSurface(g)
FROM (SELECT ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)) AS g) AS src
ON CONFLICT (code) DO UPDATE
SET name_th = EXCLUDED.name_th, name_en = EXCLUDED.name_en, area_km2 = EXCLUDED.area_km2,
    geom = EXCLUDED.geom, rep_point = EXCLUDED.rep_point
WHERE (t.name_th, t.name_en) IS DISTINCT FROM (EXCLUDED.name_th, EXCLUDED.name_en)
   OR NOT ST_Equals(t.geom, EXCLUDED.geom)
