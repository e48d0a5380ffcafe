from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("slis", views.SLIViewSet)
router.register("slos", views.SLOViewSet)
router.register("error-budget-policies", views.ErrorBudgetPolicyViewSet)
router.register("burn-rate-alerts", views.BurnRateAlertViewSet)
router.register("slo-alert-settings", views.AlertSettingsViewSet)
router.register("slo-samples", views.SamplePushViewSet, basename="slo-samples")
router.register("openslo", views.OpenSLOViewSet, basename="openslo")

urlpatterns = router.urls
