-- Incidents around a target list in two periods: in the target areas (per area), in the ring of
-- :buffer_m metres around them (displacement, Wheeler & Ratcliffe's WDD), in the rest of the
-- province. Areas of a layer (:layer, issue 16: villages, layer:NAME) take a point by point in
-- polygon (the lowest code among the target areas covering it). Weights without recency (periods are compared as wholes). The ring is measured on
-- the geography of the union of the target polygons; ST_Expand by :buffer_deg (at least
-- :buffer_m anywhere in Thailand) lets the GiST index pick the candidates first.
WITH targets AS (
    SELECT ST_Union(t.geom) AS g
    FROM (
        SELECT geom FROM subdistricts
        WHERE CAST(:level AS text) = 'subdistrict' AND code = ANY(CAST(:codes AS text[]))
        UNION ALL
        SELECT geom FROM districts
        WHERE CAST(:level AS text) = 'district' AND code = ANY(CAST(:codes AS text[]))
        UNION ALL
        SELECT geom FROM area_features
        WHERE layer = CAST(:layer AS text) AND code = ANY(CAST(:codes AS text[]))
    ) t
), p AS (
{weighted_points}
), tagged AS (
    SELECT p.*,
           CASE WHEN CAST(:layer AS text) IS NOT NULL THEN (
                    SELECT min(a.code) FROM area_features a
                    WHERE a.layer = CAST(:layer AS text) AND a.code = ANY(CAST(:codes AS text[]))
                      AND ST_Covers(a.geom, p.geom))
                WHEN CAST(:level AS text) = 'district' THEN p.district_code
                ELSE p.subdistrict_code END AS area_code,
           CASE WHEN p.reported_on BETWEEN CAST(:this_start AS date) AND CAST(:this_end AS date)
                     THEN 'this'
                WHEN p.reported_on BETWEEN CAST(:prev_start AS date) AND CAST(:prev_end AS date)
                     THEN 'previous'
           END AS period
    FROM p, targets t
    WHERE p.province_code = CAST(:zone_province AS text)
       OR p.geom && ST_Expand(t.g, CAST(:buffer_deg AS float8))
)
SELECT CASE WHEN x.area_code = ANY(CAST(:codes AS text[])) THEN 'target'
            WHEN ST_DWithin(x.geom::geography, t.g::geography, CAST(:buffer_m AS float8))
                 THEN 'ring'
            WHEN x.province_code = CAST(:zone_province AS text) THEN 'rest'
            ELSE 'outside'
       END AS zone,
       CASE WHEN x.area_code = ANY(CAST(:codes AS text[])) THEN x.area_code END AS area_code,
       x.period,
       count(*) AS points,
       sum(x.incident_count) AS incidents,
       sum(x.weight) AS weighted
FROM tagged x, targets t
WHERE x.period IS NOT NULL
GROUP BY 1, 2, 3
