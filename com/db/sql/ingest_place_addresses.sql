-- Address-only rows go to their subdistrict's representative point (always inside it).
UPDATE ingest_stage s
SET geom = d.rep_point, lat = ST_Y(d.rep_point), lon = ST_X(d.rep_point),
    district_code = d.district_code, province_code = d.province_code
FROM subdistricts d
WHERE d.code = s.subdistrict_code
  AND s.status = 'pending' AND s.target = 'main' AND s.quality = 'subdistrict'
