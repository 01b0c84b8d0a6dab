"""Upload routes: send a point list (multipart), read its per-row report, list uploads.

The body is read here as a bounded stream (Content-Length checked first, bytes counted while
reading, the file part spooled to disk past 1 MB), then :func:`com.ingest.import_upload` does
all the work in one transaction. Too large -> 413, wrong type -> 415, unreadable -> 422.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException, MultiPartParser

from api.deps import EngineDep, SettingsDep
from api.errors import audit_refusal, problem
from api.params import Offset, record_id
from api.security import require_role, require_write
from com import ingest
from com.db.engine import transaction
from com.errors import UploadError
from com.ingest.areas import VILLAGES, import_areas, layer_name
from com.ingest.readers import FileTooLarge, ReadLimits, UnsupportedFileType
from com.security import audit
from com.security.access import Principal

#: Multipart envelope allowed around a file of exactly the configured size.
ENVELOPE_BYTES = 64 * 1024
_FORM_FIELDS = ("province", "sheet", "mapping", "kind", "layer", "datum", "transformation")


class _UploadRoute(APIRoute):
    """Route class answering 413/415 problem+json for the upload errors that need them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except FileTooLarge as exc:
                status, title, detail = 413, "Payload Too Large", str(exc)
            except UnsupportedFileType as exc:
                status, title, detail = 415, "Unsupported Media Type", str(exc)
            # Failed uploads are audited like the 422s and 403s of api/errors.py.
            await run_in_threadpool(audit_refusal, request, action="upload.failed",
                                    status=status, reason=detail)
            return problem(status, title, detail)

        return wrapped


router = APIRouter(tags=["uploads"], route_class=_UploadRoute)

WriteDep = Annotated[Principal, Depends(require_write)]
StaffDep = Annotated[Principal, Depends(require_role("staff"))]
#: Any signed-in principal; com.ingest decides who may read which upload (its sender,
#: staff and write keys of its province, administrators).
SignedInDep = Annotated[Principal, Depends(require_role("viewer"))]
UploadId = Annotated[int, Depends(record_id("upload_id", "upload"))]


@dataclass
class ReceivedUpload:
    """The file and the form fields of a multipart upload."""

    filename: str
    content_type: str | None
    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request) -> ReceivedUpload:
    """Read a multipart upload without ever holding more than the limit.

    Raises
    ------
    FileTooLarge
        Declared or counted size over ``max_upload_mb`` (413).
    UnsupportedFileType
        Not multipart/form-data (415).
    com.errors.UploadError
        No file part, or a broken multipart body (422).
    """
    limit = request.app.state.settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise FileTooLarge(
            f"the upload is {int(declared) / 1048576:,.1f} MB; the limit is "
            f"{limit // 1048576} MB"
        )
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise UnsupportedFileType(
            "send the file as multipart/form-data with a 'file' field"
        )

    async def bounded() -> AsyncGenerator[bytes, None]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit + ENVELOPE_BYTES:
                raise FileTooLarge(f"the upload is over the limit of {limit // 1048576} MB")
            yield chunk

    parser = MultiPartParser(
        request.headers, bounded(), max_files=1, max_fields=len(_FORM_FIELDS) + 2,
        max_part_size=256 * 1024,
    )
    # Starlette spools the file to disk above 1 MB (spool_max_size): kept so, a body streamed
    # without a length holds little memory until the limit cuts it off (test_hostile.py).
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise UploadError(f"the form cannot be read: {exc.message}") from exc
    try:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UploadError("the form has no file: send it in a field named 'file'")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise FileTooLarge(f"the file is over the limit of {limit // 1048576} MB")
        fields = {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and v.strip()}
        return ReceivedUpload(
            filename=upload.filename or "upload", content_type=upload.content_type,
            data=data, fields=fields,
        )
    finally:
        await form.close()


UploadDep = Annotated[ReceivedUpload, Depends(read_upload)]

#: The multipart body read by :func:`read_upload` (it parses the stream itself, so FastAPI
#: cannot infer it): declared here for the OpenAPI document and its clients.
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": (
                        "CSV, XLSX, XLS, KML, KMZ, GeoJSON, GeoPackage or zipped Shapefile")},
                    "province": {"type": "string", "description": (
                        "Province code or name, e.g. 32 or สุรินทร์"), "examples": ["32"]},
                    "sheet": {"type": "string", "description": (
                        "Worksheet, GeoPackage layer or shapefile in a zip; default the first")},
                    "mapping": {"type": "string", "description": (
                        'JSON object {"column name": "field"}; the field ignore drops a column'),
                        "examples": ['{"พิกัด": "location"}']},
                    "kind": {"type": "string", "default": "risk_points", "description": (
                        "risk_points, cameras, layer, areas (or another registered upload kind)")},
                    "layer": {"type": "string", "description": (
                        "Context layer name (kind=layer); villages or a custom area layer's "
                        "name (kind=areas)")},
                    "datum": {"type": "string", "enum": ["wgs84", "indian1975"],
                              "default": "wgs84"},
                    "transformation": {"type": "string", "description": (
                        "Indian 1975 -> WGS 84 operation: EPSG:1812 (default) or EPSG:1304")},
                },
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    },
}
_SUMMARY = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _options(received: ReceivedUpload, idempotency_key: str | None) -> ingest.ImportOptions:
    fields = received.fields
    mapping: dict[str, str] = {}
    if fields.get("mapping"):
        try:
            parsed = json.loads(fields["mapping"])
        except json.JSONDecodeError as exc:
            raise UploadError(f"mapping is not JSON ({exc.msg})") from exc
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise UploadError('mapping must be a JSON object {"column name": "field"}')
        mapping = parsed
    return ingest.ImportOptions(
        kind=fields.get("kind", "risk_points"),
        province_code=fields.get("province"),
        sheet=fields.get("sheet"),
        mapping=mapping,
        layer=fields.get("layer"),
        datum=fields.get("datum", "wgs84"),
        transformation=fields.get("transformation"),
        idempotency_key=idempotency_key,
    )


@router.post(
    "/api/uploads", status_code=201,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        200: {"description": "The same file and options were uploaded before", **_SUMMARY},
        201: {"description": "Imported: the summary", **_SUMMARY},
        409: {"description": "The Idempotency-Key was used with other data"},
        413: {"description": "The file is larger than the limit"},
        415: {"description": "Not multipart/form-data, or a file type COM cannot read"},
    },
)
def create_upload(
    request: Request,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    principal: WriteDep,
    received: UploadDep,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        description="Retry key: the same key and file return the same upload",
    )] = None,
) -> dict[str, Any]:
    """Import a point list (CSV, XLSX, XLS, KML, KMZ, GeoJSON, GeoPackage, zipped SHP).

    Form fields: ``file``, optional ``province`` (code or name), ``sheet``, ``mapping`` (JSON
    ``{"column": "field"}``), ``kind`` (risk_points, cameras, layer, areas), ``layer``, ``datum``.
    ``kind=areas`` with ``layer=villages`` (or a custom layer's name) imports village points or
    polygons as ``com import --kind areas`` does: upserted by code, so a retry stores nothing
    twice; 201 with every row stored or rejected with its reason.
    An ``Idempotency-Key`` header makes retries safe. 201 with the summary; 200 with
    ``already_uploaded: true`` when the same file and options were uploaded before.
    """
    if received.fields.get("kind") == "areas":
        return _import_areas(request, response, engine, settings, principal, received)
    options = _options(received, idempotency_key)
    with transaction(engine) as conn:
        summary = ingest.import_upload(
            conn, received.data, received.filename, options=options, settings=settings,
            principal=principal, content_type=received.content_type,
            client=request.client.host if request.client else None, defer_rollup=True,
        )
    if summary.already_uploaded:
        response.status_code = 200
    else:  # the rollup's sums of the new points, after the commit (readers fold first)
        request.app.state.rollup_folder.submit([summary.upload_id])
    response.headers["Location"] = f"/api/uploads/{summary.upload_id}"
    return {
        **summary.as_dict(),
        "report_url": f"/api/uploads/{summary.upload_id}",
        "report_csv_url": f"/api/uploads/{summary.upload_id}/report.csv",
    }


@router.get("/api/uploads")
def upload_history(
    engine: EngineDep,
    principal: StaffDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """List uploads, newest first (a province-restricted user sees only their province)."""
    with transaction(engine) as conn:
        items = ingest.list_uploads(conn, principal=principal, limit=limit, offset=offset)
    return {"uploads": items, "limit": limit, "offset": offset}


@router.get("/api/uploads/{upload_id}")
def upload_detail(
    upload_id: UploadId, engine: EngineDep, settings: SettingsDep, principal: SignedInDep
) -> dict[str, Any]:
    """Return an upload's summary and the outcome of each row.

    Readable by whoever sent the file (the same user or API key), by staff and write-scoped
    keys of the upload's province and by administrators; others get 403. Rows of sensitive
    categories are shown at their subdistrict's representative point unless the reader sent
    the file or holds the ``sensitive`` right.
    """
    with transaction(engine) as conn:
        return ingest.get_upload(conn, upload_id, principal=principal, settings=settings)


@router.get(
    "/api/uploads/{upload_id}/report.csv",
    response_class=Response,
    responses={200: {"description": "The per-row report", "content": {"text/csv": {}}}},
)
def upload_report(
    upload_id: UploadId,
    engine: EngineDep,
    settings: SettingsDep,
    principal: SignedInDep,
    excel: Annotated[bool, Query(description="Start with a BOM so Excel reads Thai.")] = False,
) -> Response:
    """Return the per-row report as CSV (row, status, reason, lat, lon, ..., original)."""
    out = io.StringIO()
    with transaction(engine) as conn:
        ingest.write_report_csv(conn, upload_id, out, principal=principal, settings=settings)
    body = ("\ufeff" if excel else "") + out.getvalue()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="upload-{upload_id}-report.csv"'},
    )


def _import_areas(
    request: Request, response: Response, engine: Any, settings: Any, principal: Principal,
    received: ReceivedUpload,
) -> dict[str, Any]:
    """Import villages or a custom area layer (issue 16) through the upload form.

    A province- or region-limited uploader may change villages of their provinces only (other
    rows are rejected with the reason); custom layers are ranked across the country, so only
    an unrestricted uploader may change them. Audited as ``areas.import``.
    """
    layer = layer_name(received.fields.get("layer"))
    if layer != VILLAGES and principal.allowed_provinces is not None:
        principal.require_province(None)
    with transaction(engine) as conn:
        report = import_areas(
            conn, received.data, received.filename, layer=layer,
            sheet=received.fields.get("sheet"), limits=ReadLimits.from_settings(settings),
            provinces=principal.allowed_provinces,
        )
        body = report.as_dict()
        audit.record(
            conn, principal=principal, action="areas.import", target=f"area_layer:{layer}",
            details={"file": report.filename, "rows": body["rows"], "stored": body["stored"],
                     "rejected": body["rejected"]},
            client=request.client.host if request.client else None,
        )
    response.status_code = 201
    return body
