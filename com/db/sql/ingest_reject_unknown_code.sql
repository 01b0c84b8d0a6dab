-- Address rows whose gazetteer subdistrict is missing from the loaded boundaries.
UPDATE ingest_stage s
SET status = 'rejected', column_name = s.place_columns,
    reason = format('the address gives subdistrict %s, which the loaded boundaries do not have',
                    s.subdistrict_code)
WHERE s.status = 'pending' AND s.target = 'main' AND s.quality = 'subdistrict'
  AND NOT EXISTS (SELECT 1 FROM subdistricts d WHERE d.code = s.subdistrict_code)
