-- The stored record of another upload (or of none) within :dist_m metres (geodesic) of the
-- point s.geom, in the same province, with the same duplicate key: the earliest by id. The probe
-- of ingest_duplicates_existing.sql (points on the stage) and
-- ingest_duplicates_streamed.sql (the upload's points already stored). The table, key clause
-- and province test come from com.ingest.duplicates, never from input.
-- The box test runs on the spatial index of geom (0009_ingest dropped risk_points' index on
-- geom::geography: keeping it up cost more than any other part of storing). Its half-widths
-- are never smaller than :dist_m in degrees: a degree of latitude is at least 110,574 m and a
-- degree of longitude at least 111,319 m x cos(latitude) on the WGS 84 ellipsoid; ST_DWithin
-- on geography then decides on the ellipsoid. Rows of the upload itself are no stored
-- records: within the file is decided in Python.
JOIN LATERAL (
    SELECT t.id, t.source_upload_id, t.source_row
    FROM {table} t
    WHERE t.geom && ST_Expand(
              s.geom,
              :dist_m / (111000.0 * GREATEST(cos(radians(ST_Y(s.geom))), 0.01)),
              :dist_m / 110000.0)
      AND ST_DWithin(t.geom::geography, s.geom::geography, :dist_m)
      AND {same_province}
      AND (CAST(:upload_id AS bigint) IS NULL
           OR t.source_upload_id IS DISTINCT FROM CAST(:upload_id AS bigint))
      {key_clause}
    ORDER BY t.id
    LIMIT 1
) t ON true
