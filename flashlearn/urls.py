from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from flashlearn import health, index, webclient
from flashlearn.paths import both

urlpatterns = [
    *both("healthz", health.healthz, name="healthz"),
    *both("readyz", health.readyz, name="readyz"),
    *both("__dbcheck__", health.dbcheck, name="dbcheck"),
    *both("api/schema", SpectacularAPIView.as_view(), name="schema"),
    *both("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    *both("app", webclient.app_page, name="web-client"),
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
    path("", include("calendars.urls")),
    path("", include("creators.urls")),
    path("", include("transcription.urls")),
    path("", index.index, name="index"),
    # Keep last: every unknown /api/ path is the JSON error shape, with DEBUG on too.
    re_path(r"^api(?:/|$)", index.api_not_found),
]

handler400 = "flashlearn.errors.bad_request"
handler403 = "flashlearn.errors.permission_denied"
handler404 = "flashlearn.errors.page_not_found"
handler500 = "flashlearn.errors.server_error"
