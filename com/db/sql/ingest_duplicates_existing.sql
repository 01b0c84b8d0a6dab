-- Staged points within :dist_m metres (geodesic) of a stored record of the target table in the
-- same province, with the same duplicate key. {table} and {key_clause} come from the kind
-- registry in com/ingest/, never from input. Rows of the upload itself (stored while it was
-- prepared, com.ingest.uploads) are not "stored records": within the file is decided in Python.
-- The box test runs on the plain GiST index of geom (0009_ingest dropped risk_points' index on
-- geom::geography: keeping it up cost more than any other part of storing). Its half-widths
-- are never smaller than :dist_m in degrees: a degree of latitude is at least 110,574 m and a
-- degree of longitude at least 111,319 m x cos(latitude) on the WGS 84 ellipsoid; ST_DWithin
-- on geography then decides on the ellipsoid as before.
SELECT s.row_number, t.id, t.source_upload_id, t.source_row
FROM ingest_stage s
JOIN LATERAL (
    SELECT t.id, t.source_upload_id, t.source_row
    FROM {table} t
    WHERE t.geom && ST_Expand(
              s.geom,
              :dist_m / (111000.0 * GREATEST(cos(radians(ST_Y(s.geom))), 0.01)),
              :dist_m / 110000.0)
      AND ST_DWithin(t.geom::geography, s.geom::geography, :dist_m)
      AND t.province_code = s.province_code
      AND (CAST(:upload_id AS bigint) IS NULL
           OR t.source_upload_id IS DISTINCT FROM CAST(:upload_id AS bigint))
      {key_clause}
    ORDER BY t.id
    LIMIT 1
) t ON true
WHERE s.status = 'pending' AND s.target = 'main' AND NOT s.approximate
