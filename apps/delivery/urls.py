from django.urls import path

from .views import evidence, intake, pages

app_name = "delivery"

urlpatterns = [
    path("", pages.index, name="index"),
    path("team/<int:pk>/", pages.team_detail, name="team"),
    path("deployments/", pages.deployment_list, name="deployments"),
    path("commits/", evidence.commits, name="commits"),
    path("incidents/", evidence.incidents, name="incidents"),
    path("unattributed/<int:pk>/map/", evidence.unattributed_map, name="unattributed_map"),
    path("integrations/", pages.integration_list, name="integrations"),
    path("integrations/new/", pages.integration_create, name="integration_create"),
    path("integrations/<int:pk>/", pages.integration_detail, name="integration"),
    path("integrations/<int:pk>/edit/", pages.integration_edit, name="integration_edit"),
    path("integrations/<int:pk>/rotate-secret/", pages.integration_rotate, name="integration_rotate"),
    path("incidents/<int:incident_pk>/deployment-link/", pages.incident_link, name="incident_link"),
    path("hooks/<str:token>/", intake.intake_view, name="intake"),
]
