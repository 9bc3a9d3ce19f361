from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from claimwise.api import api


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", lambda request: redirect("admin:index")),
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
