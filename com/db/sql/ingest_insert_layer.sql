-- Lines and polygons (and the features of layer uploads) into context_layers; a feature
-- already in the layer (same feature key) is a duplicate. Returns the rows stored and ids.
INSERT INTO context_layers (layer, feature_key, name, properties, geom, source_upload_id,
                            source_row)
SELECT s.record->>'layer', s.record->>'feature_key', s.record->>'name',
       COALESCE(s.record->'properties', '{}'::jsonb), s.geom, :upload_id, s.row_number
FROM ingest_stage s
WHERE s.target = 'layer' AND s.row_number = ANY(CAST(:rows AS integer[]))
ORDER BY s.row_number
ON CONFLICT (layer, feature_key) DO NOTHING
RETURNING source_row, id
