-- Points with coordinates that no Thai subdistrict holds (nor lies within :max_m of).
UPDATE ingest_stage
SET status = 'rejected', column_name = place_columns,
    reason = format('outside Thailand: %s, %s is not inside (or within %s m of) any Thai subdistrict',
                    round(lat::numeric, 6), round(lon::numeric, 6), :max_m)
WHERE status = 'pending' AND target = 'main' AND quality = 'coordinates' AND subdistrict_code IS NULL
