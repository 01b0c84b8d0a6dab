-- Insert or update a district; unchanged rows are not rewritten.
INSERT INTO districts AS t (code, province_code, name_th, name_en, area_km2, geom, rep_point)
SELECT :code, :province, :name_th, :name_en, ST_Area(g::geography) / 1e6, g, ST_PointOnSurface(g)
FROM (SELECT ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)) AS g) AS src
ON CONFLICT (code) DO UPDATE
SET province_code = EXCLUDED.province_code, name_th = EXCLUDED.name_th,
    name_en = EXCLUDED.name_en, area_km2 = EXCLUDED.area_km2,
    geom = EXCLUDED.geom, rep_point = EXCLUDED.rep_point
WHERE (t.province_code, t.name_th, t.name_en)
      IS DISTINCT FROM (EXCLUDED.province_code, EXCLUDED.name_th, EXCLUDED.name_en)
   OR NOT ST_Equals(t.geom, EXCLUDED.geom)
