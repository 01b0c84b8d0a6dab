-- Per-upload staging table (session-local, dropped at commit): the place of every row that
-- survived parsing, for the set-based checks (subdistrict, Thailand, province, duplicates
-- against stored records). It stays narrow: the records and the per-row report are COPYed
-- straight into their tables afterwards. Only lines/polygons carry their record here, for
-- the ON CONFLICT insert into context_layers. "placed": the subdistrict was found in memory
-- (com.ingest.placing); the others go through ingest_place_near.sql.
CREATE TEMP TABLE ingest_stage (
    row_number integer PRIMARY KEY,
    status text NOT NULL,
    reason text,
    column_name text,
    target text NOT NULL,
    lat double precision,
    lon double precision,
    geom geometry(Geometry, 4326),
    placed boolean NOT NULL DEFAULT false,
    subdistrict_code varchar(6),
    district_code varchar(4),
    province_code varchar(2),
    quality text,
    approximate boolean NOT NULL DEFAULT false,
    dedupe_key text,
    place_columns text,
    nearest_m double precision,
    name text,
    address text,
    record jsonb
) ON COMMIT DROP
