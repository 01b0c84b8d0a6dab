-- Lines and polygons that do not come within about 1 km of Thailand.
UPDATE ingest_stage s
SET status = 'rejected', column_name = s.place_columns,
    reason = 'outside Thailand: the feature does not come within 1 km of any Thai subdistrict'
WHERE s.status = 'pending' AND s.target = 'layer'
  AND NOT EXISTS (
      SELECT 1 FROM subdistrict_parts p WHERE ST_DWithin(p.geom, s.geom, :max_deg)
  )
