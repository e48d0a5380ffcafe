from django.urls import path

from . import views

app_name = "postmortems"

urlpatterns = [
    path("", views.index, name="index"),
    path("incidents/", views.incident_list, name="incidents"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:pk>/postmortem/", views.postmortem_start, name="postmortem_start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/export.md", views.export_markdown, name="export"),
    path("<int:pk>/actions/new/", views.action_create, name="action_create"),
    path("actions/", views.board, name="board"),
    path("actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
]
