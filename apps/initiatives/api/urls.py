from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("initiatives", views.InitiativeViewSet, basename="initiative")
