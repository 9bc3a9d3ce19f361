from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from claimwise.api import api


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz),
    # The back office's language switcher (UNFOLD["SHOW_LANGUAGES"]) posts to `set_language`.
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("work/", include("claimwise.workbench.urls")),
    path("api/v1/", api.urls),
    path("demo/", include("claimwise.demo.urls")),  # 404 unless `claimwise demo` turned the sandbox on
    path("", include("claimwise.portal.urls")),  # the customer portal, last: its paths are the site's own
]
