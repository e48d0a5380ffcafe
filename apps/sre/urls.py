from django.urls import path

from . import views

app_name = "sre"
urlpatterns = [
    path("", views.index, name="index"),
    path("gate/<int:pk>/override/", views.override_create, name="override"),
    path("teams/<int:team_id>/toil/", views.toil_list, name="toil"),
    path("teams/<int:team_id>/toil/new/", views.toil_create, name="toil_create"),
    path("teams/<int:team_id>/toil/review/", views.toil_review, name="toil_review"),
    path("toil/<int:pk>/edit/", views.toil_edit, name="toil_edit"),
    path("runbooks/", views.runbook_list, name="runbooks"),
    path("runbooks/new/", views.runbook_create, name="runbook_create"),
    path("runbooks/<int:pk>/", views.runbook_detail, name="runbook"),
    path("runbooks/<int:pk>/edit/", views.runbook_edit, name="runbook_edit"),
    path("runbooks/<int:pk>/reviewed/", views.runbook_review, name="runbook_review"),
    path("incidents/<int:pk>/runbook/", views.incident_runbook, name="incident_runbook"),
]
