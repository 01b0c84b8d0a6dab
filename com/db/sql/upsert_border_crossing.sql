-- Insert or update a border crossing, keyed by its English name.
INSERT INTO border_crossings AS t (name_en, name_th, kind, country, properties, geom)
VALUES (:name_en, :name_th, :kind, :country, CAST(:props AS jsonb),
        ST_GeomFromWKB(decode(:wkb, 'hex'), 4326))
ON CONFLICT (name_en) DO UPDATE
SET name_th = EXCLUDED.name_th, kind = EXCLUDED.kind, country = EXCLUDED.country,
    properties = EXCLUDED.properties, geom = EXCLUDED.geom
WHERE (t.name_th, t.kind, t.country, t.properties)
      IS DISTINCT FROM (EXCLUDED.name_th, EXCLUDED.kind, EXCLUDED.country, EXCLUDED.properties)
   OR NOT ST_Equals(t.geom, EXCLUDED.geom)
