-- The upload's own points stored while it was prepared (com.ingest.uploads) near a stored
-- record of another upload or of none (the probe of ingest_duplicates_probe.sql, asked from the
-- table instead of the stage). The province is compared with IS NOT DISTINCT FROM (never NULL
-- here: every streamed row was placed) so that it stays a filter: right after the upload's
-- rows went in, the statistics still describe the table before them, and the planner would
-- AND the 25 m box with the province's b-tree entries for every row (13-15 s for 100,000
-- rows instead of 0.3 s).
-- Provinces of the upload's rows that hold rows of other uploads (or of none) at all: only
-- there can a stored record lie near (the province must match), and a province's first
-- upload asks nothing more.
WITH others AS MATERIALIZED (
    SELECT p.province_code
    FROM (SELECT DISTINCT province_code FROM {table}
          WHERE source_upload_id = CAST(:upload_id AS bigint)) p
    WHERE EXISTS (SELECT 1 FROM {table} t
                  WHERE t.province_code = p.province_code
                    AND t.source_upload_id IS DISTINCT FROM CAST(:upload_id AS bigint))
)
SELECT s.source_row AS row_number, t.id, t.source_upload_id, t.source_row
FROM {table} s
JOIN others o ON o.province_code = s.province_code
{probe}
WHERE s.source_upload_id = CAST(:upload_id AS bigint)
