-- The risk points of an extent as packed binary columns, for the H3 rankings kept in the
-- process (com.analysis.risk.h3columns): the stored cell at :resolution (0010_h3cells), the
-- category's position in :cat_keys (0: none of them), severity, incident count and the day
-- (days since 1970-01-01; -2147483648 when undated). Each column is one bytea of big-endian
-- values (int8send, int4send, int2send), which numpy reads without a Python call per row; all
-- the aggregates of one query see the rows in the same order. The weights, date, category and
-- severity filters are applied in numpy for each ranking. The statement is read as a subquery
-- by com.db.engine.fetch_sliced (the columns by name, each in slices: one 20 MB row for a
-- million points would leave libpq's input buffer at 32 MiB for the connection's life).
--
-- {since}: every point, or only those with an id above the highest the kept columns hold
-- (put in by h3columns); with them, in the same statement (one view of the data), the highest id
-- read, the points' generation (0023_points_generation) and, when :count_all, how many points
-- the extent holds in all: the rollup's sum (exact once folded) plus the points of uploads
-- still pending their fold (0017_rollup_pending).
SELECT count(*) AS n,
       string_agg(int8send(CASE CAST(:resolution AS integer)
                               WHEN 6 THEN r.h3_6 WHEN 7 THEN r.h3_7
                               WHEN 8 THEN r.h3_8 WHEN 9 THEN r.h3_9 END), '') AS cells,
       string_agg(int2send(CAST(COALESCE(array_position(CAST(:cat_keys AS text[]), r.category),
                                         0) AS smallint)), '') AS category,
       string_agg(int2send(CAST(r.severity AS smallint)), '') AS severity,
       string_agg(int4send(CAST(r.incident_count AS integer)), '') AS count,
       string_agg(int4send(COALESCE(r.reported_on - DATE '1970-01-01', -2147483648)), '') AS day,
       COALESCE(max(r.id), 0) AS upto,
       (SELECT g.n FROM risk_points_generation g) AS generation,
       CASE WHEN CAST(:count_all AS boolean) THEN
           (SELECT COALESCE(sum(t.points), 0) FROM risk_rollup_total t
            WHERE (CAST(:provinces AS text[]) IS NULL
                   OR t.province_code = ANY(CAST(:provinces AS text[])))
              AND (CAST(:district AS text) IS NULL OR t.district_code = CAST(:district AS text)))
           + (SELECT count(*) FROM risk_rollup_pending q
              JOIN risk_points p ON p.source_upload_id = q.upload_id
              WHERE (CAST(:provinces AS text[]) IS NULL
                     OR p.province_code = ANY(CAST(:provinces AS text[])))
                AND (CAST(:district AS text) IS NULL
                     OR p.district_code = CAST(:district AS text)))
       END AS total
FROM risk_points r
WHERE (CAST(:provinces AS text[]) IS NULL OR r.province_code = ANY(CAST(:provinces AS text[])))
  AND (CAST(:district AS text) IS NULL OR r.district_code = CAST(:district AS text))
  -- The district's province too: risk_points has no index of its own on district_code
  -- (0021_points_district_index), the one on province_code then narrows the rows.
  AND (CAST(:district AS text) IS NULL OR r.province_code = (
          SELECT d.province_code FROM districts d WHERE d.code = CAST(:district AS text)))
  AND {since}
