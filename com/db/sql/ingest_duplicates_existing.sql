-- Staged points near a stored record of the target table (the probe: ingest_duplicates_probe.sql).
SELECT s.row_number, t.id, t.source_upload_id, t.source_row
FROM ingest_stage s
{probe}
WHERE s.status = 'pending' AND s.target = 'main' AND NOT s.approximate
