"""Process API under /api/v1/process: definitions (read by staff; import, publish and new versions by
administrators), their export in the shared format (S2), and the process map as SVG (P1, P4)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from claimwise.accounts.choices import STAFF_ROLES, Role
from claimwise.accounts.models import User
from claimwise.claims.selectors import claim_get
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import PermissionDenied, ValidationFailed
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import (
    definition_document,
    definition_get,
    definition_new_version,
    definition_publish,
)
from claimwise.process.models import ProcessDefinition
from claimwise.process.svg import claim_map_svg, definition_svg
from claimwise.process.transfer import definition_import, dump_document

router = Router(tags=["process"])
ERRORS = {400: dict, 401: dict, 403: dict, 404: dict, 409: dict, 413: dict, 415: dict, 422: dict}
SVG = "image/svg+xml; charset=utf-8"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def _staff(request: HttpRequest) -> User:
    user = _user(request)
    if user.role not in STAFF_ROLES:
        raise PermissionDenied()
    return user


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if not (user.role == Role.ADMIN or user.is_superuser):
        raise PermissionDenied(_("Only administrators change process definitions."))
    return user


class DefinitionOut(Schema):
    id: int
    code: str
    version: int
    status: DefinitionStatus
    name: str
    name_en: str
    line: LineOfBusiness
    loss_types: list[str]
    steps: int
    published_at: dt.datetime | None


class DefinitionDetailOut(DefinitionOut):
    document: dict[str, Any] = Field(description="The definition in the `claimwise.process/v1` format")


def _out(d: ProcessDefinition, *, steps: int | None = None) -> dict[str, Any]:
    return {
        "id": d.pk,
        "code": d.code,
        "version": d.version,
        "status": d.status,
        "name": d.name,
        "name_en": d.name_en,
        "line": d.line,
        "loss_types": list(d.loss_types or []),
        "steps": d.steps.count() if steps is None else steps,
        "published_at": d.published_at,
    }


def _detail(d: ProcessDefinition) -> dict[str, Any]:
    document = definition_document(d)
    return {**_out(d, steps=len(document["steps"])), "document": document}


class DefinitionQuery(Schema):
    line: LineOfBusiness | None = None
    status: DefinitionStatus | None = None
    code: str | None = Field(None, max_length=50)


@router.get("/definitions", response={200: list[DefinitionOut], **ERRORS}, summary="List process definitions")
def list_definitions(request: HttpRequest, q: Query[DefinitionQuery]) -> list[dict[str, Any]]:
    _staff(request)
    from django.db.models import Count

    qs = ProcessDefinition.objects.annotate(_steps=Count("steps")).order_by("line", "code", "-version")
    if q.line:
        qs = qs.filter(line=q.line.value)
    if q.status:
        qs = qs.filter(status=q.status.value)
    if q.code:
        qs = qs.filter(code=q.code)
    return [_out(d, steps=d._steps) for d in qs]  # type: ignore[attr-defined]


@router.get(
    "/definitions/{int:definition_id}",
    response={200: DefinitionDetailOut, **ERRORS},
    summary="Get a process definition",
)
def get_definition(request: HttpRequest, definition_id: int) -> dict[str, Any]:
    _staff(request)
    return _detail(definition_get(definition_id))


@router.get(
    "/definitions/{int:definition_id}/export",
    response={200: None, **ERRORS},
    summary="Export in the shared format (claimwise.process/v1)",
)
def export_definition(
    request: HttpRequest, definition_id: int, format: Literal["json", "yaml"] = "json"
) -> HttpResponse:
    """`format=json` (default) or `format=yaml`; the same document either way (docs/process-format.md)."""
    _staff(request)
    definition = definition_get(definition_id)
    text = dump_document(definition_document(definition), format)
    kind = "application/json" if format == "json" else "application/yaml"
    response = HttpResponse(text, content_type=f"{kind}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{definition.code}-v{definition.version}.{format}"'
    return response


@router.post(
    "/definitions/import",
    response={201: DefinitionDetailOut, **ERRORS},
    summary="Import a definition (JSON or YAML)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
def import_definition(request: HttpRequest, publish: bool = False) -> Status[dict[str, Any]]:
    """Send a `claimwise.process/v1` document as a JSON body or as YAML text
    (`Content-Type: application/yaml`). The whole document is checked first: any problem refuses it
    with the list in `detail` and nothing is stored. It becomes a draft (version 1 of a new code, or
    the next version of a known one), published at once with `?publish=true`."""
    user = _admin(request)
    if not request.body.strip():
        raise ValidationFailed([{"field": "document", "message": _("Send the document in the request body.")}])
    definition = definition_import(actor=user, source=request.body, publish=publish)
    return Status(201, _detail(definition))


@router.post(
    "/definitions/{int:definition_id}/publish",
    response={200: DefinitionDetailOut, **ERRORS},
    summary="Publish a draft (the code's published version retires)",
)
def publish_definition(request: HttpRequest, definition_id: int) -> dict[str, Any]:
    user = _admin(request)
    return _detail(definition_publish(actor=user, definition_id=definition_id))


@router.post(
    "/definitions/{int:definition_id}/new-version",
    response={201: DefinitionDetailOut, **ERRORS},
    summary="Copy a version into a new draft",
)
def new_version(request: HttpRequest, definition_id: int) -> Status[dict[str, Any]]:
    user = _admin(request)
    return Status(201, _detail(definition_new_version(actor=user, definition_id=definition_id)))


@router.get("/definitions/{int:definition_id}/map.svg", response={200: None, **ERRORS}, summary="The process map (SVG)")
def definition_map(request: HttpRequest, definition_id: int) -> HttpResponse:
    _staff(request)
    return HttpResponse(definition_svg(definition_get(definition_id)), content_type=SVG)


@router.get("/claims/{int:claim_id}/map.svg", response={200: None, **ERRORS}, summary="A claim's process map (SVG)")
def claim_map(request: HttpRequest, claim_id: int) -> HttpResponse:
    """Staff see the full map; customers and partners the plain-language one (no internal roles)."""
    user = _user(request)
    claim = claim_get(claim_id, user=user)
    return HttpResponse(claim_map_svg(claim, customer=user.role not in STAFF_ROLES), content_type=SVG)
