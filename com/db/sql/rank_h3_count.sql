-- How many stored H3 cells (resolution :resolution) hold a point passing the filters: the cap
-- of an H3 ranking is checked with this before any work. No weight is computed (unused columns
-- of the weighted points are not evaluated once PostgreSQL inlines it).
WITH p AS (
{weighted_points}
)
SELECT count(*) FROM (
    SELECT CASE CAST(:resolution AS integer)
               WHEN 6 THEN p.h3_6 WHEN 7 THEN p.h3_7 WHEN 8 THEN p.h3_8 WHEN 9 THEN p.h3_9
           END AS code
    FROM p
    GROUP BY 1
) AS cells
