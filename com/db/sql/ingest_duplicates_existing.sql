-- Staged points within :dist_m metres (geodesic, on the GiST index of geom::geography) of a
-- stored record of the target table in the same province, with the same duplicate key.
-- {table} and {key_clause} come from the kind registry in com/ingest/, never from input.
SELECT s.row_number, t.id, t.source_upload_id, t.source_row
FROM ingest_stage s
JOIN LATERAL (
    SELECT t.id, t.source_upload_id, t.source_row
    FROM {table} t
    WHERE ST_DWithin(t.geom::geography, s.geom::geography, :dist_m)
      AND t.province_code = s.province_code
      {key_clause}
    ORDER BY t.id
    LIMIT 1
) t ON true
WHERE s.status = 'pending' AND s.target = 'main' AND NOT s.approximate
