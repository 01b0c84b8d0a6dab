-- Insert or update one context feature (land border, river, patrol zone, ...).
INSERT INTO context_layers AS t (layer, feature_key, name, properties, geom)
VALUES (:layer, :key, :name, CAST(:props AS jsonb), ST_GeomFromWKB(decode(:wkb, 'hex'), 4326))
ON CONFLICT (layer, feature_key) DO UPDATE
SET name = EXCLUDED.name, properties = EXCLUDED.properties, geom = EXCLUDED.geom
WHERE t.name IS DISTINCT FROM EXCLUDED.name
   OR t.properties IS DISTINCT FROM EXCLUDED.properties
   OR NOT ST_Equals(t.geom, EXCLUDED.geom)
