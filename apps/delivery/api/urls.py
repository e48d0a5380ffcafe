from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("deployments", views.DeploymentViewSet, basename="deployment")
router.register("changes", views.ChangeViewSet, basename="change")
router.register("incident-deployment-links", views.IncidentDeploymentLinkViewSet, basename="incident-deployment-link")
router.register("dora/teams", views.TeamDoraViewSet, basename="team-dora")
router.register("dora/services", views.ServiceDoraViewSet, basename="service-dora")

urlpatterns = router.urls
