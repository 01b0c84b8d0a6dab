-- Address-only rows already stored from an earlier upload: same subdistrict, duplicate key,
-- name and address. ({table} and {key_clause} come from the kind registry.)
SELECT s.row_number, t.id, t.source_upload_id, t.source_row
FROM ingest_stage s
JOIN LATERAL (
    SELECT t.id, t.source_upload_id, t.source_row
    FROM {table} t
    WHERE t.approximate
      AND t.subdistrict_code = s.subdistrict_code
      AND t.name IS NOT DISTINCT FROM s.name
      AND t.address IS NOT DISTINCT FROM s.address
      {key_clause}
    ORDER BY t.id
    LIMIT 1
) t ON true
WHERE s.status = 'pending' AND s.target = 'main' AND s.approximate
