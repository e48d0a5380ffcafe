from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("scorecards", views.ScorecardViewSet, basename="scorecard")
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")
router.register("comparisons", views.ComparisonViewSet, basename="comparison")
router.register("exemptions", views.ExemptionViewSet, basename="exemption")
router.register("scoring-runs", views.ScoringRunViewSet, basename="scoring-run")

urlpatterns = router.urls
