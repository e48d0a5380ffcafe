from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("notification-targets", views.TargetViewSet, basename="notification-target")
router.register("notification-preferences", views.PreferenceViewSet, basename="notification-preferences")

urlpatterns = router.urls
