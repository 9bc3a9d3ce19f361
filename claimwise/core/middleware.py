from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from claimwise.core.context import new_request_id, request_id_var


class RequestIdMiddleware:
    """Tags every request with an id (a caller's `X-Request-ID` if sane) for the audit trail and logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else new_request_id()
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
