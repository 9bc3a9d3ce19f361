"""The HTTP API under /api/v1: routers of each app, one error format `{code, message, detail}`."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from claimwise.accounts.api import router as accounts_router
from claimwise.accounts.auth import api_auth
from claimwise.claims.api import router as claims_router
from claimwise.core.errors import DomainError, NotFound
from claimwise.fraud.api import router as fraud_router
from claimwise.policies.api import router as policies_router
from claimwise.process.api import router as process_router
from claimwise.process.claim_api import router as process_claim_router

api = NinjaAPI(
    title="Claimwise API",
    version="1.0.0",
    description="Claims reporting, tracking and handling. Authenticate with `Authorization: Bearer <token>` "
    "(create one with `claimwise token create --user NAME`) or a signed-in browser session.",
    auth=api_auth,
    urls_namespace="api",
)
api.add_router("/claims", claims_router)
api.add_router("/process", process_claim_router)
api.add_router("/policies", policies_router)
api.add_router("/process", process_router)
api.add_router("/", accounts_router)
api.add_router("/", fraud_router)


def _error(request: HttpRequest, status: int, code: str, message: str, detail: Any = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "detail": detail}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, str(exc.code), str(exc.message), exc.detail)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "form", "file", "cookie"):
        parts = parts[1:]
    # ninja keeps the name of a schema-typed parameter, which clients never send: the body's
    # (`payload`) always, a Query[Schema]'s (`q`, `filters`) for errors inside a list field.
    # One pass only: a file parameter named `file` has the location ("file", "file").
    if parts and (parts[0] == "payload" or (len(parts) > 1 and parts[0] in ("q", "filters"))):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(err: dict[str, Any]) -> str:
    """Pydantic speaks English; people here may not. Translate by error type, keep limits."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "extra_forbidden": _("Unknown field; remove it."),
        "string_too_long": _("Too long: at most %(n)s characters.") % {"n": ctx.get("max_length")},
        "string_too_short": _("Too short: at least %(n)s characters.") % {"n": ctx.get("min_length")},
        "greater_than": _("Must be greater than %(n)s.") % {"n": ctx.get("gt")},
        "greater_than_equal": _("Must be at least %(n)s.") % {"n": ctx.get("ge")},
        "less_than_equal": _("Must be at most %(n)s.") % {"n": ctx.get("le")},
        "less_than": _("Must be less than %(n)s.") % {"n": ctx.get("lt")},
        "decimal_parsing": _("Give a number, such as 1234.50."),
        "decimal_type": _("Give a number, such as 1234.50."),
        "decimal_max_places": _("At most %(n)s decimal places.") % {"n": ctx.get("decimal_places")},
        "decimal_max_digits": _("The number is too large."),
        "decimal_whole_digits": _("The number is too large."),
        "datetime_parsing": _("Give a date and time such as 2026-11-25T08:30:00+08:00."),
        "datetime_from_date_parsing": _("Give a date and time such as 2026-11-25T08:30:00+08:00."),
        "datetime_type": _("Give a date and time such as 2026-11-25T08:30:00+08:00."),
        "date_parsing": _("Give a date such as 2026-11-25."),
        "enum": _("Choose one of: %(values)s.") % {"values": ctx.get("expected")},
        "literal_error": _("Choose one of: %(values)s.") % {"values": ctx.get("expected")},
        "string_type": _("Give text."),
        "int_parsing": _("Give a whole number."),
        "int_type": _("Give a whole number."),
        "bool_parsing": _("Give true or false."),
        "list_type": _("Give a list."),
        "json_invalid": _("The body is not valid JSON."),
        "model_attributes_type": _("Give a JSON object."),
        "dict_type": _("Give a JSON object."),
        "string_pattern_mismatch": _("The format is not valid."),
        "too_short": _("Give at least %(n)s items.") % {"n": ctx.get("min_length")},
        "too_long": _("Give at most %(n)s items.") % {"n": ctx.get("max_length")},
    }
    if kind in messages:
        return messages[kind]
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(err.get("msg", _("Not valid.")))


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    detail = [{"field": _field(e.get("loc", ())), "message": _message(e), "type": e.get("type")} for e in exc.errors]
    return _error(request, 422, "validation_error", _("Some fields are not valid."), detail)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", _("Sign in or send a valid API token."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
    }
    message = str(exc.message)
    if message.startswith("Cannot parse request body"):  # django-ninja's words for a body that is not JSON
        message = _("The request body is not valid JSON; send a JSON object.")
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), message)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", str(NotFound().message))
