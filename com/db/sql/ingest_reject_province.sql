-- Rows placed in another province than the one the upload is for.
UPDATE ingest_stage s
SET status = 'rejected', column_name = s.place_columns,
    reason = format('outside province %s %s (%s): the place is in %s %s (%s), subdistrict %s',
                    want.code, want.name_th, want.name_en, p.code, p.name_th, p.name_en, d.code)
FROM subdistricts d
JOIN provinces p ON p.code = d.province_code
CROSS JOIN provinces want
WHERE want.code = :province
  AND d.code = s.subdistrict_code
  AND s.province_code <> :province
  AND s.status = 'pending' AND s.target = 'main'
