from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("assessment-frameworks", views.FrameworkViewSet, basename="assessment-framework")
router.register("assessment-campaigns", views.CampaignViewSet, basename="assessment-campaign")
router.register("assessments", views.AssessmentViewSet, basename="assessment")

urlpatterns = router.urls
