from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("incidents", views.IncidentViewSet)
router.register("postmortems", views.PostmortemViewSet)
router.register("action-items", views.ActionItemViewSet, basename="action-item")
router.register("postmortem-search", views.SearchViewSet, basename="postmortem-search")

urlpatterns = router.urls
