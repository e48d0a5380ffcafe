from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet)
router.register("departments", views.DepartmentViewSet)
router.register("teams", views.TeamViewSet)
router.register("org-memberships", views.OrgMembershipViewSet)
router.register("team-memberships", views.TeamMembershipViewSet)
router.register("services", views.ServiceViewSet)

urlpatterns = router.urls
