"""The OGC-only OpenAPI 3.0 document linked from ``/ogc`` (issue 15).

The document the landing page names as ``service-desc`` must be OpenAPI 3.0 (the conformance
class ``oas30`` says so), cover the ``/ogc`` service alone with paths relative to a ``servers``
URL ending in ``/ogc``, and keep what the server declares about its parameters. It is checked
with ``ogcapi-registry``'s OGC API - Features checks (a test dependency).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.openapi import OAS30_MEDIA_TYPE, to_oas30_schema
from com.config.settings import Settings
from com.ogc.query import DEFAULT_LIMIT, MAX_LIMIT

pytestmark = pytest.mark.db

REQUIRED_PATHS = ("/", "/conformance", "/collections", "/collections/risk-points",
                  "/collections/risk-points/items", "/collections/risk-points/items/{featureId}")


@pytest.fixture(scope="module")
def client(test_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(test_settings)) as c:
        yield c


@pytest.fixture(scope="module")
def ogc_doc(client: TestClient) -> dict[str, Any]:
    landing = client.get("/ogc").json()
    desc = next(x for x in landing["links"] if x["rel"] == "service-desc")
    assert desc["type"] == OAS30_MEDIA_TYPE
    answer = client.get(desc["href"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == OAS30_MEDIA_TYPE
    return answer.json()


def _registry() -> ModuleType:
    """Import ogcapi-registry; skip without it locally, fail without it under CI."""
    try:
        # Deferred on purpose: a test-only dependency, and only these tests need it.
        import ogcapi_registry
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ogcapi-registry is a test dependency and must be installed under CI")
        pytest.skip("ogcapi-registry is not installed (pip install -e '.[test]')")
    return ogcapi_registry


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_service_desc_is_an_ogc_only_openapi_30_document(
    client: TestClient, ogc_doc: dict[str, Any]
) -> None:
    assert ogc_doc["openapi"].startswith("3.0.")
    assert ogc_doc["servers"] == [{"url": "http://testserver/ogc"}]
    for path in REQUIRED_PATHS:
        assert "get" in ogc_doc["paths"][path], path
    # Only the OGC service, relative to its root: no /ogc prefix, no /api/... or page routes.
    assert not [p for p in ogc_doc["paths"] if p.startswith(("/ogc", "/api/", "/tiles"))]
    full = client.get("/openapi.json").json()
    ogc_paths = {p for p in full["paths"] if p == "/ogc" or p.startswith("/ogc/")}
    assert {("/ogc" + p).rstrip("/") or "/ogc" for p in ogc_doc["paths"]} == ogc_paths
    # The same document at /ogc/api, the path OGC API - Common suggests.
    assert client.get("/ogc/api").json() == ogc_doc
    assert client.get("/ogc/api?f=xml").status_code == 400


def test_no_openapi_31_constructs_remain(ogc_doc: dict[str, Any]) -> None:
    for node in _walk(ogc_doc):
        assert node.get("type") != "null", node
        assert not isinstance(node.get("type"), list), node
        assert "const" not in node, node
        if "exclusiveMinimum" in node:
            assert isinstance(node["exclusiveMinimum"], bool), node
    for node in _walk(ogc_doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.rsplit("/", 1)[-1] in ogc_doc["components"]["schemas"], ref


def test_declared_parameters_are_kept(client: TestClient, ogc_doc: dict[str, Any]) -> None:
    full = client.get("/openapi.json").json()
    for path, operations in ogc_doc["paths"].items():
        source = full["paths"]["/ogc" + path if path != "/" else "/ogc"]
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            assert names == [p["name"] for p in source[method].get("parameters", [])], path
    items = ogc_doc["paths"]["/collections/risk-points/items"]["get"]
    params = {p["name"]: p for p in items["parameters"]}
    assert {"limit", "bbox", "datetime", "filter", "filter-lang"} <= set(params)
    assert params["limit"]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT
    }
    assert params["bbox"]["schema"]["type"] == "string"
    assert params["bbox"]["schema"]["nullable"] is True
    assert "application/problem+json" in items["responses"]["400"]["content"]


def test_ogcapi_registry_features_checks_pass(
    client: TestClient, ogc_doc: dict[str, Any]
) -> None:
    registry = _registry()
    conforms_to = client.get("/ogc/conformance").json()["conformsTo"]
    result = registry.validate_ogc_api(ogc_doc, conforms_to)
    assert result.is_valid, result.errors
    assert result.errors == ()
    structure = registry.validate_openapi_structure(ogc_doc)
    assert structure.is_valid, structure.errors
    assert structure.validated_against.version.startswith("3.0")
    features = registry.FeaturesStrategy().validate(
        ogc_doc, registry.parse_conformance_classes(conforms_to))
    assert features.is_valid and not features.errors


def test_the_whole_app_document_fails_the_same_checks(client: TestClient) -> None:
    # What the landing page linked before issue 15: 3.1, every route, paths under /ogc.
    registry = _registry()
    conforms_to = client.get("/ogc/conformance").json()["conformsTo"]
    result = registry.validate_ogc_api(client.get("/openapi.json").json(), conforms_to)
    assert not result.is_valid


def test_to_oas30_schema_by_hand() -> None:
    assert to_oas30_schema({"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
                            "title": "Limit"}) == {
        "type": "integer", "minimum": 1, "nullable": True, "title": "Limit"}
    assert to_oas30_schema({"anyOf": [{"$ref": "#/components/schemas/A"}, {"type": "null"}]}
                           ) == {"anyOf": [{"$ref": "#/components/schemas/A"}], "nullable": True}
    assert to_oas30_schema({"type": ["string", "null"]}) == {"type": "string", "nullable": True}
    assert to_oas30_schema({"const": "json"}) == {"enum": ["json"]}
    assert to_oas30_schema({"examples": [3, 4], "exclusiveMinimum": 0}) == {
        "example": 3, "minimum": 0, "exclusiveMinimum": True}
    assert to_oas30_schema({"properties": {"a": {"type": ["integer", "string"]}}}) == {
        "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}}
