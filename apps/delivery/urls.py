from django.urls import path

from . import views, views_evidence

app_name = "delivery"

urlpatterns = [
    path("", views.index, name="index"),
    path("team/<int:pk>/", views.team_detail, name="team"),
    path("deployments/", views.deployment_list, name="deployments"),
    path("commits/", views_evidence.commits, name="commits"),
    path("incidents/", views_evidence.incidents, name="incidents"),
    path("unattributed/<int:pk>/map/", views_evidence.unattributed_map, name="unattributed_map"),
    path("integrations/", views.integration_list, name="integrations"),
    path("integrations/new/", views.integration_create, name="integration_create"),
    path("integrations/<int:pk>/", views.integration_detail, name="integration"),
    path("integrations/<int:pk>/edit/", views.integration_edit, name="integration_edit"),
    path("integrations/<int:pk>/rotate-secret/", views.integration_rotate, name="integration_rotate"),
    path("incidents/<int:incident_pk>/deployment-link/", views.incident_link, name="incident_link"),
    path("hooks/<str:token>/", views.intake_view, name="intake"),
]
