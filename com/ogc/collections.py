"""The collections COM serves: identity, titles, served properties and queryables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from com.config.severity import Category, cached_severity_model
from com.errors import ConfigError, InvalidQuery
from com.ogc.alerts import ALERT_TYPES, alerts_source
from com.ogc.sources import (
    Source,
    SourceContext,
    area_layers_source,
    border_crossings_source,
    cctv_sites_source,
    districts_source,
    risk_points_source,
    subdistricts_source,
    target_areas_source,
    villages_source,
)

PropertyType = Literal["string", "integer", "number", "date", "boolean"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def load_categories(path: str | Path | None = None) -> dict[str, Category]:
    """Return the issue categories of the severity model (unknown included), keyed by key.

    Parameters
    ----------
    path
        Override file (``COM_SEVERITY_CONFIG``), merged over the packaged model by
        :func:`com.config.severity.load_severity_model` (read once per process).

    Raises
    ------
    com.errors.ConfigError
        When the override cannot be read or is invalid.
    """
    model = cached_severity_model(path)
    return {**model.categories, model.unknown_category.key: model.unknown_category}


@dataclass(frozen=True)
class Queryable:
    """A property clients may filter on (query parameter and CQL2 property name)."""

    name: str
    property: str
    type: PropertyType
    title_th: str
    title_en: str
    enum: tuple[Any, ...] | None = None



@dataclass(frozen=True)
class Collection:
    """One OGC API collection: identity, titles, source SQL, geometry and queryables."""

    id: str
    title_th: str
    title_en: str
    description: str
    key_type: Literal["integer", "string"]
    geometry_type: str
    build: Callable[[SourceContext], Source]
    property_types: dict[str, PropertyType]
    queryables: dict[str, Queryable]
    table: str
    requires: tuple[str, ...] = ()
    temporal: bool = False
    sensitive: bool = False
    ranked: bool = False
    note: str | None = None
    point_tiles: bool = True

    def __post_init__(self) -> None:
        # Names are spliced into json_build_object as SQL string literals (see
        # com.ogc.items.feature_json); the registry is code, but the check keeps it impossible
        # to smuggle a quote in.
        for name in [*self.property_types, *self.queryables]:
            if not _NAME.match(name):
                raise ConfigError(f"collection {self.id}: bad property name {name!r}")

    @property
    def title(self) -> str:
        """Return the Thai and English title."""
        return f"{self.title_th} ({self.title_en})"

    def queryable(self, name: str) -> Queryable:
        """Return the whitelisted queryable ``name`` or raise InvalidQuery."""
        try:
            return self.queryables[name]
        except KeyError:
            allowed = ", ".join(sorted(self.queryables))
            raise InvalidQuery(
                f"property {name!r} cannot be queried in {self.id}; queryable: {allowed}"
            ) from None


def _q(name: str, prop: str, type_: PropertyType, th: str, en: str, **kw: Any) -> Queryable:
    """Return a queryable with its Thai and English titles."""
    return Queryable(name=name, property=prop, type=type_, title_th=th, title_en=en, **kw)


RISK_POINT_TYPES: dict[str, PropertyType] = {
    "name": "string", "category": "string", "category_th": "string", "severity": "integer",
    "severity_th": "string", "incident_count": "integer", "reported_on": "date",
    "address": "string", "subdistrict_code": "string", "district_code": "string",
    "province_code": "string", "geocode_quality": "string", "approximate": "boolean",
    "location_coarsened": "boolean", "synthetic": "boolean", "source_upload_id": "integer",
    "source_row": "integer",
}



_AREA_QUERYABLES = {
    "code": _q("code", "code", "string", "รหัส", "Code"),
    "name_th": _q("name_th", "name_th", "string", "ชื่อ (ไทย)", "Thai name"),
    "name_en": _q("name_en", "name_en", "string", "ชื่อ (อังกฤษ)", "English name"),
    "province": _q("province", "province_code", "string", "จังหวัด", "Province code"),
    "province_code": _q("province_code", "province_code", "string", "จังหวัด", "Province code"),
    "area_km2": _q("area_km2", "area_km2", "number", "พื้นที่ (ตร.กม.)", "Area (km²)"),
}


def _risk_points_collection() -> Collection:
    """Return the risk points: category, severity and date; sensitive ones coarsened."""
    risk_q = {
        "category": _q("category", "category", "string", "ประเด็นปัญหา", "Issue category"),
        "severity": _q("severity", "severity", "integer", "ระดับความรุนแรง", "Severity (1-5)",
                       enum=(1, 2, 3, 4, 5)),
        "incident_count": _q("incident_count", "incident_count", "integer", "จำนวนเหตุ",
                             "Incident count"),
        "reported_on": _q("reported_on", "reported_on", "date", "วันที่รายงาน", "Reported on"),
        "province": _q("province", "province_code", "string", "จังหวัด", "Province code"),
        "province_code": _q("province_code", "province_code", "string", "จังหวัด",
                            "Province code"),
        "district": _q("district", "district_code", "string", "อำเภอ", "District code"),
        "district_code": _q("district_code", "district_code", "string", "อำเภอ",
                            "District code"),
        "subdistrict": _q("subdistrict", "subdistrict_code", "string", "ตำบล",
                          "Subdistrict code"),
        "subdistrict_code": _q("subdistrict_code", "subdistrict_code", "string", "ตำบล",
                               "Subdistrict code"),
        "geocode_quality": _q("geocode_quality", "geocode_quality", "string",
                              "คุณภาพพิกัด", "Geocode quality",
                              enum=("coordinates", "subdistrict", "district", "province")),
        "source_upload_id": _q("source_upload_id", "source_upload_id", "integer",
                               "รหัสไฟล์นำเข้า", "Upload id"),
    }
    return Collection(
        id="risk-points",
        title_th="จุดเสี่ยง",
        title_en="Risk points",
        description="Reported risk points with issue category, severity (1-5) and date. "
        "Points of sensitive categories are served at their subdistrict's representative "
        "point (location_coarsened = true) unless the caller holds the 'sensitive' "
        "permission.",
        key_type="integer",
        geometry_type="Point",
        build=risk_points_source,
        property_types=RISK_POINT_TYPES,
        queryables=risk_q,
        table="risk_points",
        temporal=True,
        sensitive=True,
    )


def _subdistricts_collection() -> Collection:
    """Return the subdistricts with their risk rank, score and hotspot class."""
    sub_q = {
        **_AREA_QUERYABLES,
        "district": _q("district", "district_code", "string", "อำเภอ", "District code"),
        "district_code": _q("district_code", "district_code", "string", "อำเภอ",
                            "District code"),
        "rank": _q("rank", "rank", "integer", "อันดับ", "Rank"),
        "risk_score": _q("risk_score", "risk_score", "number", "คะแนนความเสี่ยง", "Risk score"),
        "hotspot_class": _q("hotspot_class", "hotspot_class", "string", "จุดร้อน (Gi*)",
                            "Hotspot class"),
    }
    return Collection(
        id="subdistricts",
        title_th="ตำบล",
        title_en="Subdistricts",
        description="Subdistricts (tambon) with their risk rank, score and Getis-Ord Gi* "
        "hotspot class from the area ranking.",
        key_type="string",
        geometry_type="MultiPolygon",
        build=subdistricts_source,
        property_types={
            "code": "string", "name_th": "string", "name_en": "string",
            "district_code": "string", "province_code": "string", "area_km2": "number",
            "rank": "integer", "risk_score": "number", "hotspot_class": "string",
            "gi_z": "number", "points": "integer",
        },
        queryables=sub_q,
        table="subdistricts",
        ranked=True,
        point_tiles=False,
    )


def _districts_collection() -> Collection:
    """Return the districts with their province."""
    return Collection(
        id="districts",
        title_th="อำเภอ",
        title_en="Districts",
        description="Districts (amphoe) with their province.",
        key_type="string",
        geometry_type="MultiPolygon",
        build=districts_source,
        property_types={
            "code": "string", "name_th": "string", "name_en": "string",
            "province_code": "string", "area_km2": "number",
        },
        queryables=dict(_AREA_QUERYABLES),
        table="districts",
        point_tiles=False,
    )


def _border_crossings_collection() -> Collection:
    """Return the permanent border checkpoints."""
    return Collection(
        id="border-crossings",
        title_th="จุดผ่านแดน",
        title_en="Border crossings",
        description="Permanent border checkpoints (จุดผ่านแดนถาวร).",
        key_type="integer",
        geometry_type="Point",
        build=border_crossings_source,
        property_types={
            "name_th": "string", "name_en": "string", "kind": "string",
            "country": "string", "province_code": "string",
        },
        queryables={
            "name_en": _q("name_en", "name_en", "string", "ชื่อ (อังกฤษ)", "English name"),
            "kind": _q("kind", "kind", "string", "ประเภท", "Kind"),
            "country": _q("country", "country", "string", "ประเทศ", "Country"),
            "province": _q("province", "province_code", "string", "จังหวัด",
                           "Province code"),
            "province_code": _q("province_code", "province_code", "string", "จังหวัด",
                                "Province code"),
        },
        table="border_crossings",
    )


def builtin_collections() -> list[Collection]:
    """Return the collections COM serves whose sources are part of the core schema."""
    return [
        _risk_points_collection(), _subdistricts_collection(), _districts_collection(),
        _border_crossings_collection(),
    ]


_LAYER_TYPES: dict[str, PropertyType] = {
    "code": "string", "name_th": "string", "name_en": "string", "subdistrict_code": "string",
    "district_code": "string", "province_code": "string", "area_km2": "number",
    "catchment_derived": "boolean", "plan_status": "string", "plan_due": "date",
    "synthetic": "boolean",
}


def _layer_queryables() -> dict[str, Queryable]:
    return {
        **_AREA_QUERYABLES,
        "subdistrict_code": _q("subdistrict_code", "subdistrict_code", "string", "ตำบล",
                               "Subdistrict code"),
        "district_code": _q("district_code", "district_code", "string", "อำเภอ",
                            "District code"),
        "plan_status": _q("plan_status", "plan_status", "string", "สถานะแผน", "Plan status"),
        "catchment_derived": _q("catchment_derived", "catchment_derived", "boolean",
                                "ขอบเขตคำนวณจากจุด", "Catchment derived from the point"),
    }


def area_layer_collections() -> list[Collection]:
    """Return the villages and the custom polygon layers (issue 16; ``area_features``)."""
    return [
        Collection(
            id="villages", title_th="หมู่บ้าน", title_en="Villages",
            description="Villages (หมู่บ้าน) by DOPA 8-digit code, with their plan status. "
            "A village imported as a point has a derived catchment (catchment_derived): the "
            "part of its subdistrict closer to it than to the subdistrict's other villages.",
            key_type="string", geometry_type="MultiPolygon", build=villages_source,
            property_types=dict(_LAYER_TYPES), queryables=_layer_queryables(),
            table="area_features", requires=("area_features",), point_tiles=False,
        ),
        Collection(
            id="area-layers", title_th="ชั้นพื้นที่กำหนดเอง", title_en="Custom area layers",
            description="Areas of the custom polygon layers (level layer:NAME), keyed "
            "layer:code; filter by layer.",
            key_type="string", geometry_type="MultiPolygon", build=area_layers_source,
            property_types={"layer": "string", **_LAYER_TYPES},
            queryables={**_layer_queryables(),
                        "layer": _q("layer", "layer", "string", "ชั้นข้อมูล", "Layer")},
            table="area_features", requires=("area_features",), point_tiles=False,
        ),
    ]


def optional_collections() -> list[Collection]:
    """Return collections whose sources other domains add: CCTV plans and target lists.

    Each one is served only while its tables exist in the database
    (``Collection.requires``); a database without them answers 404 for the collection.
    """
    province = _q("province", "province_code", "string", "จังหวัด", "Province code")
    province_code = _q("province_code", "province_code", "string", "จังหวัด", "Province code")
    return [
        *area_layer_collections(),
        Collection(
            id="cctv-sites",
            title_th="จุดติดตั้งกล้องวงจรปิดที่เสนอ",
            title_en="Proposed CCTV sites",
            description="Sites of the saved CCTV plans, in order of marginal gain (order 1 "
            "covers the most risk). A site covering points of a sensitive category is shown "
            "at its subdistrict's representative point unless the caller holds the "
            "'sensitive' permission.",
            key_type="integer",
            geometry_type="Point",
            build=cctv_sites_source,
            property_types={
                "plan_id": "integer", "plan_name": "string", "order": "integer",
                "site_id": "string", "gain": "number", "cumulative_weight": "number",
                "share_covered": "number", "points_in_radius": "integer", "radius_m": "number",
                "subdistrict_code": "string", "subdistrict_th": "string",
                "province_code": "string", "district_code": "string", "method": "string",
                "created_at": "date", "location_coarsened": "boolean",
            },
            queryables={
                "plan_id": _q("plan_id", "plan_id", "integer", "แผน", "Plan id"),
                "order": _q("order", "order", "integer", "ลำดับ", "Order of the site"),
                "province": province,
                "province_code": province_code,
                "subdistrict": _q("subdistrict", "subdistrict_code", "string", "ตำบล",
                                  "Subdistrict code"),
                "subdistrict_code": _q("subdistrict_code", "subdistrict_code", "string",
                                       "ตำบล", "Subdistrict code"),
            },
            table="cctv_plans",
            requires=("cctv_plans",),
            sensitive=True,
        ),
        Collection(
            id="target-areas",
            title_th="พื้นที่เป้าหมาย",
            title_en="Target areas",
            description="Areas of the declared target lists (บัญชีเป้าหมาย), one feature per "
            "area and fiscal year (Buddhist era), with the rank and score they had when the "
            "list was declared.",
            key_type="integer",
            geometry_type="MultiPolygon",
            build=target_areas_source,
            property_types={
                "target_list_id": "integer", "fiscal_year_be": "integer", "level": "string",
                "area_code": "string", "name_th": "string", "name_en": "string",
                "province_code": "string", "rank": "integer", "score": "number",
                "declared_by": "string", "declared_at": "date", "method": "string",
            },
            queryables={
                "fiscal_year_be": _q("fiscal_year_be", "fiscal_year_be", "integer",
                                     "ปีงบประมาณ (พ.ศ.)", "Fiscal year (BE)"),
                "target_list_id": _q("target_list_id", "target_list_id", "integer",
                                     "บัญชีเป้าหมาย", "Target list id"),
                "level": _q("level", "level", "string", "ระดับพื้นที่", "Area level",
                            enum=("subdistrict", "district")),
                "area_code": _q("area_code", "area_code", "string", "รหัสพื้นที่", "Area code"),
                "rank": _q("rank", "rank", "integer", "อันดับ", "Rank"),
                "province": province,
                "province_code": province_code,
            },
            table="target_areas",
            requires=("target_areas", "target_lists"),
            point_tiles=False,
        ),
        _alerts_collection(province, province_code),
    ]


def _alerts_collection(province: Queryable, province_code: Queryable) -> Collection:
    """Return the detector alerts (issue 17), served while the alerts table exists."""
    return Collection(
        id="alerts",
        title_th="การแจ้งเตือนจากเครื่องตรวจจับ",
        title_en="Detector alerts",
        description="Alerts of border detectors and sensors (person, vehicle, tamper ...), "
        "with their triage status. `datetime` filters on the day observed (Thai calendar "
        "day). Alerts are served coarsened like risk points when their category "
        "(illegal entry) is sensitive.",
        key_type="integer",
        geometry_type="Point",
        build=alerts_source,
        property_types=ALERT_TYPES,
        queryables={
            "device_id": _q("device_id", "device_id", "string", "อุปกรณ์", "Device"),
            "kind": _q("kind", "kind", "string", "ชนิด", "Kind"),
            "status": _q("status", "status", "string", "สถานะ", "Triage status",
                         enum=("new", "acknowledged", "confirmed", "false_alarm")),
            "observed_on": _q("observed_on", "observed_on", "date", "วันที่ตรวจพบ",
                              "Day observed"),
            "province": province,
            "province_code": province_code,
        },
        table="alerts",
        requires=("alerts",),
        temporal=True,
    )
