"""All REST endpoints under /api/v1/, one router so names are `api:<basename>-<action>`."""

from importlib import import_module

from django.conf import settings
from rest_framework.routers import DefaultRouter

router = DefaultRouter()
for app in settings.LOCAL_APPS:
    try:
        module = import_module(f"{app}.api.urls")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"{app}.api", f"{app}.api.urls"):
            raise
        continue
    router.registry.extend(module.router.registry)
    router.extra_urlpatterns = getattr(router, "extra_urlpatterns", []) + list(getattr(module, "extra_urlpatterns", []))

app_name = "api"
urlpatterns = router.urls + router.extra_urlpatterns
