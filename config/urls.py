from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import views as core_views

admin.site.site_header = "DevOps Maturity administration"
admin.site.site_title = "DevOps Maturity admin"
admin.site.index_title = "Organization structure and settings"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("account/", include("apps.accounts.urls")),
    path("api/v1/", include("config.api_router", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as its own script
    # (/api/docs/?script), so it runs under CSP script-src 'self'.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# Each domain app mounts its HTML pages under its own prefix.
for app in settings.LOCAL_APPS:
    label = app.rsplit(".", 1)[-1]
    if label in ("core", "accounts"):
        continue
    urlpatterns.append(path(f"{label}/", include(f"{app}.urls")))
