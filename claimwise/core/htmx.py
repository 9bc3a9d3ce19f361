"""htmx helpers shared by the server-rendered pages (workbench, portal)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def page_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Go to `url` as a whole page: a plain redirect, or for an htmx request (which would swap the
    redirected page into its target) an empty answer telling htmx to navigate."""
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
