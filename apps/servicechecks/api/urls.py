from rest_framework.routers import DefaultRouter

from .views import ServiceChecksViewSet

router = DefaultRouter()
router.register("service-checks", ServiceChecksViewSet, basename="service-checks")
