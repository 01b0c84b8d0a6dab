-- Insert or update a subdistrict; unchanged rows are not rewritten. A changed geometry drops
-- its subdivided parts so that rebuild_subdistrict_parts.sql recreates them.
WITH src AS (
    SELECT ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)) AS g
), up AS (
    INSERT INTO subdistricts AS t
        (code, district_code, province_code, name_th, name_en, area_km2, geom, rep_point)
    SELECT :code, :parent, :province, :name_th, :name_en, ST_Area(g::geography) / 1e6, g,
           ST_PointOnSurface(g)
    FROM src
    ON CONFLICT (code) DO UPDATE
    SET district_code = EXCLUDED.district_code, province_code = EXCLUDED.province_code,
        name_th = EXCLUDED.name_th, name_en = EXCLUDED.name_en, area_km2 = EXCLUDED.area_km2,
        geom = EXCLUDED.geom, rep_point = EXCLUDED.rep_point
    WHERE (t.district_code, t.province_code, t.name_th, t.name_en)
          IS DISTINCT FROM (EXCLUDED.district_code, EXCLUDED.province_code,
                            EXCLUDED.name_th, EXCLUDED.name_en)
       OR NOT ST_Equals(t.geom, EXCLUDED.geom)
    RETURNING t.code
)
DELETE FROM subdistrict_parts p USING up WHERE p.subdistrict_code = up.code
