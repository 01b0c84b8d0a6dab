SELECT
    (SELECT count(*) FROM provinces) AS provinces,
    (SELECT count(*) FROM districts) AS districts,
    (SELECT count(*) FROM subdistricts) AS subdistricts,
    (SELECT count(*) FROM subdistrict_parts) AS subdistrict_parts,
    (SELECT count(*) FROM context_layers WHERE source_upload_id IS NULL) AS context_features,
    (SELECT count(*) FROM border_crossings) AS border_crossings,
    (SELECT count(*) FROM risk_points) AS risk_points,
    (SELECT count(*) FROM cameras) AS cameras
